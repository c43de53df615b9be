"""Traceable requests against the real API process: an ``X-Request-Id`` taken or made, echoed
on every answer and in problem bodies, carried by every log line of the request, and one
access-log line per request that names the actor and the route but never a personal id."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

from connectors.http.auth import issue_dev_token
from tests.helpers import gln, gsrn, register_point
from tests.integration.conftest import Straum

NATIONAL_ID = "15058810050"


def lines_of(straum: Straum, request_id: str, event: str = "request",
             timeout: float = 30.0) -> list[dict[str, Any]]:
    """The API's JSON log lines of ``request_id``, once its ``event`` line is there."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for path in straum.log_dir.glob("api*.log"):
            for line in path.read_text(errors="replace").splitlines():
                if request_id in line:
                    found.append(json.loads(line))
        if any(f.get("event") == event for f in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_the_callers_id_is_echoed_and_a_missing_or_unusable_one_is_made(straum: Straum
                                                                         ) -> None:
    given = f"trace-{uuid.uuid4()}"
    answer = httpx.get(f"{straum.base_url}/healthz", headers={"X-Request-Id": given})
    assert answer.headers["x-request-id"] == given
    made = httpx.get(f"{straum.base_url}/healthz").headers["x-request-id"]
    assert uuid.UUID(made)
    for unusable in (b"has spaces in it", b"x" * 129, "bl\u00e5b\u00e6r".encode(), b"a\tb"):
        echoed = httpx.get(f"{straum.base_url}/healthz",
                           headers={"X-Request-Id": unusable}).headers["x-request-id"]
        assert echoed.encode() != unusable and uuid.UUID(echoed)


def test_every_answer_and_problem_body_carries_the_id(straum: Straum) -> None:
    grid_owner = straum.client(gln(), "grid_owner")
    answers = {
        "accepted": grid_owner.post("/v1/metering-points", json=register_point(gsrn())),
        "invalid": grid_owner.post("/v1/metering-points", json={"messageId": "nope"}),
        "unauthenticated": httpx.post(f"{straum.base_url}/v1/queues/metering-values/poll"),
        "forbidden": grid_owner.get("/v1/ops/lag"),
        "no route": grid_owner.get("/v1/no-such-thing"),
        "too large": grid_owner.post("/v1/metering-values", content=b"{" + b" " * 9_000_000,
                                     headers={"Content-Type": "application/json"}),
        "contracts": grid_owner.get("/v1/contracts", params={"filter[meteringPointId]": "1"}),
    }
    statuses = {name: a.status_code for name, a in answers.items()}
    assert statuses == {"accepted": 202, "invalid": 400, "unauthenticated": 401,
                        "forbidden": 403, "no route": 404, "too large": 413,
                        "contracts": statuses["contracts"]}
    for name, answer in answers.items():
        request_id = answer.headers.get("x-request-id")
        assert request_id, f"{name}: no X-Request-Id"
        if answer.status_code >= 400 and name != "contracts":
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["requestId"] == request_id, name
    if answers["contracts"].status_code >= 400:
        body = answers["contracts"].json()
        assert body["meta"]["requestId"] == answers["contracts"].headers["x-request-id"]


def test_every_log_line_of_a_request_has_its_id_and_one_access_line(straum: Straum) -> None:
    """The same registration twice: the second is a duplicate, which the route logs at info
    (an accepted document is logged at debug), so both requests' lines can be followed."""
    grid_owner_id = gln()
    client = straum.client(grid_owner_id, "grid_owner")
    document = register_point(gsrn())
    first, again = f"walk-{uuid.uuid4()}", f"walk-{uuid.uuid4()}"
    assert client.post("/v1/metering-points", json=document,
                       headers={"X-Request-Id": first}).status_code == 202
    assert client.post("/v1/metering-points", json=document,
                       headers={"X-Request-Id": again}).status_code == 200
    for request_id, status in ((first, 202), (again, 200)):
        lines = lines_of(straum, request_id)
        assert all(line["request_id"] == request_id for line in lines)
        [access] = [line for line in lines if line["event"] == "request"]
        assert access["logger"] == "straum.access"
        assert (access["method"], access["route"], access["status"], access["actor"]) == (
            "POST", "/v1/metering-points", status, grid_owner_id)
        assert access["latency_ms"] >= 0
    # the route's own line, bound to the request
    assert "intake document" in [line["event"] for line in lines_of(straum, again)]


def test_the_access_log_never_holds_a_personal_id(straum: Straum) -> None:
    """A national id in the path and in the query string: the access line names the route's
    template (or 'unmatched'), never what the caller put in the URL."""
    operator = straum.client(gln(), "operator")
    in_path = f"req-{uuid.uuid4()}"
    assert operator.get(f"/v1/metering-points/{NATIONAL_ID}/norgespris-comparison",
                        params={"from": "2025-01-01", "to": "2025-01-31",
                                "note": NATIONAL_ID},
                        headers={"X-Request-Id": in_path}).status_code in (400, 404)
    unmatched = f"req-{uuid.uuid4()}"
    assert operator.get(f"/v1/people/{NATIONAL_ID}",
                        headers={"X-Request-Id": unmatched}).status_code == 404
    person = f"req-{uuid.uuid4()}"  # an end user: the actor is a pseudonym, never the id
    token = issue_dev_token(straum.settings, None, ["end_user"], national_id=NATIONAL_ID)
    assert httpx.get(f"{straum.base_url}/v1/authorization-requests",
                     headers={"Authorization": f"Bearer {token}",
                              "X-Request-Id": person}).status_code == 200
    [own] = [line for line in lines_of(straum, person) if line["event"] == "request"]
    assert own["actor"] and own["actor"] != NATIONAL_ID
    [access] = [line for line in lines_of(straum, in_path) if line["event"] == "request"]
    assert access["route"] == "/v1/metering-points/{metering_point_id}/norgespris-comparison"
    [other] = [line for line in lines_of(straum, unmatched) if line["event"] == "request"]
    assert other["route"] == "unmatched"
    for path in straum.log_dir.glob("api*.log"):
        assert NATIONAL_ID not in path.read_text(errors="replace")
