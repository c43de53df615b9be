"""A record no processor could handle (Avro ``DeadLetter``): where it came from, its key and
value (when they fit) and why it failed. Read back by ``straum dead-letters``."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, cast

from streams.serialisation import DEAD_LETTER, codec


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


def encode(letter: DeadLetter) -> bytes:
    return codec(DEAD_LETTER).encode(letter)


def decode(raw: bytes | None) -> DeadLetter:
    return cast(DeadLetter, codec(DEAD_LETTER).decode(raw))
