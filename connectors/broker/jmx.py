"""The broker's own metrics: the Prometheus JMX exporter as a Java agent on the embedded broker.

The agent (``io.prometheus.jmx:jmx_prometheus_javaagent``, one self-contained jar) is fetched
from Maven Central with Maven, like the broker's jars, into the same cache outside the
repository; ``jmx-exporter.yml`` beside this module says which MBeans become which series.
With the agent the broker serves ``/metrics`` on its own port (``STRAUM_KAFKA_METRICS_PORT``),
which Prometheus scrapes (docker/prometheus/prometheus.yml) and Grafana's broker panels read.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from connectors.broker.embedded import BrokerError, fetch_progress

AGENT_VERSION = "1.0.1"
AGENT = f"io.prometheus.jmx:jmx_prometheus_javaagent:{AGENT_VERSION}"
CONFIG = Path(__file__).resolve().parent / "jmx-exporter.yml"
COPY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy"


def agent_path(cache_dir: Path) -> Path:
    return cache_dir / "jmx-exporter" / f"jmx_prometheus_javaagent-{AGENT_VERSION}.jar"


def ensure_agent(cache_dir: Path, progress: Callable[[str], None] | None = None) -> Path:
    """The agent's jar, fetched with Maven on first use (idempotent)."""
    jar = agent_path(cache_dir)
    if jar.exists():
        return jar
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError("'mvn' was not found on PATH: install Maven 3.8+ (Debian: apt-get "
                          "install maven) and retry")
    partial = jar.parent.with_name("jmx-exporter.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    result = subprocess.run([mvn, "-B", COPY_PLUGIN, f"-Dartifact={AGENT}",
                             f"-DoutputDirectory={partial}"], capture_output=True, text=True,
                            check=False, stdin=subprocess.DEVNULL)
    if progress is not None:
        for line in result.stdout.splitlines():
            if (fetched := fetch_progress(line)) is not None:
                progress(fetched)
    if result.returncode != 0 or not (partial / jar.name).exists():
        raise BrokerError(f"Maven could not fetch {AGENT} (exit {result.returncode}); check "
                          f"network access to Maven Central. {result.stdout[-600:].strip()}")
    shutil.rmtree(jar.parent, ignore_errors=True)
    partial.rename(jar.parent)
    return jar


def agent_option(jar: Path, port: int, host: str = "127.0.0.1") -> str:
    """The JVM option that loads the agent, serving /metrics on ``host:port``."""
    return f"-javaagent:{jar}={host}:{port}:{CONFIG}"
