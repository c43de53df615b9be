"""Finding 2 of issue 20: reads stay within the caller's periods.

The comparison granted access when the caller supplied the point on any day of the range, and
then showed the energy of the whole range: a supplier that took over on the 28th read its
predecessor's days, and the predecessor its successor's. The matrix below asks the same range
as every kind of caller of a point whose supplier changes inside it, and checks what each sees.

The point: household in NO1, PT1H. Supplier A from 1 Jan 2026, supplier B from 28 Jan. Third
party T with access from 20 Jan to 3 Feb. A's days use 1 kWh an hour, B's 2 kWh, so every
energy figure says whose days it contains. The range asked: 10 Jan to 5 Feb.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.comparison import Comparison, Tariffs, compare
from domain.metering_point import MeteringPoint, ThirdPartyAccess
from domain.read_access import Period, readable_periods
from domain.series import HUB_TIMEZONE, midnight
from tests.unit.builders import GRID_OWNER, gln, metering_point

A, B, T = gln("708000000002"), gln("708000000003"), gln("708000000004")
STRANGER = gln("708000000005")
SWITCH = date(2026, 1, 28)
FIRST, LAST = date(2026, 1, 10), date(2026, 2, 5)
ACCESS = ThirdPartyAccess(T, datetime(2026, 1, 20, tzinfo=HUB_TIMEZONE),
                          datetime(2026, 2, 3, tzinfo=HUB_TIMEZONE))
TARIFFS = {2026: Tariffs(2026, support_threshold_ore=Decimal(75))}


def point(*supplies: tuple[str, date]) -> MeteringPoint:
    return metering_point(supplies=supplies or ((A, date(2026, 1, 1)), (B, SWITCH)),
                          access=(ACCESS,))


def hours(first: date, last: date) -> list[datetime]:
    at = midnight(first)
    end = midnight(last + timedelta(days=1))
    out = []
    while at < end:
        out.append(at)
        at += timedelta(hours=1)
    return out


def values(owner_of: Any) -> list[tuple[datetime, float, str]]:
    """Every hour of Jan and Feb: 1 kWh on A's days, 2 kWh on B's (as ``owner_of`` says)."""
    return [(h, 1.0 if owner_of(h.astimezone(HUB_TIMEZONE).date()) == A else 2.0, "measured")
            for h in hours(date(2026, 1, 1), date(2026, 2, 28))]


def compare_as(p: MeteringPoint, party: str, roles: set[str],
               vals: list[tuple[datetime, float, str]] | None = None) -> Comparison | None:
    """The comparison ``party`` gets, as the API computes it (None: nothing it may read)."""
    asked = Period(midnight(FIRST.replace(day=1)), midnight(LAST + timedelta(days=1)))
    periods = readable_periods(p, party, roles, asked)
    if not any(period.end > midnight(FIRST) for period in periods):
        return None
    prices = {h: 1000.0 for h in hours(date(2026, 1, 1), date(2026, 2, 28))}
    return compare(vals if vals is not None else values(p.supplier_on), prices, "35", False,
                   TARIFFS, FIRST, LAST, resolution="PT1H", price_resolution="PT1H",
                   readable=periods)


def kwh(days: int, per_hour: int) -> Decimal:
    return Decimal(days * 24 * per_hour)


# 10-27 Jan: 18 of A's days; 28-31 Jan: 4 of B's; 1-5 Feb: 5 of B's; T: 20 Jan - 2 Feb.
MATRIX = [
    pytest.param(GRID_OWNER, {"grid_owner"},
                 kwh(18, 1) + kwh(4, 2), kwh(5, 2), id="grid owner: everything"),
    pytest.param(gln("708000000009"), {"operator"},
                 kwh(18, 1) + kwh(4, 2), kwh(5, 2), id="operator: everything"),
    pytest.param(A, {"supplier"}, kwh(18, 1), None, id="old supplier: its days only"),
    pytest.param(B, {"supplier"}, kwh(4, 2), kwh(5, 2), id="new supplier: its days only"),
    pytest.param(T, {"third_party"}, kwh(8, 1) + kwh(4, 2), kwh(2, 2),
                 id="third party: its access window"),
    pytest.param(A, {"supplier", "grid_owner"}, kwh(18, 1), None,
                 id="a supplier holding grid_owner of other points: its supply only"),
    pytest.param(T, {"supplier"}, None, None, id="the third party's id as a supplier: nothing"),
    pytest.param(STRANGER, {"supplier", "third_party", "grid_owner"}, None, None,
                 id="stranger: nothing"),
]


@pytest.mark.parametrize(("party", "roles", "january", "february"), MATRIX)
def test_each_caller_sees_only_its_own_periods(party: str, roles: set[str],
                                               january: Decimal | None,
                                               february: Decimal | None) -> None:
    result = compare_as(point(), party, roles)
    if january is None and february is None:
        assert result is None
        return
    assert result is not None
    by_month = {m.month: m.energy_kwh for m in result.months}
    assert by_month.get("2026-01") == january
    assert by_month.get("2026-02") == february
    assert result.totals.energy_kwh == (january or 0) + (february or 0)


def test_the_new_supplier_gets_no_trace_of_the_old_suppliers_days() -> None:
    """Not through the figures, nor through the caps: B's January is flagged incomplete
    (the month's caps were partly used before its first day), A's days are flagged
    ``not_readable``, and the month starts on B's first day."""
    result = compare_as(point(), B, {"supplier"})
    assert result is not None
    january = next(m for m in result.months if m.month == "2026-01")
    assert (january.first_day, january.last_day) == (SWITCH, date(2026, 1, 31))
    assert january.intervals == 4 * 24
    assert january.lead_in_missing_values == 27 * 24  # 1-27 Jan used the caps, unseen
    assert not january.complete
    february = next(m for m in result.months if m.month == "2026-02")
    assert february.complete
    hidden = [f for f in result.flags if f.reason == "not_readable"]
    assert hidden and all(f.end <= midnight(SWITCH) for f in hidden)


def test_the_old_supplier_gets_a_complete_answer_for_its_days() -> None:
    result = compare_as(point(), A, {"supplier"})
    assert result is not None
    [january] = result.months
    assert (january.first_day, january.last_day) == (FIRST, SWITCH - timedelta(days=1))
    assert january.complete
    assert all(f.start >= midnight(SWITCH) for f in result.flags
               if f.reason == "not_readable")


def test_a_supplier_that_comes_back_sees_both_of_its_periods() -> None:
    back = date(2026, 2, 3)
    p = point((A, date(2026, 1, 1)), (B, SWITCH), (A, back))
    result = compare_as(p, A, {"supplier"})
    assert result is not None
    by_month = {m.month: m.energy_kwh for m in result.months}
    assert by_month == {"2026-01": kwh(18, 1), "2026-02": kwh(3, 1)}  # 3-5 Feb
    b_result = compare_as(p, B, {"supplier"})
    assert b_result is not None
    assert {m.month: m.energy_kwh for m in b_result.months} == {
        "2026-01": kwh(4, 2), "2026-02": kwh(2, 2)}  # 1-2 Feb


def test_values_outside_the_callers_periods_are_not_even_checked() -> None:
    """A broken value on B's days (negative, which the comparison refuses) must not deny A its
    answer, nor tell A anything about B's days."""
    vals = values(point().supplier_on)
    broken = [(h, -5.0 if h >= midnight(SWITCH) else q, quality) for h, q, quality in vals]
    result = compare_as(point(), A, {"supplier"}, broken)
    assert result is not None and result.totals.energy_kwh == kwh(18, 1)
    with pytest.raises(ValueError, match="negative"):
        compare_as(point(), B, {"supplier"}, broken)


def test_readable_periods_are_merged_and_clipped_to_the_question() -> None:
    p = point((A, date(2026, 1, 1)), (A, date(2026, 1, 15)), (B, SWITCH))
    asked = Period(midnight(date(2026, 1, 10)), midnight(date(2026, 2, 1)))
    assert readable_periods(p, A, {"supplier"}, asked) == (
        Period(midnight(date(2026, 1, 10)), midnight(SWITCH)),)
    assert readable_periods(p, T, {"third_party"}, asked) == (
        Period(datetime(2026, 1, 20, tzinfo=HUB_TIMEZONE).astimezone(UTC),
               midnight(date(2026, 2, 1))),)
    assert readable_periods(p, GRID_OWNER, {"grid_owner"}, asked) == (asked,)
    assert readable_periods(p, GRID_OWNER, {"supplier"}, asked) == ()


def test_supply_periods_follow_norwegian_midnight_across_dst() -> None:
    p = metering_point(supplies=((A, date(2026, 3, 1)), (B, date(2026, 3, 29))))
    asked = Period(midnight(date(2026, 3, 1)), midnight(date(2026, 4, 1)))
    [a_period] = readable_periods(p, A, {"supplier"}, asked)
    assert a_period.end == datetime.combine(date(2026, 3, 29), time(0),
                                            HUB_TIMEZONE).astimezone(UTC)
    assert a_period.end.hour == 23  # 00:00 CET is 23:00 UTC the day before
