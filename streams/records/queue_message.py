"""A queue message as stored in an actor's queue topic: the contract's JSON, rendered once.

The value of a queue record is the UTF-8 JSON object a poll answer lists under ``messages``
(``messageId``, ``documentType``, ``createdAt``, ``replayed``, ``payload``), so a poll joins the
stored bytes and never decodes or re-encodes a message. Metering values are points of
``{quantity, quality}`` as the intake sends them. Any Kafka tool can read a queue topic.

Queue topics written before held Avro ``QueueMessage`` records; :func:`decode_avro` still
reads them (a poll turns one into the JSON above).
"""

from __future__ import annotations

from typing import Any

import orjson

from domain.messages import Outbound
from streams.serialisation import QUEUE_MESSAGE, codec

CONTENT_TYPE = b"application/json"
HEADERS: tuple[tuple[str, bytes], ...] = (("content-type", CONTENT_TYPE),)


PointsCache = dict[tuple[Any, ...], orjson.Fragment]


def payload_json(payload: dict[str, Any], points: PointsCache | None = None) -> dict[str, Any]:
    """The payload as the contract shows it: a series' values as points. ``points`` keeps the
    rendered points of a transaction's period, which its supplier and grid owner share."""
    if "quantities" not in payload:
        return payload
    shown = {k: v for k, v in payload.items() if k not in ("quantities", "qualities")}
    key = (payload.get("transactionId"), payload.get("start"), payload.get("end"))
    rendered = points.get(key) if points is not None else None
    if rendered is None:
        rendered = orjson.Fragment(orjson.dumps([
            {"quantity": q, "quality": k}
            for q, k in zip(payload["quantities"], payload["qualities"], strict=True)]))
        if points is not None:
            points[key] = rendered
    shown["points"] = rendered
    return shown


def render(message: Outbound, points: PointsCache | None = None) -> bytes:
    """The stored bytes of ``message`` (times in RFC 3339 with their offset)."""
    return orjson.dumps({
        "messageId": message.message_id,
        "documentType": message.document_type,
        "createdAt": message.created_at,
        "replayed": message.replayed,
        "payload": payload_json(message.payload, points),
    })


def parse(value: bytes) -> dict[str, Any]:
    """A stored message as a dict (tests, tools)."""
    parsed: dict[str, Any] = orjson.loads(value)
    return parsed


def encode_avro(message: Outbound) -> bytes:
    """The Avro ``QueueMessage`` record queue topics held before (tests, benches)."""
    return codec(QUEUE_MESSAGE).encode(message.to_record())


def decode_avro(value: bytes | None) -> dict[str, Any]:
    """An older Avro ``QueueMessage`` record; its payload is (full record name, fields)."""
    return codec(QUEUE_MESSAGE).decode(value)
