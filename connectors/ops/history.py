"""The monitor's history in Kafka: a sample of its figures per interval (``ops-history``) and
every alert that began or stopped firing (``alert-events``), written by the monitor and read
back by time for the /ops page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from domain.alerts import AlertEvent
from domain.ops_history import Sample
from schemas.settings import Settings
from streams.kafka import resolve_bootstrap, security_kwargs
from streams.serialisation import ALERT_EVENT, OPS_SAMPLE, codec

T = TypeVar("T")


def encode_sample(sample: Sample) -> bytes:
    return codec(OPS_SAMPLE).encode({
        "at": sample.at, "lagMessages": sample.lag_messages,
        "maxLagSeconds": sample.max_lag_seconds, "inPerSecond": sample.in_per_second,
        "processedPerSecond": sample.processed_per_second,
        "catchUpEtaSeconds": sample.catch_up_eta_seconds, "deadLetters": sample.dead_letters,
        "firingAlerts": sample.firing_alerts, "forwardingUp": sample.forwarding_up,
        "queueMessages": sample.queue_messages})


def decode_sample(value: bytes) -> Sample:
    r = codec(OPS_SAMPLE).decode(value)
    return Sample(r["at"], r["lagMessages"], r["maxLagSeconds"], r["inPerSecond"],
                  r["processedPerSecond"], r["catchUpEtaSeconds"], r["deadLetters"],
                  r["firingAlerts"], r["forwardingUp"], r["queueMessages"])


def encode_event(event: AlertEvent) -> bytes:
    c, alert = event.alert.condition, event.alert
    return codec(ALERT_EVENT).encode({
        "id": c.id, "name": c.name, "severity": c.severity, "state": event.kind,
        "at": datetime.fromtimestamp(alert.since, UTC),
        "firedAt": datetime.fromtimestamp(alert.fired_at or alert.since, UTC),
        "summary": c.summary, "runbook": c.runbook})


def decode_event(value: bytes) -> dict[str, Any]:
    return codec(ALERT_EVENT).decode(value)


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
