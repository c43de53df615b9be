"""The monitor's latest figures (Avro ``OpsStatus``), read by the API's /ops pages and the
CLI's lag view. A wide nested record that the readers only render: kept as its dict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.serialisation import OPS_STATUS, codec


def encode(status: Mapping[str, Any]) -> bytes:
    return codec(OPS_STATUS).encode(status)


def decode(raw: bytes | None) -> dict[str, Any]:
    return codec(OPS_STATUS).decode(raw)
