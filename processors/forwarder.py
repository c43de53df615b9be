"""The metering-value forwarder: intake series → acknowledgement + one notification per
responsible actor, routed on the point's state at the time of the values, each series once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prometheus_client import Counter

from domain.forwarding import forward_series
from domain.metering_point import MeteringPoint, from_record
from domain.versions import SeriesVersion, content_hash, epoch_ms, judge, remember
from domain.versions import from_record as history_from_record
from domain.versions import to_record as history_to_record
from processors.heartbeats import is_heartbeat, pass_on
from processors.outbound import outbound_records
from processors.output import Record, dead_letter, now, produce_durably
from straum.logging import get_logger
from streams.app import app, metering_points, metering_values_topic, series_versions, settings
from streams.serialisation import (
    METERING_POINT_STATE,
    METERING_VALUE_SERIES,
    SERIES_HISTORY,
    codec,
)

log = get_logger(__name__)
PROCESSOR = "forwarder"
BATCH = 500
SERIES = Counter("straum_forwarder_series_total", "Series handled by the forwarder",
                 ["outcome"])


def point_state(metering_point_id: str) -> MeteringPoint | None:
    """The point's current state from the co-partitioned master-data table."""
    raw = metering_points.get(metering_point_id.encode())
    return from_record(codec(METERING_POINT_STATE).decode(raw)) if raw else None


Pending = dict[bytes, tuple[int, list[SeriesVersion]]]


def history(key: bytes, pending: Pending) -> list[SeriesVersion]:
    """What was forwarded for a point: this batch's pending entries first, then the table."""
    if key in pending:
        return pending[key][1]
    raw = series_versions.get(key)
    return history_from_record(codec(SERIES_HISTORY).decode(raw)) if raw else []


def handle(event: Any, moment: datetime, pending: Pending) -> list[Record]:
    """Records for one intake event; raises for what the processor cannot handle.

    The point's new history goes to ``pending``: it is written to the table only after the
    batch's outputs are durable, so a crash can cause a resend, never a series marked as
    forwarded that was not.
    """
    series = codec(METERING_VALUE_SERIES).decode(event.message.value)
    key = series["meteringPointId"].encode()
    digest = content_hash(series["start"], series["end"], series["resolution"],
                          series["quantities"], series["qualities"])
    past = history(key, pending)
    verdict = judge(past, series["transactionId"], series["start"], series["end"], digest)
    messages = forward_series(point_state(series["meteringPointId"]), series, moment, verdict)
    records = outbound_records(messages)
    forwarded = len(messages) > 1
    if forwarded:
        entry = SeriesVersion(epoch_ms(series["start"]), epoch_ms(series["end"]),
                              series["transactionId"], digest, verdict.version)
        pending[key] = (event.message.partition,
                        remember(past, entry, moment, settings.series_history_days))
    outcome = ("duplicate" if verdict.duplicate else "correction" if verdict.correction
               else "forwarded" if forwarded else "rejected")
    SERIES.labels(outcome).inc()
    if outcome != "forwarded":
        log.info("series not simply forwarded", outcome=outcome,
                 message_id=series["messageId"], transaction_id=series["transactionId"],
                 metering_point=series["meteringPointId"], actor=series["sender"])
    return records


@app.agent(metering_values_topic, name="forwarder")
async def forward_metering_values(stream: Any) -> None:
    """Forward in batches: one durable write per batch, then Faust acks the batch."""
    async for events in stream.take_events(BATCH, within=0.05):
        records: list[Record] = []
        pending: Pending = {}
        moment = now()
        for event in events:
            try:
                if is_heartbeat(event):
                    records.append(pass_on(event, moment))
                    continue
                records.extend(handle(event, moment, pending))
            except Exception as exc:  # any failure of one record must not stop the stream
                records.append(dead_letter(PROCESSOR, event, exc))
        await produce_durably(records, PROCESSOR)
        remember_forwarded(pending)


def remember_forwarded(pending: Pending) -> None:
    """Record what the batch forwarded; a failure here means resends, never a stopped stream."""
    encode = codec(SERIES_HISTORY).encode
    for key, (partition, entries) in pending.items():
        try:
            series_versions.set_in_partition(key, encode(history_to_record(entries)), partition)
        except Exception as exc:  # keep the stream going; the next resend is forwarded again
            log.error("could not record forwarded series", metering_point=key.decode(),
                      error=str(exc))
