"""Historical values on request (BRS-NO-315), on the real broker: a supplier gets the point's
values for the days it supplied it and nothing of its predecessor's or successor's, the
current version after a correction, a third party only from its access on; the answer is in
the caller's metering-values queue when the API answers; bad requests change nothing."""

from __future__ import annotations

import time
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from tests.helpers import (
    day_series,
    drain,
    gln,
    gsrn,
    oslo_midnight,
    poll_until,
    start_of_supply,
    today,
    values_document,
)
from tests.integration.conftest import Straum, point_with_supplier

PATH = "/v1/requests/metering-values"


def ask(client: httpx.Client, point: str, first: date, last: date,
        message_id: str | None = None) -> httpx.Response:
    return client.post(PATH, json={
        "messageId": message_id or str(uuid.uuid4()), "meteringPointId": point,
        "start": oslo_midnight(first).isoformat(),
        "end": oslo_midnight(last + timedelta(days=1)).isoformat()})


def answers(client: httpx.Client, message_id: str) -> list[dict[str, Any]]:
    """The answer's messages: already in the queue when the API answered 202."""
    return [m for m in drain(client, "metering-values", settle=1.0)
            if m["payload"].get("requestId") == message_id]


def send(go: httpx.Client, *series: dict[str, Any]) -> None:
    assert go.post("/v1/metering-values", json=values_document(*series)).status_code == 202
    for s in series:  # forwarded (the grid owner's copy) before anything is asked
        poll_until(go, "metering-values",
                   lambda m, s=s: m["payload"]["transactionId"] == s["transactionId"])


def test_suppliers_get_their_own_days_in_their_current_version(straum: Straum) -> None:
    point, go, first_supplier, _ = point_with_supplier(straum, today() - timedelta(days=10))
    second = straum.client(gln(), "supplier")
    assert second.post("/v1/start-of-supply",
                       json=start_of_supply(point, today() - timedelta(days=2))
                       ).status_code == 202
    poll_until(second, "market-processes", lambda m: m["documentType"] == "ConfirmStartOfSupply")
    before, own, later = (day_series(point, today() - timedelta(days=d)) for d in (12, 5, 1))
    send(go, before, own, later)
    drain(first_supplier, "metering-values", settle=1.0)
    drain(second, "metering-values", settle=1.0)

    message_id = str(uuid.uuid4())
    response = ask(first_supplier, point, today() - timedelta(days=14), today(), message_id)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["status"], body["messages"]) == ("accepted", 1)
    [answer] = answers(first_supplier, message_id)
    payload = answer["payload"]
    assert answer["documentType"] == "NotifyValidatedDataForBillingEnergy"
    assert payload["transactionId"] == own["transactionId"]
    assert [p["quantity"] for p in payload["points"]] == [p["quantity"] for p in own["points"]]
    assert (payload["version"], payload["recipientRole"]) == (1, "supplier")
    assert [datetime.fromisoformat(p["start"]) for p in body["readablePeriods"]] == [
        oslo_midnight(today() - timedelta(days=10))]

    # A correction of the day: the next request answers with its values, version 2.
    corrected = day_series(point, today() - timedelta(days=5), base=0.9)
    send(go, corrected)
    again = str(uuid.uuid4())
    assert ask(first_supplier, point, today() - timedelta(days=14), today(), again
               ).json()["messages"] == 1
    [answer] = answers(first_supplier, again)
    assert answer["payload"]["version"] == 2 and answer["payload"]["correction"] is True
    assert [p["quantity"] for p in answer["payload"]["points"]] == [
        p["quantity"] for p in corrected["points"]]

    # The successor gets its own day only.
    theirs = str(uuid.uuid4())
    assert ask(second, point, today() - timedelta(days=14), today(), theirs
               ).json()["messages"] == 1
    [answer] = answers(second, theirs)
    assert answer["payload"]["transactionId"] == later["transactionId"]

    # The same messageId again: a duplicate, not answered twice.
    repeat = ask(first_supplier, point, today() - timedelta(days=14), today(), message_id)
    assert (repeat.status_code, repeat.json()["status"]) == (200, "duplicate")
    assert answers(first_supplier, message_id) == []


def test_a_third_party_gets_values_from_its_access_on(straum: Straum) -> None:
    point, go, _, _ = point_with_supplier(straum, today() - timedelta(days=5))
    third = straum.client(gln(), "third_party")
    operator = straum.client("7080005051286", "operator")
    access = {"messageId": str(uuid.uuid4()), "meteringPointId": point, "action": "add"}
    send(go, day_series(point, today() - timedelta(days=2)))
    nothing = ask(third, point, today() - timedelta(days=3), today())
    assert nothing.status_code == 404, nothing.text  # no access, nothing to see
    assert third.post("/v1/third-party-access", json=access).status_code == 202
    poll_until(third, "market-processes",
               lambda m: m["payload"].get("status") == "pending_approval")
    assert operator.post(f"/v1/third-party-access/{access['messageId']}/approval",
                         json={"messageId": str(uuid.uuid4()), "meteringPointId": point}
                         ).status_code == 202
    poll_until(third, "market-processes", lambda m: m["payload"].get("status") == "granted")
    during = day_series(point, today())
    send(go, during)
    drain(third, "metering-values", settle=1.0)
    message_id = str(uuid.uuid4())
    response = ask(third, point, today() - timedelta(days=3), today(), message_id)
    assert response.status_code == 202, response.text
    [answer] = answers(third, message_id)
    payload = answer["payload"]
    assert payload["transactionId"] == during["transactionId"]
    assert payload["recipientRole"] == "third_party"
    granted = datetime.fromisoformat(response.json()["readablePeriods"][0]["start"])
    assert datetime.fromisoformat(payload["start"]) >= granted  # nothing before the access
    assert datetime.fromisoformat(payload["end"]) <= oslo_midnight(today() + timedelta(days=1))


def test_bad_requests_get_their_answer_and_change_nothing(straum: Straum) -> None:
    point, go, supplier, _ = point_with_supplier(straum, today() - timedelta(days=5))
    send(go, day_series(point, today() - timedelta(days=1)))
    drain(supplier, "metering-values", settle=1.0)
    first, last = today() - timedelta(days=3), today()
    assert ask(go, point, first, last).status_code == 403  # the grid owner gets its values
    assert ask(straum.client(gln(), "supplier"), point, first, last).status_code == 404
    assert ask(supplier, gsrn(), first, last).status_code == 404  # no such point
    backwards = ask(supplier, point, last, first)
    assert backwards.status_code == 400
    assert ("values_request.period", "/end") in {
        (p["code"], p["pointer"]) for p in backwards.json()["problems"]}
    too_long = ask(supplier, point, first - timedelta(days=400), last)
    assert too_long.status_code == 400
    not_norwegian = ask(supplier, "570715000000000003", first, last)
    assert not_norwegian.status_code == 400
    assert not_norwegian.json()["problems"][0]["code"] == "gsrn.not_norwegian"
    missing = supplier.post(PATH, json={"messageId": str(uuid.uuid4()),
                                        "meteringPointId": point})
    assert missing.status_code == 400 and missing.json()["code"] == "request.invalid"
    time.sleep(1)
    assert drain(supplier, "metering-values", settle=1.0) == []
