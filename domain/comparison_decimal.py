"""The Norgespris comparison in exact Decimal arithmetic, one interval at a time: the
reference the integer implementation (domain.comparison.compare) is held against.

It is the comparison as first written, kept unchanged in what it computes: the property test
(tests/unit/test_comparison_exact.py) runs both on random years, DST days and caps and asks for
identical results, and the benchmark shows what the integer one saves. Nothing in the running
hub calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from domain.comparison import (
    HOUR,
    QUARTER,
    UNUSABLE_QUALITIES,
    Comparison,
    Flag,
    MonthComparison,
    Number,
    Tariffs,
    _dec,
    check_request,
    comparison_of,
    day_ahead_resolution,
    price_resolution_at,
)
from domain.read_access import Period
from domain.series import HUB_TIMEZONE, MAX_QUANTITY_KWH, as_utc, midnight

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ORE: Final = Decimal("0.01")
_WH: Final = Decimal("0.001")
_ZERO: Final = Decimal(0)


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
            as_utc(start, "price start"): _dec(price, f"price at {start.isoformat()}") / 1000
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
        at = as_utc(moment, "value start")
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


def compare_decimal(
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
    """``domain.comparison.compare``, one Decimal per interval: the same arguments, the same
    ``ValueError`` for what cannot be compared, and (the property test's claim) the same
    result."""
    step = check_request(consumption_code, first, last, resolution, tariffs_by_year)
    resolution_at = price_resolution_at(price_resolution)
    period_start, period_end = midnight(first), midnight(last + timedelta(days=1))
    lead_start = midnight(first.replace(day=1))
    if readable is not None:  # what the caller may not see is not even checked
        values = [v for v in values if _covered(readable, as_utc(v[0], "value start"), step)]
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

    return comparison_of(tuple(_finish(m, vat_exempt) for m in months if m.intervals),
                         tuple(flags), consumption_code, vat_exempt, tariffs_by_year, first,
                         last, resolution)


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


