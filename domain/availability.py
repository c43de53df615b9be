"""Technical availability from the monitor's own record, with planned maintenance apart.

The monitor writes one sample per minute saying whether forwarding was up through that minute.
A day's availability is the share of observed minutes, planned maintenance left out, in which
forwarding was up; minutes the monitor did not observe are reported, never counted as up.
A stop of forwarding counts as unplanned downtime even when intake went on (domain.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from domain.series import HUB_TIMEZONE


@dataclass(frozen=True)
class MinuteSample:
    minute: datetime  # start of the minute, aware
    up: bool


@dataclass(frozen=True)
class MaintenanceWindow:
    id: str
    start: datetime
    end: datetime
    reason: str

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True)
class Availability:
    period: str  # "2026-06-13" or "2026-06"
    minutes: int
    observed: int
    up: int
    planned_down: int
    unplanned_down: int

    @property
    def unobserved(self) -> int:
        return self.minutes - self.observed

    @property
    def percent(self) -> float | None:
        """Up share of observed minutes outside planned maintenance; None if none observed."""
        base = self.observed - self.planned_down
        return None if base <= 0 else round(100.0 * self.up / base, 3)


def maintenance_problems(start: datetime, end: datetime, now: datetime) -> list[str]:
    """Why a maintenance window cannot be declared (planned means declared in advance)."""
    problems = []
    if end <= start:
        problems.append("the window must end after it starts")
    if start <= now:
        problems.append("planned maintenance must be declared before it starts")
    if end - start > timedelta(days=7):
        problems.append("a window may last at most 7 days")
    return problems


def _minutes_in(day: date) -> int:
    """Minutes of a Norwegian day (1380 or 1500 on DST days): elapsed time, so in UTC."""
    start = datetime.combine(day, datetime.min.time(), HUB_TIMEZONE).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(),
                           HUB_TIMEZONE).astimezone(UTC)
    return int((end - start).total_seconds() // 60)


def availability(samples: Iterable[MinuteSample], windows: Sequence[MaintenanceWindow],
                 first: date, last: date) -> tuple[list[Availability], list[Availability]]:
    """Per Norwegian day and per month in [first, last]: minutes up, down planned/unplanned."""
    per_day: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # observed, up, pl, unpl
    seen: set[datetime] = set()
    for sample in samples:
        if sample.minute in seen:
            continue
        seen.add(sample.minute)
        day = sample.minute.astimezone(HUB_TIMEZONE).date()
        if not first <= day <= last:
            continue
        counts = per_day[day]
        counts[0] += 1
        if sample.up:
            counts[1] += 1
        elif any(w.covers(sample.minute) for w in windows):
            counts[2] += 1
        else:
            counts[3] += 1
    days = []
    months: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    day = first
    while day <= last:
        observed, up, planned, unplanned = per_day[day]
        minutes = _minutes_in(day)
        days.append(Availability(day.isoformat(), minutes, observed, up, planned, unplanned))
        month = months[day.strftime("%Y-%m")]
        for i, v in enumerate((minutes, observed, up, planned, unplanned)):
            month[i] += v
        day += timedelta(days=1)
    return days, [Availability(m, *v) for m, v in months.items()]
