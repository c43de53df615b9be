"""A KRaft cluster of several embedded nodes on one machine, from the same jars as one node.

Every node is broker and controller at once (as in ``docker/compose.yaml``), with a static
controller quorum of all nodes, its own data directory ``<data_dir>/broker/node-<id>`` and its
own free ports. The layout (cluster id, node ids, ports) is chosen on the first start and kept
in ``<data_dir>/broker/cluster.json``, so that a node restarted alone (after a crash, by the
supervisor) comes back where the others expect it, and other straum commands find the
bootstrap servers there. Replication is ``min(3, nodes)`` for every topic, Kafka's internal
ones included, with ``min.insync.replicas`` 2: one node may be lost without losing a write.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from connectors.broker.embedded import (
    BrokerError,
    EmbeddedBroker,
    free_port,
    new_cluster_id,
    pid_alive,
    port_answers,
    port_is_free,
)

CLUSTER_FILE = "cluster.json"


@dataclass(frozen=True)
class NodePorts:
    node_id: int
    port: int
    controller_port: int


@dataclass(frozen=True)
class ClusterLayout:
    """What ``cluster.json`` records: kept across restarts of the cluster and its nodes."""

    cluster_id: str
    nodes: tuple[NodePorts, ...]

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    @property
    def voters(self) -> str:
        """The static controller quorum: every node votes."""
        return ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)


def replication_for(nodes: int) -> int:
    """Copies of every topic a cluster of ``nodes`` keeps: three where it can."""
    return min(3, nodes)


def read_layout(home: Path) -> ClusterLayout | None:
    try:
        raw = json.loads((home / CLUSTER_FILE).read_text())
        return ClusterLayout(raw["cluster_id"], tuple(NodePorts(**n) for n in raw["nodes"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class EmbeddedCluster:
    """``nodes`` KRaft nodes whose state lives in ``<data_dir>/broker/node-<id>``."""

    def __init__(self, data_dir: Path, cache_dir: Path, kafka_version: str, nodes: int = 3,
                 heap: str = "512m") -> None:
        if nodes < 2:
            raise BrokerError("a cluster has at least two nodes; one node is EmbeddedBroker")
        self.home = (data_dir / "broker").resolve()
        self.data_dir = data_dir
        self.cache_dir = cache_dir
        self.kafka_version = kafka_version
        self.count = nodes
        self.heap = heap
        self.layout: ClusterLayout | None = None
        self.nodes: dict[int, EmbeddedBroker] = {}
        #: More JVM options per node id (the metrics agent, see connectors/broker/jmx.py).
        self.jvm_options_for: Callable[[int], tuple[str, ...]] = lambda node_id: ()

    @property
    def replication(self) -> int:
        return replication_for(self.count)

    @property
    def bootstrap(self) -> str:
        layout = self.layout or read_layout(self.home)
        if layout is None:
            raise BrokerError(f"no cluster has been started in {self.home}")
        return layout.bootstrap

    def _check_not_single_node(self) -> None:
        if (self.home / "kraft-data" / "meta.properties").exists():
            raise BrokerError(
                f"{self.home} holds a single-node broker's data (STRAUM_KAFKA_NODES=1); use "
                f"another STRAUM_DATA_DIR for a cluster, or delete {self.home} to start afresh")

    def _plan(self) -> ClusterLayout:
        """The recorded layout, or a new one on free ports; a recorded port that another
        program took since is replaced (static voters are configuration, not data)."""
        recorded = read_layout(self.home)
        if recorded is not None and len(recorded.nodes) != self.count:
            raise BrokerError(
                f"{self.home} holds a cluster of {len(recorded.nodes)} nodes, not "
                f"{self.count}: set STRAUM_KAFKA_NODES={len(recorded.nodes)}, or delete "
                f"{self.home} to start afresh")
        cluster_id = recorded.cluster_id if recorded else new_cluster_id()
        nodes = []
        for i in range(1, self.count + 1):
            old = recorded.nodes[i - 1] if recorded else None
            running = self._node_home(i)
            alive = self._running_info(running)
            if old is not None and (alive or (port_is_free(old.port)
                                              and port_is_free(old.controller_port))):
                nodes.append(old)
            else:
                nodes.append(NodePorts(i, free_port(), free_port()))
        layout = ClusterLayout(cluster_id, tuple(nodes))
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / CLUSTER_FILE).write_text(json.dumps(
            {"cluster_id": layout.cluster_id, "nodes": [asdict(n) for n in layout.nodes]}))
        return layout

    def _node_home(self, node_id: int) -> Path:
        return self.home / f"node-{node_id}"

    @staticmethod
    def _running_info(home: Path) -> bool:
        try:
            pid = json.loads((home / "broker.json").read_text())["pid"]
        except (OSError, ValueError, KeyError):
            return False
        return pid_alive(int(pid))

    def _make_nodes(self, layout: ClusterLayout) -> None:
        self.layout = layout
        self.nodes = {
            n.node_id: EmbeddedBroker(
                self.data_dir, self.cache_dir, self.kafka_version, n.port, n.controller_port,
                self.heap, node_id=n.node_id, home=self._node_home(n.node_id),
                quorum_voters=layout.voters, cluster_id=layout.cluster_id,
                replication=self.replication)
            for n in layout.nodes}
        for node_id, node in self.nodes.items():
            node.jvm_options = self.jvm_options_for(node_id)

    def start(self, timeout: float = 120.0, detach: bool = False) -> ClusterLayout:
        """Start every node that is not running and return once all of them answer."""
        self.launch(detach)
        return self.wait_ready(timeout)

    def launch(self, detach: bool = False) -> None:
        """Start every node that is not running, without waiting for them."""
        self._check_not_single_node()
        self._make_nodes(self._plan())
        try:
            for node in self.nodes.values():
                info = node.read_info()
                if info is None or not port_answers(info.port):
                    node.launch(detach)
        except BrokerError:
            self.stop()
            raise

    def wait_ready(self, timeout: float = 120.0) -> ClusterLayout:
        """Until every node launched here answers; BrokerError (all stopped) otherwise."""
        try:
            deadline = time.monotonic() + timeout
            for node in self.nodes.values():
                if node.process is not None:
                    node.wait_ready(max(1.0, deadline - time.monotonic()))
        except BrokerError:
            self.stop()
            raise
        assert self.layout is not None
        return self.layout

    def attach(self) -> ClusterLayout | None:
        """The recorded cluster of this data directory, to stop or inspect it."""
        layout = read_layout(self.home)
        if layout is not None:
            self._make_nodes(layout)
        return layout

    def node(self, node_id: int) -> EmbeddedBroker:
        return self.nodes[node_id]

    def launch_node(self, node_id: int, detach: bool = True) -> None:
        """Start one node again without waiting (it catches up with the others by itself)."""
        self.nodes[node_id].launch(detach)

    def kill_node(self, node_id: int) -> None:
        """``kill -9`` one node: no shutdown, no leadership handed over (drills and tests)."""
        node = self.nodes[node_id]
        info = node.read_info()
        if info is None:
            return
        os.kill(info.pid, signal.SIGKILL)
        if node.process is not None:
            node.process.wait()
        else:
            deadline = time.monotonic() + 10
            while pid_alive(info.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        node.info_file.unlink(missing_ok=True)

    def wipe_node(self, node_id: int) -> None:
        """Delete a stopped node's data (its disk is lost); it is formatted anew on launch
        with the cluster's id and fetches every replica from the others."""
        node = self.nodes[node_id]
        if node.read_info() is not None:
            raise BrokerError(f"node {node_id} is running: stop it before wiping its data")
        shutil.rmtree(node.log_dir, ignore_errors=True)

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop every node (SIGTERM, SIGKILL after ``timeout``); True if any was running."""
        if not self.nodes and self.attach() is None:
            return False
        # All at once: a node stopped after the quorum is gone would wait for a controller
        # that no longer answers before it shuts down.
        pids = {}
        for node_id, node in self.nodes.items():
            pid = node.process.pid if node.process is not None else None
            if pid is None and (info := node.read_info()) is not None:
                pid = info.pid
            if pid is not None and pid_alive(pid):
                os.kill(pid, signal.SIGTERM)
                pids[node_id] = pid
        deadline = time.monotonic() + timeout
        for node_id, pid in pids.items():
            node = self.nodes[node_id]
            while time.monotonic() < deadline:
                if node.process is not None and node.process.poll() is not None:
                    break
                if node.process is None and not pid_alive(pid):
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
                if node.process is not None:
                    node.process.wait()
        for node in self.nodes.values():
            node.info_file.unlink(missing_ok=True)
        return bool(pids)

    def status(self) -> list[tuple[int, int | None, str, bool]]:
        """(node id, pid, address, answering) of every recorded node."""
        if not self.nodes and self.attach() is None:
            return []
        rows = []
        for node_id, node in self.nodes.items():
            info = node.read_info()
            port = info.port if info else node.port
            rows.append((node_id, info.pid if info else None, f"127.0.0.1:{port}",
                         info is not None and port_answers(port)))
        return rows


def embedded_kafka(data_dir: Path, cache_dir: Path, kafka_version: str, nodes: int,
                   port: int, controller_port: int, heap: str, node_heap: str
                   ) -> EmbeddedBroker | EmbeddedCluster:
    """The embedded broker (one node) or cluster (several) of a data directory; a directory
    that holds the other kind is refused with what to do."""
    if nodes > 1:
        return EmbeddedCluster(data_dir, cache_dir, kafka_version, nodes, node_heap)
    home = (data_dir / "broker").resolve()
    if (home / CLUSTER_FILE).exists():
        layout = read_layout(home)
        count = len(layout.nodes) if layout else "several"
        raise BrokerError(
            f"{home} holds a cluster of {count} nodes: set STRAUM_KAFKA_NODES={count}, or "
            f"use another STRAUM_DATA_DIR for one node, or delete {home} to start afresh")
    return EmbeddedBroker(data_dir, cache_dir, kafka_version, port, controller_port, heap)


def quorum_leader(cluster: EmbeddedCluster) -> int | None:
    """The controller quorum's leader as the nodes last recorded it (the highest epoch in
    their ``quorum-state`` files); None when no node knows one."""
    best: tuple[int, int] | None = None
    for node in cluster.nodes.values():
        try:
            state = json.loads((node.log_dir / "__cluster_metadata-0" / "quorum-state")
                               .read_text())
        except (OSError, ValueError):
            continue
        leader, epoch = int(state.get("leaderId", -1)), int(state.get("leaderEpoch", -1))
        if leader >= 0 and (best is None or epoch > best[0]):
            best = (epoch, leader)
    return best[1] if best else None
