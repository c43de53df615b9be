"""An intake series (Avro ``MeteringValueSeries``): its typed record, written straight to its
single-object bytes and read back.

The API writes one record per accepted series. fastavro walks the schema for every field of
every record, 96 to 2,980 doubles and as many enum symbols each; this writes the same bytes
with one ``struct.pack`` for the quantities and one ``bytes`` for the qualities (their enum
indexes, each one byte), which is what makes a series cheap to take in.
tests/unit/test_intake_series.py holds it to fastavro's encoding byte for byte. Records are
read back with the codec's pre-parsed, no-resolution path (streams/serialisation.py) into a
:class:`Series`, a typed dict: no model is validated per record on the hot path.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Final, TypedDict, cast

from streams.serialisation import METERING_VALUE_SERIES, codec


class Series(TypedDict):
    """One intake series as the processors read it (Avro ``MeteringValueSeries``)."""

    messageId: str
    transactionId: str
    sender: str
    receivedAt: datetime
    meteringPointId: str
    start: datetime
    end: datetime
    resolution: str
    unit: str
    quantities: list[float]
    qualities: list[str]


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SCHEMA = codec(METERING_VALUE_SERIES).schema
RESOLUTIONS: Final = {name: i for i, name in enumerate(
    next(f["type"]["symbols"] for f in _SCHEMA["fields"] if f["name"] == "resolution"))}
QUALITIES: Final = {name: i for i, name in enumerate(
    next(f["type"]["items"]["symbols"] for f in _SCHEMA["fields"]
         if f["name"] == "qualities"))}
HEADER: Final = codec(METERING_VALUE_SERIES).header
#: The series in a record value; UndecodableRecord (a ValueError) if it is not one. The
#: codec's own bound method, typed: not one call more per record than reading the dict.
decode: Final = cast(Callable[[bytes | None], Series], codec(METERING_VALUE_SERIES).decode)


_SMALL: Final = [bytes([n << 1]) for n in range(64)]


def _long(n: int) -> bytes:
    """Avro's zig-zag varint (a small non-negative one, a length or an enum index, by
    table)."""
    if 0 <= n < 64:
        return _SMALL[n]
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _string(value: str) -> bytes:
    raw = value.encode()
    return _long(len(raw)) + raw


def _millis(moment: datetime) -> int:
    """timestamp-millis as fastavro computes it (microseconds truncated)."""
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def encode(*, message_id: str, transaction_id: str, sender: str, received_at: datetime,
           metering_point_id: str, start: datetime, end: datetime, resolution: str,
           unit: str, quantities: Sequence[float], qualities: Sequence[str]) -> bytes:
    """The record's single-object bytes. KeyError for a resolution or quality the schema
    does not have (the API has refused those before it gets here)."""
    return DocumentEncoder(message_id, sender, received_at).encode(
        transaction_id=transaction_id, metering_point_id=metering_point_id, start=start,
        end=end, resolution=resolution, unit=unit, quantities=quantities, qualities=qualities)


class DocumentEncoder:
    """:func:`encode` for the series of one document: the parts every series of it shares
    (the header, message id, sender and time of receipt) written once."""

    __slots__ = ("_head", "_sent")

    def __init__(self, message_id: str, sender: str, received_at: datetime) -> None:
        self._head = HEADER + _string(message_id)
        self._sent = _string(sender) + _long(_millis(received_at))

    def encode(self, *, transaction_id: str, metering_point_id: str, start: datetime,
               end: datetime, resolution: str, unit: str, quantities: Sequence[float],
               qualities: Sequence[str]) -> bytes:
        return _record(self._head + _string(transaction_id) + self._sent,
                       metering_point_id, start, end, resolution, unit, quantities, qualities)


def _record(head: bytes, metering_point_id: str, start: datetime, end: datetime,
            resolution: str, unit: str, quantities: Sequence[float],
            qualities: Sequence[str]) -> bytes:
    n = len(quantities)
    if len(qualities) != n:
        raise ValueError("quantities and qualities differ in length")
    parts = [head, _string(metering_point_id), _long(_millis(start)), _long(_millis(end)),
             _long(RESOLUTIONS[resolution]), _string(unit)]
    if n:
        count = _long(n)
        parts += [count, struct.pack(f"<{n}d", *quantities), b"\x00",
                  count, _indexes(qualities), b"\x00"]
    else:
        parts += [b"\x00", b"\x00"]
    return b"".join(parts)


_ZIGZAG: Final = {name: 2 * i for name, i in QUALITIES.items()}


def _indexes(qualities: Sequence[str]) -> bytes:
    """Each quality's zig-zag enum index: one byte each (there are fewer than 64)."""
    return bytes(map(_ZIGZAG.__getitem__, qualities))


def encode_series(series: Series) -> bytes:
    """:func:`encode` of a whole record (tests, benches, re-sent series)."""
    return encode(message_id=series["messageId"], transaction_id=series["transactionId"],
                  sender=series["sender"], received_at=series["receivedAt"],
                  metering_point_id=series["meteringPointId"], start=series["start"],
                  end=series["end"], resolution=series["resolution"], unit=series["unit"],
                  quantities=series["quantities"], qualities=series["qualities"])
