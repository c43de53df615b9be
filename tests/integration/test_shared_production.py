"""Shared production (BRS-NO-701) through the API against the real broker: a calculation set
up across points in different partitions, values in, net values at both receivers' suppliers;
a correction as the next version; a setup refused with its reasons."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx

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


def flat_series(point: str, day: date, resolution: str, quantity: float) -> dict[str, Any]:
    series = day_series(point, day, resolution)
    series["points"] = [{"quantity": quantity, "quality": "measured"} for _ in series["points"]]
    return series


def setup(name: str, contributors: list[str], receivers: list[dict[str, Any]],
          valid_from: date, distribution: str = "manual", action: str = "create"
          ) -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "action": action, "name": name,
            "description": "solceller på taket, delt i borettslaget",
            "distributionType": distribution, "validFrom": valid_from.isoformat(),
            "contributors": contributors, "receivers": receivers}


def answered(go: httpx.Client, message_id: str) -> dict[str, Any]:
    return poll_until(go, "market-processes",
                      lambda m: m["documentType"] == "Acknowledgement"
                      and m["payload"]["originalMessageId"] == message_id)["payload"]


def points_with_suppliers(straum: Straum) -> dict[str, Any]:
    """A grid owner's solar point and two households (hourly and quarter-hourly), each
    household with its own supplier."""
    go_gln, sa_gln, sb_gln = gln(), gln(), gln()
    go = straum.client(go_gln, "grid_owner")
    solar, a, b = gsrn(), gsrn(), gsrn()
    production = register_point(solar) | {"type": "production", "productionType": "solar"}
    production.pop("consumptionCode")
    for body in (production, register_point(a, "PT1H"), register_point(b, "PT15M")):
        assert go.post("/v1/metering-points", json=body).status_code == 202
    sa, sb = straum.client(sa_gln, "supplier"), straum.client(sb_gln, "supplier")
    for client, point in ((sa, a), (sb, b)):
        assert client.post("/v1/start-of-supply", json=start_of_supply(
            point, today() - timedelta(days=10))).status_code == 202
        poll_until(client, "market-processes",
                   lambda m: m["documentType"] == "ConfirmStartOfSupply")
    return {"go": go, "go_gln": go_gln, "solar": solar, "a": a, "b": b, "sa": sa, "sb": sb,
            "sa_gln": sa_gln, "sb_gln": sb_gln}


def channel(client: httpx.Client, point: str, name: str, version: int = 1) -> dict[str, Any]:
    return poll_until(client, "metering-values",
                      lambda m: m["payload"]["meteringPointId"] == point
                      and m["payload"].get("channel") == name
                      and m["payload"]["version"] == version, timeout=90)["payload"]


def test_a_calculation_set_up_values_in_net_values_at_both_suppliers(straum: Straum) -> None:
    p = points_with_suppliers(straum)
    go = p["go"]
    day = today() - timedelta(days=1)
    document = setup("Borettslaget Solgløtt", [p["solar"]],
                     [{"meteringPointId": p["a"], "share": 0.6},
                      {"meteringPointId": p["b"], "share": 0.4}], day - timedelta(days=2))
    assert go.post("/v1/shared-production", json=document).status_code == 202
    ack = answered(go, document["messageId"])
    assert ack["status"] == "accepted", ack["reasons"]
    whole = poll_until(go, "market-processes",
                       lambda m: m["documentType"] == "NotifySharedProductionCalculation"
                       )["payload"]
    [version] = whole["versions"]
    assert version["receivers"] == [{"meteringPointId": p["a"], "share": "0.6"},
                                    {"meteringPointId": p["b"], "share": "0.4"}]
    # every point's grid owner and supplier learn what is settled now
    update = poll_until(p["sa"], "market-processes",
                        lambda m: m["documentType"] == "NotifyMeteringPointCharacteristics")
    settled = {c["channel"]: c["settled"] for c in update["payload"]["channels"]}
    assert settled == {"consumption": False, "virtual_net_consumption": True,
                       "virtual_net_production": True, "virtual_distributed_production": False}

    # 3 kWh an hour of sun, 1 kWh an hour used in each home (B is read per quarter-hour)
    solar = flat_series(p["solar"], day, "PT1H", 3.0)
    home_a = flat_series(p["a"], day, "PT1H", 1.0)
    home_b = flat_series(p["b"], day, "PT15M", 0.25)
    assert go.post("/v1/metering-values",
                   json=values_document(solar, home_a, home_b)).status_code == 202

    # A gets 60 % of 3 kWh = 1.8 kWh an hour, uses 1: 0.8 kWh net production an hour
    a_production = channel(p["sa"], p["a"], "virtual_net_production")
    hours = len(home_a["points"])
    assert a_production["resolution"] == "PT1H"
    assert [pt["quantity"] for pt in a_production["points"]] == [0.8] * hours
    a_consumption = channel(p["sa"], p["a"], "virtual_net_consumption")
    assert [pt["quantity"] for pt in a_consumption["points"]] == [0.0] * hours
    assert a_consumption["productCode"] == "4700000000303"
    assert a_consumption["direction"] == "out"
    # B gets 40 %: 0.3 kWh a quarter-hour, uses 0.25: 0.05 net production, at its resolution
    b_production = channel(p["sb"], p["b"], "virtual_net_production")
    assert b_production["resolution"] == "PT15M"
    assert [pt["quantity"] for pt in b_production["points"]] == [0.05] * (4 * hours)
    # the grid owner gets them too; the parts add up to the production exactly
    distributed = [channel(go, point, "virtual_distributed_production")
                   for point in (p["a"], p["b"])]
    total = sum(pt["quantity"] for pt in distributed[0]["points"]) \
        + sum(pt["quantity"] for pt in distributed[1]["points"])
    assert round(total, 3) == 3.0 * hours

    # a corrected production series: the results again, as the next version
    corrected = flat_series(p["solar"], day, "PT1H", 2.0)
    assert go.post("/v1/metering-values", json=values_document(corrected)).status_code == 202
    again = channel(p["sa"], p["a"], "virtual_net_production", version=2)
    assert again["correction"] is True
    assert [pt["quantity"] for pt in again["points"]] == [0.2] * hours  # 1.2 - 1.0


def test_a_setup_is_refused_with_every_reason(straum: Straum) -> None:
    p = points_with_suppliers(straum)
    go = p["go"]
    day = today() - timedelta(days=3)
    bad = setup("Feil", [p["solar"], p["a"]],
                [{"meteringPointId": p["a"], "share": 0.5},
                 {"meteringPointId": p["b"], "share": 0.4}], day)
    assert go.post("/v1/shared-production", json=bad).status_code == 202
    codes = [r["code"] for r in answered(go, bad["messageId"])["reasons"]]
    assert codes == ["shared_production.contributor_is_receiver",
                     "shared_production.shares_not_sum_to_one"]

    # a receiver that produces, a stranger's point: refused by the points themselves
    stranger = gsrn()
    other = straum.client(gln(), "grid_owner")
    assert other.post("/v1/metering-points", json=register_point(stranger)).status_code == 202
    poll_until(other, "market-processes", lambda m: m["documentType"] == "Acknowledgement")
    wrong = setup("Feil to", [p["a"]], [{"meteringPointId": p["solar"]},
                                        {"meteringPointId": stranger}], day, "equal")
    assert go.post("/v1/shared-production", json=wrong).status_code == 202
    codes = [r["code"] for r in answered(go, wrong["messageId"])["reasons"]]
    assert codes == ["shared_production.contributor_not_producing",
                     "shared_production.receiver_has_production",
                     "shared_production.not_grid_owner"]

    # a point in at most one calculation at a time
    first = setup("Første", [p["solar"]], [{"meteringPointId": p["a"]}], day, "equal")
    assert go.post("/v1/shared-production", json=first).status_code == 202
    assert answered(go, first["messageId"])["status"] == "accepted"
    second = setup("Andre", [p["solar"]], [{"meteringPointId": p["b"]}], day, "equal")
    assert go.post("/v1/shared-production", json=second).status_code == 202
    codes = [r["code"] for r in answered(go, second["messageId"])["reasons"]]
    assert codes == ["shared_production.point_in_another_calculation"]
    # B was released again: a calculation of its own is fine
    third = setup("Tredje", [p["solar"]], [{"meteringPointId": p["b"]}],
                  today() + timedelta(days=30), "equal")
    assert go.post("/v1/shared-production", json=third).status_code == 202
    assert "shared_production.point_in_another_calculation" in [
        r["code"] for r in answered(go, third["messageId"])["reasons"]]  # the solar point
    # the same name again is not a new calculation
    dup = setup("Første", [p["solar"]], [{"meteringPointId": p["a"]}], day, "equal")
    assert go.post("/v1/shared-production", json=dup).status_code == 202
    assert [r["code"] for r in answered(go, dup["messageId"])["reasons"]] == [
        "shared_production.name_not_unique"]
    # ending it from tomorrow frees the solar point from then on
    end = setup("Første", [], [], today() + timedelta(days=1), action="end")
    assert go.post("/v1/shared-production", json=end).status_code == 202
    assert answered(go, end["messageId"])["status"] == "accepted"
    later = setup("Fjerde", [p["solar"]], [{"meteringPointId": p["b"]}],
                  today() + timedelta(days=1), "equal")
    assert go.post("/v1/shared-production", json=later).status_code == 202
    assert answered(go, later["messageId"])["status"] == "accepted"
