"""Availability from minute samples, planned maintenance apart, DST days counted right."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from domain.availability import MaintenanceWindow, MinuteSample, availability, maintenance_problems
from domain.series import HUB_TIMEZONE

DAY = date(2026, 6, 13)  # the June Saturday
MIDNIGHT = datetime.combine(DAY, datetime.min.time(), HUB_TIMEZONE)


def minutes(start: datetime, count: int, up: bool) -> list[MinuteSample]:
    return [MinuteSample(start + timedelta(minutes=i), up) for i in range(count)]


def test_unplanned_and_planned_downtime_are_counted_apart() -> None:
    samples = minutes(MIDNIGHT, 1440, True)
    for i in range(600, 610):  # ten minutes of stopped forwarding
        samples[i] = MinuteSample(samples[i].minute, False)
    for i in range(120, 150):  # thirty minutes down inside the declared window
        samples[i] = MinuteSample(samples[i].minute, False)
    window = MaintenanceWindow("w", MIDNIGHT + timedelta(hours=2),
                               MIDNIGHT + timedelta(hours=3), "broker upgrade")
    [day], [month] = availability(samples, [window], DAY, DAY)
    assert (day.minutes, day.observed, day.up) == (1440, 1440, 1400)
    assert (day.planned_down, day.unplanned_down) == (30, 10)
    assert day.percent == round(100 * 1400 / 1410, 3)
    assert month.period == "2026-06" and month.unplanned_down == 10


def test_minutes_the_monitor_did_not_see_are_not_counted_as_up() -> None:
    samples = minutes(MIDNIGHT, 600, True)
    [day], _ = availability(samples, [], DAY, DAY)
    assert day.unobserved == 840
    assert day.percent == 100.0
    [empty], _ = availability([], [], DAY + timedelta(days=1), DAY + timedelta(days=1))
    assert empty.percent is None


def test_dst_days_have_their_own_length() -> None:
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    days, _ = availability([], [], spring, spring)
    assert days[0].minutes == 23 * 60
    days, _ = availability([], [], autumn, autumn)
    assert days[0].minutes == 25 * 60


def test_duplicate_samples_count_once_and_months_add_up() -> None:
    samples = minutes(MIDNIGHT, 10, False) * 2
    days, [month] = availability(samples, [], DAY, DAY + timedelta(days=1))
    assert days[0].unplanned_down == 10
    assert month.minutes == 2 * 1440 and month.observed == 10


def test_maintenance_must_be_declared_in_advance() -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert maintenance_problems(now + timedelta(hours=1), now + timedelta(hours=2), now) == []
    assert "declared before it starts" in maintenance_problems(
        now - timedelta(minutes=1), now + timedelta(hours=1), now)[0]
    assert "end after it starts" in maintenance_problems(now + timedelta(hours=2),
                                                         now + timedelta(hours=1), now)[0]
    assert "at most 7 days" in maintenance_problems(now + timedelta(hours=1),
                                                    now + timedelta(days=9), now)[0]
