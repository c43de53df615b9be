"""Area prices as the hub takes them in: per bidding area and interval, NOK/MWh excl. VAT.

Rows come from the API or a CSV file (area, start, resolution, price, unit, eurNok); each is
checked on its own and every problem is reported with the row it is in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.problem_codes import Code
from domain.series import RESOLUTIONS

AREAS = ("NO1", "NO2", "NO3", "NO4", "NO5")
UNITS = ("NOK/MWh", "EUR/MWh")

MAX_ABS_PRICE = 100_000.0
"""The largest price magnitude, per MWh in the row's unit. The day-ahead market's harmonised
limits are +4,000/-500 EUR/MWh (about 50,000 NOK/MWh); a larger figure is a unit mistake, and
refusing it keeps every cost the comparison computes finite."""

MAX_EUR_NOK = 100.0
"""The largest EUR→NOK rate accepted (it has been 7 to 12)."""


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


def parse_price(row: dict[str, Any], pointer: str, *, text_numbers: bool = False,
                ) -> tuple[AreaPrice | None, list[dict[str, str]]]:
    """One price row, or the problems with it (each with a code and a pointer).

    From JSON (the API) a price and a rate are JSON numbers; a CSV file has only text, so its
    reader passes ``text_numbers``. Either way they are finite and bounded.
    """
    problems: list[dict[str, str]] = []

    def problem(code: str, field: str, detail: str) -> None:
        problems.append({"code": code, "pointer": f"{pointer}/{field}", "detail": detail})

    area, resolution, unit = row.get("area"), row.get("resolution"), row.get("unit", "NOK/MWh")
    if area not in AREAS:
        problem("price.area", "area", f"area must be one of {', '.join(AREAS)}")
    if not isinstance(resolution, str) or resolution not in RESOLUTIONS:
        problem("price.resolution", "resolution", "resolution must be PT15M or PT1H")
    if unit not in UNITS:
        problem("price.unit", "unit", "unit must be NOK/MWh or EUR/MWh")
    start: datetime | None = None
    try:
        if not isinstance(row.get("start"), str):
            raise ValueError("not a string")
        start = datetime.fromisoformat(str(row.get("start")))
        if start.tzinfo is None:
            problem("price.start", "start", "start needs an offset (e.g. +01:00 or Z)")
            start = None
        elif not 2000 <= start.year <= 2100:
            problem("price.start", "start", "start must lie between 2000 and 2100")
            start = None
    except ValueError:
        problem("price.start", "start", "start is not an RFC 3339 time")
    if start is not None and isinstance(resolution, str) and resolution in RESOLUTIONS:
        step = RESOLUTIONS[str(resolution)].total_seconds()
        if start.astimezone(UTC).timestamp() % step:
            problem("price.alignment", "start", f"start is not on a {resolution} boundary")
    price = _number(row.get("price"), text_numbers)
    if price is None or abs(price) > MAX_ABS_PRICE:
        problem(Code.PRICE_VALUE, "price", "price must be a number from "
                f"{-MAX_ABS_PRICE:,.0f} to {MAX_ABS_PRICE:,.0f} (per MWh)")
        price = None
    given_rate = row.get("eurNok")
    rate = _number(given_rate, text_numbers) if given_rate is not None else None
    if given_rate is not None and (rate is None or not 0 < rate <= MAX_EUR_NOK):
        problem(Code.PRICE_EUR_NOK, "eurNok",
                f"eurNok must be above 0 and at most {MAX_EUR_NOK:g}")
    elif unit == "EUR/MWh" and rate is None:
        problem(Code.PRICE_EUR_NOK, "eurNok", "EUR prices need a positive eurNok exchange rate")
    if problems or start is None or price is None:
        return None, problems
    nok = price * rate if unit == "EUR/MWh" and rate else price
    return AreaPrice(str(area), start.astimezone(UTC), str(resolution), nok,
                     rate if unit == "EUR/MWh" else None), []


def _number(value: Any, text: bool) -> float | None:
    """A finite number: a JSON number, or with ``text`` also its decimal text."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str) and not text:
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError):
        return None
    return number if math.isfinite(number) else None
