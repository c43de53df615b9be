"""Replica state and its alerts: a broker lost shows as under-replicated partitions (a warning
while two copies are in sync, critical below min.insync.replicas), a partition without a
leader as offline; a moment's trouble (a new topic's election) raises nothing."""

from __future__ import annotations

from domain.alerts import AlertBook, Observed, Thresholds, conditions, update
from domain.replication import NO_LEADER, PartitionReplicas, describe, judge, persisting

FULL = (1, 2, 3)


def part(topic: str, partition: int, leader: int = 1, isr: tuple[int, ...] = FULL,
         replicas: tuple[int, ...] = FULL) -> PartitionReplicas:
    return PartitionReplicas(topic, partition, leader, replicas, isr)


def test_a_healthy_cluster_has_nothing_to_report() -> None:
    state = judge(3, [part("a", 0), part("a", 1), part("__consumer_offsets", 0)])
    assert state.healthy and state.partitions == 3
    assert not state.under_replicated and not state.offline and not state.below_min_insync


def test_one_broker_lost_leaves_partitions_under_replicated_but_writable() -> None:
    state = judge(2, [part("a", 0, leader=2, isr=(2, 3)), part("a", 1, isr=FULL)])
    assert [p.partition for p in state.under_replicated] == [0]
    assert state.below_min_insync == () and state.offline == ()


def test_two_brokers_lost_put_partitions_below_min_insync() -> None:
    state = judge(1, [part("a", 0, leader=3, isr=(3,))])
    assert len(state.under_replicated) == 1 and len(state.below_min_insync) == 1


def test_no_leader_is_offline() -> None:
    state = judge(1, [part("a", 0, leader=NO_LEADER, isr=(2,))])
    assert [p.partition for p in state.offline] == [0]


def test_one_replica_topics_are_never_under_replicated() -> None:
    state = judge(1, [part("a", 0, replicas=(1,), isr=(1,))])
    assert state.healthy and not state.below_min_insync


def test_since_is_kept_while_in_trouble_and_forgotten_after() -> None:
    seen = persisting({}, [("a", 0)], now=100.0)
    seen = persisting(seen, [("a", 0), ("a", 1)], now=105.0)
    assert seen == {("a", 0): 100.0, ("a", 1): 105.0}
    assert persisting(seen, [("a", 1)], now=110.0) == {("a", 1): 105.0}


def test_describe_names_a_few_partitions() -> None:
    parts = [part("t", i) for i in range(5)]
    assert describe(parts) == "t[0], t[1], t[2] and 2 more"


def observed(state_parts: list[PartitionReplicas], brokers: int = 2, under_for: float = 0.0,
             offline_for: float = 0.0, **extra: object) -> Observed:
    return Observed(now=1000.0, monitor_started=0.0, broker_down_since=None,
                    replication=judge(brokers, state_parts), under_replicated_for_s=under_for,
                    offline_for_s=offline_for, **extra)  # type: ignore[arg-type]


def test_under_replication_is_a_warning_after_the_threshold() -> None:
    parts = [part("a", 0, leader=2, isr=(2, 3))]
    assert conditions(observed(parts, under_for=5.0)) == []
    found = conditions(observed(parts, under_for=10.0))
    assert [(c.name, c.severity) for c in found] == [("UnderReplicatedPartitions", "warning")]
    assert "1 of 1 partitions" in found[0].summary and "2 broker(s) alive" in found[0].summary
    assert found[0].runbook == "http://127.0.0.1:8080/runbook#under-replicated-partitions"


def test_below_min_insync_is_critical() -> None:
    found = conditions(observed([part("a", 0, leader=3, isr=(3,))], brokers=1, under_for=30))
    assert [(c.name, c.severity) for c in found] == [("UnderReplicatedPartitions", "critical")]
    assert "writes to them are refused" in found[0].summary


def test_offline_partitions_are_critical() -> None:
    parts = [part("a", 0, leader=NO_LEADER, isr=(1,))]
    found = conditions(observed(parts, brokers=1, under_for=30, offline_for=30))
    names = {c.name: c.severity for c in found}
    assert names == {"OfflinePartitions": "critical", "UnderReplicatedPartitions": "critical"}


def test_replication_alerts_hold_in_maintenance_and_during_start_up() -> None:
    parts = [part("a", 0, leader=2, isr=(2, 3))]
    found = conditions(observed(parts, under_for=60, in_maintenance=True), Thresholds())
    assert [c.name for c in found] == ["UnderReplicatedPartitions"]


def test_the_alert_fires_once_and_resolves_after_the_replicas_are_back() -> None:
    parts = [part("a", 0, leader=2, isr=(2, 3))]
    book, events = update(AlertBook(),
                          conditions(observed(parts, under_for=12)), now=1000.0)
    assert [(e.kind, e.alert.condition.name) for e in events] == [
        ("firing", "UnderReplicatedPartitions")]
    book, events = update(book, conditions(observed(parts, under_for=17)), now=1005.0)
    assert events == []
    healthy = [part("a", 0)]
    book, events = update(book, conditions(observed(healthy)), now=1010.0)
    assert events == []  # gone for less than the resolve delay
    book, events = update(book, conditions(observed(healthy)), now=1025.0)
    assert [(e.kind, e.alert.condition.name) for e in events] == [
        ("resolved", "UnderReplicatedPartitions")]
