"""Real answers of every kind, checked against /openapi.json by schemathesis: a day of a
metering point's life (every queue message a poll hands out), the operator views, a replay's
dry run, Norgespris contracts and the comparison, and errors. The fuzzer
(test_fuzz_api.py) sends what a hostile client would; this sends what a real one does, so the
schemas of the answers that need data behind them (a poll with messages, a contract) are
checked too."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

# schemathesis.generation.dictionaries is imported here, not first deep inside hypothesis's
# stack, where CPython 3.11's compiler can fail on it ("AST constructor recursion depth
# mismatch", a flaky failure of the fuzz test).
import schemathesis
import schemathesis.generation.dictionaries
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import chromium, gln, gsrn, register_point, start_of_supply, values_document
from tests.integration.conftest import Straum

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


class Conformance:
    """Calls operations of the live document and checks each answer against it."""

    def __init__(self, straum: Straum) -> None:
        self.straum = straum
        self.schema = schemathesis.openapi.from_url(f"{straum.base_url}/openapi.json")
        self.seen: list[tuple[str, str, int]] = []

    def call(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        operation = self.schema[path][method.upper()]
        media = "application/vnd.api+json" if path.startswith("/v1/contracts") else None
        case = operation.Case(headers={"Authorization": f"Bearer {token}"},
                              media_type=media if "body" in kwargs else None, **kwargs)
        response = case.call(base_url=self.straum.base_url, timeout=60)
        case.validate_response(response, checks=CHECKS)
        self.seen.append((method.upper(), path, response.status_code))
        return response  # type: ignore[no-any-return]

    def poll_all(self, token: str, queue: str, wanted: str, timeout: float = 60) -> list[Any]:
        """Poll and acknowledge until a ``wanted`` message came; every message seen."""
        seen: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self.call("post", "/v1/queues/{queue}/poll", token,
                               path_parameters={"queue": queue})
            if answer.status_code == 204:
                time.sleep(0.3)
                continue
            body = answer.json()
            seen += body["messages"]
            self.call("post", "/v1/queues/{queue}/ack", token,
                      path_parameters={"queue": queue}, body={"pollId": body["pollId"]})
            if any(m["documentType"] == wanted for m in seen):
                return seen
        raise AssertionError(f"no {wanted} in {queue}: {[m['documentType'] for m in seen]}")


@pytest.fixture(scope="module")
def checked(straum: Straum) -> Conformance:
    return Conformance(straum)


def test_a_metering_points_day_answers_as_documented(straum: Straum,
                                                      checked: Conformance) -> None:
    grid_owner, supplier = gln(), gln()
    go, su = straum.token(grid_owner, "grid_owner"), straum.token(supplier, "supplier")
    point = gsrn()
    assert checked.call("post", "/v1/metering-points", go,
                        body=register_point(point)).status_code == 202
    documents = checked.poll_all(go, "market-processes", "Acknowledgement")
    assert documents[0]["payload"]["status"] == "accepted"
    start = date.today() - timedelta(days=3)
    assert checked.call("post", "/v1/start-of-supply", su,
                        body=start_of_supply(point, start)).status_code == 202
    checked.poll_all(su, "market-processes", "ConfirmStartOfSupply")
    checked.poll_all(go, "market-processes", "NotifyStartOfSupply")
    day = date.today() - timedelta(days=1)
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    series = {"transactionId": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
              "meteringPointId": point, "start": moment.isoformat(),
              "end": (moment + timedelta(hours=2)).isoformat(), "resolution": "PT1H",
              "unit": "kWh", "points": [{"quantity": 1.5, "quality": "measured"},
                                        {"quantity": 0.25, "quality": "estimated"}]}
    assert checked.call("post", "/v1/metering-values", go,
                        body=values_document(series)).status_code == 202
    values = checked.poll_all(su, "metering-values", "NotifyValidatedDataForBillingEnergy")
    assert [p["quantity"] for p in values[-1]["payload"]["points"]] == [1.5, 0.25]
    assert checked.call("post", "/v1/metering-points", go,
                        body={**register_point(point), "messageId": documents[0]["payload"][
                            "originalMessageId"]}).status_code == 200  # a duplicate
    assert checked.call("get", "/v1/queues", su).status_code == 200
    assert checked.call("post", "/v1/queues/{queue}/ack", su,
                        path_parameters={"queue": "metering-values"},
                        body={"pollId": "no-such-poll"}).status_code == 404
    comparison = checked.call(
        "get", "/v1/metering-points/{metering_point_id}/norgespris-comparison", su,
        path_parameters={"metering_point_id": point},
        query={"from": day.isoformat(), "to": day.isoformat()})
    assert comparison.status_code == 200, comparison.text
    assert "energyKwh" in comparison.json()["totals"]

    contract = {"data": [{"type": "contract", "attributes": {
        "contractType": "Norgespris", "startDate": (date.today() + timedelta(days=1)).isoformat()},
        "relationships": {"meteringPoint": {"data": {"type": "MeteringPoint", "id": point}}}}]}
    created = checked.call("post", "/v1/contracts", go, body=contract)
    assert created.status_code == 201, created.text
    contract_id = created.json()["data"][0]["id"]
    assert checked.call("get", "/v1/contracts", go).status_code == 200
    assert checked.call("get", "/v1/contracts/{contractId}", go,
                        path_parameters={"contractId": contract_id}).status_code == 200
    cancelled = checked.call("patch", "/v1/contracts/{contractId}", go,
                             path_parameters={"contractId": contract_id},
                             body={"data": {"type": "contract", "id": contract_id,
                                            "attributes": {"isCancelled": True}}})
    assert cancelled.status_code == 200, cancelled.text
    checked.poll_all(su, "market-processes", "NotifyContract")


def test_operator_views_answer_as_documented(straum: Straum, checked: Conformance) -> None:
    operator = straum.token(gln(), "operator")
    for path in ("/v1/ops/lag", "/v1/ops/alerts", "/v1/ops/queues", "/v1/ops/maintenance",
                 "/v1/ops/replays", "/v1/ops/industry-code-migration"):
        assert checked.call("get", path, operator).status_code == 200, path
    today = date.today()
    assert checked.call("get", "/v1/ops/availability", operator, query={
        "from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
    ).status_code == 200
    now = datetime.now(UTC)
    assert checked.call("post", "/v1/ops/maintenance", operator, body={
        "start": (now + timedelta(days=2)).isoformat(),
        "end": (now + timedelta(days=2, hours=1)).isoformat(), "reason": "upgrade"}
    ).status_code == 201
    assert checked.call("post", "/v1/ops/replays", operator, body={
        "from": (now - timedelta(days=1)).isoformat(), "to": now.isoformat(), "dryRun": True}
    ).status_code == 200
    assert checked.call("get", "/v1/ops/replays/{job_id}", operator,
                        path_parameters={"job_id": "nope"}).status_code == 404
    supplier = straum.token(gln(), "supplier")
    assert checked.call("get", "/v1/ops/lag", supplier).status_code == 403
    assert checked.call("get", "/v1/ops/lag", "not-a-token").status_code == 401


def test_the_docs_page_works_offline_with_an_authorize_button(straum: Straum,
                                                              tmp_path: Path) -> None:
    """/docs and /redoc load their scripts from the API (the fastapi-offline package), not a
    CDN, so they work on a machine without internet access; Swagger UI shows the bearer
    scheme's Authorize button and every operation."""
    for page in ("/docs", "/redoc"):
        html = httpx.get(f"{straum.base_url}{page}").text
        assert "/docs/assets/" in html and "cdn." not in html and "googleapis" not in html
    assert httpx.get(f"{straum.base_url}/docs/assets/swagger-ui-bundle.js").status_code == 200
    rendered = chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom",
                        f"{straum.base_url}/docs")
    assert "btn authorize" in rendered
    for path in ("/v1/metering-values", "/v1/queues/{queue}/poll", "/v1/ops/history"):
        assert f'data-path="{path}"' in rendered, path


def test_consent_answers_as_documented(straum: Straum, checked: Conformance) -> None:
    """Elhub's Access API as a supplier and an end user use it: every JSON:API answer checked
    against the document."""
    from connectors.http.auth import issue_dev_token
    from tests.helpers import national_id

    grid_owner, supplier_gln, person, point = gln(), gln(), national_id(), gsrn()
    go = straum.token(grid_owner, "grid_owner")
    su = straum.token(supplier_gln, "supplier")
    me = issue_dev_token(straum.settings, None, ["end_user"], national_id=person)
    assert checked.call("post", "/v1/metering-points", go,
                        body=register_point(point)).status_code == 202
    checked.poll_all(go, "market-processes", "Acknowledgement")
    requests = "/v1/authorization-requests"
    asked = checked.call("post", requests, su, body={"data": {
        "type": "AuthorizationRequest",
        "attributes": {"requestType": "MoveInAndChangeOfBalanceSupplierForPerson"},
        "meta": {"requestedBy": supplier_gln, "requestedFrom": person, "requestedTo": person,
                 "requestedFromName": "Kari Nordmann", "requestedForMeteringPointId": point,
                 "requestedForMeteringPointAddress": "Storgata 1, 0155 Oslo",
                 "balanceSupplierName": "Fjordkraft",
                 "balanceSupplierContractName": "Spotpris"}}})
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["data"]["id"]
    accepted = checked.call("patch", requests + "/{request_id}", me,
                            path_parameters={"request_id": request_id},
                            body={"data": {"type": "AuthorizationRequest", "id": request_id,
                                           "attributes": {"status": "Accepted"}}})
    assert accepted.status_code == 200, accepted.text
    grant_id = accepted.json()["included"][0]["id"]
    for token in (su, me):
        assert checked.call("get", requests, token).status_code == 200
        assert checked.call("get", requests + "/{request_id}", token,
                            path_parameters={"request_id": request_id}).status_code == 200
        assert checked.call("get", "/v1/authorization-grants", token).status_code == 200
        for path in ("/v1/authorization-grants/{grant_id}",
                     "/v1/authorization-grants/{grant_id}/scopes"):
            assert checked.call("get", path, token,
                                path_parameters={"grant_id": grant_id}).status_code == 200
    assert checked.call("get", requests + "/{request_id}", go,
                        path_parameters={"request_id": request_id}).status_code == 403
    moved = checked.call("post", "/v1/move-in", su, body={
        "messageId": "3c0d2b1a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", "meteringPointId": point,
        "startDate": date.today().isoformat(), "authorizationGrantId": grant_id,
        "endUser": {"name": "Kari Nordmann", "nationalId": person}})
    assert moved.status_code == 202, moved.text
    checked.poll_all(su, "market-processes", "ConfirmStartOfSupply")
