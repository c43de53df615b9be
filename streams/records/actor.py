"""A market actor the hub knows (Avro ``Actor``, keyed by GLN): the roles it acts in."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from streams.serialisation import ACTOR, codec


def encode(roles: Iterable[str], registered_at: datetime) -> bytes:
    return codec(ACTOR).encode({"roles": sorted(roles), "registeredAt": registered_at})


def decode_roles(raw: bytes | None) -> frozenset[str]:
    return frozenset(codec(ACTOR).decode(raw)["roles"])
