"""What a metering point's energy would have cost with and without Norgespris.

For one point and a period of Norwegian days, from the point's own metering values and its
area's day-ahead prices, per Norwegian calendar month:

* **spot cost**: every kWh at the area price of its interval;
* **support** (strømstøtte, households only): ``share × (price − threshold)`` per kWh when the
  price is above the threshold, for the first ``support_cap_kwh`` of the month;
* **cost without Norgespris** = spot cost − support;
* **cost with Norgespris**: the Norgespris price for the first ``norgespris_cap`` kWh of the
  month (5,000 household, 1,000 holiday home), the spot price above it; no support;
* **difference** = cost with − cost without (negative: Norgespris is cheaper).

Only the energy price is compared: grid tariff, taxes and the supplier's markup are the same
either way (the grid owner settles Norgespris as the difference to the spot price) and drop
out of the difference. Amounts are NOK, including VAT unless the point is VAT-exempt
(Nordland, Troms, Finnmark).

Rules and decisions:

* **Caps run chronologically from the 1st of the month**, over every interval with a usable
  value, also values before ``first`` when the period starts mid-month (pass them: they use
  cap volume but are not reported; lacking ones are flagged and make the month incomplete),
  and also intervals whose price is missing (the energy was used even if it cannot be priced).
  An interval that crosses a cap is split: the part below at the capped price, the rest above.
  The support cap counts all consumption, hours without support included.
* **Never guessed**: an interval without a usable value (absent, quality ``missing`` or
  ``rejected``) or without a price is flagged, left out of every sum, and its month marked
  incomplete.
* **Prices** are NOK/MWh (÷ 1,000 = NOK/kWh). PT15M values with PT1H prices: each quarter-hour
  at its hour's price. PT1H values with PT15M prices: the hour's price is the simple mean of
  its four quarter-hour prices, i.e. the hourly value is taken as spread evenly over the hour
  (as settlement treats hourly-metered points); all four must be there.
* **Support basis** (unconfirmed, a setting): ``"hour"`` applies the rate of the hour's price
  (the mean of its quarter-hours when prices are PT15M) to all the hour's consumption;
  ``"quarter-hour"`` applies each quarter-hour's own rate (an hourly value spread evenly:
  the mean of the four quarter-hour rates). On the hour basis a quarter-hour's support needs
  all four prices of its hour; without them the quarter-hour is flagged ``no_price``.
* **Only what the caller may read** (domain.read_access): given ``readable`` periods, an
  interval outside them is left out as if the point had no value there, flagged
  ``not_readable`` and not counted in ``intervals``; one before a readable interval of the same
  month counts as a lead-in value lacking (the caps could not be counted exactly), so a
  supplier that took over mid-month gets its own days, marked incomplete, and nothing of its
  predecessor's consumption, not even through the caps.
* Exact arithmetic; each month's spot cost, support and cost with Norgespris are rounded to
  øre (half up) once, at the end, and the other figures derived from the rounded ones, so that
  every row and the totals (sums of the months) add up exactly. The sums are integers at a
  common scale (domain.comparison_core); the first implementation, one Decimal per interval,
  stays as the reference they are tested against (domain.comparison_decimal).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Literal

from domain.comparison_core import ExactPrices, ValueGrid, compare_grid, quality_code
from domain.exact_numbers import number_scaled, power, rescale
from domain.norgespris import HOLIDAY_HOME, HOUSEHOLD
from domain.read_access import Period
from domain.series import HUB_TIMEZONE, MAX_QUANTITY_KWH, RESOLUTIONS, as_utc, midnight

SupportBasis = Literal["hour", "quarter-hour"]
SUPPORT_BASES: Final = ("hour", "quarter-hour")

QUARTER: Final = timedelta(minutes=15)
HOUR: Final = timedelta(hours=1)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO: Final = Decimal(0)

UNUSABLE_QUALITIES: Final = frozenset({"missing", "rejected"})
"""Qualities that are not a value: such intervals are flagged like absent ones."""

QUARTER_HOUR_PRICES_FROM: Final = datetime(2025, 10, 1, tzinfo=HUB_TIMEZONE).astimezone(UTC)
"""First delivery day of the 15-minute day-ahead market in NO1–NO5 (1 Oct 2025)."""


def day_ahead_resolution(hour_start: datetime) -> str:
    """Resolution of the day-ahead prices for the hour starting at ``hour_start``."""
    return "PT15M" if hour_start >= QUARTER_HOUR_PRICES_FROM else "PT1H"


def price_resolution_at(price_resolution: str | Callable[[datetime], str]
                        ) -> Callable[[datetime], str]:
    """The prices' resolution as a function of the hour's start (a fixed one for every hour)."""
    if callable(price_resolution):
        return price_resolution
    return lambda _hour: price_resolution


Number = Decimal | int | float | str


def _dec(value: object, name: str) -> Decimal:
    """An exact Decimal; floats go through ``str`` so 0.1 stays 0.1."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, not {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(str(value))
    else:
        raise TypeError(f"{name} must be a number, not {value!r}")
    if not result.is_finite():
        raise ValueError(f"{name} must be finite, not {value!r}")
    return result


@dataclass(frozen=True)
class Tariffs:
    """Every parameter of the comparison for one year, as configuration.

    The defaults are the known values (domain.md); ``unconfirmed`` names the fields whose
    value is a default nobody has confirmed, and ``notes`` says what the numbers mean for the
    year. Amounts in øre/kWh excluding VAT. Numbers given as int/float/str become ``Decimal``.
    """

    year: int
    norgespris_ore: Decimal = Decimal(40)
    norgespris_cap_household_kwh: Decimal = Decimal(5000)
    norgespris_cap_holiday_home_kwh: Decimal = Decimal(1000)
    support_threshold_ore: Decimal = Decimal(75)
    support_share: Decimal = Decimal("0.90")
    support_cap_kwh: Decimal = Decimal(5000)
    support_for_holiday_homes: bool = False
    vat_rate: Decimal = Decimal("0.25")
    support_basis: SupportBasis = "hour"
    unconfirmed: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.type == "Decimal":
                value = _dec(getattr(self, f.name), f.name)
                if value < 0:
                    raise ValueError(f"{f.name} must not be negative, got {value}")
                object.__setattr__(self, f.name, value)
        if self.support_basis not in SUPPORT_BASES:
            raise ValueError(
                f"support_basis must be one of {', '.join(SUPPORT_BASES)}, "
                f"got {self.support_basis!r}"
            )
        names = {f.name for f in fields(self)}
        unknown = [n for n in self.unconfirmed if n not in names]
        if unknown:
            raise ValueError(f"unconfirmed names unknown parameters: {', '.join(unknown)}")

    def norgespris_cap_kwh(self, consumption_code: str) -> Decimal:
        if consumption_code == HOLIDAY_HOME:
            return self.norgespris_cap_holiday_home_kwh
        return self.norgespris_cap_household_kwh

    def has_support(self, consumption_code: str) -> bool:
        return consumption_code == HOUSEHOLD or (
            consumption_code == HOLIDAY_HOME and self.support_for_holiday_homes
        )


KNOWN_TARIFFS: Final[Mapping[int, Tariffs]] = {
    2024: Tariffs(
        2024,
        support_threshold_ore=Decimal(73),
        notes=("Norgespris did not exist in 2024: its 40 øre is applied as a what-if",),
    ),
    2025: Tariffs(
        2025,
        support_threshold_ore=Decimal(75),
        unconfirmed=("support_basis",),
        notes=(
            "Norgespris applies from 1 Oct 2025; for earlier months it is a what-if",
            "day-ahead prices are quarter-hourly from 1 Oct 2025; whether strømstøtte is "
            "computed per hour or per quarter-hour is unconfirmed (support_basis)",
        ),
    ),
    2026: Tariffs(
        2026,
        # Unconfirmed: 2025's threshold carried forward until the 2026 value is configured.
        support_threshold_ore=Decimal(75),
        unconfirmed=("support_threshold_ore", "support_basis"),
        notes=(
            "the 2026 strømstøtte threshold is unconfirmed: 2025's 75 øre is carried forward "
            "as a default; configure support_threshold_ore",
            "whether strømstøtte is computed per hour or per quarter-hour is unconfirmed "
            "(support_basis)",
        ),
    ),
}
"""The known parameters per year (domain.md). Other years must be configured."""


def tariffs_for(year: int, overrides: Mapping[str, Any] | None = None) -> Tariffs:
    """The known parameters of ``year`` with ``overrides`` (field name → value) applied.

    An overridden parameter counts as configured: it leaves ``unconfirmed``. A year with no
    known parameters raises ``ValueError``: build ``Tariffs(year, ...)`` from configuration.
    """
    try:
        base = KNOWN_TARIFFS[year]
    except KeyError:
        known = ", ".join(str(y) for y in sorted(KNOWN_TARIFFS))
        raise ValueError(
            f"no known Norgespris/strømstøtte parameters for {year} (known: {known}); "
            "configure them as Tariffs(year, ...)"
        ) from None
    if not overrides:
        return base
    names = {f.name for f in fields(Tariffs)} - {"year", "unconfirmed"}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"unknown tariff parameters: {', '.join(unknown)}")
    unconfirmed = tuple(n for n in base.unconfirmed if n not in overrides)
    return replace(base, **overrides, unconfirmed=unconfirmed)


@dataclass(frozen=True)
class Flag:
    """A run of consecutive intervals left out of the comparison, and why.

    ``reason``: ``no_value`` (absent), ``quality_missing``, ``quality_rejected``,
    ``no_price`` or ``not_readable`` (outside the caller's periods). ``in_period`` is False
    for intervals before ``first`` in its month, whose values were needed only to count the
    monthly caps.
    """

    start: datetime
    end: datetime
    reason: str
    intervals: int
    in_period: bool


@dataclass(frozen=True)
class Figures:
    """The comparison's figures for a month or the whole period.

    kWh rounded to Wh, money to øre (NOK, incl. VAT where applicable). ``intervals`` counts
    the intervals in the period; ``missing_values``/``missing_prices`` those left out;
    ``lead_in_missing_values`` the intervals before ``first`` in the month without a value
    (the caps could not be counted exactly).
    """

    energy_kwh: Decimal
    norgespris_kwh: Decimal
    above_cap_kwh: Decimal
    kwh_within_support_cap: Decimal
    spot_cost: Decimal
    support: Decimal
    cost_without: Decimal
    cost_with: Decimal
    difference: Decimal
    intervals: int
    missing_values: int
    missing_prices: int
    lead_in_missing_values: int

    @property
    def complete(self) -> bool:
        return not (self.missing_values or self.missing_prices or self.lead_in_missing_values)


@dataclass(frozen=True)
class MonthComparison(Figures):
    """One Norwegian calendar month (or the part of it in the period)."""

    month: str
    """``YYYY-MM``."""
    first_day: date
    last_day: date
    tariffs_year: int


@dataclass(frozen=True)
class Comparison:
    """The comparison for one point and period, with the parameters it used."""

    first: date
    last: date
    consumption_code: str
    vat_exempt: bool
    resolution: str
    months: tuple[MonthComparison, ...]
    totals: Figures
    flags: tuple[Flag, ...]
    tariffs: tuple[Tariffs, ...]
    method: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return self.totals.complete


def _method(resolution: str, consumption_code: str) -> tuple[str, ...]:
    lines = [
        "prices in NOK/MWh ÷ 1000 = NOK/kWh; only the energy price is compared",
        "monthly caps counted in chronological order from the 1st of the Norwegian month; "
        "an interval crossing a cap is split",
        "difference = cost with Norgespris − cost without (negative: Norgespris is cheaper)",
        "intervals without a usable value or price are flagged and left out, never estimated",
    ]
    if resolution == "PT15M":
        lines.append("PT1H prices: each quarter-hour at its hour's price")
    else:
        lines.append(
            "PT15M prices: an hour's price is the mean of its four quarter-hour prices "
            "(the hourly value spread evenly over the hour)"
        )
    if consumption_code == HOLIDAY_HOME:
        lines.append("holiday homes: no strømstøtte")
    return tuple(lines)


def _total(months: Sequence[MonthComparison]) -> Figures:
    def add(amounts: Iterable[Decimal]) -> Decimal:
        return sum(amounts, _ZERO)

    return Figures(
        energy_kwh=add(m.energy_kwh for m in months),
        norgespris_kwh=add(m.norgespris_kwh for m in months),
        above_cap_kwh=add(m.above_cap_kwh for m in months),
        kwh_within_support_cap=add(m.kwh_within_support_cap for m in months),
        spot_cost=add(m.spot_cost for m in months),
        support=add(m.support for m in months),
        cost_without=add(m.cost_without for m in months),
        cost_with=add(m.cost_with for m in months),
        difference=add(m.difference for m in months),
        intervals=sum(m.intervals for m in months),
        missing_values=sum(m.missing_values for m in months),
        missing_prices=sum(m.missing_prices for m in months),
        lead_in_missing_values=sum(m.lead_in_missing_values for m in months),
    )


# The comparison ---------------------------------------------------------------------------


def check_request(consumption_code: str, first: date, last: date, resolution: str,
                  tariffs_by_year: Mapping[int, Tariffs]) -> timedelta:
    """The step of ``resolution``; ValueError for what cannot be compared (see compare)."""
    if consumption_code not in (HOUSEHOLD, HOLIDAY_HOME):
        raise ValueError(
            f"consumption code {consumption_code} cannot have Norgespris (only 35 and 36)"
        )
    if last < first:
        raise ValueError(f"last {last.isoformat()} is before first {first.isoformat()}")
    try:
        step = RESOLUTIONS[resolution]
    except KeyError:
        raise ValueError(f"resolution {resolution!r} is not PT15M or PT1H") from None
    missing_years = sorted(set(range(first.year, last.year + 1)) - set(tariffs_by_year))
    if missing_years:
        raise ValueError(
            "no tariffs for " + ", ".join(str(y) for y in missing_years)
            + " (tariffs_for(year) or Tariffs(year, ...))"
        )
    return step


def lead_start(first: date) -> datetime:
    """00:00 Norwegian time on the 1st of ``first``'s month, in UTC: where the caps begin."""
    return midnight(first.replace(day=1))


def period_seconds(periods: Sequence[Period]) -> list[tuple[int, int]]:
    """Periods as whole UTC seconds that cover exactly the same interval starts."""
    return [(math.ceil(p.start.timestamp()), math.floor(p.end.timestamp())) for p in periods]


def compare(
    values: Iterable[tuple[datetime, Number, str]],
    prices: Mapping[datetime, Number],
    consumption_code: str,
    vat_exempt: bool,
    tariffs_by_year: Mapping[int, Tariffs],
    first: date,
    last: date,
    *,
    resolution: str,
    price_resolution: str | Callable[[datetime], str] = day_ahead_resolution,
    readable: Sequence[Period] | None = None,
) -> Comparison:
    """Compare the point's energy cost with and without Norgespris, days ``first..last``.

    ``values``: ``(interval start, kWh, quality)`` at the point's ``resolution`` (PT15M or
    PT1H), from the 1st of ``first``'s month when ``first`` is not the 1st (for the caps).
    ``prices``: the area's prices by interval start, NOK/MWh, at ``price_resolution`` (a
    resolution, or a function of the hour's start; by default PT1H before 1 Oct 2025 and
    PT15M from then on). ``tariffs_by_year`` must hold every year the period touches.
    ``readable``: the periods whose values the caller may see (None: all of them); values
    outside them are ignored, whatever ``values`` holds.

    Raises ``ValueError`` for a consumption code other than 35/36, ``last < first``, an
    unknown resolution, a missing year of tariffs, values off the resolution grid, two values
    for one interval, or a negative value.
    """
    step = check_request(consumption_code, first, last, resolution, tariffs_by_year)
    resolution_at = price_resolution_at(price_resolution)
    grid = _grid(values, step, resolution, first, last, readable)
    return compare_exact(grid, MappedPrices(prices, resolution_at), consumption_code,
                         vat_exempt, tariffs_by_year, first, last, resolution=resolution,
                         readable=readable)


def compare_exact(
    grid: ValueGrid,
    prices: ExactPrices,
    consumption_code: str,
    vat_exempt: bool,
    tariffs_by_year: Mapping[int, Tariffs],
    first: date,
    last: date,
    *,
    resolution: str,
    readable: Sequence[Period] | None = None,
) -> Comparison:
    """The comparison of values already on their grid as integers (a point's stored values)
    and prices as integers; ``compare`` without reading any number twice."""
    check_request(consumption_code, first, last, resolution, tariffs_by_year)
    rows, flag_rows = compare_grid(
        grid, prices, consumption_code, vat_exempt, tariffs_by_year, first, last,
        None if readable is None else period_seconds(readable))
    return comparison_of(
        tuple(MonthComparison(**row) for row in rows),  # type: ignore[arg-type]
        tuple(Flag(*row) for row in flag_rows), consumption_code, vat_exempt,
        tariffs_by_year, first, last, resolution)


def comparison_of(months: tuple[MonthComparison, ...], flags: tuple[Flag, ...],
                  consumption_code: str, vat_exempt: bool,
                  tariffs_by_year: Mapping[int, Tariffs], first: date, last: date,
                  resolution: str) -> Comparison:
    """The comparison from its months and flags: the totals, the tariffs the months used and
    their notes, the method. Shared by the integer implementation and the Decimal reference,
    which differ only in how they reach the months."""
    used_years = sorted({m.tariffs_year for m in months})
    used = tuple(tariffs_by_year[y] for y in used_years)
    notes = tuple(
        [f"{t.year}: {note}" for t in used for note in t.notes]
        + [f"{t.year}: {name} is an unconfirmed default" for t in used for name in t.unconfirmed]
    )
    return Comparison(
        first=first,
        last=last,
        consumption_code=consumption_code,
        vat_exempt=vat_exempt,
        resolution=resolution,
        months=months,
        totals=_total(months),
        flags=flags,
        tariffs=used,
        method=_method(resolution, consumption_code),
        notes=notes,
    )


def _grid(values: Iterable[tuple[datetime, Number, str]], step: timedelta, resolution: str,
          first: date, last: date, readable: Sequence[Period] | None) -> ValueGrid:
    """The values on the comparison's grid, checked as the reference checks them."""
    start = lead_start(first)
    end = midnight(last + timedelta(days=1))
    count = (end - start) // step
    step_s = int(step.total_seconds())
    start_s = int(start.timestamp())
    scaled: list[int] = [0] * count
    scales: list[int] = [0] * count
    marks = bytearray(count)
    periods = None if readable is None else period_seconds(readable)
    for moment, quantity, quality in values:
        at = as_utc(moment, "value start")
        if periods is not None:
            s = int(at.timestamp()) if at.microsecond == 0 else None
            if s is None or not any(a <= s and s + step_s <= b for a, b in periods):
                continue
        if (at - _EPOCH) % step:
            raise ValueError(f"value at {moment.isoformat()} is not on the {resolution} grid")
        if not start <= at < end:
            continue
        i = (at - start) // step
        if marks[i]:
            raise ValueError(f"two values for the interval starting {moment.isoformat()}")
        k, s = number_scaled(quantity, f"value at {moment.isoformat()}")
        if k < 0:
            raise ValueError(f"value at {moment.isoformat()} is negative "
                             f"({_dec(quantity, 'value')} kWh)")
        if k > MAX_QUANTITY_KWH * power(s):
            raise ValueError(f"value at {moment.isoformat()} is above the hub's largest "
                             f"quantity ({_dec(quantity, 'value')} kWh)")
        scaled[i], scales[i], marks[i] = k, s, quality_code(quality)
    scale = max(scales, default=0)
    quantities = [rescale(k, s, scale) for k, s in zip(scaled, scales, strict=True)]
    return ValueGrid(start_s, step_s, quantities, bytes(marks), scale)



class MappedPrices:
    """Prices given as a mapping of interval starts (NOK/MWh), as exact integers; every price
    is read (and a bad one refused) up front, as the reference does."""

    def __init__(self, prices: Mapping[datetime, Number],
                 resolution_at: Callable[[datetime], str]) -> None:
        exact: dict[int, tuple[int, int]] = {}
        for start, price in prices.items():
            at = as_utc(start, "price start")
            k_s = number_scaled(price, f"price at {start.isoformat()}")
            if at.microsecond == 0:  # a start between whole seconds is no interval's start
                exact[int(at.timestamp())] = k_s
        self.scale = max((s for _, s in exact.values()), default=0)
        self._by_start = {at: rescale(k, s, self.scale) for at, (k, s) in exact.items()}
        self._resolution_at = resolution_at

    def quarters(self, hour_s: int) -> list[int | None]:
        resolution = self._resolution_at(datetime.fromtimestamp(hour_s, UTC))
        if resolution == "PT1H":
            return [self._by_start.get(hour_s)] * 4
        if resolution == "PT15M":
            return [self._by_start.get(hour_s + n * 900) for n in range(4)]
        raise ValueError(f"price resolution {resolution!r} is not PT15M or PT1H")
