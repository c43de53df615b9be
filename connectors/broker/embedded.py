"""Fetch, format, start, probe and stop a real Kafka node without Docker.

The broker is Apache Kafka's own ``kafka.Kafka`` from the ``kafka_2.13`` artifact, fetched with
Maven into a cache outside the repository and run as a plain JVM in KRaft mode (combined broker
and controller). Alone, its state lives under ``<data_dir>/broker`` and survives restarts; a
small ``broker.json`` there tells other straum commands which port and process belong to it.
As one node of a cluster (:mod:`connectors.broker.cluster`) it gets its own home, a node id,
the static controller quorum and the replication the cluster can give.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

POM = Path(__file__).resolve().parent / "pom.xml"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies"


class BrokerError(RuntimeError):
    """A broker problem with one line saying what is wrong and what to do."""


@dataclass(frozen=True)
class BrokerInfo:
    """What ``broker.json`` records about a started broker."""

    pid: int
    port: int
    controller_port: int
    cluster_id: str
    sasl_port: int | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def _require_tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BrokerError(f"'{name}' was not found on PATH: {hint}")
    return path


def java_major_version(java: str) -> int:
    """The running JDK's major version (``java -version`` prints it on stderr)."""
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        raise BrokerError(f"could not read the Java version from: {out.strip()[:200]}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def jars_dir(cache_dir: Path, kafka_version: str) -> Path:
    return cache_dir / f"kafka-{kafka_version}" / "libs"


def ensure_jars(cache_dir: Path, kafka_version: str, quiet: bool = True,
                progress: Callable[[str], None] | None = None) -> Path:
    """The folder of the broker's jars, fetched with Maven on first use (idempotent).
    ``progress`` is told each file Maven downloads (see :func:`fetch_progress`)."""
    libs = jars_dir(cache_dir, kafka_version)
    marker = libs / f"kafka_2.13-{kafka_version}.jar"
    if marker.exists():
        return libs
    mvn = _require_tool("mvn", "install Maven 3.8+ (Debian: apt-get install maven) and retry")
    _require_tool("java", "install a Java 17+ JDK (Debian: apt-get install openjdk-17-jdk)")
    tmp = libs.with_name("libs.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cmd = [mvn, "-B", "-f", str(POM), DEPENDENCY_PLUGIN, f"-DoutputDirectory={tmp}",
           "-DincludeScope=runtime", f"-Dkafka.version={kafka_version}"]
    if quiet and progress is None:
        cmd.insert(2, "-q")
    if progress is not None:
        code, output = _run_reporting(cmd, progress)
    else:
        result = subprocess.run(cmd, capture_output=quiet, text=True, check=False)
        code, output = result.returncode, (result.stdout or "") if quiet else ""
    if code != 0 or not (tmp / marker.name).exists():
        raise BrokerError(
            f"Maven could not fetch Apache Kafka {kafka_version} (exit {code}); "
            f"check network access to Maven Central. {output[-800:].strip()}"
        )
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)
    return libs


_DOWNLOADED = re.compile(r"Downloaded from \S+: (\S+) \(([^)]*?)(?: at [^)]*)?\)")


def fetch_progress(line: str) -> str | None:
    """What one line of Maven's batch output says was fetched ("name (size)"), or None."""
    match = _DOWNLOADED.search(line)
    if match is None:
        return None
    return f"{match.group(1).rsplit('/', 1)[-1]} ({match.group(2).strip()})"


def _run_reporting(cmd: list[str], progress: Callable[[str], None]) -> tuple[int, str]:
    """Run Maven, telling ``progress`` each file as it arrives; (exit code, last output)."""
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, stdin=subprocess.DEVNULL)
    assert process.stdout is not None
    tail: list[str] = []
    for line in process.stdout:
        tail = [*tail[-40:], line]
        if (fetched := fetch_progress(line)) is not None:
            progress(fetched)
    return process.wait(), "".join(tail)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def port_answers(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


_LOG4J2 = """\
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = {logs}/server.log
appender.file.filePattern = {logs}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
"""


def replication_properties(replication: int) -> dict[str, str]:
    """Broker defaults for every topic, Kafka's internal ones included (consumer offsets,
    transaction state): ``replication`` copies, and an ``acks=all`` write needs two of them in
    sync once there are at least two, so one node may be lost without losing a write."""
    min_isr = str(min(2, replication))
    r = str(replication)
    return {
        "default.replication.factor": r,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": r,
        "transaction.state.log.replication.factor": r,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": r,
        "share.coordinator.state.topic.min.isr": min_isr,
        # an out-of-sync replica never becomes leader (it would drop acknowledged records)
        "unclean.leader.election.enable": "false",
    }


class EmbeddedBroker:
    """One KRaft node (broker and controller) whose state lives in ``<data_dir>/broker``, or
    in ``home`` when it is one node of a cluster."""

    #: More JVM options (set before start): the metrics agent, see connectors/broker/jmx.py.
    jvm_options: tuple[str, ...] = ()

    def __init__(self, data_dir: Path, cache_dir: Path, kafka_version: str,
                 port: int = 9092, controller_port: int = 9093, heap: str = "768m",
                 sasl_port: int | None = None,
                 sasl_users: dict[str, str] | None = None, *, node_id: int = 1,
                 home: Path | None = None, quorum_voters: str | None = None,
                 cluster_id: str | None = None, replication: int = 1) -> None:
        self.home = (home or data_dir / "broker").resolve()
        self.node_id = node_id
        self.quorum_voters = quorum_voters
        self.given_cluster_id = cluster_id
        self.replication = replication
        self.cache_dir = cache_dir
        self.kafka_version = kafka_version
        self.port = port
        self.controller_port = controller_port
        self.heap = heap
        self.sasl_port = sasl_port
        self.sasl_users = sasl_users or {}
        self.process: subprocess.Popen[bytes] | None = None
        self._log_from = 0  # where this run's lines begin in the appended server.log

    # -- files --------------------------------------------------------------------------
    @property
    def info_file(self) -> Path:
        return self.home / "broker.json"

    @property
    def log_dir(self) -> Path:
        return self.home / "kraft-data"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    def read_info(self) -> BrokerInfo | None:
        """The recorded broker of this data directory, if its process is still alive."""
        try:
            info = BrokerInfo(**json.loads(self.info_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        return info if pid_alive(info.pid) else None

    def _cluster_id(self) -> str:
        """This data directory's cluster id, generated once (URL-safe, no '-')."""
        if self.given_cluster_id:
            return self.given_cluster_id
        path = self.home / "cluster.id"
        if path.exists():
            return path.read_text().strip()
        cid = new_cluster_id()
        path.write_text(cid)
        return cid

    def _check_formatted_for(self, cluster_id: str) -> None:
        meta = self.log_dir / "meta.properties"
        if not meta.exists():
            return
        found = re.search(r"^cluster\.id=(.+)$", meta.read_text(), re.M)
        if found and found.group(1).strip() != cluster_id:
            raise BrokerError(
                f"{self.log_dir} is formatted for another Kafka cluster ({found.group(1)}); "
                f"use another STRAUM_DATA_DIR or delete {self.home} to start afresh"
            )

    def _write_config(self, port: int, controller_port: int, sasl_port: int | None) -> Path:
        quorum = ({"controller.quorum.voters": self.quorum_voters} if self.quorum_voters
                  else {"controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}"})
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            **quorum,
            "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners":
                f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.log_dir),
            "num.partitions": "1",
            **replication_properties(self.replication),
            "offsets.topic.num.partitions": "12",
            # on one machine a few transaction-state partitions are plenty, and quick to create
            "transaction.state.log.num.partitions": "6",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
            "log.retention.check.interval.ms": "60000",
            "message.max.bytes": str(16 * 1024 * 1024),
        }
        if self.replication > 1:  # room for a whole batch on the followers too
            props["replica.fetch.max.bytes"] = props["message.max.bytes"]
        if sasl_port is not None:
            sasl = f"SASL_PLAINTEXT://127.0.0.1:{sasl_port}"
            props["listeners"] += f",{sasl}"
            props["advertised.listeners"] += f",{sasl}"
            props["listener.security.protocol.map"] += ",SASL_PLAINTEXT:SASL_PLAINTEXT"
            props["sasl.enabled.mechanisms"] = "PLAIN"
            users = " ".join(f'user_{u}="{pw}"' for u, pw in self.sasl_users.items())
            props["listener.name.sasl_plaintext.plain.sasl.jaas.config"] = (
                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                f"{users};")
        path = self.home / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.home / "log4j2.properties").write_text(_LOG4J2.format(logs=self.logs))
        return path

    def _java(self) -> str:
        java = _require_tool("java", "install a Java 17+ JDK (Debian: apt-get install "
                             "openjdk-17-jdk) and retry")
        if (major := java_major_version(java)) < 17:
            raise BrokerError(f"Kafka 4 needs Java 17 or newer; found Java {major}: "
                              "install a newer JDK or put it first on PATH")
        return java

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, timeout: float = 90.0, detach: bool = False,
              on_wait: Callable[[], None] | None = None) -> BrokerInfo:
        """Start the broker and return once it answers; reuse one already running here."""
        running = self.read_info()
        if running is not None and port_answers(running.port):
            return running
        info = self.launch(detach)
        self._wait_ready(info, timeout, on_wait)
        return info

    def launch(self, detach: bool = False) -> BrokerInfo:
        """Format the data directory if it is new and start the JVM, without waiting for it
        (a cluster's nodes only finish starting once a quorum of them runs)."""
        java = self._java()
        libs = ensure_jars(self.cache_dir, self.kafka_version)
        port = self.port or free_port()
        controller_port = self.controller_port or free_port()
        sasl_port = (self.sasl_port or free_port()) if self.sasl_port is not None else None
        for p, what in ((port, "STRAUM_KAFKA_PORT"), (controller_port,
                                                        "STRAUM_KAFKA_CONTROLLER_PORT")):
            if not port_is_free(p):
                raise BrokerError(f"port {p} is already in use: stop what holds it, or set "
                                  f"{what} to a free port (0 picks one)")
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        cluster_id = self._cluster_id()
        self._check_formatted_for(cluster_id)
        config = self._write_config(port, controller_port, sasl_port)
        classpath = f"{libs}/*"
        if not (self.log_dir / "meta.properties").exists():
            # a static quorum (controller.quorum.voters) is formatted without --standalone
            standalone = [] if self.quorum_voters else ["--standalone"]
            fmt = subprocess.run(
                [java, "-cp", classpath, "kafka.tools.StorageTool", "format", *standalone,
                 "-t", cluster_id, "-c", str(config)],
                capture_output=True, text=True, check=False)
            if fmt.returncode != 0:
                raise BrokerError("formatting the KRaft data directory failed: "
                                  + (fmt.stderr or fmt.stdout).strip()[-400:])
        cmd = [java, f"-Xms{min_heap(self.heap)}", f"-Xmx{self.heap}", "-XX:+UseG1GC",
               f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
               f"-Dkafka.logs.dir={self.logs}", *self.jvm_options, "-cp", classpath,
               "kafka.Kafka", str(config)]
        log = self.logs / "server.log"
        self._log_from = log.stat().st_size if log.exists() else 0
        stdout = (self.logs / "stdout.log").open("ab")
        self.process = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=detach)
        stdout.close()
        info = BrokerInfo(self.process.pid, port, controller_port, cluster_id, sasl_port)
        self.info_file.write_text(json.dumps(asdict(info)))
        return info

    def wait_ready(self, timeout: float) -> None:
        """Until this launched node has started and answers; BrokerError otherwise."""
        info = self.read_info()
        if info is None:
            raise BrokerError(f"node {self.node_id} is not running ({self.log_tail()}); "
                              f"see {self.logs}")
        self._wait_ready(info, timeout, None)

    def _wait_ready(self, info: BrokerInfo, timeout: float,
                    on_wait: Callable[[], None] | None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                self.info_file.unlink(missing_ok=True)
                raise BrokerError(f"the broker exited with code {self.process.returncode} while "
                                  f"starting ({self.log_tail()}); see {self.logs}")
            if self._started_in_log() and port_answers(info.port):
                return
            if on_wait:
                on_wait()
            time.sleep(0.25)
        self.stop()
        raise BrokerError(f"the broker did not come up within {timeout:.0f}s; "
                          f"see {self.logs / 'server.log'}")

    def _started_in_log(self) -> bool:
        log = self.logs / "server.log"
        try:
            with log.open("rb") as fh:
                size = log.stat().st_size
                fh.seek(max(self._log_from, size - 200_000) if size >= self._log_from else 0)
                return b"started (kafka.server.KafkaRaftServer)" in fh.read()
        except OSError:
            return False

    def log_tail(self, lines: int = 3) -> str:
        """The last errors of the broker's log, or of the JVM's own output."""
        for name in ("server.log", "stdout.log"):
            try:
                text = (self.logs / name).read_text(errors="replace").splitlines()
            except OSError:
                continue
            errors = [line for line in text if " ERROR " in line] or text
            if errors:
                return " | ".join(line.strip() for line in errors[-lines:])
        return ""

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM the broker, SIGKILL after ``timeout``; True if one was running."""
        pid = self.process.pid if self.process is not None else None
        if pid is None:
            info = self.read_info()
            pid = info.pid if info else None
        if pid is None or not pid_alive(pid):
            self.info_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            if self.process is None and not pid_alive(pid):
                break
            time.sleep(0.2)
        else:
            os.kill(pid, signal.SIGKILL)
            if self.process is not None:
                self.process.wait()
        self.info_file.unlink(missing_ok=True)
        return True


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding, no '-'."""
    while True:
        cid = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if "-" not in cid:
            return cid


def min_heap(heap: str) -> str:
    """A start heap no larger than 512m, so small machines are not claimed up front."""
    match = re.fullmatch(r"(\d+)([mMgG])", heap)
    if not match:
        return heap
    mb = int(match.group(1)) * (1024 if match.group(2) in "gG" else 1)
    return f"{min(mb, 512)}m"
