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
* Exact ``Decimal`` arithmetic; each month's spot cost, support and cost with Norgespris are
  rounded to øre (half up) once, at the end, and the other figures derived from the rounded
  ones, so that every row and the totals (sums of the months) add up exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final, Literal

from domain.norgespris import HOLIDAY_HOME, HOUSEHOLD
from domain.read_access import Period
from domain.series import HUB_TIMEZONE, MAX_QUANTITY_KWH, RESOLUTIONS

SupportBasis = Literal["hour", "quarter-hour"]
SUPPORT_BASES: Final = ("hour", "quarter-hour")

QUARTER: Final = timedelta(minutes=15)
HOUR: Final = timedelta(hours=1)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ORE: Final = Decimal("0.01")
_WH: Final = Decimal("0.001")
_ZERO: Final = Decimal(0)

UNUSABLE_QUALITIES: Final = frozenset({"missing", "rejected"})
"""Qualities that are not a value: such intervals are flagged like absent ones."""

QUARTER_HOUR_PRICES_FROM: Final = datetime(2025, 10, 1, tzinfo=HUB_TIMEZONE).astimezone(UTC)
"""First delivery day of the 15-minute day-ahead market in NO1–NO5 (1 Oct 2025)."""


def day_ahead_resolution(hour_start: datetime) -> str:
    """Resolution of the day-ahead prices for the hour starting at ``hour_start``."""
    return "PT15M" if hour_start >= QUARTER_HOUR_PRICES_FROM else "PT1H"


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


@dataclass
class _Month:
    key: tuple[int, int]
    tariffs: Tariffs
    first_day: date
    last_day: date
    np_used: Decimal = _ZERO
    support_used: Decimal = _ZERO
    energy: Decimal = _ZERO
    np_kwh: Decimal = _ZERO
    above: Decimal = _ZERO
    within_support_cap: Decimal = _ZERO
    spot: Decimal = _ZERO
    support: Decimal = _ZERO
    with_np: Decimal = _ZERO
    intervals: int = 0
    missing_values: int = 0
    missing_prices: int = 0
    lead_in_missing: int = 0
    hidden_pending: int = 0
    readable_seen: bool = False


def _utc(moment: datetime, name: str) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"{name} {moment.isoformat()} has no UTC offset")
    return moment.astimezone(UTC)


def _midnight(day: date) -> datetime:
    """00:00 Europe/Oslo on ``day``, in UTC."""
    return datetime.combine(day, time(0), HUB_TIMEZONE).astimezone(UTC)


def _round(amount: Decimal) -> Decimal:
    return amount.quantize(_ORE, rounding=ROUND_HALF_UP)


def _kwh(amount: Decimal) -> Decimal:
    return amount.quantize(_WH, rounding=ROUND_HALF_UP)


class _Prices:
    """Area prices by interval start, read at the values' resolution (NOK/kWh)."""

    def __init__(
        self,
        prices: Mapping[datetime, Number],
        resolution_at: Callable[[datetime], str],
    ) -> None:
        self._by_start = {
            _utc(start, "price start"): _dec(price, f"price at {start.isoformat()}") / 1000
            for start, price in prices.items()
        }
        self._resolution_at = resolution_at

    def quarters(self, hour: datetime) -> list[Decimal | None]:
        """The four quarter-hour prices of the hour (an hourly price four times)."""
        resolution = self._resolution_at(hour)
        if resolution == "PT1H":
            return [self._by_start.get(hour)] * 4
        if resolution == "PT15M":
            return [self._by_start.get(hour + n * QUARTER) for n in range(4)]
        raise ValueError(f"price resolution {resolution!r} is not PT15M or PT1H")


def _mean(prices: Sequence[Decimal]) -> Decimal:
    return sum(prices, _ZERO) / len(prices)


def _interval_prices(
    start: datetime,
    step: timedelta,
    prices: _Prices,
    tariffs: Tariffs,
    supported: bool,
) -> tuple[Decimal, Decimal] | None:
    """(spot price, support per kWh) for the interval, NOK/kWh excl. VAT; None if unpriced."""
    hour = start - (start - _EPOCH) % HOUR
    quarters = prices.quarters(hour)
    threshold = tariffs.support_threshold_ore / 100

    def rate(price: Decimal) -> Decimal:
        return tariffs.support_share * max(_ZERO, price - threshold) if supported else _ZERO

    whole_hour = [p for p in quarters if p is not None]
    if step == QUARTER:
        own = quarters[(start - hour) // QUARTER]
        if own is None:
            return None
        if tariffs.support_basis == "quarter-hour" or not supported:
            return own, rate(own)
        if len(whole_hour) < 4:
            return None
        return own, rate(_mean(whole_hour))
    if len(whole_hour) < 4:
        return None
    spot = _mean(whole_hour)
    if tariffs.support_basis == "hour":
        return spot, rate(spot)
    return spot, _mean([rate(p) for p in whole_hour])


def _parse_values(
    values: Iterable[tuple[datetime, Number, str]],
    step: timedelta,
    resolution: str,
    start: datetime,
    end: datetime,
) -> dict[datetime, tuple[Decimal, str]]:
    parsed: dict[datetime, tuple[Decimal, str]] = {}
    for moment, quantity, quality in values:
        at = _utc(moment, "value start")
        if (at - _EPOCH) % step:
            raise ValueError(f"value at {moment.isoformat()} is not on the {resolution} grid")
        if not start <= at < end:
            continue
        if at in parsed:
            raise ValueError(f"two values for the interval starting {moment.isoformat()}")
        kwh = _dec(quantity, f"value at {moment.isoformat()}")
        if kwh < 0:
            raise ValueError(f"value at {moment.isoformat()} is negative ({kwh} kWh)")
        if kwh > MAX_QUANTITY_KWH:
            raise ValueError(f"value at {moment.isoformat()} is above the hub's largest "
                             f"quantity ({kwh} kWh)")
        parsed[at] = (kwh, quality)
    return parsed


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
    resolution_at = (
        price_resolution if callable(price_resolution) else (lambda _hour: price_resolution)
    )
    period_start, period_end = _midnight(first), _midnight(last + timedelta(days=1))
    lead_start = _midnight(first.replace(day=1))
    if readable is not None:  # what the caller may not see is not even checked
        values = [v for v in values if _covered(readable, _utc(v[0], "value start"), step)]
    by_start = _parse_values(values, step, resolution, lead_start, period_end)
    area_prices = _Prices(prices, resolution_at)

    months: list[_Month] = []
    flags: list[Flag] = []

    def flag(at: datetime, reason: str, in_period: bool) -> None:
        last_flag = flags[-1] if flags else None
        if (
            last_flag is not None
            and last_flag.end == at
            and last_flag.reason == reason
            and last_flag.in_period == in_period
        ):
            flags[-1] = replace(last_flag, end=at + step, intervals=last_flag.intervals + 1)
        else:
            flags.append(Flag(at, at + step, reason, 1, in_period))

    at = lead_start
    while at < period_end:
        local_day = at.astimezone(HUB_TIMEZONE).date()
        key = (local_day.year, local_day.month)
        if not months or months[-1].key != key:
            months.append(
                _Month(key, tariffs_by_year[local_day.year], max(local_day, first), local_day)
            )
        month = months[-1]
        tariffs = month.tariffs
        in_period = at >= period_start
        if readable is not None and not _covered(readable, at, step):
            flag(at, "not_readable", in_period)
            month.hidden_pending += 1
            at += step
            continue
        month.lead_in_missing += month.hidden_pending  # the caps used hidden energy
        month.hidden_pending = 0
        if in_period:
            if not month.readable_seen:
                month.first_day, month.readable_seen = local_day, True
            month.intervals += 1
            month.last_day = local_day
        value = by_start.get(at)
        if value is None or value[1] in UNUSABLE_QUALITIES:
            flag(at, "no_value" if value is None else f"quality_{value[1]}", in_period)
            if in_period:
                month.missing_values += 1
            else:
                month.lead_in_missing += 1
            at += step
            continue
        kwh = value[0]
        supported = tariffs.has_support(consumption_code)
        np_cap = tariffs.norgespris_cap_kwh(consumption_code)
        np_kwh = min(kwh, max(_ZERO, np_cap - month.np_used))
        within_support_cap = (
            min(kwh, max(_ZERO, tariffs.support_cap_kwh - month.support_used))
            if supported else _ZERO
        )
        month.np_used += kwh
        month.support_used += kwh
        priced = (
            _interval_prices(at, step, area_prices, tariffs, supported) if in_period else None
        )
        if in_period and priced is None:
            flag(at, "no_price", in_period)
            month.missing_prices += 1
        elif priced is not None:
            spot, support_rate = priced
            month.energy += kwh
            month.np_kwh += np_kwh
            month.above += kwh - np_kwh
            month.within_support_cap += within_support_cap
            month.spot += kwh * spot
            month.support += within_support_cap * support_rate
            month.with_np += np_kwh * tariffs.norgespris_ore / 100 + (kwh - np_kwh) * spot
        at += step

    results = tuple(_finish(m, vat_exempt) for m in months if m.intervals)
    used_years = sorted({m.tariffs_year for m in results})
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
        months=results,
        totals=_total(results),
        flags=tuple(flags),
        tariffs=used,
        method=_method(resolution, consumption_code),
        notes=notes,
    )


def _covered(periods: Sequence[Period], start: datetime, step: timedelta) -> bool:
    """Whether the whole interval ``[start, start + step)`` lies in one of ``periods``."""
    return any(p.start <= start and start + step <= p.end for p in periods)


def _finish(month: _Month, vat_exempt: bool) -> MonthComparison:
    factor = 1 if vat_exempt else 1 + month.tariffs.vat_rate
    spot = _round(month.spot * factor)
    support = _round(month.support * factor)
    with_np = _round(month.with_np * factor)
    without = spot - support
    year, number = month.key
    return MonthComparison(
        energy_kwh=_kwh(month.energy),
        norgespris_kwh=_kwh(month.np_kwh),
        above_cap_kwh=_kwh(month.above),
        kwh_within_support_cap=_kwh(month.within_support_cap),
        spot_cost=spot,
        support=support,
        cost_without=without,
        cost_with=with_np,
        difference=with_np - without,
        intervals=month.intervals,
        missing_values=month.missing_values,
        missing_prices=month.missing_prices,
        lead_in_missing_values=month.lead_in_missing,
        month=f"{year:04d}-{number:02d}",
        first_day=month.first_day,
        last_day=month.last_day,
        tariffs_year=year,
    )


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
