"""A record no processor could handle (Avro ``DeadLetter``): where it came from, its key and
value (when they fit) and why it failed. Read back by ``straum dead-letters``."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from streams.records.typed import TypedRecord
from streams.serialisation import DEAD_LETTER


class DeadLetter(TypedDict):
    processor: str
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    errorType: str
    error: str
    failedAt: datetime


_RECORD = TypedRecord[DeadLetter](DEAD_LETTER)
encode, decode = _RECORD.encode, _RECORD.decode
