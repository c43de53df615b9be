"""Reads of one metering point's stored values, asked of the task that holds the point.

The API holds no values. A comparison or a history request (BRS-NO-315) is sent as a
PointRequest keyed by metering point; the worker's task for that partition answers from the
point's state and its days (processors/point_values.py) on the point-replies topic, and this
process picks the answer out (connectors/replies.py). What the caller may read is decided
there, from the point's state, by domain.read_access.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from aiokafka import AIOKafkaProducer

from connectors.http.auth import Caller
from connectors.http.problems import Problem
from connectors.http.statuses import point_read_status
from connectors.replies import Replies
from domain.comparison_core import ValueGrid
from domain.exact_numbers import float_scaled, rescale
from domain.point_values import STEP_SECONDS
from domain.problem_codes import Code
from domain.read_access import Period
from domain.series import midnight_s
from schemas.settings import Settings
from streams.records import point_day, point_requests
from streams.records.point_requests import PointReply
from streams.topics import TopicCatalogue

REPLY_WAIT_S = 15.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class HasKafka(Protocol):
    settings: Settings
    catalogue: TopicCatalogue

    def ready_producer(self) -> AIOKafkaProducer: ...


def moment(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


class PointReads:
    """Sends point requests and waits for their answers."""

    def __init__(self, services: HasKafka) -> None:
        self.services = services
        self.replies: Replies[PointReply] = Replies(
            services.settings, services.catalogue.point_replies, point_requests.decode_reply)

    async def ask(self, kind: str, who: Caller, point_id: str, start: datetime,
                  end: datetime, request_id: str | None = None) -> PointReply:
        """The task's answer; a Problem for its refusal (404: nothing the caller may see) or
        when it does not come in time (503)."""
        producer = self.services.ready_producer()
        await self.replies.start()
        correlation = str(uuid.uuid4())
        answer = self.replies.expect(correlation)
        value = point_requests.encode_request({
            "correlationId": correlation, "kind": kind, "sender": who.party,
            "roles": sorted(str(r) for r in who.roles), "meteringPointId": point_id,
            "start": start, "end": end, "requestId": request_id,
            "receivedAt": datetime.now(UTC)})
        await producer.send_and_wait(self.services.catalogue.point_requests, value,
                                     key=point_id.encode())
        reply = await self.replies.wait(correlation, answer, REPLY_WAIT_S)
        if reply is None:
            raise Problem(503, Code.READ_DELAYED, "Not answered yet",
                          "the hub did not answer in time; ask again shortly",
                          headers={"Retry-After": "2"})
        if reply["errorCode"] is not None:
            status = point_read_status(reply["errorCode"])
            detail = reply["errorDetail"] or ""
            if status >= 500:
                # the task could not read the values (its dead letter says why): never a 5xx
                raise Problem(503, Code.READ_DELAYED, "Not answered",
                              f"the hub could not answer now; ask again shortly "
                              f"({detail})"[:500], headers={"Retry-After": "5"})
            raise Problem(status, reply["errorCode"],
                          "No such metering point" if status == 404
                          else "The values cannot be read", detail)
        return reply

    async def stop(self) -> None:
        await self.replies.stop()


def periods_of(reply: PointReply) -> tuple[Period, ...]:
    return tuple(Period(moment(p["start"]), moment(p["end"])) for p in reply["periods"])


def grid_of(days: list[bytes], first: date, last: date, resolution: str,
            periods: tuple[Period, ...] | None) -> ValueGrid:
    """The comparison's grid (from the 1st of ``first``'s month) filled from stored days.

    A day kept at another resolution than ``resolution`` (the point changed resolution) is
    placed value by value, as the comparison places given values: an hourly value on a
    quarter-hour grid at its hour's start; a quarter-hour value off the hour on an hourly grid
    cannot be compared (ValueError), unless it lies outside what the caller may read.
    """
    step = STEP_SECONDS[resolution]
    start_s = midnight_s(first.replace(day=1))
    end_s = midnight_s(last + timedelta(days=1))
    count = (end_s - start_s) // step
    decoded = [point_day.decode_exact(raw) for raw in days]
    scale = 0
    for _, _, s, values, marks in decoded:
        if s != point_day.FLOAT:
            scale = max(scale, s)
        else:
            scale = max([scale] + [float_scaled(v)[1] for v, c in zip(values, marks,
                                                                      strict=True) if c])
    quantities = [0] * count
    qualities = bytearray(count)
    for day, day_resolution, s, values, marks in decoded:
        day_s = midnight_s(day)
        if s == point_day.FLOAT:
            ints = [rescale(*float_scaled(v), scale) if c else 0
                    for v, c in zip(values, marks, strict=True)]
        elif s != scale:
            ints = [rescale(int(v), s, scale) for v in values]
        else:
            ints = values  # type: ignore[assignment]
        if day_resolution == resolution:
            at = (day_s - start_s) // step
            if at >= 0 and at + len(ints) <= count:
                quantities[at:at + len(ints)] = ints
                qualities[at:at + len(ints)] = marks
            continue
        own = STEP_SECONDS[day_resolution]
        for i, (k, c) in enumerate(zip(ints, marks, strict=True)):
            t = day_s + i * own
            if not c or (periods is not None
                         and not any(p.start.timestamp() <= t and t + step <= p.end.timestamp()
                                     for p in periods)):
                continue
            if t % step:
                raise ValueError(f"value at {datetime.fromtimestamp(t, UTC).isoformat()} is "
                                 f"not on the {resolution} grid")
            if start_s <= t < end_s:
                quantities[(t - start_s) // step] = k
                qualities[(t - start_s) // step] = c
    return ValueGrid(start_s, step, quantities, bytes(qualities), scale)

