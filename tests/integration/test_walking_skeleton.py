"""The whole path, thin but real: a grid owner sends a series for a point whose supplier is
known; the supplier polls it from its queue, checks the values and acknowledges it."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import (
    day_series,
    gln,
    gsrn,
    poll_until,
    register_point,
    start_of_supply,
    today,
    values_document,
)
from tests.integration.conftest import Straum


def test_series_reaches_supplier_who_polls_and_acknowledges(straum: Straum) -> None:
    grid_owner, supplier, point = gln(), gln(), gsrn()
    go = straum.client(grid_owner, "grid_owner")
    su = straum.client(supplier, "supplier")
    supply_start = today() - timedelta(days=2)

    registered = go.post("/v1/metering-points", json=register_point(point))
    assert registered.status_code == 202, registered.text
    ack = poll_until(go, "market-processes",
                     lambda m: m["payload"].get("meteringPointId") == point)
    assert ack["documentType"] == "Acknowledgement"
    assert ack["payload"]["status"] == "accepted"

    assert su.post("/v1/start-of-supply",
                   json=start_of_supply(point, supply_start)).status_code == 202
    confirm = poll_until(su, "market-processes",
                         lambda m: m["documentType"] == "ConfirmStartOfSupply")
    assert confirm["payload"]["meteringPointId"] == point

    series = day_series(point, today() - timedelta(days=1))
    response = go.post("/v1/metering-values", json=values_document(series))
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "accepted"

    # The supplier's queue delivers the series with the values as sent.
    first = su.post("/v1/queues/metering-values/poll", params={"max": 10})
    for _ in range(100):
        if first.status_code == 200:
            break
        import time

        time.sleep(0.3)
        first = su.post("/v1/queues/metering-values/poll", params={"max": 10})
    assert first.status_code == 200, first.text
    body = first.json()
    [message] = body["messages"]
    assert message["documentType"] == "NotifyValidatedDataForBillingEnergy"
    payload = message["payload"]
    assert payload["meteringPointId"] == point
    assert payload["transactionId"] == series["transactionId"]
    assert payload["points"] == series["points"]
    assert payload["recipientRole"] == "supplier"

    # Polling again before acknowledging returns the same poll.
    again = su.post("/v1/queues/metering-values/poll", params={"max": 10}).json()
    assert again == body

    ack_response = su.post("/v1/queues/metering-values/ack", json={"pollId": body["pollId"]})
    assert ack_response.status_code == 200
    assert su.post("/v1/queues/metering-values/poll").status_code == 204
    # Acknowledging twice is harmless.
    assert su.post("/v1/queues/metering-values/ack",
                   json={"pollId": body["pollId"]}).status_code == 200

    # The grid owner gets the same series in its own queue, under its own message id.
    own = poll_until(go, "metering-values",
                     lambda m: m["payload"]["transactionId"] == series["transactionId"])
    assert own["payload"]["recipientRole"] == "grid_owner"
    assert own["messageId"] != message["messageId"]
