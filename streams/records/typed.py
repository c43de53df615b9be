"""A record whose wire form is a typed dict (no domain object of its own: commands, replies,
ledger entries): its encode and decode once, generic over the typed dict, instead of two
one-line functions per record type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar, cast

from streams.serialisation import codec

R = TypeVar("R", bound=Mapping[str, Any])


class TypedRecord(Generic[R]):
    """Encode and decode of the Avro record ``stem`` as the typed dict ``R``."""

    def __init__(self, stem: str) -> None:
        self.stem = stem

    def encode(self, record: R) -> bytes:
        return codec(self.stem).encode(record)

    def decode(self, raw: bytes | None) -> R:
        return cast(R, codec(self.stem).decode(raw))
