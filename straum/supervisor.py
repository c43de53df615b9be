"""``straum run``: the broker, the worker, the API and the monitor as separate OS processes.

One can die or hang without taking the others with it; a child that exits is restarted with
backoff, and so is an embedded Kafka node (one broker, or each node of a cluster with
STRAUM_KAFKA_NODES=3). Ctrl-C (or SIGTERM) stops the children in reverse order, then the
broker's nodes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from connectors.broker.cluster import EmbeddedCluster, embedded_kafka, replication_for
from connectors.broker.embedded import BrokerError, EmbeddedBroker, ensure_jars
from connectors.broker.jmx import agent_option, ensure_agent
from schemas.settings import Settings


@dataclass
class Child:
    """A supervised straum process."""

    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    die_with_parent: bool = False
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = field(default=0.0)

    def start(self, env: dict[str, str], log_dir: Path | None) -> None:
        """Start in its own session, so Ctrl-C reaches only the supervisor, which stops the
        children in order; output goes to ``<log_dir>/<name>.log`` when given."""
        output = (log_dir / f"{self.name}.log").open("ab") if log_dir else None
        self.process = subprocess.Popen([sys.executable, "-m", "straum", *self.args],
                                        env={**env, **self.env},
                                        preexec_fn=_die_with_parent if self.die_with_parent
                                        else None,
                                        stdin=subprocess.DEVNULL, stdout=output,
                                        stderr=subprocess.STDOUT if output else None,
                                        start_new_session=True)
        if output:
            output.close()
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class NodeChild:
    """An embedded Kafka node, supervised like a child: restarted with backoff when it dies
    (launched without waiting: it catches up with the other nodes by itself)."""

    name: str
    node: EmbeddedBroker
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = field(default=0.0)

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.node.process

    def start(self, env: dict[str, str], log_dir: Path | None) -> None:
        self.started_at = time.monotonic()
        try:
            self.node.launch(detach=True)
        except BrokerError as exc:  # tried again after the backoff
            say(f"{self.name} could not start: {exc}")

    def alive(self) -> bool:
        if self.node.process is not None:
            return self.node.process.poll() is None
        return self.node.read_info() is not None  # running before `straum run` began

    def stop(self, timeout: float = 20.0) -> None:
        """Nodes are stopped together by their cluster (see Supervisor.shutdown)."""


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies, even by kill -9 (Linux)."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def say(message: str) -> None:
    print(f"straum: {message}", file=sys.stderr, flush=True)


class JarProgress:
    """Says what Maven fetches on the first run (a few minutes of silence otherwise): a line
    when fetching starts, then one per jar with a running count."""

    def __init__(self, kafka_version: str, cache_dir: Path) -> None:
        self.kafka_version, self.cache_dir = kafka_version, cache_dir
        self.files = 0
        self.jars = 0

    def __call__(self, fetched: str) -> None:
        if self.files == 0:
            say(f"fetching the broker (Apache Kafka {self.kafka_version}, its libraries, the "
                f"metrics agent) from Maven Central into {self.cache_dir} (first run only) ...")
        self.files += 1
        if ".jar " in fetched:
            self.jars += 1
            say(f"  fetched {self.files:3d} files: {fetched}")


class Supervisor:
    def __init__(self, settings: Settings, host: str, port: int, demo: bool,
                 logs_to_terminal: bool = False) -> None:
        self.settings = settings
        self.log_dir = None if logs_to_terminal else settings.data_dir.resolve() / "logs"
        self.host, self.port = host, port
        self.broker: EmbeddedBroker | EmbeddedCluster | None = None
        self.nodes: list[NodeChild] = []
        from connectors.broker.embedded import free_port
        from straum.api_processes import api_children

        count = settings.api_processes or os.cpu_count() or 1
        apis = (api_children(host, port, count, [free_port() for _ in range(count)])
                if count > 1 else [Child("api", ["api", "--host", host, "--port", str(port),
                                                 "--processes", "1"])])
        self.children = [
            # A stable worker id (static group membership): the restarted worker takes its
            # partitions back at once instead of waiting for the dead one's session to end.
            Child("worker", ["worker"],
                  {"STRAUM_WORKER_ID": settings.worker_id or f"{settings.topic_prefix}-worker-1"}),
            *apis,
            Child("monitor", ["monitor"]),
        ]
        if demo:
            url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
            self.children.append(Child("simulator", ["simulate", "--follow", "--url", url]))
        self._stopping = False

    def _env(self, bootstrap: str) -> dict[str, str]:
        env = dict(os.environ)
        env["STRAUM_KAFKA_BOOTSTRAP"] = bootstrap
        env["STRAUM_DATA_DIR"] = str(self.settings.data_dir.resolve())
        if isinstance(self.broker, EmbeddedCluster):
            # every topic straum creates gets the cluster's copies (min.insync.replicas 2)
            env.setdefault("STRAUM_REPLICATION_FACTOR",
                           str(replication_for(self.broker.count)))
        return env

    def _start_kafka(self) -> str | None:
        """Start the embedded broker or cluster; its bootstrap servers, None on failure."""
        s = self.settings
        try:
            progress = JarProgress(s.kafka_version, s.kafka_cache_dir)
            ensure_jars(s.kafka_cache_dir, s.kafka_version, progress=progress)
            self.broker = embedded_kafka(s.data_dir, s.kafka_cache_dir, s.kafka_version,
                                         s.kafka_nodes, s.kafka_port, s.kafka_controller_port,
                                         s.kafka_heap, s.kafka_node_heap)
            if s.kafka_metrics_port:  # the JMX exporter: node n on STRAUM_KAFKA_METRICS_PORT+n-1
                agent = ensure_agent(s.kafka_cache_dir, progress)
                if isinstance(self.broker, EmbeddedCluster):
                    self.broker.jvm_options_for = lambda node_id: (
                        agent_option(agent, s.kafka_metrics_port + node_id - 1),)
                else:
                    self.broker.jvm_options = (agent_option(agent, s.kafka_metrics_port),)
            if isinstance(self.broker, EmbeddedCluster):
                say(f"starting an embedded Kafka cluster of {self.broker.count} nodes (data in "
                    f"{self.broker.home}) ...")
                layout = self.broker.start(detach=True)
                self.nodes = [NodeChild(f"kafka-{i}", node, started_at=time.monotonic())
                              for i, node in self.broker.nodes.items()]
                say(f"Kafka cluster ready at {layout.bootstrap} (replication "
                    f"{self.broker.replication}, min.insync.replicas 2)")
                return layout.bootstrap
            say(f"starting the embedded Kafka broker (data in {self.broker.home}) ...")
            info = self.broker.start(detach=True)
            self.nodes = [NodeChild("kafka", self.broker, started_at=time.monotonic())]
        except BrokerError as exc:
            say(f"error: {exc}")
            return None
        say(f"Kafka broker ready at {info.bootstrap}")
        return info.bootstrap

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: self._request_stop())
        signal.signal(signal.SIGINT, lambda *_: self._request_stop())
        s = self.settings
        if s.kafka_bootstrap:
            bootstrap = s.kafka_bootstrap
            say(f"using the Kafka cluster at {bootstrap} (no embedded broker)")
        else:
            started = self._start_kafka()
            if started is None:
                return 1
            bootstrap = started
        env = self._env(bootstrap)
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            say(f"process logs (JSON lines) in {self.log_dir}")
        for child in self.children:
            child.start(env, self.log_dir)
        self._record_pids()
        announced = False
        try:
            while not self._stopping:
                self._restart_dead(env)
                if not announced and self._ready():
                    self._print_where_to_look()
                    announced = True
                time.sleep(0.5)
        finally:
            self.shutdown()
        return 0

    def _record_pids(self) -> None:
        """``<data dir>/processes.json``: which pid runs what, for operators and tests."""
        supervised: list[Child | NodeChild] = [*self.nodes, *self.children]
        pids = {c.name: c.process.pid for c in supervised if c.process and c.alive()}
        (self.settings.data_dir.resolve() / "processes.json").write_text(json.dumps(pids))

    def _ready(self) -> bool:
        try:
            url = f"http://{self.host}:{self.port}/readyz"
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def _restart_dead(self, env: dict[str, str]) -> None:
        now = time.monotonic()
        supervised: list[Child | NodeChild] = [*self.nodes, *self.children]
        for child in supervised:
            if child.alive() or self._stopping:
                continue
            if child.next_start == 0.0:
                code = child.process.returncode if child.process else None
                delay = min(30.0, 2.0 ** min(child.restarts, 5))
                if now - child.started_at > 60:
                    child.restarts, delay = 0, 1.0
                say(f"{child.name} exited with code {code}; restarting in {delay:.0f}s")
                child.next_start = now + delay
            elif now >= child.next_start:
                child.restarts += 1
                child.next_start = 0.0
                child.start(env, self.log_dir)
                self._record_pids()

    def _request_stop(self) -> None:
        self._stopping = True

    def shutdown(self) -> None:
        say("stopping ...")
        for child in reversed(self.children):
            child.stop()
        if self.broker is not None:
            self.broker.stop()
        (self.settings.data_dir.resolve() / "processes.json").unlink(missing_ok=True)
        say("stopped")

    def _print_where_to_look(self) -> None:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        base = f"http://{host}:{self.port}"
        command = straum_command()
        say("ready: worker, API and monitor are up")
        say(f"API        {base}  (OpenAPI: {base}/docs)")
        if (link := ops_link(self.settings, base)) is not None:
            say(f"ops page   {link}")
        else:
            say(f"ops page   {base}/ops  (with an operator token from your identity provider)")
        say(f"health     {base}/readyz")
        say(f"metrics    {base}/metrics")
        if self.broker is not None and self.settings.kafka_metrics_port:
            first, nodes = self.settings.kafka_metrics_port, max(1, self.settings.kafka_nodes)
            ports = ", ".join(str(first + n) for n in range(nodes))
            say(f"broker     http://127.0.0.1:{first}/metrics  (the Kafka broker's own metrics"
                + (f"; nodes on ports {ports})" if nodes > 1 else ")"))
        say(f"tokens     {command} token --party <GLN> --role "
            "grid_owner|supplier|third_party|operator")
        say("Ctrl-C stops everything; data stays in " + str(self.settings.data_dir))


#: The development operator whose token the printed /ops link carries.
DEV_OPERATOR = "7080005051309"


def straum_command() -> str:
    """How to call straum from any folder: this environment's own script."""
    script = Path(sys.executable).parent / "straum"
    return str(script) if script.exists() else "straum"


def ops_link(settings: Settings, base: str) -> str | None:
    """/ops with a 12-hour development operator token in the fragment (the page keeps it in
    the tab and never sends the fragment to the server); None where development tokens are
    not accepted."""
    if not settings.accepts_dev_tokens:
        return None
    from connectors.http.auth import issue_dev_token

    return f"{base}/ops#token={issue_dev_token(settings, DEV_OPERATOR, ['operator'])}"
