"""Outputs the processors produce: queue messages for market actors, heartbeats."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from domain.messages import Outbound
from schemas.records import queue_message
from streams.engine import Incoming, Output
from streams.serialisation import HEARTBEAT, codec
from streams.topics import Queue, TopicCatalogue

KIND_HEADER = "straum-kind"
HEARTBEAT_KIND = b"heartbeat"
HEARTBEAT_KEY_PREFIX = b"straum-heartbeat|"


def queue_outputs(catalogue: TopicCatalogue, messages: Iterable[Outbound]) -> list[Output]:
    """Each message as a record of its recipient's queue topic (created on first use)."""
    outputs = []
    points: queue_message.PointsCache = {}
    for m in messages:
        queue = Queue(m.queue)
        outputs.append(Output(
            catalogue.queue_topic(m.recipient, queue), f"{m.recipient}|{m.queue}".encode(),
            queue_message.render(m, points), 0, queue_message.HEADERS,
            create=catalogue.queue_spec(m.recipient, queue), recipient=m.recipient))
    return outputs


def is_heartbeat(record: Incoming) -> bool:
    """The monitor's heartbeat (header ``straum-kind: heartbeat``) in an input partition."""
    return record.header(KIND_HEADER) == HEARTBEAT_KIND


def heartbeat_through(catalogue: TopicCatalogue, record: Incoming, moment: datetime) -> Output:
    """The heartbeat, stamped, for the monitor: it came through this partition's processor
    and its transaction, as the partition's data does."""
    beat = codec(HEARTBEAT).decode(record.value)
    beat["processedAt"] = moment
    beat["queuedAt"] = moment
    key = HEARTBEAT_KEY_PREFIX + f"{beat['sourceTopic']}|{beat['partition']}".encode()
    return Output(catalogue.heartbeats, key, codec(HEARTBEAT).encode(beat), 0)
