"""What straum's processors wrote to the actors' queue topics, read as an actor's poll reads it
(``read_committed``): records, distinct message ids, sizes, newest timestamp.

Queue topics are written in Kafka transactions, so their offsets include commit markers: the
records between two offsets are counted by reading them, never by subtracting offsets.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from aiokafka import TopicPartition

from schemas.settings import Settings
from streams.kafka import reader
from streams.topics import TopicCatalogue

#: A queue record's value starts with the message id (streams/records/queue_message.py).
ID_PREFIX = b'{"messageId":"'
REPLAYED = b'"replayed":true'


def message_id(value: bytes | None) -> str:
    """The messageId of a queue record's JSON value, without parsing the whole value."""
    if value is None or not value.startswith(ID_PREFIX):
        return ""
    start = len(ID_PREFIX)
    return value[start:start + 36].decode()


@dataclass
class Tally:
    """Records found in queue topics since a starting point."""

    records: int = 0
    replayed: int = 0  # records marked "replayed" (a replay's, not the worker's)
    ids: Counter[str] = field(default_factory=Counter)
    by_queue: Counter[str] = field(default_factory=Counter)
    bytes_by_queue: Counter[str] = field(default_factory=Counter)
    newest_ms: int = 0

    @property
    def distinct(self) -> int:
        return len(self.ids)

    @property
    def repeated(self) -> int:
        """Records whose message id was already in the tally (delivered twice)."""
        return self.records - self.distinct

    def mean_bytes(self, queue: str) -> float:
        n = self.by_queue[queue]
        return self.bytes_by_queue[queue] / n if n else float("nan")


async def queue_ends(settings: Settings, prefix: str | None = None
                     ) -> dict[TopicPartition, int]:
    """The current end of every queue topic (the start of a later :func:`tally`)."""
    consumer = reader(settings, "bench-tally-ends")
    await consumer.start()
    try:
        topics = await consumer.topics()
        queue_prefix = f"{prefix or settings.topic_prefix}.queue."
        tps = [TopicPartition(t, 0) for t in sorted(topics) if t.startswith(queue_prefix)]
        return dict(await consumer.end_offsets(tps)) if tps else {}
    finally:
        await consumer.stop()


async def tally(settings: Settings, since: dict[TopicPartition, int] | None = None,
                within: float = 300.0) -> Tally:
    """Every committed record of the queue topics from ``since`` (a topic missing there: from
    its beginning) to their current ends."""
    catalogue = TopicCatalogue.from_settings(settings)
    since = since or {}
    out = Tally()
    consumer = reader(settings, "bench-tally", max_partition_fetch_bytes=16 * 1024 * 1024,
                      fetch_max_bytes=64 * 1024 * 1024)
    await consumer.start()
    try:
        ends = await queue_ends(settings)
        tps = [tp for tp, end in ends.items() if end > since.get(tp, 0)]
        if not tps:
            return out
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, since.get(tp, 0))
        kinds = {tp: (catalogue.parse_queue_topic(tp.topic) or ("", None))[1] for tp in tps}
        pending = set(tps)
        deadline = time.monotonic() + within
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"queue topics not read within {within:.0f} s")
            batch = await consumer.getmany(*pending, timeout_ms=500, max_records=50_000)
            for tp, records in batch.items():
                kind = kinds[tp]
                queue = kind.value if kind is not None else "?"
                for r in records:
                    if r.offset >= ends[tp]:
                        continue
                    out.records += 1
                    if REPLAYED in (r.value or b""):
                        out.replayed += 1
                    out.ids[message_id(r.value)] += 1
                    out.by_queue[queue] += 1
                    out.bytes_by_queue[queue] += len(r.value or b"")
                    out.newest_ms = max(out.newest_ms, r.timestamp)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return out
    finally:
        await consumer.stop()


async def count_committed(settings: Settings, topic: str, partitions: int = 1,
                          since: dict[TopicPartition, int] | None = None) -> int:
    """Committed records of ``topic`` (e.g. dead letters) from ``since`` to its end."""
    consumer = reader(settings, "bench-count")
    await consumer.start()
    try:
        if topic not in await consumer.topics():
            return 0
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        ends = await consumer.end_offsets(tps)
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, (since or {}).get(tp, 0))
        count = 0
        pending = {tp for tp in tps if ends[tp] > (since or {}).get(tp, 0)}
        deadline = time.monotonic() + 120
        while pending and time.monotonic() < deadline:
            batch = await consumer.getmany(*pending, timeout_ms=500)
            count += sum(1 for tp, rs in batch.items() for r in rs if r.offset < ends[tp])
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return count
    finally:
        await consumer.stop()
