"""Test session fixtures: one real Kafka broker for the whole run, and a three-node cluster for
the replication tests only.

The broker is straum's own embedded broker (the same code ``make run`` uses), on free ports
with a fresh data directory, started once and stopped at the end of the session. The cluster
(``STRAUM_KAFKA_NODES=3``'s code) is started the first time a test asks for it, with small
heaps, and stopped at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.broker.cluster import EmbeddedCluster
from connectors.broker.embedded import BrokerError, BrokerInfo, EmbeddedBroker, free_port
from connectors.broker.jmx import agent_option, ensure_agent
from schemas.settings import Settings

SASL_USER, SASL_PASSWORD = "straum-test", "test-secret"
BROKER_METRICS_PORT = free_port()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerInfo | None]:
    """The session's real broker: a plain listener and a SASL/PLAIN one."""
    if os.environ.get("STRAUM_TEST_KAFKA_BOOTSTRAP"):
        yield None
        return
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    data_dir = tmp_path_factory.mktemp("kafka")
    broker = EmbeddedBroker(data_dir, settings.kafka_cache_dir, settings.kafka_version,
                            port=0, controller_port=0, heap="768m", sasl_port=0,
                            sasl_users={SASL_USER: SASL_PASSWORD})
    broker.jvm_options = (agent_option(ensure_agent(settings.kafka_cache_dir),
                                       BROKER_METRICS_PORT),)  # the JMX exporter's /metrics
    info = broker.start(timeout=120)
    try:
        yield info
    finally:
        broker.stop()


CLUSTER = pytest.StashKey[EmbeddedCluster]()
CLUSTER_ERROR = pytest.StashKey[str]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Launch the three-node cluster as soon as a collected test needs it: its JVMs boot
    while the tests before it run (the fixture waits for them)."""
    if os.environ.get("STRAUM_TEST_KAFKA_BOOTSTRAP") or not any(
            "kafka_cluster" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    root = Path(tempfile.mkdtemp(prefix="straum-test-cluster-"))
    cluster = EmbeddedCluster(root, settings.kafka_cache_dir, settings.kafka_version, nodes=3,
                              heap="384m")
    session.config.stash[CLUSTER] = cluster

    def stop() -> None:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)

    session.config.add_cleanup(stop)
    try:
        cluster.launch()
    except BrokerError as exc:  # said by the tests that need the cluster, not at collection
        session.config.stash[CLUSTER_ERROR] = str(exc)


@pytest.fixture(scope="session")
def kafka_cluster(request: pytest.FixtureRequest) -> EmbeddedCluster:
    """Three KRaft nodes (broker and controller each), replication 3, min.insync.replicas 2,
    launched at collection and stopped at the end of the session; a test that kills or wipes
    a node brings it back before it ends."""
    cluster = request.config.stash.get(CLUSTER, None)
    if cluster is None:
        pytest.skip("the three-node cluster is not started with STRAUM_TEST_KAFKA_BOOTSTRAP")
    if (error := request.config.stash.get(CLUSTER_ERROR, None)) is not None:
        pytest.fail(f"the three-node cluster did not start: {error}")
    cluster.wait_ready(timeout=180)
    return cluster


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: BrokerInfo | None) -> str:
    """Bootstrap address of the session's real broker (plain listener)."""
    if kafka_broker is None:
        return os.environ["STRAUM_TEST_KAFKA_BOOTSTRAP"]
    return kafka_broker.bootstrap


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("straum")
