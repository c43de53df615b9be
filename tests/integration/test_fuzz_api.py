"""Hostile input against straum's own OpenAPI document: no input gives a server error, and
answers match what the document says; fuzzed intake bodies never stop the stream.

Issue 20 added four classes, each tried on every body-taking endpoint: deep nesting, huge
fields, extreme numbers and dates, and type confusion. Each answer is checked as a user of the
contract would: a 4xx in problem details (JSON:API error objects on the Contracts API) with a
code, and a pointer for a field; a document answered 202 gets exactly one acknowledgement.

The budget is ``STRAUM_FUZZ_EXAMPLES`` examples per class (25 in ``make test``; ``make fuzz``
runs 500). With ``STRAUM_FUZZ_REPORT`` set, the classes and counts are written there as JSON.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

# schemathesis.generation.dictionaries is imported here, not first deep inside hypothesis's
# stack, where CPython 3.11's compiler can fail on it ("AST constructor recursion depth
# mismatch", a flaky failure of the fuzz test).
import schemathesis
import schemathesis.generation.dictionaries
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from connectors.broker.embedded import free_port
from tests.helpers import day_series, gln, gsrn, register_point, start_of_supply, values_document
from tests.integration.conftest import Straum

ALL_ROLES = ("grid_owner", "supplier", "third_party", "operator")
BUDGET = int(os.environ.get("STRAUM_FUZZ_EXAMPLES", "25"))
PROBLEM = "application/problem+json"
JSONAPI = "application/vnd.api+json"
TRIED: Counter[str] = Counter()
"""Requests sent per class and answer, for the report (docs/RELIABILITY.md)."""


@pytest.fixture(scope="module")
def fuzz_api(straum: Straum) -> Iterator[str]:
    """An API process without rate limits, so the fuzzer reaches past the limiter."""
    port = free_port()
    straum.start_with_env("api-fuzz", {"STRAUM_RATE_LIMIT_PER_SECOND": "0"},
                          "api", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    straum.wait_ready(60, base)
    try:
        yield base
    finally:
        straum.stop("api-fuzz")


ANSWER_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                 response_headers_conformance, response_schema_conformance]
"""Every answer: no 5xx; its status, media type, headers and body as /openapi.json documents
them for the operation (problem details on a 4xx, the operation's schema on a 2xx)."""


def test_no_input_gives_a_server_error(straum: Straum, fuzz_api: str) -> None:
    """Every operation of /openapi.json, fuzzed by schemathesis with a token holding every
    role (so requests get past authentication): no 5xx, and every answer conforms to the
    document (status code, media type, headers and body schema)."""
    schema = schemathesis.openapi.from_url(f"{fuzz_api}/openapi.json")
    token = straum.token("7080005051286", *ALL_ROLES)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=BUDGET, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            response = case.call(base_url=fuzz_api, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"})
            TRIED[f"schemathesis {response.status_code // 100}xx"] += 1
            case.validate_response(response, checks=ANSWER_CHECKS)

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
    TRIED[f"intake bodies {response.status_code}"] += 1
    assert response.status_code in (200, 202, 400, 422), response.text
    if response.status_code == 400:
        body = response.json()
        if body["code"] == "body.invalid_json":  # NaN and Infinity are not JSON
            assert "problems" not in body
            return
        assert body["problems"] and all("code" in p and "pointer" in p
                                        for p in body["problems"])


def test_deeply_nested_and_oversized_bodies(straum: Straum, fuzz_api: str) -> None:
    headers = {"Authorization": f"Bearer {straum.token(gln(), 'grid_owner')}",
               "Content-Type": "application/json"}
    nested = "[" * 5000 + "]" * 5000
    response = httpx.post(f"{fuzz_api}/v1/metering-values", content=nested, headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    many = values_document(*[day_series(gsrn(), day_of_2026()) for _ in range(3)])
    many["series"][0]["points"] *= 40  # far beyond the longest series
    response = httpx.post(f"{fuzz_api}/v1/metering-values", json=many, headers=headers)
    assert response.status_code == 400
    assert httpx.post(f"{fuzz_api}/v1/metering-values", content=b"\xff\xfe garbage",
                      headers=headers).status_code == 400


# -- issue 20's classes: deep nesting, huge fields, extreme numbers and dates, type confusion --

FUZZ_PARTY = {"grid_owner": "7080005051293", "supplier": "7080005051309",
              "third_party": "7080005051316", "operator": "7080005051286"}
"""One party per role for the classes below, so their acknowledgements collect in four
queues that the invariant test reads at the end."""

ACCEPTED: list[tuple[str, str, str | None]] = []
"""(role, messageId, transactionId) of every fuzzed document answered 202."""


def _day(offset: int = 0) -> str:
    return (date.today() + timedelta(days=offset)).isoformat()


def _move_in() -> dict[str, Any]:
    from tests.helpers import national_id

    return {"messageId": str(uuid.uuid4()), "meteringPointId": gsrn(), "startDate": _day(),
            "endUser": {"name": "Kari", "nationalId": national_id()},
            "authorizationGrantId": str(uuid.uuid4())}


def _calculation() -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "name": f"fuzz {uuid.uuid4()}",
            "distributionType": "manual", "validFrom": _day(-2), "contributors": [gsrn()],
            "receivers": [{"meteringPointId": gsrn(), "share": 0.5},
                          {"meteringPointId": gsrn(), "share": 0.5}]}


def _authorization_request() -> dict[str, Any]:
    from tests.helpers import national_id

    person = national_id()
    return {"data": {"type": "AuthorizationRequest",
                     "attributes": {"requestType": "MoveInAndChangeOfBalanceSupplierForPerson"},
                     "meta": {"requestedBy": FUZZ_PARTY["supplier"], "requestedFrom": person,
                              "requestedTo": person, "requestedFromName": "Kari",
                              "requestedForMeteringPointId": gsrn(),
                              "requestedForMeteringPointAddress": "Storgata 1",
                              "balanceSupplierName": "Kraft",
                              "balanceSupplierContractName": "Spot"}}}


def _contract() -> dict[str, Any]:
    return {"data": [{"type": "contract", "attributes": {
        "contractType": "Norgespris", "startDate": _day(1)}, "relationships": {
        "meteringPoint": {"data": {"type": "MeteringPoint", "id": gsrn()}}}}]}


@dataclass(frozen=True)
class Target:
    """A body-taking endpoint, a valid body for it, and the fields to attack."""

    path: str
    role: str
    body: Callable[[], Any]
    fields: tuple[tuple[str | int, ...], ...]
    jsonapi: bool = False
    acknowledged: bool = False  # a 202 means an Acknowledgement will follow


TARGETS = [
    Target("/v1/metering-values", "grid_owner",
           lambda: values_document(day_series(gsrn(), date(2026, 2, 10))),
           (("messageId",), ("series", 0, "start"), ("series", 0, "end"),
            ("series", 0, "meteringPointId"), ("series", 0, "resolution"),
            ("series", 0, "points", 0, "quantity"), ("series", 0, "points", 0, "quality"),
            ("series", 0, "transactionId"), ("series",)), acknowledged=True),
    Target("/v1/metering-points", "grid_owner", lambda: register_point(gsrn()),
           (("productionType",), ("validFrom",), ("gridArea",), ("consumptionCode",),
            ("industryCode",), ("type",), ("meteringPointId",)), acknowledged=True),
    Target("/v1/master-data", "grid_owner",
           lambda: {"messageId": str(uuid.uuid4()), "meteringPointId": gsrn(),
                    "effectiveFrom": _day(), "productionType": "hydro"},
           (("effectiveFrom",), ("productionType",), ("consumptionCode",), ("priceArea",)),
           acknowledged=True),
    Target("/v1/start-of-supply", "supplier", lambda: start_of_supply(gsrn(), date.today()),
           (("startDate",), ("endUser", "name"), ("endUser", "organisationNumber"),
            ("endUser",)), acknowledged=True),
    Target("/v1/customer-information", "supplier",
           lambda: {"messageId": str(uuid.uuid4()), "meteringPointId": gsrn(), "contacts": [
               {"kind": "mobile", "value": "+4791234567", "purpose": "contract"}]},
           (("contacts", 0, "value"), ("contacts", 0, "kind"), ("contacts",)),
           acknowledged=True),
    Target("/v1/third-party-access", "third_party",
           lambda: {"messageId": str(uuid.uuid4()), "meteringPointId": gsrn(), "action": "add",
                    "validFrom": f"{_day()}T00:00:00+01:00"},
           (("validFrom",), ("validTo",), ("action",)), acknowledged=True),
    Target("/v1/prices", "operator",
           lambda: {"prices": [{"area": "NO1", "start": "2001-01-10T00:00:00+01:00",
                                "resolution": "PT1H", "price": 1200.0, "unit": "NOK/MWh"}]},
           (("prices", 0, "price"), ("prices", 0, "start"), ("prices", 0, "eurNok"),
            ("prices", 0, "area"), ("prices",))),
    Target("/v1/ops/maintenance", "operator",
           lambda: {"start": f"{_day(400)}T00:00:00Z", "end": f"{_day(400)}T01:00:00Z",
                    "reason": "fuzz"},
           (("start",), ("end",), ("reason",))),
    Target("/v1/ops/redeliveries", "operator",
           lambda: {"actor": gln(), "queue": "metering-values",
                    "since": "2026-01-01T00:00:00Z"},
           (("since",), ("actor",), ("queue",))),
    Target("/v1/queues/metering-values/ack", "supplier", lambda: {"pollId": "fuzz"},
           (("pollId",),)),
    Target("/v1/contracts", "grid_owner", _contract,
           (("data", 0, "attributes", "startDate"), ("data", 0, "attributes", "endDate"),
            ("data", 0, "relationships", "meteringPoint", "data", "id"), ("data",)),
           jsonapi=True),
    # issue 16: consent, moving in and out, shared production
    Target("/v1/move-in", "supplier", lambda: _move_in(),
           (("startDate",), ("endUser", "name"), ("endUser", "nationalId"),
            ("authorizationGrantId",), ("meteringPointId",), ("endUser",)), acknowledged=True),
    Target("/v1/move-out", "supplier",
           lambda: {"messageId": str(uuid.uuid4()), "meteringPointId": gsrn(),
                    "endDate": _day(2)},
           (("endDate",), ("meteringPointId",)), acknowledged=True),
    Target("/v1/shared-production", "grid_owner", lambda: _calculation(),
           (("validFrom",), ("name",), ("description",), ("receivers", 0, "share"),
            ("contributors",), ("receivers",), ("distributionType",), ("action",)),
           acknowledged=True),
    Target("/v1/authorization-requests", "supplier", lambda: _authorization_request(),
           (("data", "meta", "requestedFrom"), ("data", "meta", "moveInDate"),
            ("data", "attributes", "requestType"), ("data", "meta"),
            ("data", "meta", "requestedForMeteringPointId"), ("data", "meta", "requestedBy")),
           jsonapi=True),
]


def set_at(document: Any, path: tuple[str | int, ...], value: Any) -> None:
    for part in path[:-1]:
        document = document[part]
    document[path[-1]] = value


RAW = "@@raw:"
"""Marks a raw JSON token (1e400, NaN, a 5,000-digit integer) to splice into the body."""


def render(document: Any) -> str:
    return re.sub(r'"@@raw:(.*?)@@"', lambda m: m.group(1), json.dumps(document))


def send(fuzz_api: str, target: Target, body: str | bytes, kind: str) -> httpx.Response:
    token = FUZZ_TOKENS[target.role]
    content_type = JSONAPI if target.jsonapi else "application/json"
    response = httpx.post(f"{fuzz_api}{target.path}", content=body, timeout=60,
                          headers={"Authorization": f"Bearer {token}",
                                   "Content-Type": content_type})
    TRIED[f"{kind} {response.status_code}"] += 1
    assert response.status_code < 500 or _processing_delayed(response), (
        f"{kind} on {target.path}: {response.status_code} {response.text[:300]}")
    if response.status_code >= 400:
        _check_error_body(target, response)
    elif response.status_code == 202 and target.acknowledged:
        document = json.loads(body)
        for series in document.get("series") or [None]:
            ACCEPTED.append((target.role, document["messageId"],
                             series["transactionId"] if series else None))
    return response


def _processing_delayed(response: httpx.Response) -> bool:
    """A contract command the processor has not answered in time: 'read again shortly', a
    statement about load on a shared machine, not a failure of input handling."""
    return response.status_code == 503 and "PROCESSING_DELAYED" in response.text


def _check_error_body(target: Target, response: httpx.Response) -> None:
    content_type = response.headers["content-type"]
    body = response.json()
    if target.jsonapi:
        assert content_type.startswith(JSONAPI), response.text[:300]
        assert body["errors"] and all(e["code"] for e in body["errors"])
        return
    assert content_type == PROBLEM, response.text[:300]
    assert isinstance(body["code"], str) and body["status"] == response.status_code
    for problem in body.get("problems", []):
        assert problem["code"] and "pointer" in problem


FUZZ_TOKENS: dict[str, str] = {}


@pytest.fixture(scope="module")
def fuzz_tokens(straum: Straum) -> None:
    for role, party in FUZZ_PARTY.items():
        FUZZ_TOKENS[role] = straum.token(party, role)


targets = st.sampled_from(TARGETS)


def _fields(target: Target) -> st.SearchStrategy[tuple[str | int, ...]]:
    return st.sampled_from(target.fields)


CLASS_SETTINGS = settings(max_examples=BUDGET, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))


@given(data=st.data())
@CLASS_SETTINGS
def test_deep_nesting(fuzz_api: str, fuzz_tokens: None, data: st.DataObject) -> None:
    """Arrays and objects nested 30 to 50,000 levels, as the whole body or in a field."""
    target = data.draw(targets)
    depth = data.draw(st.sampled_from([30, 33, 100, 999, 1_000, 1_001, 5_000, 50_000]))
    opening, closing = data.draw(st.sampled_from([("[", "]"), ('{"a":', "}"),
                                                  ('[{"a":', "}]")]))
    inner = "" if opening == "[" else "1"
    nest = opening * depth + inner + closing * depth
    document = target.body()
    where: tuple[str | int, ...] = ()
    if data.draw(st.booleans()):
        body = nest
    else:
        where = data.draw(_fields(target))
        set_at(document, where, RAW + "NEST@@")
        body = render(document).replace("NEST", nest)
    response = send(fuzz_api, target, body, "deep nesting")
    assert response.status_code in (400, 404, 413, 422), (where, response.text[:300])


@given(data=st.data())
@CLASS_SETTINGS
def test_huge_fields(fuzz_api: str, fuzz_tokens: None, data: st.DataObject) -> None:
    """A field one past its bound up to past the body limit, in 1- to 4-byte characters."""
    target = data.draw(targets)
    path = data.draw(_fields(target))
    size = data.draw(st.sampled_from([19, 65, 201, 255, 501, 10_000, 1_048_576, 9_000_000]))
    char = data.draw(st.sampled_from(["x", "ø", "€", "𝄞", "1"]))
    document = target.body()
    set_at(document, path, char * (size if len(char.encode()) == 1 else size // 2))
    response = send(fuzz_api, target, render(document), "huge fields")
    if response.status_code == 400 and not target.jsonapi and size >= 10_000:
        pointer = "/" + "/".join(str(p) for p in path)
        pointers = {p["pointer"] for p in response.json().get("problems", [])}
        assert any(p.startswith(pointer) or pointer.startswith(p) for p in pointers) or (
            response.json()["code"] != "request.invalid"), (pointer, pointers)
    if size >= 9_000_000:
        assert response.status_code == 413


EXTREME_NUMBERS = [1e308, -1e308, 5e-324, -0.0, 0, 2**63, 2**64 + 1, 10_000_000.000001,
                   *(RAW + token + "@@" for token in (
                       "1e400", "-1e400", "NaN", "Infinity", "9" * 5000, "1" + "0" * 400,
                       "0." + "0" * 400 + "1"))]
EXTREME_DATES = ["0001-01-01", "9999-12-31", "1969-12-31", "1970-01-01", "2099-12-31",
                 "2100-01-01", "2026-02-29", "2028-02-29", "+10000-01-01", "2026-13-01",
                 "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-02:00",
                 "1970-01-01T00:00:00+01:00", "2099-12-31T23:00:00-23:59",
                 "2026-03-29T02:30:00+01:00", "2026-10-25T02:00:00+02:00",
                 "2026-01-01T00:00:00", "2026-01-01T24:00:00Z", "2026-01-01T00:00:00+25:00"]


@given(data=st.data())
@CLASS_SETTINGS
def test_extreme_numbers_and_dates(fuzz_api: str, fuzz_tokens: None,
                                   data: st.DataObject) -> None:
    """Numbers at and past every float and decimal edge; dates at and past the calendar's."""
    target = data.draw(targets)
    path = data.draw(_fields(target))
    value = data.draw(st.sampled_from(EXTREME_NUMBERS + EXTREME_DATES))
    document = target.body()
    set_at(document, path, value)
    send(fuzz_api, target, render(document), "extreme numbers and dates")


CONFUSED = [None, True, False, 0, -1, 1.5, "", "1", "true", "null", [], [1], {}, {"a": 1},
            [None], "\x00", "\u202e", "\ud800", "Kari\x00", "\u2066x", {"$ref": "#"}]


@given(data=st.data())
@CLASS_SETTINGS
def test_type_confusion(fuzz_api: str, fuzz_tokens: None, data: st.DataObject) -> None:
    """Every field as every other JSON type (and strings holding controls and surrogates)."""
    target = data.draw(targets)
    path = data.draw(_fields(target))
    value = data.draw(st.sampled_from(CONFUSED))
    document = target.body()
    set_at(document, path, value)
    send(fuzz_api, target, render(document), "type confusion")


def test_every_accepted_fuzzed_document_is_acknowledged_once(straum: Straum,
                                                             fuzz_api: str) -> None:
    """The invariant of issue 20: whatever a document answered 202 contained, its sender gets
    exactly one Acknowledgement for it (per series for metering values)."""
    wanted = {(role, message_id, transaction_id)
              for role, message_id, transaction_id in ACCEPTED}
    seen: dict[tuple[str, str, str | None], set[str]] = {}
    deadline = time.monotonic() + 120
    clients = {role: straum.client(party, role) for role, party in FUZZ_PARTY.items()}
    quiet = 0
    while time.monotonic() < deadline and (set(seen) < wanted or quiet < 3):
        got_any = False
        for role, client in clients.items():
            response = client.post("/v1/queues/market-processes/poll", params={"max": 500})
            if response.status_code == 204:
                continue
            body = response.json()
            got_any = True
            for message in body["messages"]:
                if message["documentType"] != "Acknowledgement":
                    continue
                payload = message["payload"]
                key = (role, payload["originalMessageId"], payload.get("transactionId"))
                seen.setdefault(key, set()).add(message["messageId"])
            client.post("/v1/queues/market-processes/ack", json={"pollId": body["pollId"]})
        quiet = 0 if got_any else quiet + 1
        time.sleep(0.5)
    TRIED["accepted and acknowledged"] += len(wanted & set(seen))
    TRIED["accepted, never acknowledged"] += len(wanted - set(seen))
    missing = wanted - set(seen)
    assert not missing, f"{len(missing)} accepted documents never acknowledged: {missing}"
    twice = {k: v for k, v in seen.items() if k in wanted and len(v) != 1}
    assert not twice, f"acknowledged more than once: {twice}"


def test_fuzz_report() -> None:
    """The classes tried and the answers counted; written where STRAUM_FUZZ_REPORT says."""
    assert TRIED, "no fuzz class ran"
    report = os.environ.get("STRAUM_FUZZ_REPORT")
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(
            {"budget": BUDGET, "at": datetime.now().isoformat(timespec="seconds"),
             "counts": dict(sorted(TRIED.items()))}, indent=2))
    assert not any(key.endswith((" 500", " 502", " 504")) for key in TRIED)


def test_stream_still_flows_after_the_fuzzing(straum: Straum) -> None:
    """After everything above, a good series still goes all the way to its grid owner."""
    from tests.helpers import poll_until
    from tests.integration.conftest import point_with_supplier

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
    assert_fuzzed_answer(straum, f"{fuzz_api}{path}", "supplier", body)


def assert_fuzzed_answer(straum: Straum, url: str, role: str, body: dict[str, Any]) -> None:
    """A fuzzed body POSTed as ``role`` (NaN and infinities allowed) is taken or refused with
    problems that each name a code and a pointer; never a 5xx."""
    response = httpx.post(url, timeout=30, content=json.dumps(body, allow_nan=True),
                          headers={"Authorization": f"Bearer {straum.token(gln(), role)}",
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
    assert_fuzzed_answer(straum, f"{fuzz_api}/v1/shared-production", "grid_owner", body)


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
