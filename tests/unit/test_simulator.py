"""The simulator's pure parts: the population plan and one day of values."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from connectors.klass import load_code_lists
from connectors.simulator import (
    GRID_AREAS,
    GSRN_PREFIX,
    INDUSTRIES,
    INDUSTRY_BY_CODE,
    Pacer,
    Population,
    SendResult,
    _batches,
    day_values,
    plan_population,
    registration_document,
    series_for,
    start_of_supply_document,
)
from domain.codes import check_industry
from domain.identifiers import (
    validate_eic,
    validate_gln,
    validate_norwegian_gsrn,
    validate_organisation_number,
)
from domain.industry_codes import check_industry_code
from domain.series import PointIn, check_series
from schemas.api import MeteringPointRegistrationIn, MeteringValuesDocument, StartOfSupplyIn

KLASS = Path(__file__).parent.parent / "fixtures" / "klass"


@pytest.fixture(scope="module")
def big() -> Population:
    return plan_population(7, 6000, 12, 20, third_parties=4)


def test_identifiers_are_valid_and_unique(big: Population) -> None:
    gsrns = [p.gsrn for p in big.points]
    assert len(set(gsrns)) == len(gsrns) == 6000
    for point in big.points:
        assert validate_norwegian_gsrn(point.gsrn).startswith(GSRN_PREFIX)
        validate_eic(point.grid_area)
        validate_organisation_number(point.organisation_number)
    parties = [*big.grid_owners, *big.suppliers, *(t.gln for t in big.third_parties)]
    assert len(set(parties)) == len(parties) == 12 + 20 + 4
    for party in parties:
        validate_gln(party)


def test_grid_areas_and_parties_are_consistent(big: Population) -> None:
    price_area = {area.eic: area.price_area for area, _ in GRID_AREAS}
    area_of_owner: dict[str, str] = {}
    for point in big.points:
        assert price_area[point.grid_area] == point.price_area
        assert area_of_owner.setdefault(point.grid_owner, point.grid_area) == point.grid_area
        assert point.supplier in big.suppliers
    # every party has points when there are enough points
    assert set(area_of_owner) == set(big.grid_owners)
    assert all(n > 0 for n in big.points_per_supplier().values())
    for third in big.third_parties:
        assert third.points and set(third.points) <= {p.gsrn for p in big.points}


def test_mix_is_roughly_as_documented(big: Population) -> None:
    n = len(big.points)
    categories = Counter(p.category for p in big.points)
    for category, share in (("household", 0.72), ("holiday_home", 0.13), ("business", 0.11),
                            ("production", 0.04)):
        assert abs(categories[category] / n - share) < 0.03, category
    households = [p for p in big.points if p.category == "household"]
    assert {p.consumption_code for p in households} == {"35"}
    assert 0.75 < sum(p.resolution == "PT15M" for p in households) / len(households) < 0.85
    assert {p.consumption_code for p in big.points if p.category == "holiday_home"} == {"36"}
    for point in big.points:
        if point.category == "business":
            assert point.consumption_code not in ("35", "36")
            assert point.industry_code is not None and len(point.industry_code) == 6
        if point.category == "production":
            assert point.type == "production" and point.consumption_code is None
            assert point.production_type in ("solar", "hydro", "wind")
        else:
            assert point.type == "consumption" and point.production_type is None
    assert {p.resolution for p in big.points} == {"PT15M", "PT1H"}


def test_every_business_points_industry_code_is_taken_in_2026() -> None:
    # With the test fixture's code lists imported, a registration valid from any earlier day
    # and decided in 2026 is accepted: no SN2007-only or unknown code.
    lists = load_code_lists(KLASS / "sn2007-codes.csv", KLASS / "sn2025-codes.csv",
                            KLASS / "sn2007-sn2025-correspondence.csv")
    population = plan_population(3, 2000, 10, 20)
    points = {p.industry_code: p.valid_from for p in population.points if p.industry_code}
    assert len(points) == len(INDUSTRIES)
    assert {code: check_industry_code(code, valid_from, lists, today=date(2026, 11, 30))
            for code, valid_from in points.items()} == dict.fromkeys(points)


def test_plan_is_deterministic_with_its_seed() -> None:
    assert plan_population(3, 200, 4, 5) == plan_population(3, 200, 4, 5)
    assert plan_population(3, 200, 4, 5) != plan_population(4, 200, 4, 5)
    point = plan_population(3, 200, 4, 5).points[17]
    day = date(2026, 2, 3)
    assert day_values(point, day, random.Random(1)) == day_values(point, day, random.Random(1))
    assert series_for(point, day, 3) == series_for(point, day, 3)
    assert registration_document(point, 3) == registration_document(point, 3)


def test_plan_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        plan_population(1, 0, 1, 1)
    with pytest.raises(ValueError):
        plan_population(1, 10, 0, 1)


@pytest.mark.parametrize(("day", "quarters", "hours"), [
    (date(2026, 3, 29), 92, 23),   # spring forward
    (date(2025, 10, 26), 100, 25),  # fall back
    (date(2026, 1, 15), 96, 24),
])
def test_dst_days_have_the_right_number_of_points(day: date, quarters: int, hours: int) -> None:
    population = plan_population(11, 400, 3, 3)
    for point in population.points:
        values = day_values(point, day, random.Random(point.gsrn))
        assert len(values) == (quarters if point.resolution == "PT15M" else hours)


def test_values_are_never_negative_and_mostly_measured() -> None:
    population = plan_population(5, 600, 3, 3)
    qualities: Counter[str] = Counter()
    for day in (date(2026, 1, 10), date(2026, 6, 21), date(2026, 10, 25)):
        for point in population.points:
            for quantity, quality in day_values(point, day, random.Random(f"{point.gsrn}{day}")):
                assert quantity >= 0
                qualities[quality] += 1
    assert set(qualities) <= {"measured", "estimated"}
    share = qualities["estimated"] / sum(qualities.values())
    assert 0.002 < share < 0.05


def test_load_and_solar_shapes() -> None:
    population = plan_population(9, 3000, 3, 3)
    household = next(p for p in population.points
                     if p.category == "household" and p.resolution == "PT1H")
    winter = [q for q, _ in day_values(household, date(2026, 1, 14), random.Random(1))]
    summer = [q for q, _ in day_values(household, date(2026, 7, 15), random.Random(1))]
    assert winter[3] < winter[8] and winter[3] < winter[18]  # night below morning and evening
    assert sum(winter) > sum(summer)
    solar = next(p for p in population.points
                 if p.production_type == "solar" and p.resolution == "PT1H")
    june = [q for q, _ in day_values(solar, date(2026, 6, 21), random.Random(2))]
    assert june[1] == 0.0 and june[13] > 0  # 01:00 dark, 13:00 producing
    december = [q for q, _ in day_values(solar, date(2026, 12, 21), random.Random(2))]
    assert sum(december) < sum(june) / 5


def test_documents_pass_the_api_models_and_series_rules() -> None:
    population = plan_population(13, 300, 3, 3)
    for point in population.points:
        MeteringPointRegistrationIn.model_validate(registration_document(point, 13))
        StartOfSupplyIn.model_validate(start_of_supply_document(point, date(2026, 3, 1), 13))
    for day in (date(2026, 3, 29), date(2026, 10, 25)):
        series = [series_for(p, day, 13) for p in population.points]
        document = MeteringValuesDocument.model_validate(
            {"messageId": "1d3c0b7e-6a3f-4b1e-9a55-3f1e2c7d9b10", "series": series})
        for item in document.series:
            points = [PointIn(p.quantity, p.quality) for p in item.points]
            assert check_series(item.start, item.end, item.resolution, points) == []


def test_every_planned_industry_code_is_in_the_test_code_lists(big: Population) -> None:
    """The integration tests import tests/fixtures/klass into the straum they share; from then
    on the hub checks every registration's næringskode against those lists, and a simulated
    point with a code they lack is rejected, with its start of supply and its values (the
    shortfall of issue 21). So each code the simulator gives a point must be in them."""
    fixtures = Path(__file__).parent.parent / "fixtures" / "klass"
    lists = load_code_lists(fixtures / "sn2007-codes.csv", fixtures / "sn2025-codes.csv",
                            fixtures / "sn2007-sn2025-correspondence.csv")
    businesses = [p for p in big.points if p.industry_code is not None]
    assert {p.industry_code for p in businesses} == set(INDUSTRY_BY_CODE)
    for point in businesses:
        document = registration_document(point, big.seed)
        reason = check_industry(document["industryCode"],
                                date.fromisoformat(document["validFrom"]), lists,
                                today=date.today())
        assert reason is None, (point.gsrn, reason)


def test_corrections_change_values_but_keep_the_period() -> None:
    point = plan_population(2, 50, 1, 1).points[0]
    day = date(2026, 2, 2)
    first, second = series_for(point, day, 2, 1), series_for(point, day, 2, 2)
    assert first["transactionId"] != second["transactionId"]
    assert (first["start"], first["end"]) == (second["start"], second["end"])
    assert first["points"] != second["points"]
    assert len(first["points"]) == len(second["points"])


def test_batches_cover_every_point_once_per_grid_owner() -> None:
    population = plan_population(4, 333, 4, 5)
    seen: list[str] = []
    for owner, points in _batches(population, 50):
        assert 1 <= len(points) <= 50
        assert all(p.grid_owner == owner for p in points)
        seen.extend(p.gsrn for p in points)
    assert sorted(seen) == sorted(p.gsrn for p in population.points)


def test_send_result_figures() -> None:
    result = SendResult(date(2026, 1, 1), series=200, seconds=2.0,
                        latencies=[i / 1000 for i in range(1, 101)])
    assert result.series_per_second == 100
    assert result.percentiles() == {"p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 100.0}
    assert SendResult(date(2026, 1, 1)).percentiles() == {}


async def test_pacer_limits_the_rate() -> None:
    pacer = Pacer(200.0)
    started = datetime.now()
    for _ in range(5):
        await pacer.take(10)  # 50 units at 200/s: the last waits about 0.2 s
    assert (datetime.now() - started).total_seconds() >= 0.18
    with pytest.raises(ValueError):
        Pacer(0)
