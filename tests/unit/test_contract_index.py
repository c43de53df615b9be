"""The Contracts API's read model: contracts found by id, metering point and party, and kept
in step when a contract changes hands or goes away."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import orjson

from connectors.http.contract_index import ContractIndex, document, resource

AT = datetime(2026, 1, 5, 10, 0, 0, 123000, tzinfo=UTC)


def contract(cid: str, point: str, grid_owner: str = "go", supplier: str | None = "su",
             updated: datetime = AT, status: str = "Active") -> dict[str, Any]:
    return {"id": cid, "meteringPointId": point, "gridOwner": grid_owner, "supplier": supplier,
            "contractType": "Norgespris", "status": status, "startDate": date(2026, 1, 1),
            "endDate": None, "createdAt": AT, "updatedAt": updated, "createdBy": grid_owner,
            "updatedBy": grid_owner, "changes": []}


def test_lookups_by_id_point_and_party() -> None:
    index = ContractIndex()
    index.change("a", None, contract("a", "p1"))
    index.change("b", None, contract("b", "p2", supplier="other"))
    index.change("c", None, contract("c", "p1", status="Cancelled"))
    assert {c.id for c in index.on_points(["p1"])} == {"a", "c"}
    assert {c.id for c in index.of_party("su")} == {"a", "c"}
    assert {c.id for c in index.of_party("other")} == {"b"}
    assert {c.id for c in index.of_party("go")} == {"a", "b", "c"}
    assert index.get("b") is not None and index.get("x") is None
    assert len(index) == 3


def test_a_change_of_supplier_moves_the_contract_and_removal_forgets_it() -> None:
    index = ContractIndex()
    index.change("a", None, contract("a", "p1", supplier="old"))
    index.change("a", None, contract("a", "p1", supplier="new"))
    assert index.of_party("old") == []
    assert [c.id for c in index.of_party("new")] == ["a"]
    assert [c.id for c in index.on_points(["p1"])] == ["a"]
    index.change("a", None, None)
    assert index.on_points(["p1"]) == [] and index.of_party("new") == [] and len(index) == 0
    assert index.by_point == {} and index.by_party == {}


def test_the_stored_json_is_the_resource_object() -> None:
    index = ContractIndex()
    c = contract("a", "p1")
    index.change("a", None, c)
    parsed = orjson.loads(document(index.on_points(["p1"])))
    expected = orjson.loads(orjson.dumps({"data": [resource(c)]}))
    assert parsed == expected
    assert parsed["data"][0]["meta"]["updatedAt"] == "2026-01-05T10:00:00.123000+00:00"
