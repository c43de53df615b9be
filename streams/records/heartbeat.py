"""The monitor's heartbeat (Avro ``Heartbeat``): sent into every input partition, stamped by
the processor it comes through, and read back by the monitor."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from streams.records.typed import TypedRecord
from streams.serialisation import HEARTBEAT


class Heartbeat(TypedDict):
    sourceTopic: str
    partition: int
    sentAt: datetime
    processedAt: datetime | None
    queuedAt: datetime | None


_RECORD = TypedRecord[Heartbeat](HEARTBEAT)
encode, decode = _RECORD.encode, _RECORD.decode
