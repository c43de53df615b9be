"""The availability record in Kafka: minute samples written by the monitor, maintenance
windows declared by operators, and reading them back for reports."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition

from connectors.compacted import CompactedView
from domain.availability import MaintenanceWindow, MinuteSample
from schemas.settings import Settings
from streams.kafka import resolve_bootstrap, security_kwargs
from streams.records import availability
from streams.topics import TopicCatalogue


def windows(view: CompactedView[MaintenanceWindow]) -> list[MaintenanceWindow]:
    """Every declared window with its id, earliest first."""
    return sorted((replace(w, id=key) for key, w in view.values.items()),
                  key=lambda w: w.start)


def encode_window(window: MaintenanceWindow, declared_by: str) -> bytes:
    return availability.encode_window(window, declared_by, datetime.now(UTC))


async def read_samples(settings: Settings, catalogue: TopicCatalogue, start: datetime,
                       end: datetime) -> list[MinuteSample]:
    """The monitor's minute samples in [start, end)."""
    consumer = AIOKafkaConsumer(isolation_level="read_committed",
                                bootstrap_servers=resolve_bootstrap(settings), group_id=None,
                                enable_auto_commit=False, client_id="straum-availability",
                                **security_kwargs(settings))
    await consumer.start()
    try:
        tp = TopicPartition(catalogue.availability, 0)
        consumer.assign([tp])
        found = await consumer.offsets_for_times({tp: int(start.timestamp() * 1000)})
        log_end = (await consumer.end_offsets([tp]))[tp]
        if found.get(tp) is None:
            return []
        consumer.seek(tp, found[tp].offset)
        samples: list[MinuteSample] = []
        decode = availability.decode_sample
        while await consumer.position(tp) < log_end:
            batch = await consumer.getmany(tp, timeout_ms=1000, max_records=10_000)
            for record in batch.get(tp, []):
                r = decode(record.value)
                if r["minute"] >= end:
                    return samples
                if r["minute"] >= start:
                    samples.append(MinuteSample(r["minute"], r["up"]))
        return samples
    finally:
        await consumer.stop()
