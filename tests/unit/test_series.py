"""Structural rules of metering-value series, DST days first."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.series import (
    HUB_TIMEZONE,
    MAX_POINT_PROBLEMS,
    RESOLUTIONS,
    PointIn,
    Problem,
    check_series,
    expected_point_count,
    hub_days,
    point_time,
    split_at,
)

OSLO = HUB_TIMEZONE


def oslo_day(day: date) -> tuple[datetime, datetime]:
    """Local midnight to local midnight, as a grid owner would send it."""
    start = datetime(day.year, day.month, day.day, tzinfo=OSLO)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=OSLO)
    return start, end


def pts(n: int, quantity: float = 0.5, quality: str = "measured") -> list[PointIn]:
    return [PointIn(quantity, quality) for _ in range(n)]


def codes(problems: list[Problem]) -> set[str]:
    return {p.code for p in problems}


SPRING = date(2026, 3, 29)  # last Sunday of March: 23 hours
AUTUMN = date(2026, 10, 25)  # last Sunday of October: 25 hours
NORMAL = date(2026, 6, 13)


@pytest.mark.parametrize(
    ("day", "resolution", "count"),
    [
        (SPRING, "PT15M", 92),
        (AUTUMN, "PT15M", 100),
        (NORMAL, "PT15M", 96),
        (SPRING, "PT1H", 23),
        (AUTUMN, "PT1H", 25),
        (NORMAL, "PT1H", 24),
    ],
)
def test_day_point_counts(day: date, resolution: str, count: int) -> None:
    start, end = oslo_day(day)
    assert expected_point_count(start, end, resolution) == count
    assert check_series(start, end, resolution, pts(count)) == []


@pytest.mark.parametrize(
    ("day", "resolution", "wrong"),
    [
        (SPRING, "PT15M", 96),
        (AUTUMN, "PT15M", 96),
        (NORMAL, "PT15M", 92),
        (SPRING, "PT1H", 24),
        (AUTUMN, "PT1H", 24),
        (NORMAL, "PT1H", 25),
    ],
)
def test_wall_clock_counts_are_rejected(day: date, resolution: str, wrong: int) -> None:
    start, end = oslo_day(day)
    problems = check_series(start, end, resolution, pts(wrong))
    assert [(p.code, p.pointer) for p in problems] == [("series.point_count", "/points")]
    assert f"got {wrong}" in problems[0].detail


def test_point_count_detail_names_period_and_resolution() -> None:
    start = datetime.fromisoformat("2026-03-29T00:00:00+01:00")
    end = datetime.fromisoformat("2026-03-30T00:00:00+02:00")
    [problem] = check_series(start, end, "PT15M", pts(96))
    assert problem.detail == (
        "expected 92 points for 2026-03-29T00:00+01:00..2026-03-30T00:00+02:00 at PT15M, got 96"
    )


def test_utc_times_equal_offset_times() -> None:
    utc_start = datetime.fromisoformat("2026-03-28T23:00:00Z")
    utc_end = datetime.fromisoformat("2026-03-29T22:00:00Z")
    local_start, local_end = oslo_day(SPRING)
    assert utc_start == local_start
    assert utc_end == local_end
    assert expected_point_count(utc_start, utc_end, "PT15M") == 92
    assert check_series(utc_start, utc_end, "PT15M", pts(92)) == []
    assert hub_days(utc_start, utc_end) == [SPRING]


def test_misaligned_start() -> None:
    start = datetime(2026, 6, 13, 0, 7, tzinfo=OSLO)
    end = datetime(2026, 6, 14, tzinfo=OSLO)
    problems = check_series(start, end, "PT15M", pts(96))
    assert ("series.alignment", "/start") in {(p.code, p.pointer) for p in problems}
    assert "/end" not in {p.pointer for p in problems if p.code == "series.alignment"}


def test_quarter_hour_is_not_aligned_for_hourly() -> None:
    start = datetime(2026, 6, 13, 0, 15, tzinfo=OSLO)
    end = datetime(2026, 6, 14, 0, 15, tzinfo=OSLO)
    problems = check_series(start, end, "PT1H", pts(24))
    assert {(p.code, p.pointer) for p in problems} == {
        ("series.alignment", "/start"),
        ("series.alignment", "/end"),
    }


def test_unknown_resolution() -> None:
    start, end = oslo_day(NORMAL)
    problems = check_series(start, end, "PT30M", pts(48))
    assert [(p.code, p.pointer) for p in problems] == [("series.resolution", "/resolution")]
    with pytest.raises(ValueError, match="PT30M"):
        expected_point_count(start, end, "PT30M")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf"), -0.001])
def test_bad_quantity_pointer(bad: float) -> None:
    start, end = oslo_day(NORMAL)
    points = pts(96)
    points[17] = PointIn(bad, "measured")
    problems = check_series(start, end, "PT15M", points)
    assert [(p.code, p.pointer) for p in problems] == [("series.quantity", "/points/17/quantity")]


def test_zero_quantity_is_fine() -> None:
    start, end = oslo_day(NORMAL)
    assert check_series(start, end, "PT15M", pts(96, quantity=0.0)) == []


def test_unknown_quality() -> None:
    start, end = oslo_day(NORMAL)
    points = pts(96)
    points[3] = PointIn(1.0, "guessed")
    problems = check_series(start, end, "PT15M", points)
    assert [(p.code, p.pointer) for p in problems] == [("series.quality", "/points/3/quality")]
    assert "'guessed'" in problems[0].detail


def test_many_problems_reported_together() -> None:
    start = datetime(2026, 6, 13, 0, 7, tzinfo=OSLO)
    end = datetime(2026, 6, 14)  # naive
    points = [PointIn(float("nan"), "measured"), PointIn(-1.0, "bogus"), PointIn(1.0, "estimated")]
    problems = check_series(start, end, "PT5M", points)
    assert {
        "series.offset",
        "series.resolution",
        "series.quantity",
        "series.quality",
    } <= codes(problems)
    pointers = {p.pointer for p in problems}
    assert {
        "/end",
        "/resolution",
        "/points/0/quantity",
        "/points/1/quantity",
        "/points/1/quality",
    } <= pointers


def test_several_structural_codes_in_one_call() -> None:
    start = datetime(2026, 6, 13, 0, 7, tzinfo=OSLO)
    end = datetime(2026, 6, 14, tzinfo=OSLO)
    points = [*pts(10), PointIn(float("inf"), "nope")]
    assert {
        "series.alignment",
        "series.quantity",
        "series.quality",
    } <= codes(check_series(start, end, "PT15M", points))
    aligned_start, aligned_end = oslo_day(NORMAL)
    assert {"series.point_count", "series.quantity", "series.quality"} <= codes(
        check_series(aligned_start, aligned_end, "PT15M", points)
    )


@pytest.mark.parametrize("which", ["start", "end"])
def test_naive_datetime_is_an_offset_problem(which: str) -> None:
    start, end = oslo_day(NORMAL)
    if which == "start":
        start = start.replace(tzinfo=None)
    else:
        end = end.replace(tzinfo=None)
    problems = check_series(start, end, "PT15M", pts(96))
    assert [(p.code, p.pointer) for p in problems] == [("series.offset", f"/{which}")]
    with pytest.raises(ValueError):
        expected_point_count(start, end, "PT15M")


def test_foreign_offset_is_an_offset_problem() -> None:
    start = datetime.fromisoformat("2026-06-13T03:00:00+05:00")
    end = datetime.fromisoformat("2026-06-13T23:00:00+01:00")
    problems = check_series(start, end, "PT1H", pts(24))
    assert [(p.code, p.pointer) for p in problems] == [("series.offset", "/start")]


def test_period_end_before_start_and_too_long() -> None:
    start, end = oslo_day(NORMAL)
    assert codes(check_series(end, start, "PT15M", [])) == {"series.period"}
    assert codes(check_series(start, start, "PT15M", [])) == {"series.period"}
    long_end = start + timedelta(days=32)
    assert codes(check_series(start, long_end, "PT1H", pts(32 * 24))) == {"series.period"}


def test_whole_october_fits() -> None:
    start = datetime(2026, 10, 1, tzinfo=OSLO)
    end = datetime(2026, 11, 1, tzinfo=OSLO)
    count = expected_point_count(start, end, "PT15M")
    assert count == 31 * 96 + 4
    assert check_series(start, end, "PT15M", pts(count)) == []


def test_per_point_problems_are_capped() -> None:
    start, end = oslo_day(NORMAL)
    problems = check_series(start, end, "PT15M", pts(96, quantity=-1.0, quality="x"))
    per_point = [p for p in problems if p.pointer.startswith("/points/")]
    assert len(per_point) == MAX_POINT_PROBLEMS
    assert problems[-1].code == "series.too_many_problems"
    assert problems[-1].detail.startswith(f"{2 * 96 - MAX_POINT_PROBLEMS} more")


def test_hub_days() -> None:
    start, end = oslo_day(SPRING)
    assert hub_days(start, end) == [SPRING]
    assert hub_days(start, end + timedelta(minutes=15)) == [SPRING, SPRING + timedelta(days=1)]
    # 22:00Z on 31 Dec is 23:00 in Oslo: still 2025; one hour later it is 2026.
    assert hub_days(
        datetime(2025, 12, 31, 22, tzinfo=UTC), datetime(2026, 1, 1, 1, tzinfo=UTC)
    ) == [date(2025, 12, 31), date(2026, 1, 1)]
    assert hub_days(datetime(2026, 3, 27, tzinfo=OSLO), datetime(2026, 3, 30, tzinfo=OSLO)) == [
        date(2026, 3, 27),
        date(2026, 3, 28),
        date(2026, 3, 29),
    ]
    assert hub_days(start, start) == []


def test_point_time_is_utc_and_crosses_dst() -> None:
    start, _ = oslo_day(SPRING)
    assert point_time(start, "PT15M", 0) == datetime(2026, 3, 28, 23, tzinfo=UTC)
    assert point_time(start, "PT15M", 0).utcoffset() == timedelta(0)
    # Point 8 is 02:00 UTC = 04:00 CEST: the 02:00-03:00 local hour does not exist.
    assert point_time(start, "PT15M", 12).astimezone(OSLO).hour == 4
    assert point_time(start, "PT1H", 23) == datetime(2026, 3, 30, tzinfo=OSLO)


def test_split_at_local_noon() -> None:
    start, end = oslo_day(SPRING)
    noon = datetime(2026, 3, 29, 12, tzinfo=OSLO)
    pieces = split_at(start, end, "PT15M", [noon])
    assert len(pieces) == 2
    (a0, a1, a_start, a_end), (b0, b1, b_start, b_end) = pieces
    assert (a0, a1, b0, b1) == (0, 44, 44, 92)  # 11 hours before noon, 12 after
    assert (a1 - a0) + (b1 - b0) == expected_point_count(start, end, "PT15M")
    assert a_start == start and a_end == noon == b_start and b_end == end


def test_split_at_ignores_outside_and_duplicate_boundaries() -> None:
    start, end = oslo_day(NORMAL)
    noon = datetime(2026, 6, 13, 12, tzinfo=OSLO)
    pieces = split_at(
        start, end, "PT1H", [end, start, noon, noon.astimezone(UTC), start - timedelta(days=1)]
    )
    assert [(p[0], p[1]) for p in pieces] == [(0, 12), (12, 24)]
    assert split_at(start, end, "PT1H", []) == [(0, 24, start, end)]


def test_split_at_refuses_boundary_inside_a_point() -> None:
    start, end = oslo_day(NORMAL)
    with pytest.raises(ValueError, match="point edge"):
        split_at(start, end, "PT1H", [datetime(2026, 6, 13, 12, 15, tzinfo=OSLO)])


YEAR_START = datetime(2026, 1, 1, tzinfo=OSLO)


@given(
    resolution=st.sampled_from(sorted(RESOLUTIONS)),
    steps=st.integers(min_value=0, max_value=365 * 96 - 1),
    n=st.integers(min_value=1, max_value=200),
    in_utc=st.booleans(),
)
def test_point_time_and_count_round_trip(resolution: str, steps: int, n: int, in_utc: bool) -> None:
    step = RESOLUTIONS[resolution]
    per_year = timedelta(days=365) // step
    start = (YEAR_START.astimezone(UTC) + (steps % per_year) * step).astimezone(
        UTC if in_utc else OSLO
    )
    end = point_time(start, resolution, n)
    assert expected_point_count(start, end, resolution) == n
    assert check_series(start, end, resolution, pts(n)) == []
