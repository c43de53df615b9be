"""Area prices as the hub takes them in: per bidding area and interval, NOK/MWh excl. VAT.

Rows come from the API or a CSV file (area, start, resolution, price, unit, eurNok); each is
checked on its own and every problem is reported with the row it is in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.series import RESOLUTIONS

AREAS = ("NO1", "NO2", "NO3", "NO4", "NO5")
UNITS = ("NOK/MWh", "EUR/MWh")


@dataclass(frozen=True)
class AreaPrice:
    area: str
    start: datetime  # UTC
    resolution: str
    nok_per_mwh: float
    eur_nok: float | None = None

    @property
    def key(self) -> str:
        return f"{self.area}|{self.start.isoformat()}|{self.resolution}"


def parse_price(row: dict[str, Any], pointer: str) -> tuple[AreaPrice | None, list[dict[str, str]]]:
    """One price row, or the problems with it (each with a code and a pointer)."""
    problems: list[dict[str, str]] = []

    def problem(code: str, field: str, detail: str) -> None:
        problems.append({"code": code, "pointer": f"{pointer}/{field}", "detail": detail})

    area, resolution, unit = row.get("area"), row.get("resolution"), row.get("unit", "NOK/MWh")
    if area not in AREAS:
        problem("price.area", "area", f"area must be one of {', '.join(AREAS)}")
    if resolution not in RESOLUTIONS:
        problem("price.resolution", "resolution", "resolution must be PT15M or PT1H")
    if unit not in UNITS:
        problem("price.unit", "unit", "unit must be NOK/MWh or EUR/MWh")
    start: datetime | None = None
    try:
        start = datetime.fromisoformat(str(row.get("start")))
        if start.tzinfo is None:
            problem("price.start", "start", "start needs an offset (e.g. +01:00 or Z)")
            start = None
        elif not 2000 <= start.year <= 2100:
            problem("price.start", "start", "start must lie between 2000 and 2100")
            start = None
    except ValueError:
        problem("price.start", "start", "start is not an RFC 3339 time")
    if start is not None and resolution in RESOLUTIONS:
        step = RESOLUTIONS[str(resolution)].total_seconds()
        if start.astimezone(UTC).timestamp() % step:
            problem("price.alignment", "start", f"start is not on a {resolution} boundary")
    price = _number(row.get("price"))
    if price is None:
        problem("price.value", "price", "price must be a finite number")
    rate = _number(row.get("eurNok")) if row.get("eurNok") is not None else None
    if unit == "EUR/MWh" and (rate is None or rate <= 0):
        problem("price.eur_nok", "eurNok", "EUR prices need a positive eurNok exchange rate")
    if problems or start is None or price is None:
        return None, problems
    nok = price * rate if unit == "EUR/MWh" and rate else price
    return AreaPrice(str(area), start.astimezone(UTC), str(resolution), nok,
                     rate if unit == "EUR/MWh" else None), []


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
