"""Who exists in the simulated market (pure, seeded): grid owners, suppliers, third parties
and their metering points, with the mix the package docstring describes."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from domain.identifiers import NORWEGIAN_GSRN_PREFIX, gs1_check_digit

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
