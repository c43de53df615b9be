"""Heartbeats through the processors: the monitor's proof that forwarding moves.

The monitor writes a heartbeat into every input partition (header ``straum-kind: heartbeat``).
A processor stamps it and passes it on to the same partition of the outbound topic, so every
queue-writer partition sees heartbeats too; the queue writer stamps it again and writes it to
the heartbeats topic, where the monitor measures the age of the newest one per partition.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from processors.output import Record
from streams.app import catalogue
from streams.serialisation import HEARTBEAT, codec

KIND_HEADER = "straum-kind"
HEARTBEAT_KIND = b"heartbeat"
OUTBOUND_KEY_PREFIX = b"straum-heartbeat|"


def header(event: Any, name: str) -> bytes | None:
    """A record header's value, whichever form Faust hands the headers in."""
    headers = event.message.headers or ()
    items = headers.items() if isinstance(headers, dict) else headers
    for key, value in items:
        if key == name:
            return bytes(value) if value is not None else None
    return None


def is_heartbeat(event: Any) -> bool:
    return header(event, KIND_HEADER) == HEARTBEAT_KIND


def pass_on(event: Any, moment: datetime) -> Record:
    """The stamped heartbeat, for the outbound partition with the input's number."""
    beat = codec(HEARTBEAT).decode(event.message.value)
    beat["processedAt"] = moment
    return Record(catalogue.outbound,
                  OUTBOUND_KEY_PREFIX + f"{beat['sourceTopic']}|{beat['partition']}".encode(),
                  codec(HEARTBEAT).encode(beat), event.message.partition)


def is_outbound_heartbeat(key: bytes | None) -> bool:
    return key is not None and key.startswith(OUTBOUND_KEY_PREFIX)


def arrive(event: Any, moment: datetime) -> Record:
    """The heartbeat as the queue writer hands it to the monitor."""
    beat = codec(HEARTBEAT).decode(event.message.value)
    beat["queuedAt"] = moment
    return Record(catalogue.heartbeats, event.message.key, codec(HEARTBEAT).encode(beat), 0)
