"""Norgespris comparison (domain.comparison): worked examples, checked by hand.

Every expected figure is derived in the comments next to it. Prices are NOK/MWh; 1,000 NOK/MWh
is 1.00 NOK/kWh. Norgespris is 0.40 NOK/kWh excl. VAT (0.50 incl.); strømstøtte is
0.9 × (price − 0.75) NOK/kWh excl. VAT; VAT multiplies by 1.25 unless the point is exempt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from domain.comparison import (
    HOUR,
    QUARTER,
    Comparison,
    Flag,
    Tariffs,
    compare,
    day_ahead_resolution,
    tariffs_for,
)

OSLO = ZoneInfo("Europe/Oslo")
D = Decimal
# Confirmed-style parameters for 2026 given explicitly, so the examples do not depend on the
# unconfirmed 2026 default threshold.
T2026 = Tariffs(2026, support_threshold_ore=D(75))
TARIFFS = {2026: T2026}


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), OSLO).astimezone(UTC)


def grid(first: date, last: date, step: timedelta) -> list[datetime]:
    """Interval starts (UTC) of the Norwegian days first..last at ``step``."""
    at, end, out = midnight(first), midnight(last + timedelta(days=1)), []
    while at < end:
        out.append(at)
        at += step
    return out


def values_for(
    starts: list[datetime], kwh: Callable[[int, datetime], float | Decimal]
) -> list[tuple[datetime, float | Decimal, str]]:
    return [(t, kwh(i, t), "measured") for i, t in enumerate(starts)]


def run(
    values: Sequence[tuple[datetime, float | Decimal, str]],
    prices: dict[datetime, float | Decimal],
    first: date,
    last: date,
    *,
    code: str = "35",
    vat_exempt: bool = False,
    resolution: str = "PT1H",
    price_resolution: str = "PT1H",
    tariffs: dict[int, Tariffs] | None = None,
) -> Comparison:
    return compare(values, prices, code, vat_exempt, tariffs or TARIFFS, first, last,
                   resolution=resolution, price_resolution=price_resolution)


def money(c: Comparison) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
    m = c.totals
    return (m.spot_cost, m.support, m.cost_without, m.cost_with, m.difference)


# --- a household month above 5,000 kWh ------------------------------------------------------

FEB = (date(2026, 2, 1), date(2026, 2, 28))
FEB_HOURS = grid(*FEB, HOUR)  # 28 × 24 = 672 hours, no DST change
# 10 kWh every hour = 6,720 kWh; the first 480 hours (20 days) at 1,000 NOK/MWh, the last
# 192 hours at 2,000 NOK/MWh.
FEB_VALUES = values_for(FEB_HOURS, lambda i, t: 10)
FEB_PRICES: dict[datetime, float | Decimal] = {
    t: (1000 if i < 480 else 2000) for i, t in enumerate(FEB_HOURS)
}


def test_household_month_above_both_caps() -> None:
    result = run(FEB_VALUES, FEB_PRICES, *FEB)
    assert len(FEB_HOURS) == 672
    (month,) = result.months
    assert month.month == "2026-02"
    assert month.complete and result.complete and result.flags == ()
    # Both caps (5,000 kWh) are reached after 500 hours: 20 h into the 2.00 NOK part.
    assert month.energy_kwh == D("6720.000")
    assert month.norgespris_kwh == D("5000.000")
    assert month.above_cap_kwh == D("1720.000")  # 172 h × 10 kWh at spot
    assert month.kwh_within_support_cap == D("5000.000")
    # Excl. VAT:
    #   spot    = 480 h × 10 kWh × 1.00 + 192 h × 10 kWh × 2.00      = 4,800 + 3,840 = 8,640
    #   support = 4,800 kWh × 0.9 × (1.00 − 0.75) = 4,800 × 0.225 = 1,080
    #           +   200 kWh × 0.9 × (2.00 − 0.75) =   200 × 1.125 =   225   → 1,305
    #             (the last 1,720 kWh are above the support cap: nothing)
    #   with    = 5,000 kWh × 0.40 + 1,720 kWh × 2.00 = 2,000 + 3,440  = 5,440
    # Incl. 25 % VAT: spot 10,800.00, support 1,631.25, without 10,800 − 1,631.25 = 9,168.75,
    # with 6,800.00, difference 6,800.00 − 9,168.75 = −2,368.75 (Norgespris cheaper).
    assert (month.spot_cost, month.support, month.cost_without, month.cost_with,
            month.difference) == (D("10800.00"), D("1631.25"), D("9168.75"), D("6800.00"),
                                  D("-2368.75"))
    assert money(result) == (D("10800.00"), D("1631.25"), D("9168.75"), D("6800.00"),
                             D("-2368.75"))
    assert result.tariffs == (T2026,)


def test_vat_exempt_point_pays_no_vat_on_either_side() -> None:
    # The same month in Troms: the excl.-VAT figures above are the answer.
    # spot 8,640.00, support 1,305.00, without 7,335.00, with 5,440.00, diff −1,895.00.
    result = run(FEB_VALUES, FEB_PRICES, *FEB, vat_exempt=True)
    assert money(result) == (D("8640.00"), D("1305.00"), D("7335.00"), D("5440.00"),
                             D("-1895.00"))


def test_caps_cross_inside_an_interval_and_unpriced_energy_still_uses_them() -> None:
    # Caps made small to see the mechanics: Norgespris 10 kWh, support 6 kWh.
    tariffs = {2026: Tariffs(2026, norgespris_cap_household_kwh=D(10), support_cap_kwh=D(6))}
    hours = grid(date(2026, 1, 1), date(2026, 1, 1), HOUR)
    # 4 kWh in hours 0, 1, 2 and nothing after; hour 0 has no price, hour 1 costs 1.00,
    # hour 2 costs 2.00, the rest 1.00.
    values = values_for(hours, lambda i, t: 4 if i < 3 else 0)
    prices: dict[datetime, float | Decimal] = {
        t: (2000 if i == 2 else 1000) for i, t in enumerate(hours) if i != 0
    }
    result = run(values, prices, date(2026, 1, 1), date(2026, 1, 1), tariffs=tariffs)
    (month,) = result.months
    # Caps: hour 0 uses 4 of both (consumed, though unpriced); hour 1: 4 kWh at Norgespris
    # (8 used), 2 kWh within the support cap (6 used, cap reached); hour 2: 2 kWh at Norgespris
    # (cap 10 reached) and 2 kWh at spot, no support.
    assert (month.energy_kwh, month.norgespris_kwh, month.above_cap_kwh,
            month.kwh_within_support_cap) == (D("8.000"), D("6.000"), D("2.000"), D("2.000"))
    # Excl. VAT: spot = 4 × 1.00 + 4 × 2.00 = 12; support = 2 × 0.225 = 0.45;
    # with = 6 × 0.40 + 2 × 2.00 = 6.40.
    # Incl. VAT: 15.00; 0.5625 → 0.56; without 14.44; with 8.00; diff 8.00 − 14.44 = −6.44.
    assert money(result) == (D("15.00"), D("0.56"), D("14.44"), D("8.00"), D("-6.44"))
    assert month.missing_prices == 1 and not month.complete
    assert result.flags == (Flag(hours[0], hours[1], "no_price", 1, True),)


# --- a holiday home ---------------------------------------------------------------------------


def test_holiday_home_has_a_1000_kwh_cap_and_no_support() -> None:
    days = (date(2026, 1, 1), date(2026, 1, 31))
    hours = grid(*days, HOUR)  # 744 hours
    # 2 kWh/h = 1,488 kWh at 1,500 NOK/MWh (1.50 NOK/kWh, well above the threshold).
    result = run(values_for(hours, lambda i, t: 2), {t: 1500 for t in hours}, *days, code="36")
    (month,) = result.months
    assert month.energy_kwh == D("1488.000")
    assert (month.norgespris_kwh, month.above_cap_kwh) == (D("1000.000"), D("488.000"))
    assert month.kwh_within_support_cap == D("0.000")
    # Excl. VAT: spot = 1,488 × 1.50 = 2,232; support 0; with = 1,000 × 0.40 + 488 × 1.50
    # = 400 + 732 = 1,132. Incl. VAT: 2,790.00; 0; 2,790.00; 1,415.00; −1,375.00.
    assert money(result) == (D("2790.00"), D("0.00"), D("2790.00"), D("1415.00"), D("-1375.00"))
    assert "holiday homes: no strømstøtte" in result.method


# --- prices below the threshold ---------------------------------------------------------------


def test_prices_below_the_threshold_give_no_support_and_norgespris_costs_more() -> None:
    days = (date(2026, 6, 1), date(2026, 6, 30))
    hours = grid(*days, HOUR)  # 720 hours
    # 1 kWh/h at 300 NOK/MWh = 0.30 NOK/kWh < 0.75: no support.
    result = run(values_for(hours, lambda i, t: 1), {t: 300 for t in hours}, *days)
    # Excl. VAT: spot = 720 × 0.30 = 216; with = 720 × 0.40 = 288.
    # Incl. VAT: 270.00; 0.00; 270.00; 360.00; difference +90.00 (Norgespris dearer).
    assert money(result) == (D("270.00"), D("0.00"), D("270.00"), D("360.00"), D("90.00"))
    assert result.totals.kwh_within_support_cap == D("720.000")  # within the cap, rate 0


# --- DST months -------------------------------------------------------------------------------


def test_march_has_743_hours() -> None:
    days = (date(2026, 3, 1), date(2026, 3, 31))
    hours = grid(*days, HOUR)
    assert len(hours) == 31 * 24 - 1
    result = run(values_for(hours, lambda i, t: 1), {t: 1000 for t in hours}, *days)
    (month,) = result.months
    assert (month.intervals, month.energy_kwh) == (743, D("743.000"))
    # Excl. VAT: spot 743 × 1.00 = 743; support 743 × 0.225 = 167.175; with 743 × 0.40 = 297.20
    # Incl. VAT: 928.75; 208.96875 → 208.97; without 719.78; with 371.50; diff −348.28.
    assert money(result) == (D("928.75"), D("208.97"), D("719.78"), D("371.50"), D("-348.28"))


def test_october_has_2980_quarter_hours() -> None:
    days = (date(2026, 10, 1), date(2026, 10, 31))
    quarters = grid(*days, QUARTER)
    assert len(quarters) == (31 * 24 + 1) * 4 == 2980
    # 0.25 kWh per quarter-hour = 745 kWh, every quarter-hour at 1,000 NOK/MWh.
    result = run(values_for(quarters, lambda i, t: D("0.25")), {t: 1000 for t in quarters}, *days,
                 resolution="PT15M", price_resolution="PT15M")
    (month,) = result.months
    assert (month.first_day, month.last_day) == days
    assert (month.intervals, month.energy_kwh) == (2980, D("745.000"))
    # Excl. VAT: spot 745; support 745 × 0.225 = 167.625; with 745 × 0.40 = 298.
    # Incl. VAT: 931.25; 209.53125 → 209.53; without 721.72; with 372.50; diff −349.22.
    assert money(result) == (D("931.25"), D("209.53"), D("721.72"), D("372.50"), D("-349.22"))


def test_months_are_norwegian_months() -> None:
    # 31 Jan 23:30 Oslo is 22:30 UTC: January, although 1 Feb 00:00 Oslo is still 31 Jan UTC.
    days = (date(2026, 1, 31), date(2026, 2, 1))
    hours = grid(date(2026, 1, 1), days[1], HOUR)
    result = run(values_for(hours, lambda i, t: 1), {t: 1000 for t in hours}, *days)
    assert [(m.month, m.intervals, m.first_day, m.last_day) for m in result.months] == [
        ("2026-01", 24, date(2026, 1, 31), date(2026, 1, 31)),
        ("2026-02", 24, date(2026, 2, 1), date(2026, 2, 1)),
    ]
    assert result.totals.energy_kwh == D("48.000")
    assert result.totals.spot_cost == sum((m.spot_cost for m in result.months), D(0))


# --- missing values and prices ----------------------------------------------------------------


def test_missing_values_and_prices_are_flagged_and_left_out() -> None:
    day = date(2026, 1, 1)
    hours = grid(day, day, HOUR)  # 00:00 Oslo = 23:00 UTC the day before
    values = [
        (t, 1, "missing" if i == 4 else "rejected" if i == 5 else "estimated")
        for i, t in enumerate(hours)
        if i != 3  # 03:00 absent
    ]
    prices: dict[datetime, float | Decimal] = {
        t: 1000 for i, t in enumerate(hours) if i not in (10, 11)
    }
    result = run(values, prices, day, day)
    (month,) = result.months
    assert (month.intervals, month.missing_values, month.missing_prices) == (24, 3, 2)
    assert not month.complete and not result.complete
    assert result.flags == (
        Flag(hours[3], hours[4], "no_value", 1, True),
        Flag(hours[4], hours[5], "quality_missing", 1, True),
        Flag(hours[5], hours[6], "quality_rejected", 1, True),
        Flag(hours[10], hours[12], "no_price", 2, True),
    )
    # 24 − 3 − 2 = 19 usable hours of 1 kWh at 1.00 (estimated values count).
    # Excl. VAT: spot 19; support 19 × 0.225 = 4.275; with 19 × 0.40 = 7.60.
    # Incl. VAT: 23.75; 5.34375 → 5.34; without 18.41; with 9.50; diff −8.91.
    assert month.energy_kwh == D("19.000")
    assert money(result) == (D("23.75"), D("5.34"), D("18.41"), D("9.50"), D("-8.91"))


def test_a_period_starting_mid_month_counts_the_caps_from_the_first() -> None:
    # Holiday home, 5 kWh/h from 1 Jan: 1–10 Jan (240 h) use 1,200 kWh, so the 1,000 kWh
    # Norgespris cap is gone before the period 11–31 Jan starts.
    days = (date(2026, 1, 11), date(2026, 1, 31))
    hours = grid(date(2026, 1, 1), days[1], HOUR)
    values = values_for(hours, lambda i, t: 5)
    prices: dict[datetime, float | Decimal] = {t: 1000 for t in hours if t >= midnight(days[0])}
    result = run(values, prices, *days, code="36")
    (month,) = result.months
    assert month.complete and month.intervals == 21 * 24
    # 504 h × 5 kWh = 2,520 kWh, all at spot 1.00 either way:
    # 2,520 × 1.25 = 3,150.00 with and without; difference 0.00.
    assert (month.energy_kwh, month.norgespris_kwh) == (D("2520.000"), D("0.000"))
    assert money(result) == (D("3150.00"), D("0.00"), D("3150.00"), D("3150.00"), D("0.00"))

    # Without the values of 1–10 Jan the caps cannot be counted: flagged, month incomplete.
    in_period = [v for v in values if v[0] >= midnight(days[0])]
    partial = run(in_period, prices, *days, code="36")
    assert partial.months[0].lead_in_missing_values == 240
    assert not partial.complete
    assert partial.flags == (
        Flag(midnight(date(2026, 1, 1)), midnight(days[0]), "no_value", 240, False),
    )


# --- mixed resolutions ------------------------------------------------------------------------


def test_quarter_hour_values_with_hourly_prices() -> None:
    day = date(2026, 1, 1)
    quarters = grid(day, day, QUARTER)
    hours = grid(day, day, HOUR)
    # Each hour: 1, 2, 3, 4 kWh in its quarter-hours (10 kWh/h, 240 kWh in all);
    # hours 0–11 at 1,000 NOK/MWh, hours 12–23 at 2,000 NOK/MWh, as PT1H prices.
    values = values_for(quarters, lambda i, t: i % 4 + 1)
    prices: dict[datetime, float | Decimal] = {
        t: (1000 if i < 12 else 2000) for i, t in enumerate(hours)
    }
    result = run(values, prices, day, day, resolution="PT15M", price_resolution="PT1H")
    # Every quarter-hour at its hour's price. Excl. VAT:
    #   spot    = 12 h × 10 kWh × 1.00 + 12 h × 10 kWh × 2.00 = 120 + 240 = 360
    #   support = 120 kWh × 0.225 + 120 kWh × 1.125 = 27 + 135 = 162
    #   with    = 240 kWh × 0.40 = 96
    # Incl. VAT: 450.00; 202.50; without 247.50; with 120.00; diff −127.50.
    assert money(result) == (D("450.00"), D("202.50"), D("247.50"), D("120.00"), D("-127.50"))
    # With hourly prices both support bases agree.
    quarter_basis = {2026: Tariffs(2026, support_basis="quarter-hour")}
    assert money(run(values, prices, day, day, resolution="PT15M", price_resolution="PT1H",
                     tariffs=quarter_basis)) == money(result)


def test_hourly_values_with_quarter_hour_prices_use_the_mean() -> None:
    day = date(2026, 1, 1)
    hours = grid(day, day, HOUR)
    quarters = grid(day, day, QUARTER)
    # Every hour's quarter-hours cost 500, 700, 900, 1,100 NOK/MWh: mean 800 = 0.80 NOK/kWh.
    prices: dict[datetime, float | Decimal] = {
        t: 500 + 200 * (i % 4) for i, t in enumerate(quarters)
    }
    values = values_for(hours, lambda i, t: 1)  # 24 kWh
    hourly = run(values, prices, day, day, price_resolution="PT15M")
    # Excl. VAT: spot 24 × 0.80 = 19.20; with 24 × 0.40 = 9.60;
    # support, hour basis: 24 × 0.9 × (0.80 − 0.75) = 24 × 0.045 = 1.08.
    # Incl. VAT: 24.00; 1.35; without 22.65; with 12.00; diff −10.65.
    assert money(hourly) == (D("24.00"), D("1.35"), D("22.65"), D("12.00"), D("-10.65"))

    # Quarter-hour basis, the hour spread evenly: rates 0, 0, 0.9 × 0.15, 0.9 × 0.35,
    # mean 0.9 × 0.50 / 4 = 0.1125 per kWh → support 24 × 0.1125 = 2.70 excl. VAT,
    # 3.375 → 3.38 incl.; without 24.00 − 3.38 = 20.62; diff 12.00 − 20.62 = −8.62.
    per_quarter = run(values, prices, day, day, price_resolution="PT15M",
                      tariffs={2026: Tariffs(2026, support_basis="quarter-hour")})
    assert money(per_quarter) == (D("24.00"), D("3.38"), D("20.62"), D("12.00"), D("-8.62"))


def test_an_hour_with_a_missing_quarter_hour_price_is_not_priced() -> None:
    day = date(2026, 1, 1)
    quarters = grid(day, day, QUARTER)
    hours = grid(day, day, HOUR)
    prices: dict[datetime, float | Decimal] = {t: 1000 for t in quarters if t != quarters[5]}
    result = run(values_for(hours, lambda i, t: 1), prices, day, day, price_resolution="PT15M")
    assert result.flags == (Flag(hours[1], hours[2], "no_price", 1, True),)
    assert result.totals.energy_kwh == D("23.000")


def test_default_price_resolution_follows_the_15_minute_market() -> None:
    assert day_ahead_resolution(datetime(2025, 9, 30, 21, 0, tzinfo=UTC)) == "PT1H"
    assert day_ahead_resolution(datetime(2025, 9, 30, 22, 0, tzinfo=UTC)) == "PT15M"


# --- parameters -------------------------------------------------------------------------------


def test_known_tariffs_and_overrides() -> None:
    assert tariffs_for(2024).support_threshold_ore == 73
    t2025 = tariffs_for(2025)
    assert (t2025.support_threshold_ore, t2025.norgespris_ore, t2025.support_share) == (
        D(75), D(40), D("0.90"))
    assert t2025.norgespris_ore * (1 + t2025.vat_rate) == 50  # 50 øre incl. VAT
    assert (t2025.norgespris_cap_household_kwh, t2025.norgespris_cap_holiday_home_kwh,
            t2025.support_cap_kwh) == (D(5000), D(1000), D(5000))
    assert "support_threshold_ore" in tariffs_for(2026).unconfirmed
    configured = tariffs_for(2026, {"support_threshold_ore": 77.5, "support_basis": "quarter-hour"})
    assert configured.support_threshold_ore == D("77.5")
    assert configured.unconfirmed == ()
    with pytest.raises(ValueError, match="no known"):
        tariffs_for(2027)
    with pytest.raises(ValueError, match="unknown tariff parameters"):
        tariffs_for(2026, {"threshold": 80})
    with pytest.raises(ValueError, match="support_basis"):
        tariffs_for(2026, {"support_basis": "day"})


def test_the_result_states_the_parameters_and_what_is_unconfirmed() -> None:
    days = (date(2026, 6, 1), date(2026, 6, 1))
    hours = grid(*days, HOUR)
    result = run(values_for(hours, lambda i, t: 1), {t: 300 for t in hours}, *days,
                 tariffs={2026: tariffs_for(2026)})
    assert result.tariffs == (tariffs_for(2026),)
    assert "2026: support_threshold_ore is an unconfirmed default" in result.notes
    assert (result.consumption_code, result.vat_exempt, result.resolution) == ("35", False, "PT1H")


def test_invalid_inputs_are_refused() -> None:
    day = date(2026, 1, 1)
    hours = grid(day, day, HOUR)
    values = values_for(hours, lambda i, t: 1)
    with pytest.raises(ValueError, match="cannot have Norgespris"):
        run(values, {}, day, day, code="1")
    with pytest.raises(ValueError, match="no tariffs for 2025"):
        run(values, {}, date(2025, 12, 31), day)
    with pytest.raises(ValueError, match="not on the PT1H grid"):
        run([(hours[0] + QUARTER, 1, "measured")], {}, day, day)
    with pytest.raises(ValueError, match="two values"):
        run([values[0], values[0]], {}, day, day)
    with pytest.raises(ValueError, match="negative"):
        run([(hours[0], -1, "measured")], {}, day, day)
    with pytest.raises(ValueError, match="before first"):
        run(values, {}, day, day - timedelta(days=1))
