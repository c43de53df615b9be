"""The embedded cluster's layout and broker defaults: every node votes, clients reach every
node, and every topic (Kafka's internal ones too) is kept three times with two in sync."""

from __future__ import annotations

import json
from pathlib import Path

from connectors.broker.cluster import ClusterLayout, NodePorts, read_layout, replication_for
from connectors.broker.embedded import replication_properties
from schemas.settings import Settings
from streams.kafka import resolve_bootstrap


def layout() -> ClusterLayout:
    return ClusterLayout("abc", (NodePorts(1, 9101, 9201), NodePorts(2, 9102, 9202),
                                 NodePorts(3, 9103, 9203)))


def test_every_node_votes_and_serves_clients() -> None:
    assert layout().voters == "1@127.0.0.1:9201,2@127.0.0.1:9202,3@127.0.0.1:9203"
    assert layout().bootstrap == "127.0.0.1:9101,127.0.0.1:9102,127.0.0.1:9103"


def test_three_copies_where_there_are_three_nodes() -> None:
    assert [replication_for(n) for n in (2, 3, 5)] == [2, 3, 3]


def test_broker_defaults_keep_every_topic_three_times_with_two_in_sync() -> None:
    props = replication_properties(3)
    assert props["default.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["transaction.state.log.replication.factor"] == "3"
    assert props["transaction.state.log.min.isr"] == "2"
    assert props["unclean.leader.election.enable"] == "false"
    single = replication_properties(1)
    assert single["min.insync.replicas"] == "1" and single["offsets.topic.replication.factor"] \
        == "1"


def test_other_commands_find_the_cluster_in_the_data_directory(tmp_path: Path) -> None:
    home = tmp_path / "broker"
    home.mkdir()
    (home / "cluster.json").write_text(json.dumps(
        {"cluster_id": "abc", "nodes": [{"node_id": n.node_id, "port": n.port,
                                         "controller_port": n.controller_port}
                                        for n in layout().nodes]}))
    assert read_layout(home) == layout()
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert resolve_bootstrap(settings) == layout().bootstrap
