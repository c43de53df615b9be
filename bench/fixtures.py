"""A small market for the benchmarks: grid owners, suppliers, points and their series.

Every series is a new period for its point (one Oslo day of 96 quarter-hours on or after the
supply start), as in daily operation: straum forwards it to the supplier and the grid owner,
not as a duplicate or a correction.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.common import progress
from domain.norgespris import Change, Contract, ContractStatus
from domain.series import HUB_TIMEZONE, expected_point_count
from streams.records.contracts import encode_contract
from streams.records.series import encode_series
from tests.helpers import gln, gsrn, oslo_midnight

RESOLUTION = "PT15M"
POINTS_PER_DAY = 96
SUPPLY_DAYS_BACK = 13  # start of supply may be backdated 14 days at most


@dataclass(frozen=True)
class Point:
    point_id: str
    grid_owner: str
    supplier: str


@dataclass(frozen=True)
class Market:
    """``points`` carry the measured series; ``warmup`` (one per supplier) the warm-up."""

    points: list[Point]
    warmup: list[Point]
    valid_from: date
    supply_start: date
    days: list[date]

    @property
    def all_points(self) -> list[Point]:
        return self.points + self.warmup

    @property
    def suppliers(self) -> list[str]:
        return sorted({p.supplier for p in self.all_points})

    def slot(self, i: int) -> tuple[Point, date]:
        """The i-th (point, day) pair; distinct for i < len(points) * len(days)."""
        return self.points[i % len(self.points)], self.days[i // len(self.points)]


def _unique(make: Any, count: int, rng: random.Random, taken: set[str]) -> list[str]:
    found: dict[str, None] = {}
    while len(found) < count:
        value = make(rng)
        if value not in taken:
            found[value] = None
    taken.update(found)
    return list(found)


def make_market(series: int, grid_owners: int, suppliers: int, seed: int) -> Market:
    """Enough points for ``series`` distinct (point, day) pairs."""
    today = datetime.now(HUB_TIMEZONE).date()
    supply_start = today - timedelta(days=SUPPLY_DAYS_BACK)
    days = [d for d in (supply_start + timedelta(days=n) for n in range(SUPPLY_DAYS_BACK))
            if expected_point_count(oslo_midnight(d), oslo_midnight(d + timedelta(days=1)),
                                    RESOLUTION) == POINTS_PER_DAY]
    rng, taken = random.Random(seed), set[str]()
    owners = _unique(gln, grid_owners, rng, taken)
    sellers = _unique(gln, suppliers, rng, taken)
    ids = _unique(gsrn, math.ceil(series / len(days)) + suppliers, rng, taken)
    points = [Point(p, owners[i % grid_owners], sellers[i % suppliers])
              for i, p in enumerate(ids)]
    return Market(points[suppliers:], points[:suppliers], today - timedelta(days=60),
                  supply_start, days)


def new_points(count: int, grid_owners: int, seed: int) -> list[tuple[str, str]]:
    """``count`` new metering points as (point id, grid owner), the grid owners taking
    turns."""
    rng, taken = random.Random(seed), set[str]()
    owners = _unique(gln, grid_owners, rng, taken)
    return [(p, owners[i % grid_owners]) for i, p in enumerate(_unique(gsrn, count, rng, taken))]


def series_value(point: Point, day: date, seq: int = 0) -> bytes:
    """A 96-point PT15M MeteringValueSeries for ``day``, as the API writes it to intake."""
    start = oslo_midnight(day)
    return encode_series({
        "messageId": str(uuid.uuid4()), "transactionId": str(uuid.uuid4()),
        "sender": point.grid_owner, "receivedAt": datetime.now(UTC),
        "meteringPointId": point.point_id, "start": start,
        "end": start + timedelta(days=1), "resolution": RESOLUTION, "unit": "kWh",
        "quantities": [round(0.25 + ((seq + i) % 97) / 1000, 3) for i in range(POINTS_PER_DAY)],
        "qualities": ["measured"] * POINTS_PER_DAY})


def series_records(market: Market, count: int) -> list[tuple[bytes, bytes]]:
    """``count`` intake records, each a new (point, day), keyed by metering point id."""
    slots = [market.slot(i) for i in range(count)]
    return [(p.point_id.encode(), series_value(p, d, i)) for i, (p, d) in enumerate(slots)]


def warmup_records(market: Market) -> list[tuple[bytes, bytes]]:
    """One series per warm-up point: every actor's queue topics exist afterwards."""
    return [(p.point_id.encode(), series_value(p, market.days[0])) for p in market.warmup]


# A year of one household point, its area's prices, and a million contracts: the reads benchmark
# (bench/reads.py) compares, asks for history and reads contracts over these.

FIRST, LAST = date(2025, 11, 1), date(2026, 10, 31)
QUARTER = timedelta(minutes=15)


def year_series(point: str, owner: str) -> tuple[list[tuple[bytes, bytes]],
                                                 list[tuple[datetime, float, str]]]:
    """The point's daily PT15M series FIRST..LAST as intake records, and its values."""
    encode = encode_series
    records, values = [], []
    day = FIRST
    rng = random.Random(1)
    while day <= LAST:
        start, end = oslo_midnight(day), oslo_midnight(day + timedelta(days=1))
        count = expected_point_count(start, end, "PT15M")
        quantities = [round(rng.uniform(0.05, 1.5), 3) for _ in range(count)]
        records.append((point.encode(), encode({
            "messageId": str(uuid.uuid4()), "transactionId": str(uuid.uuid4()),
            "sender": owner, "receivedAt": datetime.now(UTC), "meteringPointId": point,
            "start": start, "end": end, "resolution": "PT15M", "unit": "kWh",
            "quantities": quantities, "qualities": ["measured"] * count})))
        first = start.astimezone(UTC)
        values += [(first + i * QUARTER, q, "measured") for i, q in enumerate(quantities)]
        day += timedelta(days=1)
    return records, values


def year_prices() -> list[dict[str, Any]]:
    start = oslo_midnight(FIRST).astimezone(UTC)
    end = oslo_midnight(LAST + timedelta(days=1)).astimezone(UTC)
    rng = random.Random(2)
    out = []
    moment = start
    while moment < end:
        out.append({"area": "NO1", "start": moment.isoformat(), "resolution": "PT15M",
                    "price": round(rng.uniform(50, 2500), 2), "unit": "NOK/MWh"})
        moment += QUARTER
    return out


def contract_records(count: int) -> tuple[list[tuple[bytes, bytes]], list[str], list[str]]:
    rng = random.Random(4)
    owners = [gln(rng) for _ in range(10)]
    suppliers = [gln(rng) for _ in range(20)]
    now = datetime.now(UTC)
    records: list[tuple[bytes, bytes]] = []
    points: list[str] = []
    ids: list[str] = []
    seen: set[str] = set()
    with progress() as bar:
        task = bar.add_task("encode contracts", total=count)
        while len(records) < count:
            point = gsrn(rng)
            if point in seen:
                continue
            seen.add(point)
            contract_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            owner = owners[len(records) % len(owners)]
            contract = Contract(contract_id, point, owner, ContractStatus.ACTIVATED,
                                date(2025, 10, 1), None, now, now, owner, owner,
                                (Change(now, owner, "created"),), "Norgespris")
            records.append((contract_id.encode(), encode_contract(
                contract, suppliers[len(records) % len(suppliers)])))
            points.append(point)
            ids.append(contract_id)
            if len(records) % 5000 == 0:
                bar.update(task, completed=len(records))
    return records, points, ids
