"""Reading the processors' tables straight from their changelog topics, for reports, replays
and migrations that look at every point (the workers keep the same state in memory)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from domain.metering_point import MeteringPoint
from domain.versions import SeriesVersion
from schemas.settings import Settings
from streams.kafka import admin_client, partitions_of, resolve_bootstrap, security_kwargs
from streams.records import metering_point, series_history
from streams.topics import TopicCatalogue

T = TypeVar("T")
Progress = Callable[[int, int], None]


async def read_changelog(settings: Settings, topic: str, decode: Callable[[bytes], T],
                         progress: Progress | None = None) -> dict[str, T]:
    """The latest value per key of a (compacted) changelog topic, all partitions."""
    admin = admin_client(settings, "straum-state-reader")
    await admin.start()
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(admin, topic)]
    finally:
        await admin.close()
    if not tps:
        return {}
    consumer = AIOKafkaConsumer(isolation_level="read_committed",
                                bootstrap_servers=resolve_bootstrap(settings), group_id=None,
                                enable_auto_commit=False, client_id="straum-state-reader",
                                **security_kwargs(settings))
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        begins = await consumer.beginning_offsets(tps)
        total = sum(ends[tp] - begins[tp] for tp in tps)
        values: dict[str, T] = {}
        read = 0
        pending = {tp for tp in tps if ends[tp] > begins[tp]}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000, max_records=5000)
            for records in batch.values():
                for record in records:
                    read += 1
                    key = record.key.decode()
                    if record.value is None:
                        values.pop(key, None)
                    else:
                        values[key] = decode(record.value)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
            if progress:
                progress(read, total)
        return values
    finally:
        await consumer.stop()


async def read_points(settings: Settings, progress: Progress | None = None
                      ) -> dict[str, MeteringPoint]:
    """Every metering point's latest state, by id."""
    return await read_changelog(
        settings, TopicCatalogue.from_settings(settings).metering_point_changelog,
        metering_point.decode, progress)


async def read_series_histories(settings: Settings, progress: Progress | None = None
                                ) -> dict[str, list[SeriesVersion]]:
    """What the forwarder remembers having forwarded, per metering point."""
    return await read_changelog(
        settings, TopicCatalogue.from_settings(settings).series_versions_changelog,
        series_history.decode, progress)
