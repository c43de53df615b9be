"""The Norgespris comparison in exact integer arithmetic.

What it computes, and every rule, is domain.comparison's (its docstring); this module is how:
quantities are integers of ``10^-Sq`` kWh, prices integers of ``10^-E / 4`` NOK/kWh, support
rates of ``10^-(E+Ssh) / 16`` NOK/kWh, each scale chosen so that every input (values, prices,
the year's thresholds, shares and caps) is a whole number of its unit. Sums of products are then
exact integers, rounded to øre half up once per month, as the Decimal reference
(domain.comparison_decimal) rounds its exact sums: the two agree to the øre and the Wh on every
input (tests/unit/test_comparison_exact.py holds them against each other).

A month whose intervals all have a usable value, a price and may be read (the usual month) is
summed without a step per interval: the caps are found by bisecting the running total, and the
sums are C-level ``sum``/``map`` over the month's lists. Other months go interval by interval,
with the reference's rules.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from itertools import accumulate
from operator import mul
from typing import TYPE_CHECKING, Final, Protocol

from domain.exact_numbers import as_decimal, decimal_scaled, power, rescale, round_half_up
from domain.series import midnight_s

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.comparison import Tariffs

    PricedHours = Callable[[int, int], "tuple[list[int], list[int]] | None"]
    Priced = Callable[[int, "_Year"], "tuple[int, int] | None"]

#: Quality codes of a value grid; ABSENT: no value for the interval.
ABSENT: Final = 0
QUALITY_NAMES: Final = ("", "measured", "estimated", "final_estimate", "missing", "rejected",
                        "temporary", "other")
QUALITY_CODES: Final = {name: code for code, name in enumerate(QUALITY_NAMES) if name}
OTHER: Final = QUALITY_CODES["other"]
MISSING: Final = QUALITY_CODES["missing"]
REJECTED: Final = QUALITY_CODES["rejected"]
_UNUSABLE_BYTES: Final = (bytes([ABSENT]), bytes([MISSING]), bytes([REJECTED]))


def quality_code(name: str) -> int:
    """The code of a quality name (any other name is a usable quality, ``other``)."""
    return QUALITY_CODES.get(name, OTHER)


@dataclass(frozen=True)
class ValueGrid:
    """A point's values on the comparison's grid: interval ``i`` starts at ``start_s + i ×
    step_s`` (UTC epoch seconds), holds ``quantities[i] × 10^-scale`` kWh and has quality
    ``qualities[i]`` (ABSENT where there is no value). The grid begins at 00:00 Norwegian time
    on the 1st of the first month and ends at midnight after the last day."""

    start_s: int
    step_s: int
    quantities: Sequence[int]
    qualities: bytes
    scale: int


class ExactPrices(Protocol):
    """An area's prices as integers of ``10^-scale`` NOK/MWh."""

    scale: int

    def quarters(self, hour_s: int) -> Sequence[int | None]:
        """The four quarter-hour prices of the hour starting at ``hour_s`` (an hourly price
        four times); None where there is none. ValueError for an unknown price resolution."""
        ...


@dataclass(frozen=True)
class _Year:
    """One year's tariffs as integers at the comparison's scales."""

    supported: bool
    thr4: int  # threshold, 10^-E / 4 NOK/kWh
    np4: int  # Norgespris price, same unit
    share: int  # support share × 10^Ssh
    np_cap: int  # kWh × 10^Sq
    support_cap: int
    factor: int  # 1 + VAT (or 1), × 10^vat_scale
    vat_scale: int
    hour_basis: bool


@dataclass
class _Acc:
    """A month's running figures (integers), as domain.comparison_decimal's _Month."""

    key: tuple[int, int]
    year: _Year
    first_day: date
    last_day: date
    used: int = 0
    energy: int = 0
    np_kwh: int = 0
    above: int = 0
    within: int = 0
    spot: int = 0
    support: int = 0
    with_np: int = 0
    intervals: int = 0
    missing_values: int = 0
    missing_prices: int = 0
    lead_in_missing: int = 0
    hidden_pending: int = 0
    readable_seen: bool = False



def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class _Run:
    """Flags as runs of consecutive intervals, merged as the reference merges them."""

    def __init__(self, step_s: int) -> None:
        self.step = step_s
        self.runs: list[list[object]] = []  # [start_s, end_s, reason, intervals, in_period]

    def add(self, at: int, reason: str, in_period: bool) -> None:
        runs = self.runs
        if runs:
            last = runs[-1]
            if last[1] == at and last[2] == reason and last[4] == in_period:
                last[1] = at + self.step
                last[3] += 1  # type: ignore[operator]
                return
        runs.append([at, at + self.step, reason, 1, in_period])


def compare_grid(values: ValueGrid, prices: ExactPrices, consumption_code: str,
                 vat_exempt: bool, tariffs_by_year: Mapping[int, Tariffs], first: date,
                 last: date, readable: Sequence[tuple[int, int]] | None
                 ) -> tuple[list[dict[str, object]], list[tuple[datetime, datetime, str, int,
                                                                bool]]]:
    """Month figures and flags of the comparison (domain.comparison.compare assembles them).

    ``readable``: ``(start_s, end_s)`` periods the caller may see, or None for everything.
    Returns each month's figures as the fields of MonthComparison, and the flags as
    ``(start, end, reason, intervals, in_period)``.
    """
    step = values.step_s
    period_start = midnight_s(first)
    lead_day = first.replace(day=1)
    years = sorted({d for d in range(lead_day.year, last.year + 1)})
    tariffs = {y: t for y, t in tariffs_by_year.items() if y in years}
    scales = _scales(values.scale, prices.scale, list(tariffs.values()))
    sq, e, _ = scales
    quantities = values.quantities
    if sq != values.scale:
        grow = power(sq - values.scale)
        quantities = [q * grow for q in quantities]
    qualities = values.qualities
    pm = power(e - prices.scale - 3)
    year_of = {y: _year(t, consumption_code, vat_exempt, scales) for y, t in tariffs.items()}
    flags = _Run(step)
    months: list[_Acc] = []
    hour_cache: dict[int, Sequence[int | None]] = {}

    def quarters(hour_s: int) -> Sequence[int | None]:
        found = hour_cache.get(hour_s)
        if found is None:
            found = hour_cache[hour_s] = prices.quarters(hour_s)
        return found

    def priced(at: int, year: _Year) -> tuple[int, int] | None:
        """(spot, rate16) of the interval starting at ``at``; None when unpriced."""
        hour = at - at % 3600
        q = quarters(hour)
        supported = year.supported
        if step == 900:
            own = q[(at - hour) // 900]
            if own is None:
                return None
            spot = 4 * own * pm
            if not year.hour_basis or not supported:
                return spot, (4 * year.share * max(0, spot - year.thr4) if supported else 0)
            if None in q:
                return None
            mean = _sum4(q) * pm
            return spot, 4 * year.share * max(0, mean - year.thr4)
        if None in q:
            return None
        spot = _sum4(q) * pm
        if not supported:
            return spot, 0
        if year.hour_basis:
            return spot, 4 * year.share * max(0, spot - year.thr4)
        return spot, sum(year.share * max(0, 4 * p * pm - year.thr4) for p in _all(q))

    def priced_hours(at: int, count: int, year: _Year) -> tuple[list[int], list[int]] | None:
        """(spots, rates) of ``count`` intervals from ``at`` (whole hours), one price lookup
        per hour; None when any of their hours lacks a price (the month then goes interval by
        interval)."""
        spots: list[int] = []
        rates: list[int] = []
        share, thr4, supported = year.share, year.thr4, year.supported
        for hour in range(at, at + count * step, 3600):
            q = prices.quarters(hour)
            if None in q:
                return None
            a, b, c, d = _all(q)
            if step == 900:
                spots += (4 * a * pm, 4 * b * pm, 4 * c * pm, 4 * d * pm)
                if not supported:
                    rates += (0, 0, 0, 0)
                elif year.hour_basis:
                    rate = 4 * share * max(0, (a + b + c + d) * pm - thr4)
                    rates += (rate, rate, rate, rate)
                else:
                    rates += [4 * share * max(0, x - thr4) for x in spots[-4:]]
            else:
                spot = (a + b + c + d) * pm
                spots.append(spot)
                if not supported:
                    rates.append(0)
                elif year.hour_basis:
                    rates.append(4 * share * max(0, spot - thr4))
                else:
                    rates.append(sum(share * max(0, 4 * x * pm - thr4) for x in (a, b, c, d)))
        return spots, rates

    day = lead_day
    index = 0
    while day <= last:
        month_end = min(_next_month(day) - timedelta(days=1), last)
        key = (day.year, day.month)
        year = year_of[day.year]
        month = _Acc(key, year, max(day, first), day)
        months.append(month)
        days: list[tuple[date, int, int]] = []
        d = day
        while d <= month_end:
            count = (midnight_s(d + timedelta(days=1)) - midnight_s(d)) // step
            days.append((d, index, index + count))
            index += count
            d += timedelta(days=1)
        lo, hi = days[0][1], days[-1][2]
        start_p = max(lo, min(hi, (period_start - values.start_s) // step))
        if not _fast_month(month, days, lo, hi, start_p, values.start_s, step, quantities,
                           qualities, readable, partial(priced_hours, year=year)):
            _slow_month(month, days, start_p, values.start_s, step, quantities, qualities,
                        readable, priced, flags)
        day = month_end + timedelta(days=1)

    results = [_finish(m, vat_exempt, scales) for m in months if m.intervals]
    flag_rows = [(_utc(r[0]), _utc(r[1]), r[2], r[3], r[4])  # type: ignore[arg-type]
                 for r in flags.runs]
    return results, flag_rows  # type: ignore[return-value]


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _sum4(q: Sequence[int | None]) -> int:
    """The sum of an hour's four prices, all present."""
    return sum(_all(q))


def _all(q: Sequence[int | None]) -> list[int]:
    """An hour's prices, known to be all present."""
    return [p for p in q if p is not None]


def _scales(value_scale: int, price_scale: int, tariffs: Sequence[Tariffs]
            ) -> tuple[int, int, int]:
    """(Sq, E, Ssh): every quantity and cap a whole number of 10^-Sq kWh; every price,
    threshold and Norgespris price a whole number of 10^-E NOK/kWh; every share of 10^-Ssh."""
    sq, e, ssh = value_scale, price_scale + 3, 0
    for t in tariffs:
        for cap in (t.norgespris_cap_household_kwh, t.norgespris_cap_holiday_home_kwh,
                    t.support_cap_kwh):
            sq = max(sq, decimal_scaled(cap)[1])
        for ore in (t.support_threshold_ore, t.norgespris_ore):
            e = max(e, decimal_scaled(ore)[1] + 2)
        ssh = max(ssh, decimal_scaled(t.support_share)[1])
    return sq, e, ssh


def _year(t: Tariffs, consumption_code: str, vat_exempt: bool, scales: tuple[int, int, int]
          ) -> _Year:
    sq, e, ssh = scales

    def at(value: Decimal, scale: int) -> int:
        k, s = decimal_scaled(value)
        return rescale(k, s, scale)

    factor, vat_scale = (1, 0) if vat_exempt else decimal_scaled(1 + t.vat_rate)
    return _Year(
        supported=t.has_support(consumption_code),
        thr4=4 * at(t.support_threshold_ore, e - 2),
        np4=4 * at(t.norgespris_ore, e - 2),
        share=at(t.support_share, ssh),
        np_cap=at(t.norgespris_cap_kwh(consumption_code), sq),
        support_cap=at(t.support_cap_kwh, sq),
        factor=factor, vat_scale=vat_scale,
        hour_basis=t.support_basis == "hour")


def _covers(readable: Sequence[tuple[int, int]] | None, start: int, end: int) -> bool:
    """Whether ``[start, end)`` lies wholly in one readable period."""
    return readable is None or any(s <= start and end <= e for s, e in readable)


def _fast_month(month: _Acc, days: list[tuple[date, int, int]], lo: int, hi: int, start_p: int,
                start_s: int, step: int, quantities: Sequence[int], qualities: bytes,
                readable: Sequence[tuple[int, int]] | None,
                priced_hours: PricedHours) -> bool:
    """Sum a month in one go when every interval has a usable value, may be read and (in the
    period) has a price; False (and nothing changed) otherwise."""
    if not _covers(readable, start_s + lo * step, start_s + hi * step):
        return False
    marks = qualities[lo:hi]
    if any(u in marks for u in _UNUSABLE_BYTES):
        return False
    year = month.year
    found = priced_hours(start_s + start_p * step, hi - start_p)
    if found is None:
        return False
    spots, rates = found
    qs = list(quantities[lo:hi])
    cum = list(accumulate(qs))
    lead = start_p - lo
    qp = qs[lead:]
    energy = sum(qp)
    products = list(map(mul, qp, spots))
    spot = sum(products)

    def capped(cap: int, weights: list[int], weighted: list[int]) -> tuple[int, int]:
        """(kWh under the cap in the period, the same kWh times their weights)."""
        k = bisect_right(cum, cap)  # the first interval whose running total passes the cap
        rel = k - lead
        if rel < 0:  # passed before the period began
            return 0, 0
        if rel >= len(qp):  # never passed
            return energy, sum(weighted)
        part = cap - (cum[k - 1] if k > 0 else 0)
        return sum(qp[:rel]) + part, sum(weighted[:rel]) + part * weights[rel]

    np_sum, np_spot = capped(year.np_cap, spots, products)
    within, support = (capped(year.support_cap, rates, list(map(mul, qp, rates)))
                       if year.supported else (0, 0))
    month.used = cum[-1] if cum else 0
    month.energy = energy
    month.np_kwh = np_sum
    month.above = energy - np_sum
    month.within = within
    month.spot = spot
    month.support = support
    month.with_np = np_sum * year.np4 + spot - np_spot
    month.intervals = hi - start_p
    if month.intervals:
        in_days = [d for d, _, b in days if b > start_p]
        month.first_day, month.last_day = in_days[0], days[-1][0]
        month.readable_seen = True
    return True


def _slow_month(month: _Acc, days: list[tuple[date, int, int]], start_p: int, start_s: int,
                step: int, quantities: Sequence[int], qualities: bytes,
                readable: Sequence[tuple[int, int]] | None, priced: Priced,
                flags: _Run) -> None:
    """One interval at a time, with domain.comparison_decimal's rules."""
    year = month.year
    np_cap, support_cap, supported = year.np_cap, year.support_cap, year.supported
    for local_day, lo, hi in days:
        for i in range(lo, hi):
            at = start_s + i * step
            in_period = i >= start_p
            if readable is not None and not _covers(readable, at, at + step):
                flags.add(at, "not_readable", in_period)
                month.hidden_pending += 1
                continue
            month.lead_in_missing += month.hidden_pending
            month.hidden_pending = 0
            if in_period:
                if not month.readable_seen:
                    month.first_day, month.readable_seen = local_day, True
                month.intervals += 1
                month.last_day = local_day
            code = qualities[i]
            if code in (ABSENT, MISSING, REJECTED):
                flags.add(at, "no_value" if code == ABSENT
                          else f"quality_{QUALITY_NAMES[code]}", in_period)
                if in_period:
                    month.missing_values += 1
                else:
                    month.lead_in_missing += 1
                continue
            kwh = quantities[i]
            np_kwh = min(kwh, max(0, np_cap - month.used))
            within = min(kwh, max(0, support_cap - month.used)) if supported else 0
            month.used += kwh
            found = priced(at, year) if in_period else None
            if in_period and found is None:
                flags.add(at, "no_price", in_period)
                month.missing_prices += 1
            elif found is not None:
                spot, rate = found
                month.energy += kwh
                month.np_kwh += np_kwh
                month.above += kwh - np_kwh
                month.within += within
                month.spot += kwh * spot
                month.support += within * rate
                month.with_np += np_kwh * year.np4 + (kwh - np_kwh) * spot


def _finish(m: _Acc, vat_exempt: bool, scales: tuple[int, int, int]) -> dict[str, object]:
    sq, e, ssh = scales
    year = m.year

    def ore(amount: int, per: int) -> Decimal:
        numerator = amount * year.factor * 100
        denominator = per * power(sq + e + year.vat_scale)
        return as_decimal(round_half_up(numerator, denominator), 2, numerator < 0)

    def wh(amount: int) -> Decimal:
        return as_decimal(round_half_up(amount * 1000, power(sq)), 3)

    spot = ore(m.spot, 4)
    support = ore(m.support, 16 * power(ssh))
    with_np = ore(m.with_np, 4)
    without = spot - support
    return {"energy_kwh": wh(m.energy), "norgespris_kwh": wh(m.np_kwh),
            "above_cap_kwh": wh(m.above), "kwh_within_support_cap": wh(m.within),
            "spot_cost": spot, "support": support, "cost_without": without,
            "cost_with": with_np, "difference": with_np - without,
            "intervals": m.intervals, "missing_values": m.missing_values,
            "missing_prices": m.missing_prices, "lead_in_missing_values": m.lead_in_missing,
            "month": f"{m.key[0]:04d}-{m.key[1]:02d}", "first_day": m.first_day,
            "last_day": m.last_day, "tariffs_year": m.key[0]}


__all__ = ["ABSENT", "QUALITY_CODES", "QUALITY_NAMES", "ExactPrices", "ValueGrid",
           "compare_grid", "quality_code"]
