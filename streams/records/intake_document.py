"""A document the intake accepted (Avro ``IntakeDocument``, keyed ``sender|messageId``): the
de-duplication ledger's entry."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from streams.records.typed import TypedRecord
from streams.serialisation import INTAKE_DOCUMENT


class IntakeDocument(TypedDict):
    documentType: str
    digest: str
    receivedAt: datetime


_RECORD = TypedRecord[IntakeDocument](INTAKE_DOCUMENT)
encode, decode = _RECORD.encode, _RECORD.decode
