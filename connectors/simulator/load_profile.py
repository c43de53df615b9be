"""One Norwegian day of values for a planned point (pure): a daily load shape, business hours,
holiday-home occupancy, a solar curve from the sun's elevation at 60° N, and now and then a
short run of estimated values; the series document that carries them."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connectors.simulator.population import INDUSTRY_BY_CODE, NAMESPACE, MeteringPointPlan
from domain.series import HUB_TIMEZONE, RESOLUTIONS, expected_point_count

HOUSEHOLD_SHAPE = (0.55, 0.50, 0.48, 0.47, 0.48, 0.55, 0.80, 1.15, 1.20, 1.00, 0.90, 0.88,
                   0.90, 0.88, 0.90, 1.00, 1.20, 1.40, 1.45, 1.35, 1.20, 1.00, 0.80, 0.65)
"""Relative household load per local hour: low at night, peaks in the morning and evening."""

LATITUDE = math.radians(60.0)
LONGITUDE_DEG = 10.0


def oslo_midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), HUB_TIMEZONE)


def oslo_today() -> date:
    return datetime.now(HUB_TIMEZONE).date()


def _interpolated(shape: tuple[float, ...], hour: float) -> float:
    low = int(hour) % 24
    frac = hour - int(hour)
    return shape[low] * (1 - frac) + shape[(low + 1) % 24] * frac


def _winter_factor(day: date, amplitude: float) -> float:
    """Electric heating: more in January, less in July."""
    return 1 + amplitude * math.cos(2 * math.pi * (day.timetuple().tm_yday - 20) / 365.25)


def _sun_elevation_sin(moment: datetime) -> float:
    """Sine of the sun's elevation at 60° N, 10° E (good enough for a solar curve)."""
    utc = moment.astimezone(UTC)
    day_of_year = utc.timetuple().tm_yday
    declination = math.radians(-23.44) * math.cos(2 * math.pi * (day_of_year + 10) / 365)
    solar_hours = utc.hour + utc.minute / 60 + LONGITUDE_DEG / 15
    hour_angle = math.radians(15 * (solar_hours - 12))
    return (math.sin(LATITUDE) * math.sin(declination)
            + math.cos(LATITUDE) * math.cos(declination) * math.cos(hour_angle))


def _profile(point: MeteringPointPlan, day: date, rng: random.Random
             ) -> Callable[[datetime], float]:
    """kWh per hour at an instant (mid-interval), with the day's random circumstances drawn."""
    weekday = day.weekday()
    level = max(0.3, rng.gauss(1.0, 0.1))  # today's weather and habits
    if point.category == "household":
        mean = point.scale / 8766 * _winter_factor(day, 0.55) * level
        return lambda t: mean * _interpolated(HOUSEHOLD_SHAPE, _local_hour(t))
    if point.category == "holiday_home":
        occupied_p = 0.4 if day.month == 7 else 0.5 if weekday >= 4 else 0.08
        occupied = rng.random() < occupied_p
        base = point.scale / 8766 * 0.5 * _winter_factor(day, 0.7) * level
        if not occupied:
            return lambda t: base
        return lambda t: base + 2.5 * base * _interpolated(HOUSEHOLD_SHAPE, _local_hour(t))
    if point.category == "business":
        industry = INDUSTRY_BY_CODE[point.industry_code or ""]
        mean = point.scale / 8766 * _winter_factor(day, 0.35) * level
        open_level = 1.9 * (industry.weekend if weekday >= 5 else 1.0)
        if weekday == 6 and industry.code == "47.111":
            open_level *= 0.3  # Sunday: closed but for the freezers

        def business(t: datetime) -> float:
            hour = _local_hour(t)
            return mean * (open_level if industry.opens <= hour < industry.closes else 0.45)
        return business
    capacity = point.scale
    if point.production_type == "solar":
        clouds = rng.uniform(0.15, 1.0)
        return lambda t: capacity * 0.8 * clouds * max(0.0, _sun_elevation_sin(t)) ** 1.2
    if point.production_type == "hydro":
        flood = 1 + 0.6 * math.exp(-(((day.timetuple().tm_yday - 150) / 30) ** 2))
        return lambda t: capacity * 0.55 * flood * level
    wind = [rng.uniform(0.0, 1.0)]

    def wind_power(_: datetime) -> float:  # a random walk of wind, cubed, capped
        wind[0] = min(1.0, max(0.0, wind[0] + rng.gauss(0, 0.05)))
        return capacity * min(1.0, wind[0] ** 3 * 1.8)
    return wind_power


def _local_hour(moment: datetime) -> float:
    local = moment.astimezone(HUB_TIMEZONE)
    return local.hour + local.minute / 60


def day_values(point: MeteringPointPlan, day: date, rng: random.Random
               ) -> list[tuple[float, str]]:
    """One Norwegian day of ``(quantity kWh, quality)`` for ``point``, at its resolution.

    92/100 quarter-hours or 23/25 hours on DST days. Quantities are never negative; quality
    is ``measured`` but for an occasional run of ``estimated`` values (a meter that did not
    answer for a while, filled in from the profile).
    """
    start, end = oslo_midnight(day), oslo_midnight(day + timedelta(days=1))
    count = expected_point_count(start, end, point.resolution)
    step = RESOLUTIONS[point.resolution]
    step_hours = step / timedelta(hours=1)
    first_middle = start.astimezone(UTC) + step / 2
    kwh_per_hour = _profile(point, day, rng)
    outage = range(0)
    if rng.random() < 0.2:
        length = rng.randint(1, max(1, count // 6))
        first = rng.randrange(count - length + 1)
        outage = range(first, first + length)
    values: list[tuple[float, str]] = []
    for i in range(count):
        expected = kwh_per_hour(first_middle + i * step) * step_hours
        if i in outage:
            values.append((round(max(0.0, expected), 3), "estimated"))
        else:
            noisy = expected * max(0.0, rng.gauss(1.0, 0.08))
            values.append((round(noisy, 3), "measured"))
    return values


def _series_rng(seed: int, point: MeteringPointPlan, day: date, version: int = 1
                ) -> random.Random:
    return random.Random(f"{seed}|{point.gsrn}|{day.isoformat()}|{version}")


def corrected_values(point: MeteringPointPlan, day: date, seed: int, version: int
                     ) -> list[tuple[float, str]]:
    """Values of ``version`` (1: as first sent; later: estimated values replaced by measured
    ones, or a few measured values adjusted when none were estimated)."""
    values = day_values(point, day, _series_rng(seed, point, day))
    if version == 1:
        return values
    rng = _series_rng(seed, point, day, version)
    estimated = [i for i, (_, quality) in enumerate(values) if quality == "estimated"]
    targets = estimated or rng.sample(range(len(values)), min(4, len(values)))
    for i in targets:
        quantity = values[i][0]
        values[i] = (round(max(0.0, quantity * rng.gauss(1.0, 0.05) + 0.001), 3), "measured")
    return values


def series_for(point: MeteringPointPlan, day: date, seed: int, version: int = 1
               ) -> dict[str, Any]:
    """The JSON series of ``point`` for ``day`` (its transaction id is stable per version)."""
    start, end = oslo_midnight(day), oslo_midnight(day + timedelta(days=1))
    values = corrected_values(point, day, seed, version)
    return {
        "transactionId": str(uuid.uuid5(NAMESPACE, f"{seed}|series|{point.gsrn}|{day}|{version}")),
        "meteringPointId": point.gsrn,
        "start": start.isoformat(), "end": end.isoformat(),
        "resolution": point.resolution, "unit": "kWh",
        "points": [{"quantity": q, "quality": quality} for q, quality in values],
    }
