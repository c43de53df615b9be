"""A queue message as stored in an actor's queue topic: the contract's JSON, rendered once.

The value of a queue record is the UTF-8 JSON object a poll answer lists under ``messages``
(``messageId``, ``documentType``, ``createdAt``, ``replayed``, ``payload``), so a poll joins the
stored bytes and never decodes or re-encodes a message. Metering values are points of
``{quantity, quality}`` as the intake sends them. Any Kafka tool can read a queue topic.
"""

from __future__ import annotations

from typing import Any

import orjson

from domain.messages import Outbound

CONTENT_TYPE = b"application/json"
HEADERS: tuple[tuple[str, bytes], ...] = (("content-type", CONTENT_TYPE),)


def payload_json(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as the contract shows it: a series' values as points."""
    if "quantities" not in payload:
        return payload
    shown = {k: v for k, v in payload.items() if k not in ("quantities", "qualities")}
    shown["points"] = [{"quantity": q, "quality": k}
                       for q, k in zip(payload["quantities"], payload["qualities"], strict=True)]
    return shown


def render(message: Outbound) -> bytes:
    """The stored bytes of ``message`` (times in RFC 3339 with their offset)."""
    return orjson.dumps({
        "messageId": message.message_id,
        "documentType": message.document_type,
        "createdAt": message.created_at,
        "replayed": message.replayed,
        "payload": payload_json(message.payload),
    })


def parse(value: bytes) -> dict[str, Any]:
    """A stored message as a dict (tests, tools)."""
    parsed: dict[str, Any] = orjson.loads(value)
    return parsed
