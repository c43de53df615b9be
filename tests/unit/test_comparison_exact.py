"""The integer comparison (domain.comparison.compare) against the Decimal reference
(domain.comparison_decimal.compare_decimal): identical figures, flags and months, to the
øre, the Wh and the sign of a rounded zero, on random periods of random years (DST days
included), random caps, thresholds and VAT, gaps, unusable qualities, missing and negative
prices, caller periods, both resolutions and both support bases."""

from __future__ import annotations

import random
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, localcontext
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.comparison import Comparison, Tariffs, compare, tariffs_for
from domain.comparison_decimal import compare_decimal
from domain.read_access import Period
from domain.series import HUB_TIMEZONE

D = Decimal
QUALITIES = ("measured", "estimated", "final_estimate", "temporary", "missing", "rejected")
DST_DAYS = (date(2024, 3, 31), date(2024, 10, 27), date(2025, 3, 30), date(2025, 10, 26),
            date(2026, 3, 29), date(2026, 10, 25))


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), HUB_TIMEZONE).astimezone(UTC)


def exact(result: Comparison) -> str:
    """Every figure with its exponent and sign (Decimal equality ignores both)."""
    return repr(asdict(result))


@st.composite
def periods(draw: st.DrawFn) -> tuple[date, date]:
    around = draw(st.sampled_from((*DST_DAYS, None)))
    if around is None:
        first = draw(st.dates(date(2024, 1, 1), date(2026, 12, 20)))
    else:
        first = around - timedelta(days=draw(st.integers(0, 20)))
    last = first + timedelta(days=draw(st.integers(0, 45)))
    return first, min(last, date(2026, 12, 31))


@st.composite
def tariffs(draw: st.DrawFn, year: int) -> Tariffs:
    if draw(st.booleans()):
        return tariffs_for(year)
    return Tariffs(
        year,
        norgespris_ore=D(draw(st.sampled_from(["40", "37.5", "0", "41.25"]))),
        norgespris_cap_household_kwh=D(draw(st.sampled_from(["5000", "3", "0", "12.5", "800"]))),
        norgespris_cap_holiday_home_kwh=D(draw(st.sampled_from(["1000", "2", "7.75"]))),
        support_threshold_ore=D(draw(st.sampled_from(["75", "73", "70.5", "0", "12.345"]))),
        support_share=D(draw(st.sampled_from(["0.90", "0.9", "1", "0.333"]))),
        support_cap_kwh=D(draw(st.sampled_from(["5000", "4", "0", "9.5"]))),
        support_for_holiday_homes=draw(st.booleans()),
        vat_rate=D(draw(st.sampled_from(["0.25", "0", "0.125"]))),
        support_basis=draw(st.sampled_from(["hour", "quarter-hour"])),
    )


def quantity(rng: random.Random, style: str) -> Any:
    if style == "wh":
        return rng.randrange(0, 4000) / 1000
    if style == "float":
        return rng.choice([rng.uniform(0, 3), rng.uniform(0, 3000), rng.random() * 1e-3,
                           float(rng.randrange(10)), 0.1, 2.675])
    return Decimal(rng.randrange(0, 10**7)).scaleb(-rng.randrange(0, 9))


def price(rng: random.Random, style: str) -> Any:
    if style == "wh":
        return rng.randrange(-50_000, 500_000) / 100
    if style == "float":
        return rng.choice([rng.uniform(-500, 5000), rng.uniform(0, 2) * 11.37, 1500.0,
                           -0.001, 749.99999])
    return Decimal(rng.randrange(-10**6, 10**7)).scaleb(-rng.randrange(0, 7))


def inputs(rng: random.Random, first: date, last: date, resolution: str, price_res: str,
           style: str, gaps: float) -> tuple[list[tuple[datetime, Any, str]],
                                             dict[datetime, Any]]:
    step = timedelta(minutes=15) if resolution == "PT15M" else timedelta(hours=1)
    start, end = midnight(first.replace(day=1)), midnight(last + timedelta(days=1))
    values = []
    at = start
    while at < end:
        if rng.random() >= gaps:
            quality = (rng.choice(QUALITIES) if rng.random() < gaps * 2 else "measured")
            values.append((at.astimezone(HUB_TIMEZONE) if rng.random() < 0.5 else at,
                           quantity(rng, style), quality))
        at += step
    rng.shuffle(values)  # any order
    prices: dict[datetime, Any] = {}
    pstep = timedelta(minutes=15) if price_res == "PT15M" else timedelta(hours=1)
    at = midnight(first) - timedelta(days=1)
    while at < end + timedelta(days=1):
        if rng.random() >= gaps:
            prices[at] = price(rng, style)
        at += pstep
    return values, prices


def readable_periods(rng: random.Random, first: date, last: date) -> list[Period] | None:
    choice = rng.random()
    if choice < 0.5:
        return None
    lo, hi = midnight(first.replace(day=1)), midnight(last + timedelta(days=1))
    span = int((hi - lo).total_seconds())
    found = []
    for _ in range(rng.randrange(1, 4)):
        a = lo + timedelta(seconds=rng.randrange(0, span) // 900 * 900)
        b = a + timedelta(seconds=rng.randrange(900, span + 900) // 60 * 60)
        found.append(Period(a, b))
    if choice < 0.6:
        found = [Period(lo - timedelta(days=3), datetime.max.replace(tzinfo=UTC))]
    return sorted(found)


def both(values: list[Any], prices: dict[datetime, Any], code: str, vat_exempt: bool,
         tariffs_by_year: dict[int, Tariffs], first: date, last: date, resolution: str,
         price_res: str | None, readable: list[Period] | None,
         precision: int | None) -> tuple[str, str]:
    kwargs: dict[str, Any] = {"resolution": resolution, "readable": readable}
    if price_res is not None:
        kwargs["price_resolution"] = price_res
    outcomes = []
    for implementation in (compare, compare_decimal):
        try:
            if precision is None or implementation is compare:
                result = implementation(values, prices, code, vat_exempt, tariffs_by_year,
                                        first, last, **kwargs)
            else:
                with localcontext() as context:  # the reference without any rounding
                    context.prec = precision
                    result = implementation(values, prices, code, vat_exempt,
                                            tariffs_by_year, first, last, **kwargs)
            outcomes.append(exact(result))
        except (ValueError, TypeError, ArithmeticError) as exc:
            outcomes.append(f"{type(exc).__name__}: {exc}")
    return outcomes[0], outcomes[1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(period=periods(), data=st.data(), seed=st.integers(0, 2**32),
       resolution=st.sampled_from(["PT15M", "PT1H"]),
       price_res=st.sampled_from(["PT15M", "PT1H", None]),
       style=st.sampled_from(["wh", "float", "decimal"]),
       gaps=st.sampled_from([0.0, 0.0, 0.002, 0.05]),
       code=st.sampled_from(["35", "36"]), vat_exempt=st.booleans())
def test_the_integer_comparison_is_the_decimal_one(
        period: tuple[date, date], data: st.DataObject, seed: int, resolution: str,
        price_res: str | None, style: str, gaps: float, code: str, vat_exempt: bool) -> None:
    first, last = period
    rng = random.Random(seed)  # the bulk of the data: hypothesis draws its seed
    tariffs_by_year = {y: data.draw(tariffs(y)) for y in range(first.year, last.year + 1)}
    values, prices = inputs(rng, first, last, resolution, price_res or "PT15M", style, gaps)
    readable = readable_periods(rng, first, last)
    fast, reference = both(values, prices, code, vat_exempt, tariffs_by_year, first, last,
                           resolution, price_res, readable, precision=200)
    assert fast == reference


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(period=periods(), seed=st.integers(0, 2**32),
       resolution=st.sampled_from(["PT15M", "PT1H"]), code=st.sampled_from(["35", "36"]))
def test_metered_values_and_market_prices_agree_in_the_default_decimal_context(
        period: tuple[date, date], seed: int, resolution: str, code: str) -> None:
    """Values in Wh and prices in øre/MWh, as meters and the market give them: the reference
    as the hub first ran it (28 digits) needs no rounding either."""
    first, last = period
    tariffs_by_year = {y: tariffs_for(y) for y in range(first.year, last.year + 1)}
    values, prices = inputs(random.Random(seed), first, last, resolution, "PT15M", "wh", 0.01)
    fast, reference = both(values, prices, code, False, tariffs_by_year, first, last,
                           resolution, None, None, precision=None)
    assert fast == reference


def test_bad_input_is_refused_alike() -> None:
    """Off the grid, twice, negative, too large, naive, not a number: the same refusals."""
    day = date(2026, 2, 3)
    start = midnight(day)
    tariffs_by_year = {2026: tariffs_for(2026)}
    cases: list[list[tuple[Any, Any, str]]] = [
        [(start + timedelta(minutes=7), 1.0, "measured")],
        [(start, 1.0, "measured"), (start.astimezone(HUB_TIMEZONE), 2.0, "measured")],
        [(start, -0.5, "measured")],
        [(start, 1e8, "measured")],
        [(start.replace(tzinfo=None), 1.0, "measured")],
        [(start, float("nan"), "measured")],
        [(start, True, "measured")],
    ]
    for values in cases:
        fast, reference = both(values, {}, "35", False, tariffs_by_year, day, day, "PT1H",
                               None, None, None)
        assert fast == reference and ":" in fast
