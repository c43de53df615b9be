"""The availability record: the monitor's minute samples (Avro ``AvailabilitySample``) and the
maintenance windows operators declare (Avro ``MaintenanceWindow``, keyed by window id)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final, TypedDict, cast

from domain.availability import MaintenanceWindow, MinuteSample
from streams.serialisation import AVAILABILITY_SAMPLE, MAINTENANCE_WINDOW, codec


class AvailabilitySample(TypedDict):
    minute: datetime
    up: bool
    inMaintenance: bool


def encode_window(window: MaintenanceWindow, declared_by: str, declared_at: datetime) -> bytes:
    return codec(MAINTENANCE_WINDOW).encode({
        "start": window.start, "end": window.end, "reason": window.reason,
        "declaredBy": declared_by, "declaredAt": declared_at})


def decode_window(raw: bytes | None) -> MaintenanceWindow:
    """A window as stored (its id is the record key, so it comes back empty here)."""
    r = codec(MAINTENANCE_WINDOW).decode(raw)
    return MaintenanceWindow("", r["start"], r["end"], r["reason"])


def encode_sample(sample: MinuteSample, in_maintenance: bool) -> bytes:
    return codec(AVAILABILITY_SAMPLE).encode({"minute": sample.minute, "up": sample.up,
                                              "inMaintenance": in_maintenance})


#: A stored sample, as its record (the reader filters by minute before building samples).
decode_sample: Final = cast(Callable[[bytes | None], AvailabilitySample],
                            codec(AVAILABILITY_SAMPLE).decode)
