"""Prices in, comparison out, on the real broker: the figures checked by hand."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from domain.series import HUB_TIMEZONE
from tests.helpers import (
    day_series,
    gln,
    oslo_midnight,
    poll_until,
    values_document,
)
from tests.integration.conftest import Straum
from tests.integration.test_contracts import household


def test_a_household_day_compared_by_hand(straum: Straum, tmp_path: Path) -> None:
    point, go, supplier, _ = household(straum)
    day = datetime.now(HUB_TIMEZONE).date() - timedelta(days=1)
    series = day_series(point, day)
    for p in series["points"]:
        p["quantity"] = 2.0
    assert go.post("/v1/metering-values", json=values_document(series)).status_code == 202
    poll_until(supplier, "metering-values",
               lambda m: m["payload"]["transactionId"] == series["transactionId"])
    # Prices for the day, 1,500 NOK/MWh every hour, half by API and half from a CSV file.
    start = oslo_midnight(day)
    hours = [start + timedelta(hours=h) for h in range(len(series["points"]))]
    operator = straum.client("7080005051286", "operator")
    api_half = [{"area": "NO1", "start": h.isoformat(), "resolution": "PT1H", "price": 1500.0,
                 "unit": "NOK/MWh"} for h in hours[:12]]
    assert operator.post("/v1/prices", json={"prices": api_half}).status_code == 202
    csv_file = tmp_path / "prices.csv"
    csv_file.write_text("area,start,resolution,price,unit\n" + "".join(
        f"NO1,{h.isoformat()},PT1H,150.0,EUR/MWh\n" for h in hours[12:]))
    result = subprocess.run([sys.executable, "-m", "straum", "prices", "import",
                             str(csv_file), "--eur-nok", "10"], env=straum.env, text=True,
                            capture_output=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    bad = operator.post("/v1/prices", json={"prices": [{"area": "NO9", "start": "2026-01-01",
                                                        "resolution": "PT5M", "price": "x"}]})
    assert bad.status_code == 400
    assert {p["code"] for p in bad.json()["problems"]} >= {"price.area", "price.resolution",
                                                          "price.value", "price.start"}

    response = supplier.get(f"/v1/metering-points/{point}/norgespris-comparison",
                            params={"from": day.isoformat(), "to": day.isoformat()})
    assert response.status_code == 200, response.text
    totals = response.json()["totals"]
    kwh = Decimal(2 * len(hours))  # 48 kWh on an ordinary day
    # By hand, 2026 defaults (threshold 75 øre, 90 %, Norgespris 40 øre, VAT 25 %):
    spot = kwh * Decimal("1.50") * Decimal("1.25")                      # 90.00 NOK
    support = kwh * Decimal("0.90") * Decimal("0.75") * Decimal("1.25")  # 40.50 NOK
    with_norgespris = kwh * Decimal("0.40") * Decimal("1.25")           # 24.00 NOK
    assert Decimal(str(totals["energyKwh"])) == kwh
    assert Decimal(str(totals["spotCost"])) == spot
    assert Decimal(str(totals["support"])) == support
    assert Decimal(str(totals["costWithout"])) == spot - support
    assert Decimal(str(totals["costWith"])) == with_norgespris
    assert Decimal(str(totals["difference"])) == with_norgespris - (spot - support)

    stranger = straum.client(gln(), "supplier")
    assert stranger.get(f"/v1/metering-points/{point}/norgespris-comparison",
                        params={"from": day.isoformat(), "to": day.isoformat()}
                        ).status_code == 404
    # The supplier only supplies from three days ago: earlier months are not its to see.
    assert supplier.get(f"/v1/metering-points/{point}/norgespris-comparison",
                        params={"from": (day - timedelta(days=40)).isoformat(),
                                "to": (day - timedelta(days=35)).isoformat()}
                        ).status_code == 404
    empty = go.get(f"/v1/metering-points/{point}/norgespris-comparison",
                         params={"from": (day - timedelta(days=40)).isoformat(),
                                 "to": (day - timedelta(days=35)).isoformat()}).json()
    assert empty["complete"] is False and empty["totals"]["energyKwh"] == 0
    assert empty["flags"], "missing values are flagged, not guessed"


