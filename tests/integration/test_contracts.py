"""Norgespris contracts through Elhub's Contracts JSON:API, on the real broker: who may write,
the rules, the supplier's NotifyContract, and the lifecycle moving on time with no API call."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.series import HUB_TIMEZONE
from tests.helpers import gln, gsrn, poll_until, register_point, start_of_supply, today
from tests.integration.conftest import Straum, start_straum

JSONAPI = "application/vnd.api+json"


def new_contract(point: str, start: date, end: date | None = None) -> dict[str, Any]:
    attributes: dict[str, Any] = {"contractType": "Norgespris", "startDate": start.isoformat()}
    if end:
        attributes["endDate"] = end.isoformat()
    return {"data": [{"type": "contract", "attributes": attributes, "relationships": {
        "createdBy": {"data": {"type": "Party", "id": "0000000000000"}},
        "meteringPoint": {"data": {"type": "MeteringPoint", "id": point}}}}]}


def household(straum: Straum, code: str = "35") -> tuple[str, httpx.Client, httpx.Client, str]:
    """A registered point with a supplier: (point, grid owner, supplier, supplier GLN)."""
    point, supplier_id = gsrn(), gln()
    go = straum.client(gln(), "grid_owner")
    su = straum.client(supplier_id, "supplier")
    body = register_point(point)
    body["consumptionCode"] = code
    assert go.post("/v1/metering-points", json=body).status_code == 202
    poll_until(go, "market-processes", lambda m: m["payload"].get("meteringPointId") == point)
    assert su.post("/v1/start-of-supply",
                   json=start_of_supply(point, today() - timedelta(days=3))).status_code == 202
    poll_until(su, "market-processes", lambda m: m["documentType"] == "ConfirmStartOfSupply")
    return point, go, su, supplier_id


def post(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return client.post("/v1/contracts", json=body, headers={"Content-Type": JSONAPI})


def test_grid_owner_creates_supplier_is_notified_and_reads(straum: Straum) -> None:
    point, go, su, _ = household(straum)
    created = post(go, new_contract(point, today() + timedelta(days=1)))
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith(JSONAPI)
    [contract] = created.json()["data"]
    assert contract["type"] == "contract"
    assert contract["attributes"]["status"] == "Initiated"
    assert contract["relationships"]["meteringPoint"]["data"]["id"] == point
    notice = poll_until(su, "market-processes", lambda m: m["documentType"] == "NotifyContract")
    assert notice["payload"]["contractId"] == contract["id"]
    assert notice["payload"]["status"] == "Initiated"
    listed = su.get("/v1/contracts", params={"filter[meteringPointId]": point}).json()["data"]
    assert [c["id"] for c in listed] == [contract["id"]]
    assert su.get(f"/v1/contracts/{contract['id']}").json()["data"]["id"] == contract["id"]
    stranger = straum.client(gln(), "supplier")
    assert stranger.get(f"/v1/contracts/{contract['id']}").status_code == 404
    assert stranger.get("/v1/contracts").json()["data"] == []


def test_the_rules_answer_with_jsonapi_errors(straum: Straum) -> None:
    point, go, _, _ = household(straum)
    assert post(go, new_contract(point, today())).status_code == 201
    second = post(go, new_contract(point, today()))
    assert second.status_code == 409
    [error] = second.json()["errors"]
    assert (error["status"], error["code"]) == ("409", "CONTRACT_ALREADY_EXISTS")
    business, go_b, _, _ = household(straum, code="19")
    refused = post(go_b, new_contract(business, today()))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "NOT_ELIGIBLE"
    other = straum.client(gln(), "grid_owner")
    assert post(other, new_contract(point, today())).status_code == 403
    backwards = post(go, new_contract(gsrn(), today(), today() - timedelta(days=3)))
    assert backwards.status_code in (404, 422)
    bad = go.post("/v1/contracts", json={"data": [{"type": "contract", "attributes": {}}]})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["source"]["pointer"] == "/data/0/relationships"
    supplier = straum.client(gln(), "supplier")
    assert post(supplier, new_contract(point, today())).status_code == 403


def test_cancel_within_the_regret_period_and_no_status_writes(straum: Straum) -> None:
    point, go, su, _ = household(straum)
    [contract] = post(go, new_contract(point, today())).json()["data"]
    forbidden = go.patch(f"/v1/contracts/{contract['id']}",
                         json={"data": {"type": "contract", "id": contract["id"],
                                        "attributes": {"status": "Activated"}}})
    assert forbidden.status_code == 403
    assert forbidden.json()["errors"][0]["code"] == "INVALID_STATUS_UPDATE"
    cancelled = go.patch(f"/v1/contracts/{contract['id']}",
                         json={"data": {"type": "contract", "id": contract["id"],
                                        "attributes": {"isCancelled": True}}})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["attributes"]["status"] == "Cancelled"
    poll_until(su, "market-processes", lambda m: m["documentType"] == "NotifyContract"
               and m["payload"]["status"] == "Cancelled")
    # A new contract is possible once the old one is cancelled.
    assert post(go, new_contract(point, today())).status_code == 201


@pytest.fixture
def clockwork(kafka_bootstrap: str, session_dir: Path) -> Iterator[Straum]:
    """A straum of its own whose worker can be restarted with its clock moved on."""
    straum = start_straum(kafka_bootstrap, session_dir / "clockwork", partitions=2,
                          extra_env={"STRAUM_CONTRACT_TIMER_SECONDS": "1"})
    try:
        yield straum
    finally:
        straum.stop_all()


def restart_worker_at(straum: Straum, offset: timedelta) -> None:
    straum.stop("worker")
    straum.start_with_env("worker", {"STRAUM_CLOCK_OFFSET_SECONDS":
                                     str(offset.total_seconds())}, "worker")


def test_activated_after_14_days_and_expired_at_year_end_without_any_call(
        clockwork: Straum) -> None:
    point, go, su, _ = household(clockwork)
    [contract] = post(go, new_contract(point, today())).json()["data"]
    poll_until(su, "market-processes", lambda m: m["documentType"] == "NotifyContract")
    restart_worker_at(clockwork, timedelta(days=14, minutes=1))
    activated = poll_until(su, "market-processes", timeout=90, predicate=lambda m: (
        m["documentType"] == "NotifyContract" and m["payload"]["status"] == "Activated"))
    assert activated["payload"]["contractId"] == contract["id"]
    after_year_end = datetime(today().year + 2, 1, 2, tzinfo=HUB_TIMEZONE)
    restart_worker_at(clockwork, after_year_end - datetime.now(HUB_TIMEZONE))
    expired = poll_until(su, "market-processes", timeout=90, predicate=lambda m: (
        m["documentType"] == "NotifyContract" and m["payload"]["status"] == "Expired"))
    assert expired["payload"]["contractId"] == contract["id"]
    deadline = time.monotonic() + 30
    while (go.get(f"/v1/contracts/{contract['id']}").json()["data"]["attributes"]["status"]
           != "Expired"):
        assert time.monotonic() < deadline
        time.sleep(0.5)
