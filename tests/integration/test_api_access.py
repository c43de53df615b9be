"""Identity, roles and bad requests at the API: each gets its 4xx, as problem details, and
changes nothing."""

from __future__ import annotations

from datetime import date

import httpx

from domain.identifiers import gs1_check_digit
from tests.helpers import day_series, gln, gsrn, register_point, values_document
from tests.integration.conftest import Straum


def test_no_token_is_401_problem(straum: Straum) -> None:
    response = httpx.post(f"{straum.base_url}/v1/queues/metering-values/poll")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "token.missing"
    assert response.headers["www-authenticate"] == "Bearer"


def test_garbage_token_is_401(straum: Straum) -> None:
    response = httpx.get(f"{straum.base_url}/v1/queues",
                         headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401
    assert response.json()["code"].startswith("token.")


def test_wrong_role_is_403(straum: Straum) -> None:
    supplier = straum.client(gln(), "supplier")
    response = supplier.post("/v1/metering-values",
                             json=values_document(day_series(gsrn(), day_of_2026())))
    assert response.status_code == 403
    assert response.json()["code"] == "role.forbidden"


def test_sender_header_must_be_the_caller(straum: Straum) -> None:
    party = gln()
    client = straum.client(party, "supplier")
    response = client.get("/v1/queues", headers={"Sender": gln()})
    assert response.status_code == 403
    assert response.json()["code"] == "sender.mismatch"
    assert client.get("/v1/queues", headers={"Sender": party}).status_code == 200


def test_foreign_or_unknown_poll_id_is_404(straum: Straum) -> None:
    client = straum.client(gln(), "supplier")
    response = client.post("/v1/queues/metering-values/ack", json={"pollId": "nope"})
    assert response.status_code == 404
    assert response.json()["code"] == "poll.unknown"


def test_poll_max_out_of_range_is_400_with_pointer(straum: Straum) -> None:
    client = straum.client(gln(), "supplier")
    response = client.post("/v1/queues/metering-values/poll", params={"max": 0})
    assert response.status_code == 400
    [problem] = response.json()["problems"]
    assert problem["pointer"] == "/query/max"


def test_unknown_queue_is_rejected(straum: Straum) -> None:
    client = straum.client(gln(), "supplier")
    assert client.post("/v1/queues/everything/poll").status_code == 400


def test_oversized_body_is_413(straum: Straum) -> None:
    client = straum.client(gln(), "grid_owner")
    body = b'{"messageId": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    response = client.post("/v1/metering-values", content=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["code"] == "request.too_large"


def test_structural_problems_are_all_listed_with_pointers(straum: Straum) -> None:
    client = straum.client(gln(), "grid_owner")
    series = day_series("707057500000000017", day_of_2026())  # wrong check digit
    series["points"][3]["quality"] = "guessed"
    series["points"][5]["quantity"] = -1
    series["points"].pop()  # one point short
    response = client.post("/v1/metering-values", json=values_document(series))
    assert response.status_code == 400
    found = {(p["code"], p["pointer"]) for p in response.json()["problems"]}
    assert ("gsrn.check_digit", "/series/0/meteringPointId") in found
    assert ("series.quality", "/series/0/points/3/quality") in found
    assert ("series.quantity", "/series/0/points/5/quantity") in found
    assert ("series.point_count", "/series/0/points") in found


def test_a_foreign_metering_point_id_is_refused_on_intake(straum: Straum) -> None:
    # A valid GSRN, but from the Swedish range: no point of the Norwegian market.
    foreign = "73599910000000001" + str(gs1_check_digit("73599910000000001"))
    client = straum.client(gln(), "grid_owner")
    values = client.post("/v1/metering-values",
                         json=values_document(day_series(foreign, day_of_2026())))
    registration = client.post("/v1/metering-points", json=register_point(foreign))
    for response in (values, registration):
        assert response.status_code == 400
    assert [(p["code"], p["pointer"]) for p in values.json()["problems"]] == [
        ("gsrn.not_norwegian", "/series/0/meteringPointId")]
    assert [(p["code"], p["pointer"]) for p in registration.json()["problems"]] == [
        ("gsrn.not_norwegian", "/meteringPointId")]


def test_invalid_master_data_lists_problems(straum: Straum) -> None:
    client = straum.client(gln(), "grid_owner")
    body = register_point(gsrn())
    body["gridArea"] = "10YNO-1--------3"
    body["meteringPointId"] = "123"
    response = client.post("/v1/metering-points", json=body)
    assert response.status_code == 400
    codes = {p["code"] for p in response.json()["problems"]}
    assert codes == {"gsrn.format", "eic.check_character"}


def test_queues_overview_shows_only_the_callers_queues(straum: Straum) -> None:
    client = straum.client(gln(), "third_party")
    body = client.get("/v1/queues").json()
    assert [q["queue"] for q in body["queues"]] == ["metering-values", "market-processes"]
    assert all(q["depth"] == 0 for q in body["queues"])


def day_of_2026() -> date:
    return date(2026, 2, 10)


def test_per_actor_rate_limit_is_429_with_retry_after(straum: Straum) -> None:
    from connectors.broker.embedded import free_port

    port = free_port()
    limited = straum.start_with_env("api-limited", {"STRAUM_RATE_LIMIT_PER_SECOND": "1",
                                                    "STRAUM_RATE_LIMIT_BURST": "3"},
                                    "api", "--port", str(port))
    try:
        base = f"http://127.0.0.1:{port}"
        straum.wait_ready(60, base)
        busy = {"Authorization": f"Bearer {straum.token(gln(), 'supplier')}"}
        calm = {"Authorization": f"Bearer {straum.token(gln(), 'supplier')}"}
        codes = [httpx.get(f"{base}/v1/queues", headers=busy).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited_response = httpx.get(f"{base}/v1/queues", headers=busy)
        assert limited_response.status_code == 429
        assert int(limited_response.headers["Retry-After"]) >= 1
        assert limited_response.json()["code"] == "rate.limited"
        assert httpx.get(f"{base}/v1/queues", headers=calm).status_code == 200
    finally:
        straum.stop("api-limited")
        assert limited.poll() is not None
