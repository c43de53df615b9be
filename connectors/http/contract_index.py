"""The Contracts API's read model: every contract once, found by id, metering point or party.

The API follows the compacted contracts topic (one record per contract id). Reads must not
walk a million contracts, so each contract is kept as a small slotted record holding only what
reads need (who may see it, when it changed) and its JSON:API resource object already rendered
to bytes; three dictionaries find it by id, by metering point and by party (its grid owner and
its supplier). A read is a lookup, then a join of stored bytes: nothing per contract is
decoded or rendered while a request waits. Memory per contract: docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson


def resource(c: dict[str, Any]) -> dict[str, Any]:
    """The spec's ``contract`` resource object."""
    return {"type": "contract", "id": c["id"],
            "attributes": {"contractType": c["contractType"], "startDate": c["startDate"],
                           "endDate": c["endDate"], "status": c["status"],
                           "isCancelled": c["status"] == "Cancelled"},
            "relationships": {
                "createdBy": {"data": {"type": "Party", "id": c["createdBy"]}},
                "updatedBy": {"data": {"type": "Party", "id": c["updatedBy"]}},
                "meteringPoint": {"data": {"type": "MeteringPoint",
                                           "id": c["meteringPointId"]}}},
            "meta": {"createdAt": c["createdAt"], "updatedAt": c["updatedAt"]}}


@dataclass(slots=True)
class IndexedContract:
    """What a read needs of one contract: who may see it, when it changed, its JSON."""

    id: str
    metering_point_id: str
    grid_owner: str
    supplier: str | None
    updated_at: datetime
    json: bytes  # the resource object, rendered once

    @classmethod
    def of(cls, c: dict[str, Any]) -> IndexedContract:
        return cls(c["id"], c["meteringPointId"], sys.intern(c["gridOwner"]),
                   sys.intern(c["supplier"]) if c.get("supplier") else None,
                   c["updatedAt"], _compact(orjson.dumps(resource(c))))


class ContractIndex:
    """Contracts by id, by metering point and by party, kept in step with the view."""

    def __init__(self) -> None:
        self.by_id: dict[str, IndexedContract] = {}
        self.by_point: dict[str, tuple[str, ...]] = {}
        self.by_party: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self.by_id)

    def change(self, key: str, _old: object, new: dict[str, Any] | None) -> None:
        """The view's hook: a contract written (``new``) or removed (None)."""
        if new is None:
            self.remove(key)
        else:
            self.put(IndexedContract.of(new))

    def put(self, contract: IndexedContract) -> None:
        self.remove(contract.id)
        self.by_id[contract.id] = contract
        point = self.by_point.get(contract.metering_point_id, ())
        self.by_point[contract.metering_point_id] = (*point, contract.id)
        for party in self._parties(contract):
            self.by_party.setdefault(party, set()).add(contract.id)

    def remove(self, contract_id: str) -> None:
        old = self.by_id.pop(contract_id, None)
        if old is None:
            return
        rest = tuple(i for i in self.by_point.get(old.metering_point_id, ()) if i != contract_id)
        if rest:
            self.by_point[old.metering_point_id] = rest
        else:
            self.by_point.pop(old.metering_point_id, None)
        for party in self._parties(old):
            ids = self.by_party.get(party)
            if ids is not None:
                ids.discard(contract_id)
                if not ids:
                    del self.by_party[party]

    @staticmethod
    def _parties(c: IndexedContract) -> set[str]:
        return {c.grid_owner} | ({c.supplier} if c.supplier else set())

    def get(self, contract_id: str) -> IndexedContract | None:
        return self.by_id.get(contract_id)

    def on_points(self, points: Iterable[str]) -> list[IndexedContract]:
        return [self.by_id[i] for p in points for i in self.by_point.get(p, ())]

    def of_party(self, party: str) -> list[IndexedContract]:
        return [self.by_id[i] for i in self.by_party.get(party, ())]

    def all(self) -> list[IndexedContract]:
        return list(self.by_id.values())


def _compact(rendered: bytes) -> bytes:
    """A copy of exactly the rendered length: orjson's result keeps its 4 KB work buffer,
    eight times the JSON of a contract, for as long as it lives."""
    return memoryview(rendered).tobytes()


def document(contracts: Iterable[IndexedContract]) -> bytes:
    """``{"data": [...]}`` joined from the stored resource objects."""
    return b'{"data":[' + b",".join(c.json for c in contracts) + b"]}"
