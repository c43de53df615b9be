"""A traffic generator against straum's HTTP API: ``straum simulate`` and ``straum run --demo``.

It plays the market: grid owners register metering points (BRS-NO-121) and send each morning's
metering values; suppliers start supply (BRS-NO-101), or move a person in (BRS-NO-103) with
the person's consent. Everything goes through the public HTTP API with development tokens
(``issue_dev_token``), so the simulator must run with the same ``STRAUM_DATA_DIR`` as the API
it talks to (the key that signs the tokens lives there).

The parts:

- :func:`plan_population` (pure, seeded): who exists. The mix, per point:

  ============== ======= =================== ================================== =========
  category       share   consumption code    other                              PT15M
  ============== ======= =================== ================================== =========
  household      72 %    ``35``                                                 80 %
  holiday home   13 %    ``36``                                                 70 %
  business       11 %    ``19 22 26 30``     ``industryCode`` e.g. ``47.111``    85 %
  production      4 %    (none)              ``productionType`` solar 85 %,      75 %
                                             hydro 10 %, wind 5 %
  ============== ======= =================== ================================== =========

  The rest is ``PT1H``. Grid owners and suppliers are sized Zipf-like (a few big, many
  small; each gets at least one point when there are enough points); a grid owner operates in
  one area. **Grid areas are bidding-zone EIC codes** (``10YNO-1--------2`` is NO1 …
  ``10Y1001A1001A48H`` is NO5), used as both ``gridArea`` and ``priceArea`` for simplicity:
  real grid areas have their own Y-codes, which the simulator has no list of. The business
  consumption codes are sample values from NVE's range, not matched to the industry, and the
  industry codes are SN2025-style examples that the test fixture's code lists
  (``tests/fixtures/klass``) accept from 2026, not checked against SSB's own lists: from 2026
  straum refuses SN2007 codes, even for points valid from earlier. End users of households
  and holiday homes are persons with synthetic national ids (valid check digits, drawn from
  the seed; they travel in Kafka and the queues like any end user's, never in a log), the others
  organisation numbers (valid mod-11, synthetic).
- :func:`day_values` (pure): one Norwegian day of values for a point, 92/96/100 quarter-hours
  or 23/24/25 hours (DST days): a daily load shape (low at night, morning and evening peaks,
  more in winter), business hours for businesses, occupancy for holiday homes, a solar curve
  from the sun's elevation at 60° N for solar production. Quality ``measured``, with about one
  series in five having a short run of ``estimated`` values (about 1.7 % of all values).
- :func:`register` and :func:`send_day` (HTTP): registration and start of supply for every
  point (a person moves in instead, BRS-NO-103, with its consent: the supplier asks through
  the Access API and the person accepts with its own token, as the hub requires), and a
  morning batch of values, with bounded concurrency, an optional rate limit, and
  retries of 429/5xx and connection errors with backoff. Every message id and transaction id is
  a UUIDv5 of the seed and what the document is, so running again with the same seed and day
  gives duplicates (the hub's de-duplication at work), not new traffic.
- :func:`follow`: the demo's endless trickle: corrections of the latest day for random points
  at a low rate (now and then an identical resend, which the hub drops), and the next morning
  batch when the Oslo date moves on; stops cleanly on SIGTERM/SIGINT.

**Third parties** are planned (GLNs and the points they would have access to) but the simulator
sends nothing for them: the API takes third-party access (BRS-NO-622,
``POST /v1/third-party-access`` and its approval), the simulator does not play it yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import zip_longest
from typing import Any

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from connectors.http.auth import issue_dev_token
from domain.identifiers import NORWEGIAN_GSRN_PREFIX, gs1_check_digit
from domain.series import HUB_TIMEZONE, RESOLUTIONS, expected_point_count
from schemas.settings import Settings
from streams.logging import get_logger

log = get_logger(__name__)

# -- the plan ----------------------------------------------------------------------------

GSRN_PREFIX = NORWEGIAN_GSRN_PREFIX
GLN_PREFIX = "708000"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/straum/simulator")


@dataclass(frozen=True)
class GridArea:
    """An area (EIC Y-code) and the price area it lies in."""

    eic: str
    price_area: str


GRID_AREAS: tuple[tuple[GridArea, float], ...] = (
    # Bidding-zone codes standing in for grid areas (see the module docstring), with rough
    # shares of Norway's metering points.
    (GridArea("10YNO-1--------2", "NO1"), 0.30),
    (GridArea("10YNO-2--------T", "NO2"), 0.22),
    (GridArea("10YNO-3--------J", "NO3"), 0.20),
    (GridArea("10YNO-4--------9", "NO4"), 0.12),
    (GridArea("10Y1001A1001A48H", "NO5"), 0.16),
)

CATEGORY_SHARES: tuple[tuple[str, float], ...] = (
    ("household", 0.72), ("holiday_home", 0.13), ("business", 0.11), ("production", 0.04))
PT15M_SHARE = {"household": 0.80, "holiday_home": 0.70, "business": 0.85, "production": 0.75}
BUSINESS_CONSUMPTION_CODES = ("19", "22", "26", "30")


@dataclass(frozen=True)
class Industry:
    """A business profile: opening hours (local), weekend level and typical yearly use."""

    code: str
    label: str
    opens: int
    closes: int
    weekend: float
    annual_kwh: float


INDUSTRIES: tuple[Industry, ...] = (
    Industry("47.111", "grocery store", 7, 23, 0.9, 250_000),
    Industry("56.101", "restaurant", 10, 23, 1.1, 120_000),
    Industry("62.100", "software office", 7, 18, 0.35, 80_000),
    Industry("84.110", "municipal office", 7, 16, 0.3, 200_000),
    Industry("68.209", "property rental", 6, 22, 0.8, 60_000),
)
INDUSTRY_BY_CODE = {i.code: i for i in INDUSTRIES}
PRODUCTION_TYPES: tuple[tuple[str, float], ...] = (("solar", 0.85), ("hydro", 0.10),
                                                   ("wind", 0.05))
FIRST_NAMES = ("Kari", "Ola", "Ingrid", "Lars", "Nora", "Jakob", "Emma", "Henrik", "Sofie",
               "Magnus", "Maja", "Sindre", "Ida", "Even", "Astrid", "Tor")
LAST_NAMES = ("Nordmann", "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen",
              "Nilsen", "Berg", "Haugen", "Bakken", "Dahl", "Lie", "Moen", "Strand")
COMPANY_WORDS = ("Fjord", "Nord", "Vest", "Fjell", "Bølge", "Lys", "Elv", "Skog", "Havn")


@dataclass(frozen=True)
class MeteringPointPlan:
    """One simulated metering point: what is registered, who supplies it, how it behaves.

    ``scale`` is the yearly consumption in kWh, or the installed capacity in kW for production.
    """

    gsrn: str
    category: str
    type: str
    resolution: str
    grid_owner: str
    supplier: str
    grid_area: str
    price_area: str
    consumption_code: str | None
    industry_code: str | None
    production_type: str | None
    scale: float
    valid_from: date
    end_user_name: str
    organisation_number: str
    national_id: str | None = None  # a person (households, holiday homes): moves in with consent


@dataclass(frozen=True)
class ThirdPartyPlan:
    """A third party and the points whose end users would grant it access (the simulator
    does not send third-party access yet)."""

    gln: str
    points: tuple[str, ...]


@dataclass(frozen=True)
class Population:
    seed: int
    grid_owners: tuple[str, ...]
    suppliers: tuple[str, ...]
    third_parties: tuple[ThirdPartyPlan, ...]
    points: tuple[MeteringPointPlan, ...]

    def points_of_grid_owner(self) -> dict[str, list[MeteringPointPlan]]:
        out: dict[str, list[MeteringPointPlan]] = {g: [] for g in self.grid_owners}
        for point in self.points:
            out[point.grid_owner].append(point)
        return out

    def points_per_supplier(self) -> dict[str, int]:
        counts = dict.fromkeys(self.suppliers, 0)
        for point in self.points:
            counts[point.supplier] += 1
        return counts

    def describe(self) -> str:
        """One line: how many of what."""
        categories = Counter(p.category for p in self.points)
        resolutions = Counter(p.resolution for p in self.points)
        labels = {"household": "households", "holiday_home": "holiday homes",
                  "business": "businesses", "production": "production points"}
        parts = ", ".join(f"{categories[c]} {labels[c]}" for c, _ in CATEGORY_SHARES
                          if categories[c])
        return (f"{len(self.points)} metering points ({parts}; {resolutions['PT15M']} PT15M, "
                f"{resolutions['PT1H']} PT1H) of {len(self.grid_owners)} grid owners, "
                f"{len(self.suppliers)} suppliers")


def _gs1(body: str) -> str:
    return body + str(gs1_check_digit(body))


def _organisation_number(rng: random.Random) -> str:
    """A synthetic organisation number with a valid mod-11 check digit."""
    weights = (3, 2, 7, 6, 5, 4, 3, 2)
    while True:
        body = str(rng.choice((8, 9))) + "".join(str(rng.randint(0, 9)) for _ in range(7))
        check = (11 - sum(w * int(d) for w, d in zip(weights, body, strict=True)) % 11) % 11
        if check != 10:
            return body + str(check)


def synthetic_national_id(rng: random.Random) -> str:
    """A fødselsnummer with valid check digits (old k1 rule) for a birth date in 1940-1999,
    drawn from ``rng``: synthetic, for the simulator's persons and for tests."""
    w1, w2 = (3, 7, 6, 1, 8, 9, 4, 5, 2), (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    while True:
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(60 * 365))
        body = f"{born:%d%m%y}{rng.randint(0, 499):03d}"  # 000-499: the 1900s
        k1 = (11 - sum(w * int(d) for w, d in zip(w1, body, strict=True)) % 11) % 11
        if k1 == 10:
            continue
        body += str(k1)
        k2 = (11 - sum(w * int(d) for w, d in zip(w2, body, strict=True)) % 11) % 11
        if k2 != 10:
            return body + str(k2)


def _zipf_weights(n: int, rng: random.Random) -> list[float]:
    weights = [1 / (rank + 1) ** 0.9 for rank in range(n)]
    rng.shuffle(weights)
    return weights


def _pick(rng: random.Random, options: tuple[tuple[Any, float], ...]) -> Any:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def plan_population(seed: int, points: int, grid_owners: int, suppliers: int,
                    third_parties: int = 3) -> Population:
    """Who exists, from ``seed`` alone: the same arguments always give the same population."""
    if points < 1 or grid_owners < 1 or suppliers < 1 or third_parties < 0:
        raise ValueError("need at least one point, one grid owner and one supplier")
    if points > 10**7:
        raise ValueError("at most 10,000,000 points (7 free digits of the GSRN)")
    rng = random.Random(seed)
    parties = grid_owners + suppliers + third_parties
    glns = [_gs1(f"{GLN_PREFIX}{n:06d}") for n in rng.sample(range(10**6), parties)]
    owner_glns = tuple(glns[:grid_owners])
    supplier_glns = tuple(glns[grid_owners:grid_owners + suppliers])
    third_glns = glns[grid_owners + suppliers:]
    owner_area = {g: _pick(rng, GRID_AREAS) for g in owner_glns}
    owner_weights = _zipf_weights(grid_owners, rng)
    supplier_weights = _zipf_weights(suppliers, rng)
    ids = rng.sample(range(10**7), points)
    persons = random.Random(f"{seed}|persons")  # apart, so the rest of the plan stays as it was
    planned: list[MeteringPointPlan] = []
    for i, n in enumerate(ids):
        owner = owner_glns[i] if i < grid_owners else rng.choices(owner_glns, owner_weights)[0]
        supplier = (supplier_glns[i] if i < suppliers
                    else rng.choices(supplier_glns, supplier_weights)[0])
        category = _pick(rng, CATEGORY_SHARES)
        resolution = "PT15M" if rng.random() < PT15M_SHARE[category] else "PT1H"
        consumption_code = industry_code = production_type = None
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        if category == "household":
            consumption_code, scale = "35", 16_000 * rng.lognormvariate(0, 0.35)
        elif category == "holiday_home":
            consumption_code, scale = "36", 5_000 * rng.lognormvariate(0, 0.4)
            name = f"{name} (hytte)"
        elif category == "business":
            industry = rng.choice(INDUSTRIES)
            consumption_code = rng.choice(BUSINESS_CONSUMPTION_CODES)
            industry_code = industry.code
            scale = industry.annual_kwh * rng.lognormvariate(0, 0.6)
            name = f"{rng.choice(COMPANY_WORDS)} {industry.label.title()} AS"
        else:
            production_type = _pick(rng, PRODUCTION_TYPES)
            capacity = {"solar": 10.0, "hydro": 1_000.0, "wind": 2_500.0}[production_type]
            scale = capacity * rng.lognormvariate(0, 0.5)
            name = f"{rng.choice(COMPANY_WORDS)} Kraft AS" if production_type != "solar" \
                else name
        area = owner_area[owner]
        planned.append(MeteringPointPlan(
            gsrn=_gs1(f"{GSRN_PREFIX}{n:07d}"), category=category,
            type="production" if category == "production" else "consumption",
            resolution=resolution, grid_owner=owner, supplier=supplier, grid_area=area.eic,
            price_area=area.price_area, consumption_code=consumption_code,
            industry_code=industry_code, production_type=production_type,
            scale=round(scale, 1),
            valid_from=date(2019, 1, 1) + timedelta(days=rng.randrange(5 * 365)),
            end_user_name=name, organisation_number=_organisation_number(rng),
            national_id=synthetic_national_id(persons)
            if category in ("household", "holiday_home") else None))
    third = []
    for party in third_glns:
        share = max(1, points // 100)
        third.append(ThirdPartyPlan(party, tuple(
            p.gsrn for p in rng.sample(planned, min(share, len(planned))))))
    return Population(seed, owner_glns, supplier_glns, tuple(third), tuple(planned))


# -- one day of values ---------------------------------------------------------------------

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


def registration_document(point: MeteringPointPlan, seed: int) -> dict[str, Any]:
    """BRS-NO-121 for ``point``, sent by its grid owner."""
    document: dict[str, Any] = {
        "messageId": str(uuid.uuid5(NAMESPACE, f"{seed}|register|{point.gsrn}")),
        "meteringPointId": point.gsrn, "gridArea": point.grid_area,
        "priceArea": point.price_area, "type": point.type, "resolution": point.resolution,
        "validFrom": point.valid_from.isoformat()}
    for key, value in (("consumptionCode", point.consumption_code),
                       ("industryCode", point.industry_code),
                       ("productionType", point.production_type)):
        if value is not None:
            document[key] = value
    return document


def start_of_supply_document(point: MeteringPointPlan, start: date, seed: int
                             ) -> dict[str, Any]:
    """BRS-NO-101 for ``point`` from ``start``, sent by its supplier."""
    return {"messageId": str(uuid.uuid5(NAMESPACE, f"{seed}|supply|{point.gsrn}|{start}")),
            "meteringPointId": point.gsrn, "startDate": start.isoformat(),
            "endUser": {"name": point.end_user_name,
                        "organisationNumber": point.organisation_number}}


def move_in_document(point: MeteringPointPlan, start: date, seed: int, grant_id: str
                     ) -> dict[str, Any]:
    """BRS-NO-102/103 for a person's ``point`` from ``start``, with the person's consent."""
    return {"messageId": str(uuid.uuid5(NAMESPACE, f"{seed}|move-in|{point.gsrn}|{start}")),
            "meteringPointId": point.gsrn, "startDate": start.isoformat(),
            "endUser": {"name": point.end_user_name, "nationalId": point.national_id},
            "authorizationGrantId": grant_id}


def authorization_request_document(point: MeteringPointPlan, start: date, today: date
                                   ) -> dict[str, Any]:
    """The supplier's request for the person's consent to move in (Access API)."""
    meta: dict[str, Any] = {
        "requestedBy": point.supplier, "requestedFrom": point.national_id,
        "requestedTo": point.national_id, "requestedFromName": point.end_user_name,
        "requestedForMeteringPointId": point.gsrn,
        "requestedForMeteringPointAddress": f"Simulert vei {int(point.gsrn[-6:-1])}",
        "balanceSupplierName": f"Kraftleverandør {point.supplier[-5:]}",
        "balanceSupplierContractName": "Spotpris"}
    if start <= today:  # a backdated move-in (BRS-NO-103) names its date
        meta["moveInDate"] = start.isoformat()
    return {"data": {"type": "AuthorizationRequest",
                     "attributes": {"requestType": "MoveInAndChangeOfBalanceSupplierForPerson"},
                     "meta": meta}}


# -- HTTP ----------------------------------------------------------------------------------

ClientFactory = Callable[[str, str], httpx.AsyncClient]
"""``(GLN, role) -> client`` whose requests carry that party's token; the caller owns (and
closes) the clients, and should hand out one per party rather than a new one per call."""

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
JSON_HEADERS = {"Content-Type": "application/json"}


class _DevTokenAuth(httpx.Auth):
    """A development token, issued again before it expires (``--follow`` runs for days)."""

    def __init__(self, settings: Settings, party: str, role: str, ttl: int = 12 * 3600) -> None:
        self.settings, self.party, self.role, self.ttl = settings, party, role, ttl
        self._token, self._renew_at = "", 0.0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if time.monotonic() >= self._renew_at:
            self._token = issue_dev_token(self.settings, self.party, [self.role], self.ttl)
            self._renew_at = time.monotonic() + self.ttl / 2
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


class DevClients:
    """A :data:`ClientFactory` with development tokens: one ``AsyncClient`` per party."""

    def __init__(self, base_url: str, settings: Settings, timeout: float = 60.0) -> None:
        self.base_url, self.settings, self.timeout = base_url, settings, timeout
        self._clients: dict[tuple[str, str], httpx.AsyncClient] = {}

    def __call__(self, party: str, role: str) -> httpx.AsyncClient:
        key = (party, role)
        if key not in self._clients:
            self._clients[key] = httpx.AsyncClient(
                base_url=self.base_url, timeout=self.timeout,
                auth=_DevTokenAuth(self.settings, party, role),
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
        return self._clients[key]

    def end_user_token(self, national_id: str) -> str:
        """A person's token for answering a consent request (as on Elhub's Min side)."""
        return issue_dev_token(self.settings, None, ["end_user"], 3600, national_id)

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def __aenter__(self) -> DevClients:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


@dataclass(frozen=True)
class Answer:
    """What came of one POST after retries: ``accepted``, ``duplicate`` or ``error``."""

    outcome: str
    status: int
    seconds: float
    detail: str = ""


async def post_document(client: httpx.AsyncClient, path: str, body: bytes,
                        attempts: int = 8) -> Answer:
    """POST an intake document, retrying 429/5xx and connection errors with backoff.

    Retrying is safe: the same ``messageId`` is answered ``duplicate`` if an earlier try got
    through. ``seconds`` is the time of the last try.
    """
    delay, detail, status, seconds = 0.25, "", 0, 0.0
    for attempt in range(attempts):
        started = time.perf_counter()
        wait = delay
        try:
            response = await client.post(path, content=body, headers=JSON_HEADERS)
        except httpx.TransportError as exc:
            seconds = time.perf_counter() - started
            status, detail = 0, f"{type(exc).__name__}: {exc}"
        else:
            seconds = time.perf_counter() - started
            status = response.status_code
            if status == 202:
                return Answer("accepted", status, seconds)
            if status == 200:
                return Answer("duplicate", status, seconds)
            detail = response.text[:500]
            if status not in RETRY_STATUSES:
                return Answer("error", status, seconds, detail)
            with contextlib.suppress(ValueError):
                wait = max(wait, float(response.headers.get("Retry-After", "0")))
        if attempt + 1 < attempts:
            await asyncio.sleep(min(wait, 5.0))
            delay = min(delay * 2, 5.0)
    return Answer("error", status, seconds, detail)


class Pacer:
    """At most ``rate`` units per second over all callers (no limit when ``rate`` is None)."""

    def __init__(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._next = 0.0

    async def take(self, units: int = 1) -> None:
        if self.rate is None:
            return
        now = time.monotonic()
        slot = max(self._next, now)
        self._next = slot + units / self.rate
        if slot > now:
            await asyncio.sleep(slot - now)


def _console() -> Console:
    """stderr; plain lines (no wrapping, no markup) when not a terminal, e.g. a log file."""
    return Console(stderr=True, soft_wrap=True, markup=False, highlight=False)


def _say(console: Console, message: str) -> None:
    """A line for the person watching; a log line (JSON under ``straum run``) otherwise."""
    if console.is_terminal:
        console.print(f"straum: simulator: {message}")
    else:
        log.info(message)


@contextlib.asynccontextmanager
async def _progress(quiet: bool, console: Console | None = None) -> AsyncIterator[Progress]:
    console = console or _console()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[note]}"), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=console, transient=False,
                        disable=quiet or not console.is_terminal)
    with progress:
        yield progress


async def _in_parallel(jobs: Iterable[Any], concurrency: int,
                       handle: Callable[[Any], Awaitable[None]]) -> None:
    """``handle`` each job with at most ``concurrency`` at a time (no task per job)."""
    shared: Iterator[Any] = iter(jobs)

    async def worker() -> None:
        for job in shared:
            await handle(job)

    async with asyncio.TaskGroup() as group:
        for _ in range(max(1, concurrency)):
            group.create_task(worker())


def _record_error(errors: list[str], what: str, answer: Answer) -> None:
    if len(errors) < 10:
        errors.append(f"{what}: HTTP {answer.status} {answer.detail}".strip())
    if len(errors) <= 3:
        log.warning("simulator request failed", what=what, status=answer.status,
                    detail=answer.detail[:300])


class _Bearer(httpx.Auth):
    """One request with another token than its client's (the end user's answer)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


JSONAPI_HEADERS = {"Content-Type": "application/vnd.api+json"}
ALREADY_LIVES_THERE = "requested_from_is_metering_point_end_user"


async def obtain_move_in_grant(point: MeteringPointPlan, client_factory: ClientFactory,
                               start: date, attempts: int = 20) -> tuple[str | None, str]:
    """The person's consent to move in (Access API): the supplier asks, the person accepts
    with its own token, the grant's id comes back. ``(None, why)`` when there is none;
    ``why`` is ``ALREADY_LIVES_THERE`` when the person has the point already (a second run).

    The hub answers 404 until it has processed the point's registration: asked again.
    """
    token_of = getattr(client_factory, "end_user_token", None)
    if token_of is None or point.national_id is None:
        return None, "no end-user tokens to answer the consent request with"
    client = client_factory(point.supplier, "supplier")
    body = json.dumps(authorization_request_document(point, start, oslo_today())).encode()
    delay, response, detail = 0.1, None, ""
    for _ in range(attempts):
        try:
            response = await client.post("/v1/authorization-requests", content=body,
                                         headers=JSONAPI_HEADERS)
        except httpx.TransportError as exc:
            response, detail = None, str(exc)
        if response is not None and response.status_code not in (404, *RETRY_STATUSES):
            break
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)
    if response is None:
        return None, f"no answer to the consent request: {detail}"
    if response.status_code != 201:
        codes = [e.get("code") for e in response.json().get("errors", [])]
        return None, ALREADY_LIVES_THERE if ALREADY_LIVES_THERE in codes else (
            f"consent request: HTTP {response.status_code} {codes}")
    request_id = response.json()["data"]["id"]
    answer = json.dumps({"data": {"type": "AuthorizationRequest", "id": request_id,
                                  "attributes": {"status": "Accepted"}}}).encode()
    accepted = await client.patch(f"/v1/authorization-requests/{request_id}", content=answer,
                                  headers=JSONAPI_HEADERS,
                                  auth=_Bearer(token_of(point.national_id)))
    if accepted.status_code != 200:
        return None, f"consent answer: HTTP {accepted.status_code} {accepted.text[:200]}"
    grant = accepted.json()["data"]["relationships"]["authorizationGrant"]["data"]
    return grant["id"], ""


@dataclass
class RegisterResult:
    """The outcome of registering a population: documents answered by the API (accepted,
    duplicates, errors) and, once settled, what the hub made of the accepted ones."""

    points: int = 0
    accepted: int = 0
    duplicates: int = 0
    errors: int = 0
    rejected: int = 0
    seconds: float = 0.0
    settled: bool = True
    error_samples: list[str] = field(default_factory=list)
    rejection_samples: list[str] = field(default_factory=list)


async def queue_depths(client: httpx.AsyncClient, queue: str) -> int:
    """Depth of one of the caller's queues (``GET /v1/queues``)."""
    response = await client.get("/v1/queues")
    response.raise_for_status()
    for row in response.json()["queues"]:
        if row["queue"] == queue:
            return int(row["depth"])
    return 0


@dataclass(frozen=True)
class _Sent:
    """An accepted document whose acknowledgement is awaited."""

    sender: str
    role: str
    what: str


async def register(population: Population, client_factory: ClientFactory, *,
                   supply_start: date | None = None, concurrency: int = 32,
                   settle_timeout: float | None = 120.0, quiet: bool = False,
                   console: Console | None = None) -> RegisterResult:
    """Register every point (BRS-NO-121, as its grid owner) and start supply on it (BRS-NO-101,
    as its supplier, from ``supply_start``: default two days before yesterday).

    The two are sent one after the other per point (the start of supply must reach the hub
    after the registration), points in parallel. The API answers before the hub has processed
    a document, so with ``settle_timeout`` this then reads the senders' market-processes
    queues, as the actors would (poll, acknowledge), until the hub has acknowledged every
    accepted document: the hub then knows every point it accepted, and values sent next are
    not rejected as unknown. The documents the hub rejected are counted in ``rejected``, with
    their reason codes in ``rejection_samples``: a rejected registration or start of supply
    means no values are forwarded for that point.
    """
    start = supply_start or oslo_today() - timedelta(days=3)
    result = RegisterResult(points=len(population.points))
    waiting: dict[str, _Sent] = {}
    began = time.perf_counter()
    async with _progress(quiet, console) as progress:
        task = progress.add_task("registering points", total=2 * len(population.points),
                                 note="")

        async def supply(point: MeteringPointPlan) -> tuple[str, dict[str, Any]] | None:
            """A person moves in with consent (BRS-NO-102/103); others start supply
            (BRS-NO-101). None: nothing to send (the person has the point already)."""
            if point.national_id is None:
                return "/v1/start-of-supply", start_of_supply_document(point, start,
                                                                       population.seed)
            grant_id, why = await obtain_move_in_grant(point, client_factory, start)
            if grant_id is not None:
                return "/v1/move-in", move_in_document(point, start, population.seed, grant_id)
            if why == ALREADY_LIVES_THERE:
                result.duplicates += 1
                progress.advance(task)
                return None
            result.errors += 1
            progress.advance(task)
            _record_error(result.error_samples, f"consent {point.gsrn}",
                          Answer("error", 0, 0.0, why))
            return None

        async def one(point: MeteringPointPlan) -> None:
            for who, role, path, document in (
                    (point.grid_owner, "grid_owner", "/v1/metering-points",
                     registration_document(point, population.seed)),
                    (point.supplier, "supplier", "", {})):
                if role == "supplier":
                    step = await supply(point)
                    if step is None:
                        return
                    path, document = step
                answer = await post_document(client_factory(who, role), path,
                                             json.dumps(document).encode())
                progress.advance(task)
                if answer.outcome == "accepted":
                    result.accepted += 1
                    waiting[document["messageId"]] = _Sent(who, role, f"{path} {point.gsrn}")
                elif answer.outcome == "duplicate":
                    result.duplicates += 1
                else:
                    result.errors += 1
                    _record_error(result.error_samples, f"{path} {point.gsrn}", answer)
                    return  # no start of supply on a point that was not registered

        await _in_parallel(population.points, concurrency, one)
        if settle_timeout and waiting:
            result.settled = await _await_acknowledgements(
                client_factory, waiting, result, settle_timeout, progress)
    result.seconds = time.perf_counter() - began
    return result


async def _await_acknowledgements(client_factory: ClientFactory, waiting: dict[str, _Sent],
                                  result: RegisterResult, within: float,
                                  progress: Progress) -> bool:
    """Poll the senders' market-processes queues until every document in ``waiting`` has its
    Acknowledgement (True) or ``within`` seconds passed (False); count the rejected ones.

    Every message read is acknowledged, as the actor would: the simulated actors have no use
    for the notifications that come with an accepted document.
    """
    total = len(waiting)
    task = progress.add_task("hub processing registrations", total=total, note="")
    senders = {(sent.sender, sent.role) for sent in waiting.values()}
    deadline = time.monotonic() + within
    while waiting:
        read = 0
        for sender, role in sorted(senders):
            read += await _read_answers(client_factory(sender, role), waiting, result)
        progress.update(task, completed=total - len(waiting))
        if not waiting:
            break
        if time.monotonic() >= deadline:
            log.warning("simulator gave up waiting for the hub's acknowledgements",
                        missing=len(waiting))
            return False
        if not read:
            await asyncio.sleep(0.5)
    return True


async def _read_answers(client: httpx.AsyncClient, waiting: dict[str, _Sent],
                        result: RegisterResult) -> int:
    """One poll of the caller's market-processes queue, acknowledged; the number of messages."""
    response = await client.post("/v1/queues/market-processes/poll", params={"max": 2000})
    if response.status_code == 204:
        return 0
    response.raise_for_status()
    body = response.json()
    for message in body["messages"]:
        payload = message["payload"]
        sent = waiting.pop(payload.get("originalMessageId") or "", None) \
            if message["documentType"] == "Acknowledgement" else None
        if sent is not None and payload.get("status") == "rejected":
            result.rejected += 1
            if len(result.rejection_samples) < 10:
                codes = ", ".join(r["code"] for r in payload.get("reasons", []))
                result.rejection_samples.append(f"{sent.what}: rejected ({codes})")
    (await client.post("/v1/queues/market-processes/ack",
                       json={"pollId": body["pollId"]})).raise_for_status()
    return len(body["messages"])


@dataclass
class SendResult:
    """The outcome of a batch: counts of documents (accepted, duplicates, errors are
    documents), series, and the latency of each ``202``."""

    day: date
    documents: int = 0
    series: int = 0
    accepted: int = 0
    duplicates: int = 0
    errors: int = 0
    series_accepted: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    @property
    def series_per_second(self) -> float:
        return self.series / self.seconds if self.seconds else 0.0

    def percentiles(self) -> dict[str, float]:
        """p50/p95/p99/max latency of the 202s, in milliseconds (nearest rank)."""
        if not self.latencies:
            return {}
        ordered = sorted(self.latencies)

        def rank(q: float) -> float:
            return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]
        return {name: round(rank(q) * 1000, 1)
                for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))}

    def summary(self) -> str:
        latency = " ".join(f"{k} {v:g} ms" for k, v in self.percentiles().items())
        return (f"{self.day}: {self.series} series in {self.documents} documents in "
                f"{self.seconds:.1f} s ({self.series_per_second:,.0f} series/s): "
                f"{self.accepted} accepted, {self.duplicates} duplicates, {self.errors} errors"
                + (f"; 202 latency {latency}" if latency else ""))


def _batches(population: Population, batch_size: int
             ) -> Iterator[tuple[str, list[MeteringPointPlan]]]:
    """Each grid owner's points in documents of up to ``batch_size``, grid owners taking
    turns (so concurrent documents come from several senders, as on a real morning)."""
    per_owner = [[(owner, points[i:i + batch_size])
                  for i in range(0, len(points), batch_size)]
                 for owner, points in population.points_of_grid_owner().items()]
    for round_ in zip_longest(*per_owner):
        for batch in round_:
            if batch is not None:
                yield batch


def _values_body(population: Population, day: date, batch_size: int, owner: str,
                 points: list[MeteringPointPlan]) -> bytes:
    message_id = uuid.uuid5(
        NAMESPACE, f"{population.seed}|values|{owner}|{day}|{batch_size}|{points[0].gsrn}")
    return json.dumps({"messageId": str(message_id),
                       "series": [series_for(p, day, population.seed) for p in points]}
                      ).encode()


async def send_day(population: Population, day: date, client_factory: ClientFactory, *,
                   batch_size: int = 50, concurrency: int = 32, rate: float | None = None,
                   prebuild: bool = False, quiet: bool = False, console: Console | None = None
                   ) -> SendResult:
    """The morning batch: every grid owner sends its points' series for ``day`` in documents
    of up to ``batch_size`` series, at most ``concurrency`` documents in flight and at most
    ``rate`` series per second.

    Documents are built as they are sent (about 0.2 ms of CPU per series, in this event
    loop); ``prebuild`` builds them all before the clock starts, so that a benchmark measures
    the API rather than the generator (about 4 KB of memory per series).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    result = SendResult(day)
    pacer = Pacer(rate)
    jobs: Iterable[tuple[str, list[MeteringPointPlan], bytes | None]] = (
        (owner, points, None) for owner, points in _batches(population, batch_size))
    if prebuild:
        jobs = [(owner, points, _values_body(population, day, batch_size, owner, points))
                for owner, points, _ in jobs]
    began = time.perf_counter()
    async with _progress(quiet, console) as progress:
        task = progress.add_task(f"sending {day}", total=len(population.points), note="")

        async def one(job: tuple[str, list[MeteringPointPlan], bytes | None]) -> None:
            owner, points, body = job
            if body is None:
                body = _values_body(population, day, batch_size, owner, points)
            await pacer.take(len(points))
            answer = await post_document(client_factory(owner, "grid_owner"),
                                         "/v1/metering-values", body)
            result.documents += 1
            result.series += len(points)
            if answer.outcome == "accepted":
                result.accepted += 1
                result.series_accepted += len(points)
                result.latencies.append(answer.seconds)
            elif answer.outcome == "duplicate":
                result.duplicates += 1
            else:
                result.errors += 1
                _record_error(result.error_samples, f"metering values from {owner}", answer)
            progress.update(task, advance=len(points),
                            note=f"{result.series / max(1e-9, time.perf_counter() - began):,.0f}"
                                 " series/s")

        await _in_parallel(jobs, concurrency, one)
    result.seconds = time.perf_counter() - began
    return result


async def follow(population: Population, client_factory: ClientFactory, last_day: date, *,
                 rate: float = 1.0, batch_size: int = 50, concurrency: int = 32,
                 console: Console | None = None, report_every: float = 60.0) -> None:
    """Forever (until cancelled): one correction (or, one time in ten, an identical resend
    under a new transaction, which the hub drops) of ``last_day`` for a random point per
    ``1/rate`` seconds, and the morning batch for each new Oslo day as it comes."""
    console = console or _console()
    rng = random.Random(f"{population.seed}|follow|{time.time()}")
    versions: dict[str, int] = {}
    pacer = Pacer(rate)
    counts: Counter[str] = Counter()
    next_report = time.monotonic() + report_every
    while True:
        yesterday = oslo_today() - timedelta(days=1)
        while last_day < yesterday:
            last_day += timedelta(days=1)
            result = await send_day(population, last_day, client_factory,
                                    batch_size=batch_size, concurrency=concurrency, quiet=True)
            _say(console, f"morning batch {result.summary()}")
            versions.clear()
        await pacer.take()
        point = rng.choice(population.points)
        version = versions.get(point.gsrn, 1)
        resend = rng.random() < 0.1
        if not resend:
            version += 1
            versions[point.gsrn] = version
        series = series_for(point, last_day, population.seed, version)
        if resend:  # same values, new transaction: a duplicate by content
            series["transactionId"] = str(uuid.uuid4())
        body = json.dumps({"messageId": str(uuid.uuid4()), "series": [series]}).encode()
        answer = await post_document(client_factory(point.grid_owner, "grid_owner"),
                                     "/v1/metering-values", body)
        counts["resends" if resend else "corrections"] += 1
        counts[answer.outcome] += 1
        if answer.outcome == "error":
            _record_error([], f"correction of {point.gsrn}", answer)
        if time.monotonic() >= next_report:
            next_report = time.monotonic() + report_every
            log.info("simulator trickle", day=str(last_day), **counts)


async def wait_ready(base_url: str, within: float | None, console: Console) -> bool:
    """Wait until ``/readyz`` answers 200 (forever when ``within`` is None)."""
    deadline = None if within is None else time.monotonic() + within
    next_note = time.monotonic() + 15
    async with httpx.AsyncClient(base_url=base_url, timeout=5.0) as client:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200:
                    return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            if time.monotonic() >= next_note:
                _say(console, f"waiting for {base_url}/readyz ...")
                next_note = time.monotonic() + 30
            await asyncio.sleep(1.0)


# -- the command -----------------------------------------------------------------------------

async def _simulate(population: Population, day: date, follow_on: bool, rate: float | None,
                    base_url: str, settings: Settings, batch_size: int, concurrency: int,
                    quiet: bool, console: Console) -> int:
    if not await wait_ready(base_url, None if follow_on else 30.0, console):
        console.print(f"straum: error: no ready straum API at {base_url} "
                      "(is `straum run` up, and is --url right?)")
        return 1
    _say(console, f"{population.describe()}")
    if population.third_parties:
        _say(console, f"{len(population.third_parties)} third parties "
                      "planned; the simulator sends nothing for them (it does not play "
                      "third-party access yet)")
    supply_start = day - timedelta(days=2)
    if (oslo_today() - supply_start).days > 14:
        _say(console, f"warning: a start of supply on {supply_start} is "
                      "backdated more than 14 days and is refused (400): suppliers get no "
                      f"values for {day} (grid owners still do)")
    async with DevClients(base_url, settings) as clients:
        registered = await register(population, clients, supply_start=supply_start,
                                    concurrency=concurrency, quiet=quiet, console=console)
        _say(
            console, f"registration and start of supply: {registered.accepted} "
            f"accepted, {registered.duplicates} duplicates, {registered.errors} errors in "
            f"{registered.seconds:.1f} s"
            + ("" if registered.settled else " (the hub had not processed all of them in time)")
            + (f"; the hub rejected {registered.rejected}" if registered.rejected else ""))
        for sample in [*registered.error_samples[:3], *registered.rejection_samples[:3]]:
            _say(console, f"  {sample}")
        sent = await send_day(population, day, clients, batch_size=batch_size,
                              concurrency=concurrency, rate=None if follow_on else rate,
                              quiet=quiet, console=console)
        _say(console, f"sent {sent.summary()}")
        for sample in sent.error_samples[:3]:
            _say(console, f"  {sample}")
        if sent.duplicates:
            _say(console, "duplicates: this seed and day were sent before; "
                          "pass another --seed or --day for new traffic")
        if follow_on:
            _say(console, f"following: corrections at "
                          f"{rate or 1.0:g} series/s, a morning batch per new day; "
                          "Ctrl-C or SIGTERM stops")
            await follow(population, clients, day,
                         rate=rate or 1.0, batch_size=batch_size, concurrency=concurrency,
                         console=console)
    return 0 if registered.errors == registered.rejected == sent.errors == 0 else 1


def main(points: int, grid_owners: int, suppliers: int, day: date | None, follow: bool,
         rate: float | None, seed: int, base_url: str, settings: Settings, *,
         third_parties: int = 3, batch_size: int = 50, concurrency: int = 32,
         quiet: bool = False) -> int:
    """``straum simulate``: plan, register, send ``day`` (default yesterday in Oslo), and with
    ``follow`` keep a trickle going until SIGTERM/SIGINT. Returns the exit code."""
    console = _console()
    for chatty in ("httpx", "httpcore"):  # a line per request otherwise
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if rate is not None and rate <= 0:
        console.print("straum: error: --rate must be positive")
        return 2
    try:
        population = plan_population(seed, points, grid_owners, suppliers, third_parties)
    except ValueError as exc:
        console.print(f"straum: error: {exc}")
        return 2
    value_day = day or oslo_today() - timedelta(days=1)

    async def run() -> int:
        loop = asyncio.get_running_loop()
        work = asyncio.create_task(_simulate(population, value_day, follow, rate,
                                             base_url.rstrip("/"), settings, batch_size,
                                             concurrency, quiet, console))
        stopped_by: list[str] = []

        def stop(name: str) -> None:
            stopped_by.append(name)
            work.cancel()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop, sig.name)
        try:
            return await work
        except asyncio.CancelledError:
            if not stopped_by:
                raise
            _say(console, f"stopped ({stopped_by[0]})")
            return 0 if follow else 130
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    return asyncio.run(run())
