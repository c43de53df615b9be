"""Reads of one metering point's values: the API's request (Avro ``PointRequest``) and the
point-values task's reply (Avro ``PointReply``), matched by correlation id."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, cast

from streams.serialisation import POINT_REPLY, POINT_REQUEST, codec


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


def encode_request(request: PointRequest) -> bytes:
    return codec(POINT_REQUEST).encode(request)


def decode_request(raw: bytes | None) -> PointRequest:
    return cast(PointRequest, codec(POINT_REQUEST).decode(raw))


def encode_reply(reply: PointReply) -> bytes:
    return codec(POINT_REPLY).encode(reply)


def decode_reply(raw: bytes | None) -> PointReply:
    return cast(PointReply, codec(POINT_REPLY).decode(raw))
