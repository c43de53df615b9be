"""straum's /v1/contracts against the facts of Elhub's published Contracts API document: its
operations exist, and the resource and error objects straum answers have every member of the
document's examples, with the same JSON types.

The facts (operations, members and their JSON types) are kept in this repository, in
tests/fixtures/elhub_contracts_api.json, which says where they come from; the test needs no
file outside the repository."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.series import HUB_TIMEZONE
from tests.integration.conftest import Straum
from tests.integration.test_contracts import household, new_contract, post

FACTS = Path(__file__).resolve().parents[1] / "fixtures" / "elhub_contracts_api.json"
NOT_SERVED = {("PATCH", "/contracts")}
"""Operations of the document straum does not serve: bulk PATCH of several contracts (each
contract is changed by ``PATCH /v1/contracts/{contractId}``)."""


@pytest.fixture(scope="module")
def facts() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FACTS.read_text(encoding="utf-8"))
    return loaded


JSON_TYPES = {str: "string", int: "number", float: "number", bool: "boolean"}


def shape(value: Any) -> Any:
    """The JSON types of a document's members, recursively (lists by their first item), in the
    fixture's notation."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if value is None:
        return "null"
    return JSON_TYPES[type(value)]


def covers(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Where ``ours`` lacks a member of ``theirs`` or has another JSON type."""
    if isinstance(theirs, dict):
        if not isinstance(ours, dict):
            return [f"{path}: object expected"]
        return [p for k, v in theirs.items()
                for p in (covers(ours[k], v, f"{path}/{k}") if k in ours
                          else [f"{path}/{k}: missing"])]
    if isinstance(theirs, list):
        return covers(ours[0], theirs[0], f"{path}/0") if theirs and ours else []
    if theirs == "null" or ours == "null":
        return []
    return [] if ours == theirs else [f"{path}: {ours} instead of {theirs}"]


def test_the_specs_operations_are_served(straum: Straum, facts: dict[str, Any]) -> None:
    ours = straum.client("7080005051286", "operator").get("/openapi.json").json()["paths"]
    operations = {(o["method"], o["path"]) for o in facts["operations"]}
    assert operations.issuperset(NOT_SERVED)  # a left-out operation is one the document has
    served = sorted(operations - NOT_SERVED)
    assert served
    missing = [f"{method} /v1{path}" for method, path in served
               if method.lower() not in ours.get(f"/v1{path}", {})]
    assert missing == []


def test_resources_and_errors_have_the_specs_members(straum: Straum,
                                                     facts: dict[str, Any]) -> None:
    point, go, _, _ = household(straum)
    today = datetime.now(HUB_TIMEZONE).date()
    assert post(go, new_contract(point, today, today + timedelta(days=200))).status_code == 201
    listed = go.get("/v1/contracts", params={"filter[meteringPointId]": point}).json()
    assert listed["data"]
    assert covers(shape(listed), facts["contractListDocument"]) == []
    bad = go.post("/v1/contracts", json={"data": [{"type": "contract",
                                                    "relationships": {}}]})
    assert bad.status_code == 400
    [error] = bad.json()["errors"]
    assert covers(shape(error), facts["errorObject"]) == []
    assert error["source"]["pointer"] == "/data/0/attributes"
