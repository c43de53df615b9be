"""Hostile input against straum's own OpenAPI document: no input gives a server error, and
answers match what the document says; fuzzed intake bodies never stop the stream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from connectors.broker.embedded import free_port
from tests.helpers import day_series, gln, gsrn, values_document
from tests.integration.conftest import Straum

ALL_ROLES = ("grid_owner", "supplier", "third_party", "operator")


@pytest.fixture(scope="module")
def fuzz_api(straum: Straum) -> Iterator[str]:
    """An API process without rate limits, so the fuzzer reaches past the limiter."""
    port = free_port()
    straum.start_with_env("api-fuzz", {"STRAUM_RATE_LIMIT_PER_SECOND": "0"},
                          "api", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "fuzz API did not come up"
        time.sleep(0.3)
    try:
        yield base
    finally:
        straum.stop("api-fuzz")


def test_no_input_gives_a_server_error(straum: Straum, fuzz_api: str) -> None:
    """Every operation of /openapi.json, fuzzed by schemathesis with a token holding every
    role (so requests get past authentication): no 5xx, responses as documented."""
    schema = schemathesis.openapi.from_url(f"{fuzz_api}/openapi.json")
    token = straum.token("7080005051286", *ALL_ROLES)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            response = case.call(base_url=fuzz_api, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"})
            case.validate_response(response, checks=[not_a_server_error,
                                                     response_schema_conformance])

        fuzz()


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.text(max_size=30)
    | st.integers(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=20)


@given(mutation=st.dictionaries(
    st.sampled_from(["messageId", "series", "meteringPointId", "start", "end", "resolution",
                     "points", "quantity", "quality", "unit", "transactionId"]),
    json_values, max_size=3),
    where=st.sampled_from(["document", "series", "point"]))
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_intake_bodies_get_4xx_never_5xx(straum: Straum, fuzz_api: str,
                                                mutation: dict[str, Any], where: str) -> None:
    document = values_document(day_series(gsrn(), day_of_2026()))
    target = {"document": document, "series": document["series"][0],
              "point": document["series"][0]["points"][0]}[where]
    target.update(mutation)
    token = straum.token(gln(), "grid_owner")
    response = httpx.post(f"{fuzz_api}/v1/metering-values", timeout=30,
                          content=json.dumps(document, allow_nan=True),  # NaN and Infinity too
                          headers={"Authorization": f"Bearer {token}",
                                   "Content-Type": "application/json"})
    assert response.status_code in (200, 202, 400, 422), response.text
    if response.status_code == 400:
        body = response.json()
        assert body["problems"] and all("code" in p and "pointer" in p
                                        for p in body["problems"])


def test_deeply_nested_and_oversized_bodies(straum: Straum, fuzz_api: str) -> None:
    headers = {"Authorization": f"Bearer {straum.token(gln(), 'grid_owner')}",
               "Content-Type": "application/json"}
    nested = "[" * 5000 + "]" * 5000
    response = httpx.post(f"{fuzz_api}/v1/metering-values", content=nested, headers=headers)
    assert response.status_code == 400
    many = values_document(*[day_series(gsrn(), day_of_2026()) for _ in range(3)])
    many["series"][0]["points"] *= 40  # far beyond the longest series
    response = httpx.post(f"{fuzz_api}/v1/metering-values", json=many, headers=headers)
    assert response.status_code == 400
    assert httpx.post(f"{fuzz_api}/v1/metering-values", content=b"\xff\xfe garbage",
                      headers=headers).status_code == 400


def test_stream_still_flows_after_the_fuzzing(straum: Straum) -> None:
    """After everything above, a good series still goes all the way to its grid owner."""
    from tests.helpers import poll_until
    from tests.integration.test_metering_values import point_with_supplier

    point, go, supplier, _ = point_with_supplier(straum, today_minus(3))
    series = day_series(point, today_minus(1))
    assert go.post("/v1/metering-values", json=values_document(series)).status_code == 202
    poll_until(supplier, "metering-values",
               lambda m: m["payload"]["transactionId"] == series["transactionId"])


def day_of_2026() -> Any:
    from datetime import date

    return date(2026, 2, 10)


def today_minus(days: int) -> Any:
    from datetime import datetime, timedelta

    from domain.series import HUB_TIMEZONE

    return datetime.now(HUB_TIMEZONE).date() - timedelta(days=days)


# Consent (Access API) and moving in and out (issue 16) -----------------------------------------

def test_the_access_api_fuzzed_as_an_end_user_gives_no_server_error(straum: Straum,
                                                                    fuzz_api: str) -> None:
    """The operations an end user reaches (read and answer requests, read grants), fuzzed
    with an end user's token; the test above covers them with every market role."""
    from connectors.http.auth import issue_dev_token
    from tests.helpers import national_id

    schema = schemathesis.openapi.from_url(f"{fuzz_api}/openapi.json")
    token = issue_dev_token(straum.settings, None, ["end_user"], national_id=national_id())
    operations = [result.ok() for result in schema.get_all_operations()
                  if "/authorization-" in result.ok().path]
    assert len(operations) == 7
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            response = case.call(base_url=fuzz_api, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"})
            case.validate_response(response, checks=[not_a_server_error,
                                                     response_schema_conformance])

        fuzz()


ACCESS_META = ["requestedBy", "requestedFrom", "requestedTo", "requestedFromName",
               "requestedForMeteringPointId", "requestedForMeteringPointAddress",
               "balanceSupplierName", "balanceSupplierContractName", "moveInDate"]


@given(mutation=st.dictionaries(st.sampled_from([*ACCESS_META, "requestType", "type", "data",
                                                 "meta", "attributes"]),
                                json_values, max_size=3),
       where=st.sampled_from(["document", "data", "meta", "attributes"]))
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_authorization_requests_get_json_api_errors_never_5xx(
        straum: Straum, fuzz_api: str, mutation: dict[str, Any], where: str) -> None:
    from tests.helpers import national_id

    supplier, person = gln(), national_id()
    document: dict[str, Any] = {"data": {
        "type": "AuthorizationRequest",
        "attributes": {"requestType": "MoveInAndChangeOfBalanceSupplierForPerson"},
        "meta": {"requestedBy": supplier, "requestedFrom": person, "requestedTo": person,
                 "requestedFromName": "Kari", "requestedForMeteringPointId": gsrn(),
                 "requestedForMeteringPointAddress": "Storgata 1",
                 "balanceSupplierName": "Kraft", "balanceSupplierContractName": "Spot"}}}
    target = {"document": document, "data": document["data"],
              "meta": document["data"]["meta"],
              "attributes": document["data"]["attributes"]}[where]
    target.update(mutation)
    response = httpx.post(f"{fuzz_api}/v1/authorization-requests", timeout=30,
                          content=json.dumps(document, allow_nan=True),
                          headers={"Authorization": f"Bearer {straum.token(supplier, 'supplier')}",
                                   "Content-Type": "application/vnd.api+json"})
    assert response.status_code in (201, 400, 403, 404, 409, 422), response.text
    if response.status_code != 201:
        errors = response.json()["errors"]
        assert errors and all(e["code"] and 400 <= int(e["status"]) < 500 for e in errors)


@given(mutation=st.dictionaries(
    st.sampled_from(["messageId", "meteringPointId", "startDate", "endDate", "endUser",
                     "authorizationGrantId", "name", "nationalId", "organisationNumber"]),
    json_values, max_size=3),
    path=st.sampled_from(["/v1/move-in", "/v1/move-out"]))
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_move_in_and_out_bodies_get_4xx_never_5xx(
        straum: Straum, fuzz_api: str, mutation: dict[str, Any], path: str) -> None:
    import uuid

    from tests.helpers import national_id

    body: dict[str, Any] = {"messageId": str(uuid.uuid4()), "meteringPointId": gsrn()}
    if path == "/v1/move-in":
        body.update(startDate="2026-02-10", authorizationGrantId=str(uuid.uuid4()),
                    endUser={"name": "Kari", "nationalId": national_id()})
    else:
        body["endDate"] = "2026-02-12"
    (body["endUser"] if "endUser" in body and isinstance(body["endUser"], dict)
     and set(mutation) & {"name", "nationalId", "organisationNumber"} else body).update(mutation)
    response = httpx.post(f"{fuzz_api}{path}", timeout=30,
                          content=json.dumps(body, allow_nan=True),
                          headers={"Authorization": f"Bearer {straum.token(gln(), 'supplier')}",
                                   "Content-Type": "application/json"})
    assert response.status_code in (200, 202, 400), response.text
    if response.status_code == 400:
        assert all("code" in p and "pointer" in p for p in response.json()["problems"])


@given(mutation=st.dictionaries(
    st.sampled_from(["messageId", "action", "name", "description", "distributionType",
                     "validFrom", "contributors", "receivers", "meteringPointId", "share"]),
    json_values, max_size=3),
    where=st.sampled_from(["document", "receiver"]))
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_shared_production_bodies_get_4xx_never_5xx(
        straum: Straum, fuzz_api: str, mutation: dict[str, Any], where: str) -> None:
    import uuid

    body: dict[str, Any] = {
        "messageId": str(uuid.uuid4()), "name": "Solgløtt", "distributionType": "manual",
        "validFrom": "2026-02-01", "contributors": [gsrn()],
        "receivers": [{"meteringPointId": gsrn(), "share": 0.5},
                      {"meteringPointId": gsrn(), "share": 0.5}]}
    (body["receivers"][0] if where == "receiver" else body).update(mutation)
    response = httpx.post(f"{fuzz_api}/v1/shared-production", timeout=30,
                          content=json.dumps(body, allow_nan=True),
                          headers={"Authorization": f"Bearer {straum.token(gln(), 'grid_owner')}",
                                   "Content-Type": "application/json"})
    assert response.status_code in (200, 202, 400), response.text
    if response.status_code == 400:
        assert all("code" in p and "pointer" in p for p in response.json()["problems"])


def test_the_stream_still_flows_after_fuzzed_calculations(straum: Straum) -> None:
    """Fuzzed setups (accepted at intake, refused by the hub) stop nothing: a good one is
    still answered."""
    import uuid

    from tests.helpers import poll_until

    go = straum.client(gln(), "grid_owner")
    body = {"messageId": str(uuid.uuid4()), "name": "etter fuzz", "distributionType": "equal",
            "validFrom": "2026-02-01", "contributors": [gsrn()],
            "receivers": [{"meteringPointId": gsrn()}]}
    assert go.post("/v1/shared-production", json=body).status_code == 202
    answer = poll_until(go, "market-processes",
                        lambda m: m["payload"].get("originalMessageId") == body["messageId"])
    assert [r["code"] for r in answer["payload"]["reasons"]] == [
        "shared_production.point_unknown", "shared_production.point_unknown"]
