"""Structural rules of a metering-value series (BRS-NO-312/313 intake).

These are the checks that need no hub state: period, resolution, alignment,
point count (DST days included), quantities and qualities. They answer the
synchronous ``400`` of ``POST /v1/metering-values``; rules that need hub state
(unknown point, wrong grid owner, ...) belong to the asynchronous processing.

All arithmetic is done on exact elapsed time in UTC, never on local wall
clock time, so Norwegian DST days come out as 92/100 quarter-hours and
23/25 hours without special cases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from domain.problem_codes import Code

RESOLUTIONS: dict[str, timedelta] = {
    "PT15M": timedelta(minutes=15),
    "PT1H": timedelta(hours=1),
}
"""ISO 8601 durations the hub accepts, as sent in ``resolution``."""

QUALITIES: frozenset[str] = frozenset(
    {"measured", "estimated", "final_estimate", "missing", "rejected", "temporary"}
)
"""Quality names of Elhub's validation rules, as sent in ``points[].quality``."""

MAX_SERIES_DAYS = 31
"""A series covers at most a calendar month: 31 days, plus the hour an October
DST change adds (so a whole October at PT15M, 2980 points, still fits). The
limit keeps one series, and one Kafka message, bounded."""

MAX_SERIES_DURATION = timedelta(days=MAX_SERIES_DAYS, hours=1)
"""Longest accepted elapsed time between ``start`` and ``end``."""

MAX_POINTS_PER_SERIES = MAX_SERIES_DAYS * 96 + 4
"""Points in the longest accepted series at the finest resolution (2980)."""

MAX_QUANTITY_KWH = 10_000_000.0
"""The largest quantity of one interval, in kWh: 10 GWh, eight times the hour of Norway's
largest power station (about 1,240 MW) and above any exchange point's hour. A larger value is
a unit or sign mistake; refusing it keeps every later sum (a month of a point's energy, its
cost in øre) finite and exact."""

MAX_POINT_PROBLEMS = 100
"""Per-point problems listed before the rest are summarised in one problem,
so a broken series of thousands of points gives a readable answer."""

HUB_TIMEZONE = ZoneInfo("Europe/Oslo")
"""The hub's calendar: days, supplier changes and deadlines are Norwegian."""

ALLOWED_OFFSETS: frozenset[timedelta] = frozenset(
    {timedelta(0), timedelta(hours=1), timedelta(hours=2)}
)
"""Offsets senders may use: UTC, +01:00 (CET) or +02:00 (CEST)."""


@dataclass(frozen=True)
class Problem:
    """One structural problem of a series, ready for a ``400`` body.

    ``pointer`` is a JSON pointer relative to the series object, so the web
    layer can prefix it with ``/series/{n}``.
    """

    code: str
    pointer: str
    detail: str


@dataclass(frozen=True)
class PointIn:
    """One incoming value as sent; deliberately unvalidated."""

    quantity: float
    quality: str


def _fmt(moment: datetime) -> str:
    """Render an instant compactly, in the offset it was given in."""
    if moment.second == 0 and moment.microsecond == 0:
        return moment.isoformat(timespec="minutes")
    return moment.isoformat()


def _step(resolution: str) -> timedelta:
    try:
        return RESOLUTIONS[resolution]
    except KeyError:
        raise ValueError(f"unknown resolution {resolution!r}") from None


def as_utc(moment: datetime, name: str) -> datetime:
    """The instant in UTC; ``ValueError`` when it is naive.

    Python subtracts and compares two datetimes sharing one ``tzinfo`` object
    by wall clock (a ``ZoneInfo("Europe/Oslo")`` DST day would be 24 hours),
    so all arithmetic here happens on UTC values.
    """
    if moment.utcoffset() is None:
        raise ValueError(f"{name} {moment.isoformat()} has no UTC offset")
    return moment.astimezone(UTC)


def midnight(day: date) -> datetime:
    """00:00 in Norway on ``day``, as a UTC instant."""
    return datetime.combine(day, time(0), HUB_TIMEZONE).astimezone(UTC)


def midnight_s(day: date) -> int:
    """00:00 in Norway on ``day``, as UTC epoch seconds."""
    return int(midnight(day).timestamp())


def _is_aligned(moment: datetime, step: timedelta) -> bool:
    """True when the instant falls on a multiple of ``step`` in UTC.

    Norway's offsets are whole hours, so UTC alignment equals local alignment
    for both PT15M and PT1H.
    """
    since_epoch = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return since_epoch % step == timedelta(0)


def expected_point_count(start: datetime, end: datetime, resolution: str) -> int:
    """Number of points in ``[start, end)``: exact elapsed time / resolution.

    Elapsed time, not wall clock time, is what makes DST days 92/100
    quarter-hours (23/25 hours). Raises ``ValueError`` for naive datetimes,
    an unknown resolution, ``end < start`` or a period that is not a whole
    number of steps.
    """
    step = _step(resolution)
    elapsed = as_utc(end, "end") - as_utc(start, "start")
    if elapsed < timedelta(0):
        raise ValueError(f"end {_fmt(end)} is before start {_fmt(start)}")
    count, rest = divmod(elapsed, step)
    if rest:
        raise ValueError(f"{_fmt(start)}..{_fmt(end)} is not a whole number of {resolution} steps")
    return count


def point_time(start: datetime, resolution: str, index: int) -> datetime:
    """Start of point ``index`` (0-based) as an aware UTC datetime.

    ``index`` may equal the point count, giving the series' end. Computed in
    UTC so that indexes keep counting through DST changes.
    """
    step = _step(resolution)
    utc_start = as_utc(start, "start")
    if index < 0:
        raise ValueError(f"point index {index} is negative")
    return utc_start + index * step


def hub_days(start: datetime, end: datetime) -> list[date]:
    """The Europe/Oslo calendar days ``[start, end)`` touches, in order.

    Deadlines (D+1 07:00, lock at D+5) and supplier changes are per hub day,
    so a series is mapped to days in Norwegian time, whatever offset it came
    with. ``end`` is exclusive: a period ending at local midnight does not
    touch the next day. An empty period touches no day.
    """
    utc_start, utc_end = as_utc(start, "start"), as_utc(end, "end")
    if utc_end <= utc_start:
        return []
    first = utc_start.astimezone(HUB_TIMEZONE).date()
    # The last instant inside the period; datetimes are exact to 1 µs.
    last = (utc_end - timedelta(microseconds=1)).astimezone(HUB_TIMEZONE).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def split_at(
    start: datetime,
    end: datetime,
    resolution: str,
    boundaries: Sequence[datetime],
) -> list[tuple[int, int, datetime, datetime]]:
    """Split ``[start, end)`` at the given instants into contiguous pieces.

    Used when a series straddles a supplier change: each piece goes to the
    supplier responsible at that time. Returns
    ``(first_index, end_index_exclusive, sub_start, sub_end)`` per piece, in
    order, with ``sub_start``/``sub_end`` in UTC; the index ranges cover
    ``0..point count`` exactly once.

    Boundaries at or outside ``start``/``end`` and duplicates are ignored: they
    split nothing. A boundary strictly inside the period that does not fall
    on a point edge raises ``ValueError`` instead of being rounded, because
    rounding would hand a value to the wrong supplier. Naive boundaries, and a
    period ``expected_point_count`` rejects, raise ``ValueError`` too.
    """
    total = expected_point_count(start, end, resolution)
    step = RESOLUTIONS[resolution]
    utc_start, utc_end = as_utc(start, "start"), as_utc(end, "end")
    instants = (as_utc(b, "boundary") for b in boundaries)
    inside = sorted({b for b in instants if utc_start < b < utc_end})
    cuts = [0]
    for boundary in inside:
        index, rest = divmod(boundary - utc_start, step)
        if rest:
            raise ValueError(
                f"boundary {_fmt(boundary)} is not on a {resolution} point edge "
                f"of the series starting {_fmt(start)}"
            )
        cuts.append(index)
    cuts.append(total)
    return [
        (
            first,
            stop,
            point_time(start, resolution, first),
            point_time(start, resolution, stop),
        )
        for first, stop in pairwise(cuts)
        if stop > first
    ]


def _check_moment(moment: datetime, name: str) -> list[Problem]:
    offset = moment.utcoffset()
    if offset is None:
        return [
            Problem(
                "series.offset",
                f"/{name}",
                f"{name} {moment.isoformat()} has no UTC offset; send UTC (Z) or +01:00/+02:00",
            )
        ]
    if offset not in ALLOWED_OFFSETS:
        return [
            Problem(
                "series.offset",
                f"/{name}",
                f"{name} {_fmt(moment)} has offset {moment.strftime('%z')}; "
                "send UTC (Z) or +01:00/+02:00",
            )
        ]
    return []


def _plainly_valid(quantities: Sequence[float], qualities: Sequence[str]) -> bool:
    """Whether every quantity is finite, 0 to MAX_QUANTITY_KWH, and every quality known,
    checked at C speed: the usual series, which then needs no look at each point."""
    return (all(map(math.isfinite, quantities))
            and (not quantities or (min(quantities) >= 0 and max(quantities) <= MAX_QUANTITY_KWH))
            and QUALITIES.issuperset(qualities))


def _check_points(quantities: Sequence[float], qualities: Sequence[str]) -> list[Problem]:
    if _plainly_valid(quantities, qualities):
        return []
    problems: list[Problem] = []
    omitted = 0
    for i, (quantity, quality) in enumerate(zip(quantities, qualities, strict=True)):
        found: list[Problem] = []
        if not math.isfinite(quantity):
            found.append(
                Problem(
                    Code.SERIES_QUANTITY,
                    f"/points/{i}/quantity",
                    f"quantity of point {i} is {quantity!r}; it must be a finite number",
                )
            )
        elif quantity < 0:
            found.append(
                Problem(
                    Code.SERIES_QUANTITY,
                    f"/points/{i}/quantity",
                    f"quantity of point {i} is {quantity!r}; it must not be negative",
                )
            )
        elif quantity > MAX_QUANTITY_KWH:
            found.append(
                Problem(
                    Code.SERIES_QUANTITY,
                    f"/points/{i}/quantity",
                    f"quantity of point {i} is {quantity!r} kWh; the most one interval "
                    f"may hold is {MAX_QUANTITY_KWH:,.0f} kWh",
                )
            )
        if quality not in QUALITIES:
            found.append(
                Problem(
                    "series.quality",
                    f"/points/{i}/quality",
                    f"quality of point {i} is {quality!r}; expected one of "
                    + ", ".join(sorted(QUALITIES)),
                )
            )
        room = MAX_POINT_PROBLEMS - len(problems)
        problems.extend(found[:room])
        omitted += max(0, len(found) - room)
    if omitted:
        problems.append(
            Problem(
                "series.too_many_problems",
                "/points",
                f"{omitted} more point problems not listed "
                f"(only the first {MAX_POINT_PROBLEMS} are)",
            )
        )
    return problems


def check_series(
    start: datetime,
    end: datetime,
    resolution: str,
    points: Sequence[PointIn],
) -> list[Problem]:
    """check_values of points given as PointIn."""
    return check_values(start, end, resolution, [p.quantity for p in points],
                        [p.quality for p in points])


def check_values(
    start: datetime,
    end: datetime,
    resolution: str,
    quantities: Sequence[float],
    qualities: Sequence[str],
) -> list[Problem]:
    """Every structural problem of one series; an empty list means valid.

    All problems are collected, not just the first, so a grid owner can fix a
    series in one round trip. Checks that depend on a broken input (e.g. the
    point count when the resolution is unknown) are skipped rather than
    reported as follow-on errors. Per-point problems stop after
    ``MAX_POINT_PROBLEMS`` and one ``series.too_many_problems`` sums up the rest.
    """
    problems = _check_moment(start, "start") + _check_moment(end, "end")
    aware = start.utcoffset() is not None and end.utcoffset() is not None
    # Elapsed time in UTC; see _utc for why not ``end - start``.
    elapsed = end.astimezone(UTC) - start.astimezone(UTC) if aware else timedelta(0)

    period_ok = False
    if aware:
        if elapsed <= timedelta(0):
            problems.append(
                Problem(
                    "series.period",
                    "/end",
                    f"end {_fmt(end)} must be after start {_fmt(start)}",
                )
            )
        elif elapsed > MAX_SERIES_DURATION:
            problems.append(
                Problem(
                    "series.period",
                    "/end",
                    f"{_fmt(start)}..{_fmt(end)} is longer than "
                    f"{MAX_SERIES_DAYS} days; split it into several series",
                )
            )
        else:
            period_ok = True

    step = RESOLUTIONS.get(resolution)
    if step is None:
        problems.append(
            Problem(
                "series.resolution",
                "/resolution",
                f"resolution {resolution!r} is not one of " + ", ".join(sorted(RESOLUTIONS)),
            )
        )
    elif aware:
        for name, moment in (("start", start), ("end", end)):
            if not _is_aligned(moment, step):
                problems.append(
                    Problem(
                        "series.alignment",
                        f"/{name}",
                        f"{name} {_fmt(moment)} is not on a {resolution} "
                        f"boundary (UTC: {_fmt(moment.astimezone(UTC))})",
                    )
                )

    if step is not None and period_ok and elapsed % step == timedelta(0):
        expected = elapsed // step
        if len(quantities) != expected:
            problems.append(
                Problem(
                    "series.point_count",
                    "/points",
                    f"expected {expected} points for {_fmt(start)}..{_fmt(end)} "
                    f"at {resolution}, got {len(quantities)}",
                )
            )
    elif len(quantities) > MAX_POINTS_PER_SERIES:
        problems.append(
            Problem(
                "series.point_count",
                "/points",
                f"a series has at most {MAX_POINTS_PER_SERIES} points, got {len(quantities)}",
            )
        )

    problems.extend(_check_points(quantities, qualities))
    return problems
