"""A point's stored values: kept by the forwarder, read by the point's own task.

The forwarder writes each accepted series (its current version) into the point's days
(domain.point_values) in the batch's transaction. Reads of one point's values come as
requests keyed by metering point (the API's side: connectors/http/point_reads.py), so the task
that holds the point's state and days answers them from its own tables: the comparison gets
the days the caller may read; a history request (BRS-NO-315) has its answer written straight
into the caller's metering-values queue, in the same transaction as the reply that tells the
API how many messages it holds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain.comparison import period_seconds
from domain.forwarding import NOTIFY_VALUES
from domain.messages import METERING_VALUES, Outbound, outbound_message_id
from domain.metering_point import MeteringPoint
from domain.point_values import (
    PointDay,
    Run,
    day_key,
    day_parts,
    local_day,
    merge,
    readable_runs,
)
from domain.problem_codes import PointReadCode
from domain.read_access import SUPPLIER, Period, readable_periods, supplied_periods
from domain.series import midnight_s
from processors.outputs import queue_outputs
from processors.tables import Tables
from streams.engine import Context, Incoming, Output
from streams.engine.store import DiskTable
from streams.logging import get_logger
from streams.records import point_day, point_requests
from streams.records.point_requests import PointRequest
from streams.records.series import Series
from streams.topics import TopicCatalogue

log = get_logger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def remember_values(days: Any, series: Series, version: int) -> None:
    """Write an accepted series into its point's days (``days``: the point-values table)."""
    point = series["meteringPointId"]
    for part in day_parts(series["start"], series["end"], series["resolution"]):
        key = day_key(point, part.day)
        days.put(key, merge(days.get(key), part, series, version))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _seconds(periods: tuple[Period, ...]) -> list[tuple[int, int]]:
    return period_seconds(periods)


class PointRequests:
    """Handler of the point-requests topic."""

    name = "point-requests"

    def __init__(self, catalogue: TopicCatalogue, tables: Tables) -> None:
        self.catalogue = catalogue
        self.tables = tables
        self._decode = point_requests.decode_request

    def handle(self, record: Incoming, ctx: Context) -> list[Output]:
        request = self._decode(record.value)
        point_id = request["meteringPointId"]
        point: MeteringPoint | None = ctx.table(self.tables.metering_points).get(
            point_id.encode())
        asked = Period(request["start"], request["end"])
        periods = (readable_periods(point, request["sender"], request["roles"], asked)
                   if point is not None else ())
        if point is None or not periods:
            return [self.reply(request, error=(PointReadCode.METERING_POINT_UNKNOWN,
                                               "no metering point with that id that you may "
                                               "see in the period"))]
        days: DiskTable[PointDay] = ctx.table(self.tables.point_values)  # type: ignore[assignment]
        first = local_day(int(asked.start.timestamp()))
        last = local_day(int(asked.end.timestamp()) - 1)
        stored = days.range_raw(day_key(point_id, first), day_key(point_id, last))
        if request["kind"] == "comparison":
            on_last = point.characteristics_on(last)
            readable = _seconds(periods)
            wanted = [raw for key, raw in stored if _touches(key, readable)]
            return [self.reply(request, periods=periods, days=wanted,
                               consumption_code=on_last.consumption_code,
                               price_area=on_last.price_area, resolution=on_last.resolution)]
        messages = self.history(request, point, periods, [raw for _, raw in stored], ctx.now)
        log.info("history request answered", metering_point=point_id, actor=request["sender"],
                 messages=len(messages), days=len(stored))
        return [*queue_outputs(self.catalogue, messages),
                self.reply(request, periods=periods, messages=len(messages))]

    def history(self, request: PointRequest, point: MeteringPoint,
                periods: tuple[Period, ...], stored: list[bytes], now: datetime
                ) -> list[Outbound]:
        """The values the caller may read, one message per run of one series version."""
        sender = request["sender"]
        supplied = (_seconds(tuple(supplied_periods(point, sender)))
                    if SUPPLIER in request["roles"] else [])
        window = (int(request["start"].timestamp()), int(request["end"].timestamp()))
        readable = _seconds(periods)
        cause = f"{sender}|{request['requestId']}"
        messages = []
        for raw in stored:
            for run in readable_runs(point_day.decode(raw), readable, window):
                messages.append(self.message(request, cause, run, supplied, now))
        return messages

    def message(self, request: PointRequest, cause: str, run: Run,
                supplied: list[tuple[int, int]], now: datetime) -> Outbound:
        start_s = int(run.start.timestamp())
        role = ("supplier" if any(a <= start_s < b for a, b in supplied) else "third_party")
        segment = run.segment
        return Outbound(
            message_id=outbound_message_id(cause, request["sender"], NOTIFY_VALUES,
                                           run.start.isoformat()),
            recipient=request["sender"], queue=METERING_VALUES, document_type=NOTIFY_VALUES,
            payload_type=NOTIFY_VALUES,
            payload={
                "transactionId": segment.transaction_id,
                "originalMessageId": segment.message_id,
                "meteringPointId": request["meteringPointId"],
                "start": run.start, "end": run.end, "resolution": run.resolution,
                "unit": "kWh",
                "registeredAt": _EPOCH + timedelta(milliseconds=segment.registered_ms),
                "recipientRole": role, "version": segment.version,
                "correction": segment.version > 1,
                "quantities": run.quantities, "qualities": run.qualities,
                "requestId": request["requestId"]},
            created_at=now)

    def reject(self, record: Incoming, reason: str, ctx: Context) -> list[Output]:
        """The API waits for an answer: tell it the request failed."""
        request = self._decode(record.value)
        return [self.reply(request, error=(PointReadCode.PROCESSING_FAILED,
                                           f"the hub could not read the values: {reason}"))]

    def reply(self, request: PointRequest, *, error: tuple[PointReadCode, str] | None = None,
              periods: tuple[Period, ...] = (), days: list[bytes] | None = None,
              messages: int = 0, consumption_code: str | None = None,
              price_area: str | None = None, resolution: str | None = None) -> Output:
        value = point_requests.encode_reply({
            "correlationId": request["correlationId"],
            "errorCode": error[0] if error else None,
            "errorDetail": error[1] if error else None,
            "consumptionCode": consumption_code, "priceArea": price_area,
            "resolution": resolution,
            "periods": [{"start": _ms(p.start), "end": _ms(p.end)} for p in periods],
            "days": days or [], "messages": messages})
        return Output(self.catalogue.point_replies, request["correlationId"].encode(), value, 0)


def _touches(key: bytes, readable: list[tuple[int, int]]) -> bool:
    """Whether a stored day (by its key) overlaps one of the periods: other days need not
    leave the task."""
    day = date.fromisoformat(key.rsplit(b"|", 1)[1].decode())
    start, end = midnight_s(day), midnight_s(day + timedelta(days=1))
    return any(a < end and start < b for a, b in readable)
