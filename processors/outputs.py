"""Outputs the processors produce: queue messages for market actors, heartbeats."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

from domain.messages import Outbound
from streams.engine import Incoming, Output
from streams.records import heartbeat, queue_message
from streams.topics import Queue, TopicCatalogue, TopicSpec

KIND_HEADER = "straum-kind"
HEARTBEAT_KIND = b"heartbeat"
HEARTBEAT_KEY_PREFIX = b"straum-heartbeat|"


@lru_cache(maxsize=200_000)
def queue_target(catalogue: TopicCatalogue, recipient: str, queue: str
                 ) -> tuple[str, bytes, TopicSpec]:
    """An actor queue's topic, record key and spec (the same for every message to it)."""
    q = Queue(queue)
    return (catalogue.queue_topic(recipient, q), f"{recipient}|{queue}".encode(),
            catalogue.queue_spec(recipient, q))


def queue_outputs(catalogue: TopicCatalogue, messages: Iterable[Outbound]) -> list[Output]:
    """Each message as a record of its recipient's queue topic (created on first use)."""
    outputs = []
    points: queue_message.PointsCache = {}
    for m in messages:
        topic, key, spec = queue_target(catalogue, m.recipient, m.queue)
        outputs.append(Output(topic, key, queue_message.render(m, points), 0,
                              queue_message.HEADERS, create=spec, recipient=m.recipient))
    return outputs


def is_heartbeat(record: Incoming) -> bool:
    """The monitor's heartbeat (header ``straum-kind: heartbeat``) in an input partition."""
    return record.header(KIND_HEADER) == HEARTBEAT_KIND


def heartbeat_through(catalogue: TopicCatalogue, record: Incoming, moment: datetime) -> Output:
    """The heartbeat, stamped, for the monitor: it came through this partition's processor
    and its transaction, as the partition's data does."""
    beat = heartbeat.decode(record.value)
    beat["processedAt"] = moment
    beat["queuedAt"] = moment
    key = HEARTBEAT_KEY_PREFIX + f"{beat['sourceTopic']}|{beat['partition']}".encode()
    return Output(catalogue.heartbeats, key, heartbeat.encode(beat), 0)
