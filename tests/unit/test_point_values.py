"""A point's values per Norwegian day: series written over days (DST days included),
corrections over part of a day, another resolution replacing a day, and the stored bytes read
back exactly (integers for the comparison, floats as they came in)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.comparison_core import ABSENT, QUALITY_CODES
from domain.exact_numbers import float_scaled
from domain.point_values import PointDay, day_parts, intervals_in, merge, readable_runs
from domain.series import HUB_TIMEZONE
from streams.records import point_day

RECEIVED = datetime(2026, 3, 1, 7, tzinfo=UTC)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), HUB_TIMEZONE).astimezone(UTC)


def series(start: datetime, end: datetime, resolution: str = "PT15M", value: float = 1.0,
           transaction: str = "8a1f5c2e-0b7d-4c3a-9e61-2d4f6a8b0c13") -> dict[str, Any]:
    step = 900 if resolution == "PT15M" else 3600
    n = int((end - start).total_seconds()) // step
    return {"start": start, "end": end, "resolution": resolution,
            "quantities": [value + i / 1000 for i in range(n)],
            "qualities": ["measured"] * n, "transactionId": transaction,
            "messageId": "1d3c0b7e-6a3f-4b1e-9a55-3f1e2c7d9b10", "receivedAt": RECEIVED}


def write(days: dict[date, PointDay], s: dict[str, Any], version: int = 1) -> None:
    for part in day_parts(s["start"], s["end"], s["resolution"]):
        days[part.day] = merge(days.get(part.day), part, s, version)


def test_dst_days_have_92_and_100_quarter_hours() -> None:
    assert intervals_in(date(2026, 3, 29), "PT15M") == 92
    assert intervals_in(date(2026, 10, 25), "PT15M") == 100
    assert intervals_in(date(2026, 10, 25), "PT1H") == 25
    days: dict[date, PointDay] = {}
    write(days, series(midnight(date(2026, 3, 28)), midnight(date(2026, 3, 30))))
    assert [len(d.quantities) for d in days.values()] == [96, 92]
    assert all(ABSENT not in d.qualities for d in days.values())


def test_a_correction_of_part_of_a_day_keeps_the_rest_and_names_its_version() -> None:
    day = date(2026, 2, 3)
    days: dict[date, PointDay] = {}
    write(days, series(midnight(day), midnight(day + timedelta(days=1))))
    fix = series(midnight(day) + timedelta(hours=10), midnight(day) + timedelta(hours=12),
                 value=9.0, transaction="2b6e1a0c-6d54-4a47-9a0e-0c1f8e3d5a77")
    write(days, fix, version=2)
    stored = days[day]
    assert stored.quantities[40:48] == fix["quantities"]
    assert stored.quantities[39] == 1.039 and stored.quantities[48] == 1.048
    assert [(s.first, s.end, s.version) for s in stored.segments] == [
        (0, 40, 1), (40, 48, 2), (48, 96, 1)]
    assert point_day.decode(point_day.encode(stored)) == stored


def test_values_at_another_resolution_replace_the_day() -> None:
    day = date(2026, 2, 3)
    days: dict[date, PointDay] = {}
    write(days, series(midnight(day), midnight(day + timedelta(days=1))))
    write(days, series(midnight(day), midnight(day) + timedelta(hours=2), "PT1H"))
    stored = days[day]
    assert stored.resolution == "PT1H" and len(stored.quantities) == 24
    assert list(stored.qualities[2:]) == [ABSENT] * 22


def test_history_runs_stay_inside_the_readers_periods() -> None:
    day = date(2026, 2, 3)
    days: dict[date, PointDay] = {}
    write(days, series(midnight(day), midnight(day + timedelta(days=1))))
    start = int(midnight(day).timestamp())
    runs = list(readable_runs(days[day], [(start + 3600, start + 7200)],
                              (start, start + 86400)))
    assert [(r.start, r.end, len(r.quantities)) for r in runs] == [
        (midnight(day) + timedelta(hours=1), midnight(day) + timedelta(hours=2), 4)]


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32), style=st.sampled_from(["wh", "micro", "any"]),
       resolution=st.sampled_from(["PT15M", "PT1H"]),
       day=st.sampled_from([date(2026, 3, 29), date(2026, 10, 25), date(2026, 6, 1)]))
def test_stored_days_read_back_exactly(seed: int, style: str, resolution: str,
                                       day: date) -> None:
    rng = random.Random(seed)
    n = intervals_in(day, resolution)
    quantities = [0.0] * n
    qualities = bytearray(n)
    for i in range(n):
        if rng.random() < 0.9:
            quantities[i] = (rng.randrange(0, 10**7) / 1000 if style == "wh" else
                             rng.randrange(0, 10**9) / 10**6 if style == "micro" else
                             rng.uniform(0, 1e7))
            qualities[i] = rng.choice(list(QUALITY_CODES.values()))
    stored = PointDay(day, resolution, quantities, qualities, [])
    raw = point_day.encode(stored)
    back = point_day.decode(raw)
    assert back.quantities == quantities and back.qualities == qualities
    when, res, scale, ints, marks = point_day.decode_exact(raw)
    assert (when, res, marks) == (day, resolution, bytes(qualities))
    for k, q, c in zip(ints, quantities, qualities, strict=True):
        if c == ABSENT:
            continue
        exact = float_scaled(q)
        if scale == point_day.FLOAT:
            assert k == q
        else:
            assert k * 10 ** exact[1] == exact[0] * 10**scale
