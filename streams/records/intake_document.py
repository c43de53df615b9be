"""A document the intake accepted (Avro ``IntakeDocument``, keyed ``sender|messageId``): the
de-duplication ledger's entry."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, cast

from streams.serialisation import INTAKE_DOCUMENT, codec


class IntakeDocument(TypedDict):
    documentType: str
    digest: str
    receivedAt: datetime


def encode(document: IntakeDocument) -> bytes:
    return codec(INTAKE_DOCUMENT).encode(document)


def decode(raw: bytes | None) -> IntakeDocument:
    return cast(IntakeDocument, codec(INTAKE_DOCUMENT).decode(raw))
