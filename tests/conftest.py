"""Test session fixtures: one real Kafka broker for the whole run, and a three-node cluster for
the replication tests only.

The broker is straum's own embedded broker (the same code ``make run`` uses), on free ports
with a fresh data directory, started once and stopped at the end of the session. The cluster
(``STRAUM_KAFKA_NODES=3``'s code) is started the first time a test asks for it, with small
heaps, and stopped at the end of the session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.broker.cluster import EmbeddedCluster
from connectors.broker.embedded import BrokerInfo, EmbeddedBroker, free_port
from connectors.broker.jmx import agent_option, ensure_agent
from straum.settings import Settings

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


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    """Three KRaft nodes (broker and controller each), replication 3, min.insync.replicas 2;
    a test that kills or wipes a node brings it back before it ends."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    cluster = EmbeddedCluster(tmp_path_factory.mktemp("kafka-cluster"), settings.kafka_cache_dir,
                              settings.kafka_version, nodes=3, heap="384m")
    cluster.start(timeout=180)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: BrokerInfo | None) -> str:
    """Bootstrap address of the session's real broker (plain listener)."""
    if kafka_broker is None:
        return os.environ["STRAUM_TEST_KAFKA_BOOTSTRAP"]
    return kafka_broker.bootstrap


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("straum")
