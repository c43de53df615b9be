"""A metering point's accepted values, one record per Norwegian day: the current version of
every interval, and which series (transaction, version) it came from.

The forwarder keeps these beside the point's state (co-partitioned by metering point), so a
read of one point's values for a period (the Norgespris comparison, a history request,
BRS-NO-315) reads that point's days and nothing else: its cost does not grow with other points'
intake. A day is the hub's calendar day (Europe/Oslo): 92, 96 or 100 quarter-hours, or 23, 24
or 25 hours. A series that covers part of a day overwrites those intervals only; a correction
(a later version) overwrites what it covers; values at another resolution than the day's
replace the whole day (the point's resolution changed).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from domain.comparison_core import ABSENT, QUALITY_NAMES, quality_code
from domain.series import HUB_TIMEZONE, RESOLUTIONS, midnight_s

STEP_SECONDS: Final = {name: int(step.total_seconds()) for name, step in RESOLUTIONS.items()}



def intervals_in(day: date, resolution: str) -> int:
    """Intervals of ``resolution`` in the Norwegian day (DST days: 92/100, 23/25)."""
    return (midnight_s(day + timedelta(days=1)) - midnight_s(day)) // STEP_SECONDS[resolution]


def local_day(moment_s: int) -> date:
    return datetime.fromtimestamp(moment_s, HUB_TIMEZONE).date()


@dataclass(frozen=True)
class Segment:
    """Intervals ``[first, end)`` of a day that came from one series version."""

    first: int
    end: int
    transaction_id: str
    message_id: str
    registered_ms: int
    version: int


@dataclass
class PointDay:
    """One point's values on one Norwegian day. ``qualities[i]`` is ABSENT where the hub has
    no value for interval ``i`` (its quantity is then 0)."""

    day: date
    resolution: str
    quantities: list[float]
    qualities: bytearray
    segments: list[Segment] = field(default_factory=list)

    @classmethod
    def empty(cls, day: date, resolution: str) -> PointDay:
        n = intervals_in(day, resolution)
        return cls(day, resolution, [0.0] * n, bytearray(n), [])

    @property
    def start_s(self) -> int:
        return midnight_s(self.day)

    @property
    def step_s(self) -> int:
        return STEP_SECONDS[self.resolution]


def day_key(point_id: str, day: date) -> bytes:
    """The store's key: ``<point>|<YYYY-MM-DD>`` (ordered by day within a point)."""
    return f"{point_id}|{day.isoformat()}".encode()


@dataclass(frozen=True)
class DayPart:
    """The part of a series that falls on one day: series points ``[first, end)`` go to the
    day's intervals from ``at``."""

    day: date
    first: int
    end: int
    at: int


def day_parts(start: datetime, end: datetime, resolution: str) -> list[DayPart]:
    """Where a series' points fall, day by day."""
    step = STEP_SECONDS[resolution]
    start_s, end_s = int(start.timestamp()), int(end.timestamp())
    parts = []
    at = start_s
    while at < end_s:
        day = local_day(at)
        day_start = midnight_s(day)
        day_end = min(end_s, midnight_s(day + timedelta(days=1)))
        parts.append(DayPart(day, (at - start_s) // step, (day_end - start_s) // step,
                             (at - day_start) // step))
        at = day_end
    return parts


def merge(existing: PointDay | None, part: DayPart, series: Mapping[str, Any],
          version: int) -> PointDay:
    """The day with ``series``' values of ``part`` written over it, as version ``version``."""
    resolution = series["resolution"]
    if existing is None or existing.resolution != resolution:
        day = PointDay.empty(part.day, resolution)
    else:
        day = PointDay(existing.day, existing.resolution, list(existing.quantities),
                       bytearray(existing.qualities), list(existing.segments))
    first, end = part.at, part.at + (part.end - part.first)
    day.quantities[first:end] = series["quantities"][part.first:part.end]
    day.qualities[first:end] = bytes(quality_code(q)
                                     for q in series["qualities"][part.first:part.end])
    kept: list[Segment] = []
    for s in day.segments:  # what the new values leave of the older segments
        if s.end <= first or s.first >= end:
            kept.append(s)
            continue
        if s.first < first:
            kept.append(_cut(s, s.first, first))
        if s.end > end:
            kept.append(_cut(s, end, s.end))
    kept.append(Segment(first, end, series["transactionId"], series["messageId"],
                        int(series["receivedAt"].timestamp() * 1000), version))
    day.segments = sorted(kept, key=lambda s: s.first)
    return day


def _cut(s: Segment, first: int, end: int) -> Segment:
    return Segment(first, end, s.transaction_id, s.message_id, s.registered_ms, s.version)


# Reading a point's days back ------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """Consecutive intervals of one series version within a day, as a history answer sends
    them."""

    start: datetime
    end: datetime
    resolution: str
    segment: Segment
    quantities: list[float]
    qualities: list[str]


def readable_runs(day: PointDay, periods: Sequence[tuple[int, int]],
                  window: tuple[int, int]) -> Iterator[Run]:
    """The day's values the reader may see: each segment's intervals that lie wholly inside
    ``window`` and one of ``periods`` (UTC seconds), in runs."""
    step, start = day.step_s, day.start_s
    for segment in day.segments:
        run_first = None
        for i in range(segment.first, segment.end + 1):
            at = start + i * step
            inside = (i < segment.end and day.qualities[i] != ABSENT
                      and window[0] <= at and at + step <= window[1]
                      and any(a <= at and at + step <= b for a, b in periods))
            if inside and run_first is None:
                run_first = i
            elif not inside and run_first is not None:
                yield Run(datetime.fromtimestamp(start + run_first * step, UTC),
                          datetime.fromtimestamp(start + i * step, UTC), day.resolution,
                          segment, day.quantities[run_first:i],
                          [QUALITY_NAMES[c] for c in day.qualities[run_first:i]])
                run_first = None
