"""Which parts of a metering point's time line a party may read.

Values belong to the periods in which a party had a role on the point: a supplier reads the
days it supplied the point (from local midnight of its start date to the next supplier's), a
third party its access window(s), the grid owner and the hub's operators everything. A read
(the Norgespris comparison, a history request) covers the intersection of what was asked with
these periods and nothing else, so a supplier that took over on the 28th never sees its
predecessor's first 27 days, nor the predecessor its successor's.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.metering_point import MeteringPoint
from domain.series import midnight

OPERATOR = "operator"
GRID_OWNER = "grid_owner"
SUPPLIER = "supplier"
THIRD_PARTY = "third_party"


@dataclass(frozen=True, order=True)
class Period:
    """``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end



def _clip(start: datetime, end: datetime | None, within: Period) -> Period | None:
    lo = max(start, within.start)
    hi = within.end if end is None else min(end, within.end)
    return Period(lo, hi) if lo < hi else None


def _merge(periods: list[Period]) -> tuple[Period, ...]:
    merged: list[Period] = []
    for period in sorted(periods):
        if merged and period.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Period(last.start, max(last.end, period.end))
        else:
            merged.append(period)
    return tuple(merged)


def supplied_periods(point: MeteringPoint, party: str) -> list[Period]:
    """The periods in which ``party`` was the point's supplier (the last one open-ended, as a
    period ending at the end of the hub's time)."""
    periods = []
    supplies = point.supplies  # sorted by start date
    for i, supply in enumerate(supplies):
        if supply.supplier != party:
            continue
        end = midnight(supplies[i + 1].start_date) if i + 1 < len(supplies) else None
        periods.append(Period(midnight(supply.start_date),
                              end if end is not None else datetime.max.replace(tzinfo=UTC)))
    return periods


def readable_periods(point: MeteringPoint, party: str, roles: Collection[str],
                     asked: Period) -> tuple[Period, ...]:
    """The parts of ``asked`` whose values ``party`` (holding ``roles``) may read, merged and
    in order; empty when it may read none of them."""
    if OPERATOR in roles or (GRID_OWNER in roles and point.grid_owner == party):
        return (asked,)
    found: list[Period] = []
    if SUPPLIER in roles:
        for period in supplied_periods(point, party):
            if (clipped := _clip(period.start, period.end, asked)) is not None:
                found.append(clipped)
    if THIRD_PARTY in roles:
        for access in point.third_party_access:
            if access.party == party and (clipped := _clip(
                    access.valid_from.astimezone(UTC),
                    access.valid_to.astimezone(UTC) if access.valid_to else None,
                    asked)) is not None:
                found.append(clipped)
    return _merge(found)


def readable(periods: Sequence[Period], moment: datetime) -> bool:
    """Whether the instant ``moment`` lies in one of ``periods``."""
    return any(p.contains(moment) for p in periods)
