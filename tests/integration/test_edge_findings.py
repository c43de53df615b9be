"""Issue 20's findings at the API edge, through the running API on the real broker: each was
answered 202 or 500 before, each is a 4xx in problem details now (JSON:API error objects on
the Contracts API), and the worker goes on."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import jwt
import pytest

from connectors.http.auth import DEV_KEY_ID, load_or_create_dev_key
from tests.helpers import (
    day_series,
    gln,
    gsrn,
    oslo_midnight,
    poll_until,
    register_point,
    start_of_supply,
    today,
    values_document,
)
from tests.integration.conftest import Straum, point_with_supplier

PROBLEM = "application/problem+json"
JSONAPI = "application/vnd.api+json"


def problems_of(response: httpx.Response) -> set[tuple[str, str]]:
    assert response.headers["content-type"] == PROBLEM, response.text
    body = response.json()
    assert "detail" not in body or isinstance(body["code"], str)
    return {(p["code"], p["pointer"]) for p in body.get("problems", [])}


def ready(straum: Straum) -> bool:
    return httpx.get(f"{straum.base_url}/readyz", timeout=5).status_code == 200


# -- 1: a 1 MB master-data field ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/metering-points", "/v1/master-data"])
def test_1_a_megabyte_field_is_refused_and_the_worker_goes_on(straum: Straum, path: str) -> None:
    """It was answered 202; the worker could not write what it derived (MessageSizeTooLarge),
    exited with code 1 and the document was lost."""
    go = straum.client(gln(), "grid_owner")
    body = register_point(gsrn())
    if path == "/v1/master-data":
        body = {"messageId": str(uuid.uuid4()), "meteringPointId": body["meteringPointId"],
                "effectiveFrom": "2026-02-01"}
    body["productionType"] = "x" * 1_048_576
    response = go.post(path, json=body)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["code"] == "request.invalid"
    assert ("body.string_too_long", "/productionType") in problems_of(response)
    # The worker never saw it: it is up and a good registration is still answered.
    point = gsrn()
    assert go.post("/v1/metering-points", json=register_point(point)).status_code == 202
    ack = poll_until(go, "market-processes",
                     lambda m: m["payload"].get("meteringPointId") == point)
    assert ack["payload"]["status"] == "accepted"
    assert straum.processes["worker"].poll() is None
    assert ready(straum)


# -- 2: the comparison within the caller's supply period ---------------------------------------


def test_2_each_supplier_compares_only_its_own_days(straum: Straum) -> None:
    """A supplier that took over read its predecessor's days, and the other way round."""
    old_id, new_id, point = gln(), gln(), gsrn()
    go = straum.client(gln(), "grid_owner")
    old, new = straum.client(old_id, "supplier"), straum.client(new_id, "supplier")
    assert go.post("/v1/metering-points", json=register_point(point)).status_code == 202
    poll_until(go, "market-processes", lambda m: m["payload"].get("meteringPointId") == point)
    switch = today() - timedelta(days=3)
    for client, start in ((old, today() - timedelta(days=10)), (new, switch)):
        assert client.post("/v1/start-of-supply",
                           json=start_of_supply(point, start)).status_code == 202
        poll_until(client, "market-processes",
                   lambda m: m["documentType"] == "ConfirmStartOfSupply")
    days = [today() - timedelta(days=n) for n in range(5, 0, -1)]  # 2 old days, 3 new
    hours_of: dict[date, int] = {}
    for day in days:
        series = day_series(point, day)
        for p in series["points"]:
            p["quantity"] = 1.0 if day < switch else 2.0
        hours_of[day] = len(series["points"])
        assert go.post("/v1/metering-values", json=values_document(series)).status_code == 202
        receiver = old if day < switch else new
        poll_until(receiver, "metering-values",
                   lambda m, t=series["transactionId"]: m["payload"]["transactionId"] == t)
    prices = [{"area": "NO1", "start": (oslo_midnight(day) + timedelta(hours=h)).isoformat(),
               "resolution": "PT1H", "price": 1000.0, "unit": "NOK/MWh"}
              for day in days for h in range(hours_of[day])]
    operator = straum.client("7080005051286", "operator")
    assert operator.post("/v1/prices", json={"prices": prices}).status_code == 202

    def energy(client: httpx.Client) -> Decimal:
        response = client.get(f"/v1/metering-points/{point}/norgespris-comparison",
                              params={"from": days[0].isoformat(), "to": days[-1].isoformat()})
        assert response.status_code == 200, response.text
        return Decimal(str(response.json()["totals"]["energyKwh"]))

    assert energy(old) == sum(hours_of[d] for d in days if d < switch)
    assert energy(new) == 2 * sum(hours_of[d] for d in days if d >= switch)
    assert energy(go) == energy(old) + energy(new)


# -- 3: a start of supply on 9999-12-31 ----------------------------------------------------------


def test_3_a_start_far_ahead_is_refused_and_the_point_stays_open(straum: Straum) -> None:
    """It was accepted, blocked every later genuine switch (supply.overlap) and told the
    current supplier its supply ends in 9999."""
    point, _, _, _ = point_with_supplier(straum, today() - timedelta(days=3))
    intruder = straum.client(gln(), "supplier")
    for start, problem in ((date(9999, 12, 31), ("body.date_out_of_range", "/startDate")),
                           (today() + timedelta(days=61),
                            ("supply.too_far_ahead", "/startDate"))):
        body = start_of_supply(point, today())
        body["startDate"] = start.isoformat()
        response = intruder.post("/v1/start-of-supply", json=body)
        assert response.status_code == 400, response.text
        assert problem in problems_of(response)
    genuine = straum.client(gln(), "supplier")
    assert genuine.post("/v1/start-of-supply",
                        json=start_of_supply(point, today() + timedelta(days=7))
                        ).status_code == 202
    ack = poll_until(genuine, "market-processes",
                     lambda m: m["documentType"] == "Acknowledgement")
    assert ack["payload"]["status"] == "accepted", ack["payload"]["reasons"]


# -- 4: third-party access from year 1 ----------------------------------------------------------


def test_4_access_from_year_one_is_a_400_not_a_dead_letter(straum: Straum) -> None:
    third = straum.client(gln(), "third_party")
    response = third.post("/v1/third-party-access", json={
        "messageId": str(uuid.uuid4()), "meteringPointId": gsrn(), "action": "add",
        "validFrom": "0001-01-01T00:00:00+01:00"})
    assert response.status_code == 400
    assert ("body.date_out_of_range", "/validFrom") in problems_of(response)


# -- 6: tokens -----------------------------------------------------------------------------------


def signed(straum: Straum, **claims: Any) -> dict[str, str]:
    now = int(time.time())
    base: dict[str, Any] = {"sub": "7080005051286", "roles": ["supplier"], "aud": "straum",
                            "iss": "straum-dev", "iat": now, "nbf": now, "exp": now + 300}
    base.update(claims)
    base = {k: v for k, v in base.items() if v is not ...}
    key = load_or_create_dev_key(straum.settings.dev_key_path)
    token = jwt.encode(base, key, algorithm="ES256", headers={"kid": DEV_KEY_ID})
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("claims", "code"), [
    ({"iss": "someone-else"}, "token.issuer"),
    ({"iss": ...}, "token.issuer"),
    ({"roles": {"operator": 1}}, "token.roles"),
    ({"roles": None}, "token.roles"),
    ({"roles": 1}, "token.roles"),
    ({"roles": [["operator"]]}, "token.roles"),
    ({"roles": "operator"}, "token.roles"),
], ids=repr)
def test_6_issuer_and_roles_are_checked(straum: Straum, claims: dict[str, Any],
                                        code: str) -> None:
    """A wrong or missing issuer was accepted; ``{"operator": 1}`` granted operator; null, an
    int or a nested list answered 500."""
    response = httpx.get(f"{straum.base_url}/v1/ops/lag", headers=signed(straum, **claims))
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response.headers["www-authenticate"] == "Bearer"


# -- 7: every 500 ---------------------------------------------------------------------------------


def test_7_contracts_nested_a_thousand_levels(straum: Straum) -> None:
    go = straum.client(gln(), "grid_owner")
    for depth in (1_000, 10_000):
        body = '{"data": ' + "[" * depth + "]" * depth + "}"
        response = go.post("/v1/contracts", content=body,
                           headers={"Content-Type": JSONAPI})
        assert response.status_code == 400, response.text[:200]
        assert response.headers["content-type"].startswith(JSONAPI)
        [error] = response.json()["errors"]
        assert error["code"] == "INVALID_INPUT"


def test_7_a_series_starting_in_year_one(straum: Straum) -> None:
    go = straum.client(gln(), "grid_owner")
    series = day_series(gsrn(), date(2026, 2, 10))
    series["start"] = "0001-01-01T00:00:00+01:00"
    response = go.post("/v1/metering-values", json=values_document(series))
    assert response.status_code == 400
    assert ("body.date_out_of_range", "/series/0/start") in problems_of(response)


def test_7_an_update_filter_without_an_offset(straum: Straum) -> None:
    go = straum.client(gln(), "grid_owner")
    for value in ("2026-01-01T00:00:00", "0001-01-01T00:00:00+01:00"):
        response = go.get("/v1/contracts", params={"filter[updatedAt][gt]": value})
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith(JSONAPI)
        [error] = response.json()["errors"]
        assert error["source"] == {"parameter": "filter[updatedAt][gt]"}


def test_7_quantities_of_1e308(straum: Straum) -> None:
    go = straum.client(gln(), "grid_owner")
    series = day_series(gsrn(), date(2026, 2, 10))
    series["points"][4]["quantity"] = 1e308
    response = go.post("/v1/metering-values", json=values_document(series))
    assert response.status_code == 400
    assert ("series.quantity", "/series/0/points/4/quantity") in problems_of(response)


def test_7_a_redelivery_since_year_one(straum: Straum) -> None:
    operator = straum.client("7080005051286", "operator")
    response = operator.post("/v1/ops/redeliveries", json={
        "actor": gln(), "queue": "metering-values", "since": "0001-01-01T00:00:00+01:00"})
    assert response.status_code == 400
    assert ("body.date_out_of_range", "/since") in problems_of(response)


# -- 8: contract drift ----------------------------------------------------------------------------


def test_8_an_oversized_chunked_body_is_a_413_problem(straum: Straum) -> None:
    go = straum.client(gln(), "grid_owner")

    def chunks() -> Iterator[bytes]:
        yield b'{"messageId": "'
        for _ in range(10):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    response = go.post("/v1/metering-values", content=chunks(),
                       headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "request.too_large"


def test_8_a_deeply_nested_body_on_a_model_endpoint_is_a_problem(straum: Straum) -> None:
    go = straum.client(gln(), "grid_owner")
    for depth in (1_000, 100_000):
        response = go.post("/v1/metering-values", content="[" * depth + "]" * depth,
                           headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["code"] in {"body.too_deep", "body.invalid_json"}


@pytest.mark.parametrize("quantity", ["0.512", True, None])
def test_8_a_quantity_is_a_json_number(straum: Straum, quantity: Any) -> None:
    go = straum.client(gln(), "grid_owner")
    series = day_series(gsrn(), date(2026, 2, 10))
    series["points"][0]["quantity"] = quantity
    response = go.post("/v1/metering-values", json=values_document(series))
    assert response.status_code == 400
    assert ("body.float_type", "/series/0/points/0/quantity") in problems_of(response)


@pytest.mark.parametrize("name", ["Kari\x00Nordmann", "Kari\u202eNordmann", "Kari\x07"])
def test_8_control_characters_in_a_name(straum: Straum, name: str) -> None:
    supplier = straum.client(gln(), "supplier")
    body = start_of_supply(gsrn(), today())
    body["endUser"]["name"] = name
    response = supplier.post("/v1/start-of-supply", json=body)
    assert response.status_code == 400
    assert ("body.control_character", "/endUser/name") in problems_of(response)


def test_8_prices_are_finite_and_bounded(straum: Straum) -> None:
    operator = straum.client("7080005051286", "operator")
    response = operator.post("/v1/prices", json={"prices": [{
        "area": "NO1", "start": "2026-01-10T00:00:00+01:00", "resolution": "PT1H",
        "price": 1e308, "unit": "EUR/MWh", "eurNok": 10}]})
    assert response.status_code == 400
    assert ("price.value", "/prices/0/price") in problems_of(response)


def test_8_duplicate_keys_are_refused(straum: Straum) -> None:
    go = straum.client(gln(), "grid_owner")
    document = values_document(day_series(gsrn(), date(2026, 2, 10)))
    raw = json.dumps(document)
    raw = raw.replace('"series":', f'"messageId": "{uuid.uuid4()}", "series":', 1)
    response = go.post("/v1/metering-values", content=raw,
                       headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "body.duplicate_key"


def test_8_an_unknown_path_is_a_problem_too(straum: Straum) -> None:
    response = straum.client(gln(), "supplier").get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "route.not_found"


def test_the_openapi_document_states_the_new_limits(straum: Straum) -> None:
    schema = httpx.get(f"{straum.base_url}/openapi.json").json()
    components = schema["components"]["schemas"]
    registration = components["MeteringPointRegistrationIn"]["properties"]
    production = registration["productionType"]["anyOf"][0]
    assert production["maxLength"] == 64
    assert registration["validFrom"]["x-latest"] == "2099-12-31"
    point = components["MeteringValuePoint"]["properties"]["quantity"]
    assert point["maximum"] == 10_000_000 and point["type"] == "number"
    name = components["EndUser"]["properties"]["name"]
    assert name["maxLength"] == 200


def test_a_replay_with_nothing_to_replay_is_answered_not_a_500(straum: Straum) -> None:
    """Found by `make fuzz`: a replay whose range holds no stored intake answered 500 (the
    engine stopped a consumer it had just started, and aiokafka raised CancelledError)."""
    operator = straum.client("7080005051286", "operator")
    response = operator.post("/v1/ops/replays", json={"from": "2000-01-01T00:04:22Z",
                                                      "to": "2000-01-01T01:12:00Z"})
    assert response.status_code == 200, response.text
    assert response.json()["plan"]["series"] == 0
