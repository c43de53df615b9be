"""One metering point's records in a keyed topic, read from the one partition its key maps to.

Used where the API needs a single point's history (the Norgespris comparison): the producer's
default partitioner (murmur2, as in Java) says which partition holds the key, and only that
partition is scanned. At national scale this wants a per-point store; see docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from schemas.settings import Settings
from streams.kafka import admin_client, partitions_of, resolve_bootstrap, security_kwargs


async def records_for_key(settings: Settings, topic: str, key: bytes,
                          since_ms: int | None = None) -> list[tuple[int, bytes]]:
    """``(timestamp ms, value)`` of every record with ``key``, oldest first."""
    admin = admin_client(settings, "straum-point-reader")
    await admin.start()
    try:
        partitions = await partitions_of(admin, topic)
    finally:
        await admin.close()
    if not partitions:
        return []
    partition = DefaultPartitioner()(key, partitions, partitions)
    tp = TopicPartition(topic, partition)
    consumer = AIOKafkaConsumer(isolation_level="read_committed",
                                bootstrap_servers=resolve_bootstrap(settings), group_id=None,
                                enable_auto_commit=False, client_id="straum-point-reader",
                                # a one-shot read: never let the broker hold a fetch 500 ms
                                fetch_max_wait_ms=10, **security_kwargs(settings))
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        start = None
        if since_ms is not None:
            found = await consumer.offsets_for_times({tp: since_ms})
            start = found[tp].offset if found.get(tp) else end
        if start is None:
            start = (await consumer.beginning_offsets([tp]))[tp]
        consumer.seek(tp, start)
        out: list[tuple[int, bytes]] = []
        next_offset, idle = start, 0
        while next_offset < end and idle < 5:
            records = (await consumer.getmany(tp, timeout_ms=1000, max_records=5000)
                       ).get(tp, [])
            idle = 0 if records else idle + 1
            if records:
                next_offset = records[-1].offset + 1
            out += [(r.timestamp, r.value) for r in records
                    if r.key == key and r.value is not None and r.offset < end]
        return out
    finally:
        await consumer.stop()
