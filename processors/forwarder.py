"""The metering-value forwarder: intake series → acknowledgement + one notification per
responsible actor, routed on the point's state at the time of the values."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

from domain.forwarding import forward_series
from domain.metering_point import MeteringPoint, from_record
from processors.outbound import outbound_records
from processors.output import Record, dead_letter, now, produce_durably
from straum.logging import get_logger
from streams.app import app, metering_points, metering_values_topic
from streams.serialisation import METERING_POINT_STATE, METERING_VALUE_SERIES, codec

log = get_logger(__name__)
PROCESSOR = "forwarder"
BATCH = 500
SERIES = Counter("straum_forwarder_series_total", "Series handled by the forwarder", ["outcome"])


def point_state(metering_point_id: str) -> MeteringPoint | None:
    """The point's current state from the co-partitioned master-data table."""
    raw = metering_points.get(metering_point_id.encode())
    return from_record(codec(METERING_POINT_STATE).decode(raw)) if raw else None


def handle(event: Any) -> list[Record]:
    """Records for one intake event; raises for what the processor cannot handle."""
    series = codec(METERING_VALUE_SERIES).decode(event.message.value)
    messages = forward_series(point_state(series["meteringPointId"]), series, now())
    accepted = len(messages) > 1
    SERIES.labels("forwarded" if accepted else "rejected").inc()
    log.debug("series handled", message_id=series["messageId"],
              metering_point=series["meteringPointId"], recipients=len(messages) - 1)
    return outbound_records(messages)


@app.agent(metering_values_topic, name="forwarder")
async def forward_metering_values(stream: Any) -> None:
    """Forward in batches: one durable write per batch, then Faust acks the batch."""
    async for events in stream.take_events(BATCH, within=0.05):
        records: list[Record] = []
        for event in events:
            try:
                records.extend(handle(event))
            except Exception as exc:  # any failure of one record must not stop the stream
                records.append(dead_letter(PROCESSOR, event, exc))
        await produce_durably(records, PROCESSOR)
