"""Shared production (BRS-NO-701) as pure rules: the reference's worked example, the setup's
and the points' rules, and edge cases (zero production, one receiver, DST days, mixed
resolutions); then the saga through both processors on in-memory tables, without a broker."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.metering_point import MeteringPoint
from domain.series import HUB_TIMEZONE
from domain.shared_production import (
    CONTRIBUTOR,
    RECEIVER,
    Action,
    DayInput,
    DistributionType,
    Member,
    Membership,
    ReceiverIn,
    Setup,
    Version,
    allocate,
    calculate_day,
    changed_runs,
    intervals_in_day,
    largest_remainder,
    net,
    overlap_reasons,
    point_reasons,
    setup_reasons,
    values_by_day,
)
from tests.unit.builders import GRID_OWNER, gln, metering_point

MANUAL, EQUAL, DYNAMIC = DistributionType.MANUAL, DistributionType.EQUAL, DistributionType.DYNAMIC
SHARES = [500_000, 300_000, 200_000]  # A 0.5, B 0.3, C 0.2


def kwh(values: list[int]) -> list[str]:
    return [f"{v / 1000:.3f}" for v in values]


# The reference's worked example (roadmap-processes.md 1.7) ------------------------------------

@pytest.mark.parametrize(("key", "allocated", "results"), [
    (MANUAL, ["6.000", "3.600", "2.400"], [(0, 4000), (1400, 0), (0, 2400)]),
    (EQUAL, ["4.000", "4.000", "4.000"], [(0, 2000), (1000, 0), (0, 4000)]),
    (DYNAMIC, ["3.429", "8.571", "0.000"], [(0, 1429), (0, 3571), (0, 0)]),
])
def test_interval_one_of_the_worked_example(key: DistributionType, allocated: list[str],
                                            results: list[tuple[int, int]]) -> None:
    production, consumption = 12_000, [2_000, 5_000, 0]
    parts = allocate(production, consumption, key, SHARES)
    assert kwh(parts) == allocated
    assert sum(parts) == production
    assert [net(c, a) for c, a in zip(consumption, parts, strict=True)] == results


@pytest.mark.parametrize(("key", "allocated", "net_consumption"), [
    (MANUAL, ["1.500", "0.900", "0.600"], ["0.500", "4.100", "0.400"]),
    (EQUAL, ["1.000", "1.000", "1.000"], ["1.000", "4.000", "0.000"]),
    (DYNAMIC, ["0.750", "1.875", "0.375"], ["1.250", "3.125", "0.625"]),
])
def test_interval_two_of_the_worked_example(key: DistributionType, allocated: list[str],
                                            net_consumption: list[str]) -> None:
    consumption = [2_000, 5_000, 1_000]
    parts = allocate(3_000, consumption, key, SHARES)
    assert kwh(parts) == allocated
    assert kwh([net(c, a)[0] for c, a in zip(consumption, parts, strict=True)]) \
        == net_consumption


def test_the_rounding_check_largest_remainder_keeps_the_sum() -> None:
    assert kwh(allocate(10_000, [0, 0, 0], EQUAL)) == ["3.334", "3.333", "3.333"]
    assert largest_remainder(10, [1, 1, 1, 1]) == [3, 3, 2, 2]  # ties to the earlier


def test_zero_or_negative_production_gives_nobody_anything() -> None:
    for key in DistributionType:
        assert allocate(0, [1_000, 2_000], key, [500_000, 500_000]) == [0, 0]
        assert allocate(-50, [1_000, 2_000], key, [500_000, 500_000]) == [0, 0]
    assert net(1_500, 0) == (1_500, 0)


def test_one_receiver_gets_everything_whatever_the_key() -> None:
    for key, shares in ((MANUAL, [1_000_000]), (EQUAL, None), (DYNAMIC, None)):
        assert allocate(4_321, [100], key, shares) == [4_321]


def test_dynamic_split_without_consumption_falls_back_to_equal_or_nothing() -> None:
    assert allocate(3_001, [0, 0, 0], DYNAMIC) == [1_001, 1_000, 1_000]
    assert allocate(3_001, [0, 0, 0], DYNAMIC, dynamic_fallback="none") == [0, 0, 0]


def test_every_allocation_adds_up_exactly() -> None:
    import random

    rng = random.Random(16)
    for _ in range(2_000):
        n = rng.randint(1, 7)
        production = rng.randint(0, 10**7)
        consumption = [rng.choice([0, rng.randint(0, 10**6)]) for _ in range(n)]
        raw = [rng.randint(0, 100) for _ in range(n)]
        if not sum(raw):
            raw[0] = 1
        shares = largest_remainder(1_000_000, raw)
        for key in DistributionType:
            parts = allocate(production, consumption, key, shares)
            assert sum(parts) == production and min(parts) >= 0


# The setup's rules ------------------------------------------------------------------------------

POINTS = [f"70705750000000{n:04d}" for n in range(10)]


def a_setup(**changes: Any) -> Setup:
    base = Setup(Action.CREATE, "Solgløtt", "", MANUAL, date(2026, 3, 1), (POINTS[0],),
                 (ReceiverIn(POINTS[1], Decimal("0.5")), ReceiverIn(POINTS[2], Decimal("0.5"))))
    return replace(base, **changes)


def codes(reasons: list[Any]) -> list[str]:
    return [r.code for r in reasons]


def test_a_good_setup_passes() -> None:
    assert setup_reasons(a_setup()) == []
    assert setup_reasons(a_setup(distribution_type=EQUAL, receivers=(
        ReceiverIn(POINTS[1]), ReceiverIn(POINTS[2])))) == []


@pytest.mark.parametrize(("changes", "expected"), [
    ({"contributors": ()}, ["shared_production.no_contributor"]),
    ({"receivers": ()}, ["shared_production.no_receiver"]),
    ({"contributors": (POINTS[0], POINTS[0])}, ["shared_production.duplicate_point"]),
    ({"contributors": (POINTS[1],)}, ["shared_production.contributor_is_receiver"]),
    ({"receivers": (ReceiverIn(POINTS[1], Decimal("0.5")), ReceiverIn(POINTS[2]))},
     ["shared_production.shares_missing_or_extra"]),
    ({"receivers": (ReceiverIn(POINTS[1], Decimal("0.5")),
                    ReceiverIn(POINTS[2], Decimal("0.4")))},
     ["shared_production.shares_not_sum_to_one"]),
    ({"receivers": (ReceiverIn(POINTS[1], Decimal("1.5")),
                    ReceiverIn(POINTS[2], Decimal("-0.5")))},
     ["shared_production.share_out_of_range"]),
    ({"receivers": (ReceiverIn(POINTS[1], Decimal("0.3333333")),
                    ReceiverIn(POINTS[2], Decimal("0.6666667")))},
     ["shared_production.share_out_of_range"]),
    ({"distribution_type": EQUAL}, ["shared_production.shares_missing_or_extra"]),
])
def test_each_broken_rule_has_its_code(changes: dict[str, Any], expected: list[str]) -> None:
    assert codes(setup_reasons(a_setup(**changes))) == expected


def test_shares_that_sum_to_one_in_decimals_are_exact() -> None:
    thirds = (ReceiverIn(POINTS[1], Decimal("0.333333")), ReceiverIn(POINTS[2],
                                                                     Decimal("0.333333")),
              ReceiverIn(POINTS[3], Decimal("0.333334")))
    assert setup_reasons(a_setup(receivers=thirds)) == []
    tenths = tuple(ReceiverIn(POINTS[i + 1], Decimal("0.1")) for i in range(9))
    assert codes(setup_reasons(a_setup(receivers=tenths))) == [
        "shared_production.shares_not_sum_to_one"]


def production_point() -> MeteringPoint:
    return replace(metering_point(), point_type="production", consumption_code=None,
                   production_type="solar")


def test_the_points_rules() -> None:
    day = date(2026, 3, 1)
    home, solar = metering_point(), production_point()
    assert point_reasons(solar, "x", CONTRIBUTOR, GRID_OWNER, day) == []
    assert point_reasons(home, "x", RECEIVER, GRID_OWNER, day) == []
    assert codes(point_reasons(None, "x", RECEIVER, GRID_OWNER, day)) == [
        "shared_production.point_unknown"]
    assert codes(point_reasons(home, "x", CONTRIBUTOR, GRID_OWNER, day)) == [
        "shared_production.contributor_not_producing"]
    assert codes(point_reasons(solar, "x", RECEIVER, GRID_OWNER, day)) == [
        "shared_production.receiver_has_production"]
    plusskunde = replace(home, production_type="solar")  # a combination point
    assert point_reasons(plusskunde, "x", CONTRIBUTOR, GRID_OWNER, day) == []
    assert codes(point_reasons(plusskunde, "x", RECEIVER, GRID_OWNER, day)) == [
        "shared_production.receiver_has_production"]
    assert codes(point_reasons(home, "x", RECEIVER, gln("708000000009"), day)) == [
        "shared_production.not_grid_owner"]
    assert codes(point_reasons(home, "x", RECEIVER, GRID_OWNER, date(2024, 12, 31))) == [
        "shared_production.not_active"]


def test_a_point_in_at_most_one_calculation_at_a_time() -> None:
    ends = Membership("go|A", "a", "A", 1, RECEIVER, date(2026, 1, 1), date(2026, 6, 1), True)
    assert overlap_reasons([ends], "x", "go|B", date(2026, 6, 1)) == []
    assert codes(overlap_reasons([ends], "x", "go|B", date(2026, 5, 31))) == [
        "shared_production.point_in_another_calculation"]
    assert overlap_reasons([ends], "x", "go|A", date(2026, 3, 1)) == []  # its own, changed
    reserved = replace(ends, valid_to=None, active=False)
    assert codes(overlap_reasons([reserved], "x", "go|B", date(2027, 1, 1))) == [
        "shared_production.point_in_another_calculation"]


# Intervals, resolutions and DST --------------------------------------------------------------

def test_dst_days_have_their_own_number_of_intervals() -> None:
    assert intervals_in_day(date(2026, 3, 29), "PT15M") == 92
    assert intervals_in_day(date(2026, 10, 25), "PT15M") == 100
    assert intervals_in_day(date(2026, 10, 25), "PT1H") == 25
    assert intervals_in_day(date(2026, 6, 1), "PT1H") == 24


def oslo(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), HUB_TIMEZONE)


def test_an_hour_is_split_flat_into_quarters_and_quarters_summed_into_hours() -> None:
    day = date(2026, 6, 1)
    hours = values_by_day(oslo(day), "PT1H", [1.001, 2.0], ["measured", "estimated"], "PT15M")
    assert [hours[day][i] for i in range(8)] == [
        (251, False), (250, False), (250, False), (250, False)] + [(500, True)] * 4
    quarters = values_by_day(oslo(day), "PT15M", [0.1, 0.2, 0.3, 0.4, 0.5],
                             ["measured"] * 5, "PT1H")
    assert quarters[day] == {0: (1000, False)}  # the second hour is not all in


def test_missing_values_are_not_in_and_a_series_across_midnight_fills_two_days() -> None:
    day = date(2026, 6, 1)
    start = oslo(day) + timedelta(hours=23)
    split = values_by_day(start, "PT1H", [1.0, 2.0, 3.0], ["measured", "missing", "measured"],
                          "PT1H")
    assert split == {day: {23: (1000, False)}, day + timedelta(days=1): {1: (3000, False)}}


def version(*members: Member, key: DistributionType = MANUAL) -> Version:
    return Version(1, "m", date(2026, 1, 1), key, "", members)


def full(day: date, resolution: str, per_interval: int, estimated: bool = False) -> DayInput:
    n = intervals_in_day(day, resolution)
    return DayInput(tuple([per_interval] * n), tuple([estimated] * n))


def test_a_day_with_mixed_resolutions_on_a_dst_day() -> None:
    """Hourly and quarter-hourly members on the day with 25 hours: the calculation runs per
    quarter-hour, in whole hours, and each receiver gets its own resolution."""
    day = date(2026, 10, 25)
    v = version(Member("sun", CONTRIBUTOR, "PT1H"), Member("a", RECEIVER, "PT1H", 600_000),
                Member("b", RECEIVER, "PT15M", 400_000))
    assert (v.resolution, v.slot) == ("PT15M", "PT1H")
    inputs = {"sun": full(day, "PT15M", 750), "a": full(day, "PT15M", 250),
              "b": full(day, "PT15M", 250, estimated=True)}
    results = calculate_day(v, day, inputs)
    assert len(results["a"].values) == 25 and len(results["b"].values) == 100
    assert results["a"].values[0] == (1800, 0, 800, True)  # an hour: 4 x 450 allocated
    assert results["b"].values[99] == (300, 0, 50, True)
    every = sum(v[0] for r in results.values() for v in r.values.values())
    assert every == 750 * 100


def test_only_whole_slots_whose_values_are_all_in_are_calculated() -> None:
    day = date(2026, 6, 1)
    v = version(Member("sun", CONTRIBUTOR, "PT1H"), Member("b", RECEIVER, "PT15M", 1_000_000))
    partial = list(full(day, "PT15M", 100).wh)
    partial[5] = None  # a quarter of the second hour is missing
    inputs = {"sun": full(day, "PT15M", 200), "b": DayInput(tuple(partial), (False,) * 96)}
    results = calculate_day(v, day, inputs)
    assert sorted(results["b"].values)[:8] == [0, 1, 2, 3, 8, 9, 10, 11]
    assert calculate_day(v, day, {"sun": full(day, "PT15M", 200)})["b"].values == {}


def test_new_and_changed_results_are_sent_as_runs_with_their_versions() -> None:
    day = date(2026, 6, 1)
    v = version(Member("sun", CONTRIBUTOR, "PT1H"), Member("a", RECEIVER, "PT1H"),
                key=EQUAL)
    first = calculate_day(v, day, {"sun": full(day, "PT1H", 500), "a": full(day, "PT1H", 100)})
    [run] = changed_runs(first, {}, {"a": "PT1H"})
    assert (run.first, run.end, run.version) == (0, 24, 1)
    sent = {"a": {i: (*value, 1) for i, value in first["a"].values.items()}}
    assert changed_runs(first, sent, {"a": "PT1H"}) == []  # nothing new
    changed = list(full(day, "PT1H", 500).wh)
    changed[3] = changed[4] = 900
    second = calculate_day(v, day, {"sun": DayInput(tuple(changed), (False,) * 24),
                                    "a": full(day, "PT1H", 100)})
    [again] = changed_runs(second, sent, {"a": "PT1H"})
    assert (again.first, again.end, again.version) == (3, 5, 2)
    start, end = again.period(day)
    assert (start, end) == (oslo(day).astimezone(UTC) + timedelta(hours=3),
                            oslo(day).astimezone(UTC) + timedelta(hours=5))


# The saga through both processors, on in-memory tables -------------------------------------------

def test_setup_join_commit_values_and_results_through_the_processors() -> None:
    import orjson

    from domain.metering_point import SupplyPeriod
    from processors.forwarder import Forwarder
    from processors.shared_production import (
        SharedProduction,
        SharedProductionPoints,
        calculation_key,
    )
    from processors.tables import Tables
    from streams.engine import Context, Incoming, Output, Table
    from streams.records.shared_production import EVENT_NS
    from streams.serialisation import METERING_VALUE_SERIES, SHARED_PRODUCTION_EVENT, codec
    from streams.topics import TopicCatalogue
    from tests.unit.test_forwarding import make_series

    catalogue = TopicCatalogue(prefix="t", partitions=1, replication=1, queue_retention_days=90)
    spec = Tables.of(catalogue)
    tables = {s.name: Table(s, 1 << 22) for s in spec.all()}
    supplier_a, supplier_b = gln("708000000002"), gln("708000000003")

    def point(point_id: str, resolution: str, supplier: str | None) -> MeteringPoint:
        base = production_point() if supplier is None else metering_point()
        supplies = () if supplier is None else (SupplyPeriod(supplier, date(2026, 1, 1), "s"),)
        return replace(base, metering_point_id=point_id, resolution=resolution,
                       supplies=supplies)

    points = {"707057500000000018": point("707057500000000018", "PT1H", None),
              "707057500000000025": point("707057500000000025", "PT1H", supplier_a),
              "707057500000000032": point("707057500000000032", "PT15M", supplier_b)}
    solar, a, b = points
    for point_id, state in points.items():
        tables["metering-points"].put(point_id.encode(), state)
    now = datetime(2026, 6, 3, 6, 0, tzinfo=UTC)
    ctx = Context(now, 0, tables)
    handlers = {catalogue.shared_production: SharedProduction(catalogue, spec),
                catalogue.shared_production_points: SharedProductionPoints(catalogue, spec),
                catalogue.metering_values: Forwarder(catalogue, spec, 60)}

    def commit() -> None:
        for table in tables.values():
            table.end_record(keep=True)
            table.end_batch(keep=True)

    queued: list[Output] = []

    def pump(outputs: list[Output]) -> None:
        """Hand every output for an input topic to its processor, as the engine would."""
        pending = list(outputs)
        while pending:
            output = pending.pop(0)
            if output.topic not in handlers:
                queued.append(output)
                continue
            record = Incoming(output.topic, 0, 0, output.key, output.value, 0)
            pending += handlers[output.topic].handle(record, ctx)
            commit()
            pending += [o for lookup in ctx.lookups for o in lookup.then(None, ctx)]
            ctx.lookups.clear()

    commit()
    key = calculation_key(GRID_OWNER, "Solgløtt")
    setup_record = codec(SHARED_PRODUCTION_EVENT).encode({
        "calculationKey": key, "event": (EVENT_NS + "SharedProductionSetup", {
            "messageId": "setup-1", "sender": GRID_OWNER, "receivedAt": now,
            "action": "create", "name": "Solgløtt", "description": "",
            "distributionType": "manual", "validFrom": date(2026, 6, 1),
            "contributors": [solar],
            "receivers": [{"meteringPointId": a, "share": "0.6"},
                          {"meteringPointId": b, "share": "0.4"}]})})
    pump([Output(catalogue.shared_production, key.encode(), setup_record)])

    def documents(recipient: str) -> list[dict[str, Any]]:
        return [orjson.loads(o.value or b"") for o in queued if o.recipient == recipient]

    go = documents(GRID_OWNER)
    assert [d["documentType"] for d in go].count("NotifyMeteringPointCharacteristics") == 3
    ack = next(d for d in go if d["documentType"] == "Acknowledgement")
    assert ack["payload"]["status"] == "accepted"
    memberships = tables["shared-production-memberships"].get(a.encode())
    assert [(m.role, m.active) for m in memberships] == [(RECEIVER, True)]

    queued.clear()
    day = date(2026, 6, 2)
    for point_id, resolution, quantity in ((solar, "PT1H", 3.0), (a, "PT1H", 1.0),
                                           (b, "PT15M", 0.25)):
        series = make_series(first_day=day, days=1, resolution=resolution)
        series.update(meteringPointId=point_id, sender=GRID_OWNER,
                      quantities=[quantity] * len(series["quantities"]))
        pump([Output(catalogue.metering_values, point_id.encode(),
                     codec(METERING_VALUE_SERIES).encode(series))])
    to_a = [d["payload"] for d in documents(supplier_a) if d["payload"].get("channel")]
    assert {p["channel"] for p in to_a} == {"virtual_net_consumption", "virtual_net_production",
                                            "virtual_distributed_production"}
    production = next(p for p in to_a if p["channel"] == "virtual_net_production")
    assert [pt["quantity"] for pt in production["points"]] == [0.8] * 24
    to_b = [d["payload"] for d in documents(supplier_b) if d["payload"].get("channel")]
    assert next(p for p in to_b if p["channel"] == "virtual_net_production")["resolution"] \
        == "PT15M"
    assert not any(d["payload"].get("channel") for d in documents(supplier_b)
                   if d["payload"]["meteringPointId"] == a)  # nobody gets another's results
