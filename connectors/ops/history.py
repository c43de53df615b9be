"""The monitor's history in Kafka: a sample of its figures per interval (``ops-history``) and
every alert that began or stopped firing (``alert-events``), written by the monitor and read
back by time for the /ops page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.settings import Settings
from streams.kafka import resolve_bootstrap, security_kwargs

T = TypeVar("T")


async def read_between(settings: Settings, topic: str, start: datetime, end: datetime,
                       decode: Callable[[bytes], T], moment: Callable[[T], datetime],
                       limit: int = 200_000) -> list[T]:
    """The records of single-partition ``topic`` whose ``moment`` is in [start, end), found
    from ``start`` by the records' timestamps (at most ``limit``)."""
    consumer = AIOKafkaConsumer(isolation_level="read_committed",
                                bootstrap_servers=resolve_bootstrap(settings), group_id=None,
                                enable_auto_commit=False, client_id="straum-ops-history",
                                **security_kwargs(settings))
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        found = await consumer.offsets_for_times({tp: int(start.timestamp() * 1000) - 60_000})
        log_end = (await consumer.end_offsets([tp]))[tp]
        if found.get(tp) is None:
            return []
        consumer.seek(tp, found[tp].offset)
        out: list[T] = []
        while await consumer.position(tp) < log_end and len(out) < limit:
            batch = await consumer.getmany(tp, timeout_ms=1000, max_records=10_000)
            for record in batch.get(tp, []):
                item = decode(record.value)
                at = moment(item)
                if at >= end:
                    return out
                if at >= start:
                    out.append(item)
        return out
    finally:
        await consumer.stop()
