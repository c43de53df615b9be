"""Reads of one metering point's values: the API's request (Avro ``PointRequest``) and the
point-values task's reply (Avro ``PointReply``), matched by correlation id."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from streams.records.typed import TypedRecord
from streams.serialisation import POINT_REPLY, POINT_REQUEST


class PointRequest(TypedDict):
    correlationId: str
    kind: str
    sender: str
    roles: list[str]
    meteringPointId: str
    start: datetime
    end: datetime
    requestId: str | None
    receivedAt: datetime


class ReadablePeriod(TypedDict):
    """A period the caller may read, in epoch milliseconds."""

    start: int
    end: int


class PointReply(TypedDict):
    """The answer: the readable periods and their stored days (streams/records/point_day.py),
    or the refusal (``errorCode``, ``errorDetail``)."""

    correlationId: str
    errorCode: str | None
    errorDetail: str | None
    consumptionCode: str | None
    priceArea: str | None
    resolution: str | None
    periods: list[ReadablePeriod]
    days: list[bytes]
    messages: int


_REQUEST = TypedRecord[PointRequest](POINT_REQUEST)
encode_request, decode_request = _REQUEST.encode, _REQUEST.decode


_REPLY = TypedRecord[PointReply](POINT_REPLY)
encode_reply, decode_reply = _REPLY.encode, _REPLY.decode
