"""What the forwarder remembers having forwarded for a point (a list of
domain.versions.SeriesVersion) as the Avro ``SeriesHistory`` record of its table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.versions import SeriesVersion
from streams.serialisation import SERIES_HISTORY, codec


def encode(history: Sequence[SeriesVersion]) -> bytes:
    return codec(SERIES_HISTORY).encode(to_record(history))


def decode(raw: bytes | None) -> list[SeriesVersion]:
    return from_record(codec(SERIES_HISTORY).decode(raw))


def to_record(history: Sequence[SeriesVersion]) -> dict[str, Any]:
    return {"versions": [{"start": v.start, "end": v.end, "transactionId": v.transaction_id,
                          "contentHash": v.content_hash, "version": v.version,
                          "offset": v.offset}
                         for v in history]}


def from_record(record: dict[str, Any]) -> list[SeriesVersion]:
    return [SeriesVersion(v["start"], v["end"], v["transactionId"], v["contentHash"],
                          v["version"], v.get("offset", -1)) for v in record["versions"]]
