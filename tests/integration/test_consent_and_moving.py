"""Consent before a switch or a move-in (Elhub's Access API request flow), and moving in and out
(BRS-NO-102/103, BRS-NO-201), through the API against the real broker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.http.auth import issue_dev_token
from tests.helpers import (
    day_series,
    gln,
    gsrn,
    national_id,
    poll_until,
    register_point,
    today,
    values_document,
)
from tests.integration.conftest import Straum, start_straum

JSONAPI = {"Content-Type": "application/vnd.api+json"}
SWITCH, MOVE_IN = "ChangeOfBalanceSupplierForPerson", "MoveInAndChangeOfBalanceSupplierForPerson"


def end_user(straum: Straum, person: str) -> httpx.Client:
    token = issue_dev_token(straum.settings, None, ["end_user"], national_id=person)
    return httpx.Client(base_url=straum.base_url, timeout=30.0,
                        headers={"Authorization": f"Bearer {token}"})


def request_body(supplier: str, person: str, point: str, kind: str,
                 **meta: Any) -> dict[str, Any]:
    return {"data": {"type": "AuthorizationRequest", "attributes": {"requestType": kind},
                     "meta": {"requestedBy": supplier, "requestedFrom": person,
                              "requestedTo": person, "requestedFromName": "Kari Nordmann",
                              "requestedForMeteringPointId": point,
                              "requestedForMeteringPointAddress": "Storgata 1, 0155 Oslo",
                              "balanceSupplierName": "Fjordkraft test",
                              "balanceSupplierContractName": "Spotpris", **meta}}}


def ask(supplier: httpx.Client, supplier_gln: str, person: str, point: str, kind: str,
        **meta: Any) -> httpx.Response:
    return supplier.post("/v1/authorization-requests", headers=JSONAPI,
                         json=request_body(supplier_gln, person, point, kind, **meta))


def answer(person_client: httpx.Client, request_id: str, status: str) -> httpx.Response:
    return person_client.patch(f"/v1/authorization-requests/{request_id}", headers=JSONAPI,
                               json={"data": {"type": "AuthorizationRequest", "id": request_id,
                                              "attributes": {"status": status}}})


def grant(straum: Straum, supplier: httpx.Client, supplier_gln: str, person: str, point: str,
          kind: str) -> str:
    """Ask, accept as the end user, and read the grant's id from the request (as Elhub's
    suppliers do)."""
    asked = ask(supplier, supplier_gln, person, point, kind)
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["data"]["id"]
    with end_user(straum, person) as person_client:
        assert answer(person_client, request_id, "Accepted").status_code == 200
    read = supplier.get(f"/v1/authorization-requests/{request_id}").json()["data"]
    assert read["attributes"]["status"] == "Accepted"
    grant_id: str = read["relationships"]["authorizationGrant"]["data"]["id"]
    return grant_id


def ack_of(client: httpx.Client, message_id: str) -> dict[str, Any]:
    return poll_until(client, "market-processes",
                      lambda m: m["documentType"] == "Acknowledgement"
                      and m["payload"]["originalMessageId"] == message_id)["payload"]


def move_in(point: str, start: date, person: str, grant_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"messageId": str(uuid.uuid4()), "meteringPointId": point,
                            "startDate": start.isoformat(),
                            "endUser": {"name": "Kari Nordmann", "nationalId": person}}
    if grant_id is not None:
        body["authorizationGrantId"] = grant_id
    return body


def switch(point: str, start: date, person: str, grant_id: str | None) -> dict[str, Any]:
    return move_in(point, start, person, grant_id)  # the same fields as a move-in


def registered(straum: Straum) -> tuple[str, httpx.Client]:
    point, grid_owner = gsrn(), gln()
    go = straum.client(grid_owner, "grid_owner")
    assert go.post("/v1/metering-points", json=register_point(point)).status_code == 202
    return point, go


def test_a_switch_is_refused_without_consent_and_accepted_with_it(straum: Straum) -> None:
    point, _ = registered(straum)
    person, a_gln, b_gln = national_id(), gln(), gln()
    a, b = straum.client(a_gln, "supplier"), straum.client(b_gln, "supplier")

    moving_in = move_in(point, today(), person, grant(straum, a, a_gln, person, point,
                                                      MOVE_IN))
    assert a.post("/v1/move-in", json=moving_in).status_code == 202
    assert ack_of(a, moving_in["messageId"])["status"] == "accepted"

    without = switch(point, today() + timedelta(days=1), person, None)
    assert b.post("/v1/start-of-supply", json=without).status_code == 202
    refused = ack_of(b, without["messageId"])
    assert refused["status"] == "rejected"
    assert [r["code"] for r in refused["reasons"]] == ["consent.missing"]

    grant_id = grant(straum, b, b_gln, person, point, SWITCH)
    assert b.get(f"/v1/authorization-grants/{grant_id}").json()["data"]["attributes"][
        "status"] == "Active"
    with_consent = switch(point, today() + timedelta(days=1), person, grant_id)
    assert b.post("/v1/start-of-supply", json=with_consent).status_code == 202
    assert ack_of(b, with_consent["messageId"])["status"] == "accepted"
    ended = poll_until(a, "market-processes", lambda m: m["documentType"] == "NotifyEndOfSupply")
    assert ended["payload"]["meteringPointId"] == point

    # used once: exhausted, and refused for any further process
    assert b.get(f"/v1/authorization-grants/{grant_id}").json()["data"]["attributes"][
        "status"] == "Exhausted"
    again = switch(point, today() + timedelta(days=2), person, grant_id)
    assert b.post("/v1/start-of-supply", json=again).status_code == 202
    assert "consent.grant_not_active" in [
        r["code"] for r in ack_of(b, again["messageId"])["reasons"]]


def test_a_grant_is_for_its_supplier_point_end_user_and_process(straum: Straum) -> None:
    point, _ = registered(straum)
    other_point, _ = registered(straum)
    person, stranger, a_gln, c_gln = national_id(), national_id(), gln(), gln()
    a, c = straum.client(a_gln, "supplier"), straum.client(c_gln, "supplier")
    grant_id = grant(straum, a, a_gln, person, point, MOVE_IN)

    def refused(client: httpx.Client, body: dict[str, Any]) -> list[str]:
        assert client.post("/v1/move-in", json=body).status_code == 202
        return [r["code"] for r in ack_of(client, body["messageId"])["reasons"]]

    assert refused(c, move_in(point, today(), person, grant_id)) == [
        "consent.grant_other_supplier"]
    assert refused(a, move_in(other_point, today(), person, grant_id)) == [
        "consent.grant_other_metering_point"]
    assert refused(a, move_in(point, today(), stranger, grant_id)) == [
        "consent.grant_other_end_user"]
    assert refused(a, move_in(point, today(), person, str(uuid.uuid4()))) == [
        "consent.grant_not_found"]
    assert refused(a, move_in(point, today(), person, None)) == ["consent.missing"]
    # still usable after all those refusals: only a process that goes through uses it up
    ok = move_in(point, today(), person, grant_id)
    assert a.post("/v1/move-in", json=ok).status_code == 202
    assert ack_of(a, ok["messageId"])["status"] == "accepted"
    # a move-in grant does not allow a switch
    b_gln = gln()
    b = straum.client(b_gln, "supplier")
    wrong = grant(straum, b, b_gln, stranger, other_point, MOVE_IN)
    body = switch(other_point, today(), stranger, wrong)
    assert b.post("/v1/start-of-supply", json=body).status_code == 202
    assert "consent.grant_wrong_type" in [
        r["code"] for r in ack_of(b, body["messageId"])["reasons"]]


def test_the_access_api_answers_with_elhubs_codes_and_shows_nobody_elses_request(
        straum: Straum) -> None:
    point, _ = registered(straum)
    person, a_gln = national_id(), gln()
    a = straum.client(a_gln, "supplier")

    def codes(response: httpx.Response) -> list[str]:
        return [e["code"] for e in response.json()["errors"]]

    mismatch = a.post("/v1/authorization-requests", headers=JSONAPI, json=request_body(
        a_gln, person, point, SWITCH, requestedTo=national_id()))
    assert mismatch.status_code == 422
    assert codes(mismatch) == ["requested_to_requested_from_mismatch"]
    assert mismatch.headers["content-type"].startswith("application/vnd.api+json")
    blank = a.post("/v1/authorization-requests", headers=JSONAPI, json=request_body(
        a_gln, person, point, SWITCH, requestedFromName=" ", balanceSupplierName=""))
    assert blank.status_code == 422
    assert set(codes(blank)) == {"missing_requested_from_name", "missing_balance_supplier_name"}
    assert codes(ask(a, a_gln, person, point, SWITCH)) == [
        "requested_from_not_metering_point_end_user"]  # nobody lives there yet
    unknown = ask(a, a_gln, person, gsrn(), MOVE_IN)
    assert unknown.status_code == 404 and codes(unknown) == ["metering_point_not_found"]
    later = ask(a, a_gln, person, point, MOVE_IN,
                moveInDate=(today() + timedelta(days=3)).isoformat())
    assert codes(later) == ["move_in_date_not_back_in_time"]
    in_someone_elses_name = ask(a, gln(), person, point, MOVE_IN)
    assert in_someone_elses_name.status_code == 403

    created = ask(a, a_gln, person, point, MOVE_IN)
    assert created.status_code == 201
    made = created.json()["data"]
    assert made["attributes"]["status"] == "Pending"
    assert made["meta"]["requestedForMeteringPointId"] == point
    request_id = made["id"]

    # identity and role: 401 without a token, 403 for the wrong role, 404 for someone else's
    assert httpx.get(f"{straum.base_url}/v1/authorization-requests/{request_id}"
                     ).status_code == 401
    assert straum.client(gln(), "grid_owner").get(
        f"/v1/authorization-requests/{request_id}").status_code == 403
    assert straum.client(gln(), "supplier").get(
        f"/v1/authorization-requests/{request_id}").status_code == 404
    with end_user(straum, national_id()) as stranger:
        assert stranger.get(f"/v1/authorization-requests/{request_id}").status_code == 404
        assert answer(stranger, request_id, "Accepted").status_code == 404
    assert a.patch(f"/v1/authorization-requests/{request_id}", headers=JSONAPI, json={
        "data": {"type": "AuthorizationRequest", "attributes": {"status": "Accepted"}}}
        ).status_code == 403  # only the end user answers
    with end_user(straum, person) as person_client:
        assert person_client.get("/v1/authorization-requests").json()["data"][0]["id"] \
            == request_id
        bad = answer(person_client, request_id, "Exhausted")
        assert bad.status_code == 422 and codes(bad) == ["invalid_status"]
        rejected = answer(person_client, request_id, "Rejected")
        assert rejected.status_code == 200
        assert rejected.json()["data"]["attributes"]["status"] == "Rejected"
        twice = answer(person_client, request_id, "Accepted")
        assert twice.status_code == 422 and codes(twice) == ["authorization_request_not_pending"]
    assert a.get(f"/v1/authorization-requests/{request_id}").json()["data"][
        "relationships"]["authorizationGrant"]["data"] is None


@pytest.fixture(scope="module")
def five_days_back(kafka_bootstrap: str, session_dir: Path) -> Iterator[Straum]:
    """A straum whose processors live five days back, so a move-out (only ever ahead) and
    the move-in after it both lie in days whose values can be sent now."""
    running = start_straum(kafka_bootstrap, session_dir / "moving",
                           extra_env={"STRAUM_CLOCK_OFFSET_SECONDS": str(-5 * 86400)})
    try:
        yield running
    finally:
        running.stop_all()


def test_move_in_and_move_out_end_to_end(five_days_back: Straum) -> None:
    straum = five_days_back
    hub_today = today() - timedelta(days=5)  # the processors' today
    point, go = registered(straum)
    kari, ola, a_gln, b_gln = national_id(), national_id(), gln(), gln()
    a, b = straum.client(a_gln, "supplier"), straum.client(b_gln, "supplier")

    # Kari moves in with A, backdated (BRS-NO-103)
    kari_in = move_in(point, hub_today - timedelta(days=1), kari,
                      grant(straum, a, a_gln, kari, point, MOVE_IN))
    assert a.post("/v1/move-in", json=kari_in).status_code == 202
    confirmed = poll_until(a, "market-processes",
                           lambda m: m["documentType"] == "ConfirmStartOfSupply")["payload"]
    assert (confirmed["process"], confirmed["reason"]) == ("BRS-NO-103", "move_in")
    told = poll_until(go, "market-processes",
                      lambda m: m["documentType"] == "NotifyStartOfSupply")["payload"]
    assert told["endUser"]["nationalId"] == kari and told["supplier"] == a_gln

    # Kari moves out (BRS-NO-201, by A, ahead of the end date); too early is refused
    end = hub_today + timedelta(days=2)
    too_early = {"messageId": str(uuid.uuid4()), "meteringPointId": point,
                 "endDate": (hub_today + timedelta(days=10)).isoformat()}
    assert a.post("/v1/move-out", json=too_early).status_code == 202
    assert [r["code"] for r in ack_of(a, too_early["messageId"])["reasons"]] == [
        "move_out.too_early"]
    not_hers = {"messageId": str(uuid.uuid4()), "meteringPointId": point,
                "endDate": end.isoformat()}
    assert b.post("/v1/move-out", json=not_hers).status_code == 202
    assert [r["code"] for r in ack_of(b, not_hers["messageId"])["reasons"]] == [
        "move_out.not_supplier"]
    kari_out = {"messageId": str(uuid.uuid4()), "meteringPointId": point,
                "endDate": end.isoformat()}
    assert a.post("/v1/move-out", json=kari_out).status_code == 202
    assert ack_of(a, kari_out["messageId"])["status"] == "accepted"
    ended = poll_until(go, "market-processes",
                       lambda m: m["documentType"] == "NotifyEndOfSupply")["payload"]
    assert (ended["endDate"], ended["process"]) == (end.isoformat(), "BRS-NO-201")

    # Ola moves in with B two days after (BRS-NO-102: ahead for the hub)
    ola_day = end + timedelta(days=2)
    ola_in = move_in(point, ola_day, ola, grant(straum, b, b_gln, ola, point, MOVE_IN))
    assert b.post("/v1/move-in", json=ola_in).status_code == 202
    assert ack_of(b, ola_in["messageId"])["status"] == "accepted"
    confirmed = poll_until(b, "market-processes",
                           lambda m: m["documentType"] == "ConfirmStartOfSupply")["payload"]
    assert confirmed["process"] == "BRS-NO-102" and confirmed["previousSupplier"] is None

    # values go to the supplier of the time: A before the end, nobody but the grid owner
    # while the point is empty, B from Ola's day
    days = {"kari": end - timedelta(days=1), "empty": end, "ola": ola_day}
    series = {k: day_series(point, d) for k, d in days.items()}
    assert go.post("/v1/metering-values",
                   json=values_document(*series.values())).status_code == 202
    for name in days:
        poll_until(go, "metering-values",
                   lambda m, n=name: m["payload"]["transactionId"] == series[n]["transactionId"])

    def got(client: httpx.Client) -> set[str]:
        seen: set[str] = set()
        response = client.post("/v1/queues/metering-values/poll", params={"max": 100})
        if response.status_code == 200:
            seen = {m["payload"]["transactionId"] for m in response.json()["messages"]}
        return seen

    poll_until(b, "metering-values",
               lambda m: m["payload"]["transactionId"] == series["ola"]["transactionId"])
    a_got = got(a)
    assert series["kari"]["transactionId"] in a_got
    assert series["empty"]["transactionId"] not in a_got
    assert series["ola"]["transactionId"] not in a_got


def test_the_end_user_accepts_on_the_min_side_page_in_a_real_browser(straum: Straum,
                                                                      tmp_path: Path) -> None:
    """Headless Chromium opens the page with the end user's token in the fragment, shows the
    request, and a click on "Godta" gives the supplier its grant."""
    from tests.integration.browser import Browser

    point, _ = registered(straum)
    person, a_gln = national_id(), gln()
    a = straum.client(a_gln, "supplier")
    asked = ask(a, a_gln, person, point, MOVE_IN)
    assert asked.status_code == 201
    request_id = asked.json()["data"]["id"]
    token = issue_dev_token(straum.settings, None, ["end_user"], national_id=person)
    browser = Browser(tmp_path / "chromium")
    try:
        browser.open(f"{straum.base_url}/min-side/authorization-requests/{request_id}"
                     f"#token={token}")
        browser.wait_for_text("status", "Pending")
        assert browser.text("metering-point") == point
        assert browser.text("supplier-name") == "Fjordkraft test"
        assert browser.text("address") == "Storgata 1, 0155 Oslo"
        assert browser.text("request-type") == "Innflytting og kraftleverandør"
        assert token not in (browser.evaluate("location.href") or "")  # out of the URL bar
        browser.evaluate("document.getElementById('accept').click()")
        browser.wait_for_text("status", "Accepted")
        assert browser.text("done") == "Takk! Samtykket er gitt."
        assert browser.evaluate("document.getElementById('accept').disabled") is True
    finally:
        browser.close()
    read = a.get(f"/v1/authorization-requests/{request_id}").json()["data"]
    grant_id = read["relationships"]["authorizationGrant"]["data"]["id"]
    shown = a.get(f"/v1/authorization-grants/{grant_id}").json()["data"]
    assert shown["attributes"]["status"] == "Active"
    assert shown["relationships"]["grantedFor"]["data"]["id"] == person


def test_a_page_with_a_token_for_someone_else_shows_no_request(straum: Straum,
                                                               tmp_path: Path) -> None:
    from tests.integration.browser import Browser

    point, _ = registered(straum)
    a_gln = gln()
    asked = ask(straum.client(a_gln, "supplier"), a_gln, national_id(), point, MOVE_IN)
    request_id = asked.json()["data"]["id"]
    token = issue_dev_token(straum.settings, None, ["end_user"], national_id=national_id())
    browser = Browser(tmp_path / "chromium")
    try:
        browser.open(f"{straum.base_url}/min-side/authorization-requests/{request_id}"
                     f"#token={token}")
        deadline = time.monotonic() + 30
        while not browser.text("error") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "Kan ikke lese forespørselen" in (browser.text("error") or "")
        assert browser.text("metering-point") == "–"
        assert browser.evaluate("document.getElementById('accept').disabled") is True
    finally:
        browser.close()
