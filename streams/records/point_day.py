"""A point's day of values (domain.point_values.PointDay) as the bytes the store keeps.

Compact and cheap to read back, because a year of a point is 365 of them: quantities as
fixed-width little-endian integers of 10^-3 (or 10^-6) kWh, read with one ``array`` call, so a
comparison gets exact integers without parsing a number; floats (8 bytes each) only for a day
whose values have more than six decimals. Qualities run-length encoded (a day is usually one
run). The segments name the series version each interval came from.

Layout (little-endian): format (1), resolution (0 PT15M, 1 PT1H), scale (3, 6, or 255 for
float64), width (2, 4 or 8), the day (proleptic ordinal, int32), n (uint16); n quantities;
runs (uint16) × (count uint16, quality code uint8); segments (uint8) × (first uint16,
end uint16, version uint32, registered ms int64, transaction id, message id), an id as a
length byte and UTF-8, or 0xFF and 16 bytes for a canonical UUID.
"""

from __future__ import annotations

import struct
import sys
import uuid
from array import array
from datetime import date
from typing import Final

from domain.comparison_core import ABSENT
from domain.point_values import PointDay, Segment

FORMAT: Final = 1
FLOAT: Final = 255
RESOLUTION_CODES: Final = {"PT15M": 0, "PT1H": 1}
RESOLUTION_NAMES: Final = {code: name for name, code in RESOLUTION_CODES.items()}
_HEADER = struct.Struct("<BBBBiH")
_RUN = struct.Struct("<HB")
_SEGMENT = struct.Struct("<HHIq")
_TYPECODES: Final = {2: "H", 4: "I", 8: "Q"}
_BIG_ENDIAN: Final = sys.byteorder == "big"
_UUID_MARK: Final = 0xFF


class CorruptDay(ValueError):
    """Bytes that are not a stored day."""


def _scaled(quantities: list[float], qualities: bytearray) -> tuple[int, list[int]] | None:
    """(scale, integers) when every present value is exact in 10^-3 or 10^-6 kWh."""
    for scale in (3, 6):
        factor = 10**scale
        ks = [round(q * factor) for q in quantities]
        if all(k / factor == q or c == ABSENT
               for k, q, c in zip(ks, quantities, qualities, strict=True)):
            return scale, [k if c != ABSENT else 0 for k, c in zip(ks, qualities, strict=True)]
    return None


def _id(value: str) -> bytes:
    try:
        if len(value) == 36 and str(uuid.UUID(value)) == value:
            return bytes([_UUID_MARK]) + uuid.UUID(value).bytes
    except ValueError:
        pass
    raw = value.encode()[:254]
    return bytes([len(raw)]) + raw


def encode(day: PointDay) -> bytes:
    n = len(day.quantities)
    scaled = _scaled(day.quantities, day.qualities)
    if scaled is None:
        scale, width, body = FLOAT, 8, array("d", day.quantities)
    else:
        scale, ints = scaled
        top = max(ints, default=0)
        width = 2 if top < 2**16 else 4 if top < 2**32 else 8
        body = array(_TYPECODES[width], ints)
    if _BIG_ENDIAN:
        body.byteswap()
    parts = [_HEADER.pack(FORMAT, RESOLUTION_CODES[day.resolution], scale, width,
                          day.day.toordinal(), n), body.tobytes()]
    runs: list[bytes] = []
    i = 0
    while i < n:
        code, j = day.qualities[i], i + 1
        while j < n and day.qualities[j] == code and j - i < 65535:
            j += 1
        runs.append(_RUN.pack(j - i, code))
        i = j
    parts += [struct.pack("<H", len(runs)), *runs, bytes([len(day.segments)])]
    for s in day.segments:
        parts += [_SEGMENT.pack(s.first, s.end, s.version, s.registered_ms),
                  _id(s.transaction_id), _id(s.message_id)]
    return b"".join(parts)


def _header(raw: bytes) -> tuple[str, int, int, date, int, int]:
    try:
        fmt, resolution, scale, width, ordinal, n = _HEADER.unpack_from(raw)
    except struct.error as exc:
        raise CorruptDay(f"a stored day is {len(raw)} bytes") from exc
    if fmt != FORMAT or resolution not in RESOLUTION_NAMES or width not in _TYPECODES:
        raise CorruptDay(f"not a stored day (format {fmt})")
    return RESOLUTION_NAMES[resolution], scale, width, date.fromordinal(ordinal), n, \
        _HEADER.size + n * width


def _body(raw: bytes, scale: int, width: int, n: int) -> array[int] | array[float]:
    body: array[int] | array[float] = array("d" if scale == FLOAT else _TYPECODES[width])
    body.frombytes(raw[_HEADER.size:_HEADER.size + n * width])
    if _BIG_ENDIAN:
        body.byteswap()
    return body


def _runs(raw: bytes, at: int, n: int) -> tuple[bytearray, int]:
    (count,) = struct.unpack_from("<H", raw, at)
    at += 2
    qualities = bytearray()
    for _ in range(count):
        length, code = _RUN.unpack_from(raw, at)
        qualities += bytes([code]) * length
        at += _RUN.size
    if len(qualities) != n:
        raise CorruptDay("qualities do not cover the day")
    return qualities, at


def decode_exact(raw: bytes) -> tuple[date, str, int, list[int] | list[float], bytes]:
    """(day, resolution, scale, quantities, qualities) without building the day: integers of
    10^-scale kWh, or floats when scale is FLOAT. For the comparison."""
    resolution, scale, width, day, n, at = _header(raw)
    qualities, _ = _runs(raw, at, n)
    return day, resolution, scale, _body(raw, scale, width, n).tolist(), bytes(qualities)


def _read_id(raw: bytes, at: int) -> tuple[str, int]:
    length = raw[at]
    if length == _UUID_MARK:
        return str(uuid.UUID(bytes=raw[at + 1:at + 17])), at + 17
    return raw[at + 1:at + 1 + length].decode(), at + 1 + length


def decode(raw: bytes) -> PointDay:
    resolution, scale, width, day, n, at = _header(raw)
    body = _body(raw, scale, width, n)
    quantities: list[float] = ([float(x) for x in body] if scale == FLOAT
                               else [k / 10**scale for k in body])
    qualities, at = _runs(raw, at, n)
    count = raw[at]
    at += 1
    segments = []
    for _ in range(count):
        first, end, version, registered = _SEGMENT.unpack_from(raw, at)
        at += _SEGMENT.size
        transaction_id, at = _read_id(raw, at)
        message_id, at = _read_id(raw, at)
        segments.append(Segment(first, end, transaction_id, message_id, registered, version))
    return PointDay(day, resolution, quantities, qualities, segments)
