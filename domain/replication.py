"""Replica state of a Kafka cluster, judged per partition: who leads, who is in sync.

The monitor reads every partition's leader, replicas and in-sync replicas (ISR) from the
cluster's metadata, Kafka's internal topics included (consumer offsets and transaction state:
without them no worker commits). These rules say which partitions are under-replicated (a
replica out of sync: one more loss and writes stop, or data is at risk), which are below
``min.insync.replicas`` (``acks=all`` writes to them are refused now) and which are offline (no
leader: neither reads nor writes). Pure: the shell fills in what it read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

NO_LEADER = -1


@dataclass(frozen=True)
class PartitionReplicas:
    """One partition as the cluster's metadata describes it."""

    topic: str
    partition: int
    leader: int  # NO_LEADER when none is elected
    replicas: tuple[int, ...]
    isr: tuple[int, ...]

    @property
    def offline(self) -> bool:
        return self.leader == NO_LEADER

    @property
    def under_replicated(self) -> bool:
        return len(self.isr) < len(self.replicas)

    def min_insync(self) -> int:
        """straum's rule for every topic, and the brokers' default: two copies where there
        are two or more (streams/topics.py, connectors/broker/embedded.py)."""
        return min(2, len(self.replicas))

    @property
    def below_min_insync(self) -> bool:
        return len(self.isr) < self.min_insync()


@dataclass(frozen=True)
class ReplicationState:
    """The cluster's replicas in one monitor round."""

    brokers: int  # live (registered, unfenced) brokers in the metadata
    partitions: int
    under_replicated: tuple[PartitionReplicas, ...]
    below_min_insync: tuple[PartitionReplicas, ...]
    offline: tuple[PartitionReplicas, ...]

    @property
    def healthy(self) -> bool:
        return not (self.under_replicated or self.offline)


def judge(brokers: int, partitions: Iterable[PartitionReplicas]) -> ReplicationState:
    """Sort every partition into what is wrong with it (a partition may be in several)."""
    every = sorted(partitions, key=lambda p: (p.topic, p.partition))
    return ReplicationState(
        brokers=brokers, partitions=len(every),
        under_replicated=tuple(p for p in every if p.under_replicated),
        below_min_insync=tuple(p for p in every if p.below_min_insync),
        offline=tuple(p for p in every if p.offline))


Key = tuple[str, int]


def persisting(first_seen: Mapping[Key, float], now_keys: Iterable[Key], now: float
               ) -> dict[Key, float]:
    """Since when each partition now in a state has been in it (forgotten once out of it):
    a new topic's partitions have no leader for a moment, which is no alert."""
    return {key: first_seen.get(key, now) for key in now_keys}


def describe(partitions: Iterable[PartitionReplicas], limit: int = 3) -> str:
    """A few partitions by name, for an alert's summary."""
    names = [f"{p.topic}[{p.partition}]" for p in partitions]
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
