"""The monitor's heartbeat (Avro ``Heartbeat``): sent into every input partition, stamped by
the processor it comes through, and read back by the monitor."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, cast

from streams.serialisation import HEARTBEAT, codec


class Heartbeat(TypedDict):
    sourceTopic: str
    partition: int
    sentAt: datetime
    processedAt: datetime | None
    queuedAt: datetime | None


def encode(beat: Heartbeat) -> bytes:
    return codec(HEARTBEAT).encode(beat)


def decode(raw: bytes | None) -> Heartbeat:
    return cast(Heartbeat, codec(HEARTBEAT).decode(raw))
