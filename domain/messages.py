"""Outbound messages for market actors' queues, as plain data, with stable ids.

A message id is a UUIDv5 of what caused the message and who receives it, so the same inbound
transaction gives the same outbound id on redelivery and on replay, and actors can
de-duplicate on it.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MESSAGE_ID_NAMESPACE = uuid.UUID("4d2a9a5e-6c1f-5b8e-9f3a-7e0c2b1d5a60")

METERING_VALUES = "metering-values"
MARKET_PROCESSES = "market-processes"


_NAMESPACE_BYTES = MESSAGE_ID_NAMESPACE.bytes


def outbound_message_id(cause: str, recipient: str, document_type: str, part: str = "") -> str:
    """The stable id of the message ``cause`` produces for ``recipient``: the RFC 4122 UUIDv5
    of the name ``cause|recipient|document type|part`` (``uuid.uuid5`` computes the same; this
    skips its UUID object, a third of a series' id cost on the hot path)."""
    digest = bytearray(hashlib.sha1(  # noqa: S324 - UUIDv5 is defined on SHA-1
        _NAMESPACE_BYTES + f"{cause}|{recipient}|{document_type}|{part}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True)
class Reason:
    """Why a document was rejected: a machine-readable code and a sentence."""

    code: str
    text: str


@dataclass(frozen=True)
class Outbound:
    """One message for one actor's queue; ``payload_type`` names the Avro union branch."""

    message_id: str
    recipient: str
    queue: str
    document_type: str
    payload_type: str
    payload: dict[str, Any]
    created_at: datetime
    replayed: bool = False

    def to_record(self) -> dict[str, Any]:
        """The Avro ``QueueMessage`` record (union written by name, never guessed)."""
        return {
            "messageId": self.message_id,
            "recipient": self.recipient,
            "queue": self.queue.replace("-", "_"),
            "documentType": self.document_type,
            "createdAt": self.created_at,
            "replayed": self.replayed,
            "payload": (f"no.straum.queue.{self.payload_type}", self.payload),
        }


def acknowledgement(
    *,
    original_message_id: str,
    original_document_type: str,
    sender: str,
    reasons: list[Reason],
    created_at: datetime,
    metering_point_id: str | None = None,
    transaction_id: str | None = None,
) -> Outbound:
    """The sender's answer to one inbound document (or transaction): accepted or rejected."""
    cause = transaction_id or original_message_id
    return Outbound(
        message_id=outbound_message_id(cause, sender, "Acknowledgement"),
        recipient=sender,
        queue=MARKET_PROCESSES,
        document_type="Acknowledgement",
        payload_type="Acknowledgement",
        payload={
            "originalMessageId": original_message_id,
            "originalDocumentType": original_document_type,
            "meteringPointId": metering_point_id,
            "transactionId": transaction_id,
            "status": "rejected" if reasons else "accepted",
            "reasons": [{"code": r.code, "text": r.text} for r in reasons],
        },
        created_at=created_at,
    )


#: The rejection code of a document the hub accepted at intake but could not process (a
#: record it could not store or write): the sender learns of it rather than waiting forever.
PROCESSING_FAILED = "processing.failed"


def not_processed(*, original_message_id: str, original_document_type: str, sender: str,
                  reason: str, created_at: datetime, metering_point_id: str | None = None,
                  transaction_id: str | None = None) -> Outbound:
    """The sender's rejection of a document that could not be processed."""
    return acknowledgement(
        original_message_id=original_message_id,
        original_document_type=original_document_type, sender=sender, created_at=created_at,
        reasons=[Reason(PROCESSING_FAILED, f"the hub could not process the document: {reason}")],
        metering_point_id=metering_point_id, transaction_id=transaction_id)
