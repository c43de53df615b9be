"""Who receives a series of metering values, and which part of it (domain.routing).

What a hub user checks: yesterday's values go to yesterday's supplier, a series that straddles a
supplier change is split exactly at the Norwegian midnight (DST days included), the grid owner
always gets the whole series, and a third party only while the end user's grant is in force.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest

from domain.metering_point import MeteringPoint, ThirdPartyAccess
from domain.routing import Delivery, check_series_against_point, route_series
from domain.series import expected_point_count
from streams.records import metering_point as point_record
from tests.unit.builders import GRID_OWNER, gln, metering_point, oslo_midnight

SUPPLIER_A = gln("708000000002")
SUPPLIER_B = gln("708000000003")
SUPPLIER_C = gln("708000000004")
THIRD_PARTY = gln("708000000005")
OTHER_PARTY = gln("708000000006")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


make_point = metering_point


def by_recipient(deliveries: list[Delivery]) -> dict[str, list[Delivery]]:
    out: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        out.setdefault(delivery.recipient, []).append(delivery)
    return out


def supplier_pieces(deliveries: list[Delivery]) -> list[tuple[str, int, int]]:
    return [(d.recipient, d.first, d.end) for d in deliveries if d.role == "supplier"]


# --- supplier changes ---------------------------------------------------------------------


def test_supplier_change_at_local_midnight_splits_two_day_series() -> None:
    start, end = oslo_midnight(date(2026, 6, 12)), oslo_midnight(date(2026, 6, 14))
    point = make_point(supplies=((SUPPLIER_A, date(2026, 1, 1)), (SUPPLIER_B, date(2026, 6, 13))))

    deliveries = route_series(point, start, end, "PT1H")

    change = oslo_midnight(date(2026, 6, 13))
    assert deliveries == [
        Delivery(SUPPLIER_A, "supplier", 0, 24, start, change),
        Delivery(SUPPLIER_B, "supplier", 24, 48, change, end),
        Delivery(GRID_OWNER, "grid_owner", 0, 48, start, end),
    ]
    # The instants a hub user reads in the messages: summer time, so local midnight is 22:00Z.
    a, b, owner = deliveries
    assert (a.start, a.stop) == (utc(2026, 6, 11, 22), utc(2026, 6, 12, 22))
    assert (b.start, b.stop) == (utc(2026, 6, 12, 22), utc(2026, 6, 13, 22))
    assert (owner.start, owner.stop) == (utc(2026, 6, 11, 22), utc(2026, 6, 13, 22))
    assert (a.part, b.part, owner.part) == ("supplier:0-24", "supplier:24-48", "grid_owner:0-48")


def test_series_sent_in_utc_is_routed_like_one_sent_in_local_time() -> None:
    point = make_point(supplies=((SUPPLIER_A, date(2026, 1, 1)), (SUPPLIER_B, date(2026, 6, 13))))
    local = route_series(point, oslo_midnight(date(2026, 6, 12)),
                         oslo_midnight(date(2026, 6, 14)), "PT1H")
    in_utc = route_series(point, utc(2026, 6, 11, 22), utc(2026, 6, 13, 22), "PT1H")
    assert in_utc == local


SPRING = date(2026, 3, 29)  # 23 hours, 92 quarter-hours
AUTUMN = date(2026, 10, 25)  # 25 hours, 100 quarter-hours


def test_dst_spring_day_is_split_after_its_92_quarter_hours() -> None:
    """2026-03-29 is 23 hours long: A gets its 92 values, B the next day's 96."""
    start, end = oslo_midnight(SPRING), oslo_midnight(SPRING + timedelta(days=2))
    point = make_point(resolution="PT15M",
                       supplies=((SUPPLIER_A, date(2026, 1, 1)), (SUPPLIER_B, date(2026, 3, 30))))

    deliveries = route_series(point, start, end, "PT15M")

    assert supplier_pieces(deliveries) == [(SUPPLIER_A, 0, 92), (SUPPLIER_B, 92, 188)]
    a, b, owner = deliveries
    assert (a.start, a.stop) == (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))
    assert (b.start, b.stop) == (utc(2026, 3, 29, 22), utc(2026, 3, 30, 22))
    assert (owner.first, owner.end, owner.start, owner.stop) == (0, 188, start, end)


def test_supplier_change_on_the_dst_spring_day_itself() -> None:
    """The new supplier takes over at the start of the short day and gets all 92 values."""
    start = oslo_midnight(SPRING - timedelta(days=1))
    end = oslo_midnight(SPRING + timedelta(days=1))
    point = make_point(resolution="PT15M",
                       supplies=((SUPPLIER_A, date(2026, 1, 1)), (SUPPLIER_B, SPRING)))

    deliveries = route_series(point, start, end, "PT15M")

    assert supplier_pieces(deliveries) == [(SUPPLIER_A, 0, 96), (SUPPLIER_B, 96, 188)]
    assert deliveries[1].start == utc(2026, 3, 28, 23)
    assert deliveries[1].stop == utc(2026, 3, 29, 22)


@pytest.mark.parametrize(
    ("first_day", "resolution", "first_day_points", "total"),
    [
        (SPRING, "PT15M", 92, 188),
        (SPRING, "PT1H", 23, 47),
        (AUTUMN, "PT15M", 100, 196),
        (AUTUMN, "PT1H", 25, 49),
        (SPRING - timedelta(days=1), "PT15M", 96, 188),
        (AUTUMN - timedelta(days=1), "PT1H", 24, 49),
    ],
)
def test_split_is_at_the_local_midnight_on_dst_weekends(
    first_day: date, resolution: str, first_day_points: int, total: int
) -> None:
    second_day = first_day + timedelta(days=1)
    start, end = oslo_midnight(first_day), oslo_midnight(first_day + timedelta(days=2))
    point = make_point(resolution=resolution,
                       supplies=((SUPPLIER_A, date(2026, 1, 1)), (SUPPLIER_B, second_day)))

    deliveries = route_series(point, start, end, resolution)

    assert supplier_pieces(deliveries) == [
        (SUPPLIER_A, 0, first_day_points), (SUPPLIER_B, first_day_points, total)]
    a, b = deliveries[0], deliveries[1]
    assert a.stop == b.start == oslo_midnight(second_day)
    assert expected_point_count(a.start, a.stop, resolution) == a.end - a.first
    assert expected_point_count(b.start, b.stop, resolution) == b.end - b.first


def test_three_suppliers_in_one_series_each_get_their_own_days() -> None:
    start, end = oslo_midnight(date(2026, 2, 1)), oslo_midnight(date(2026, 2, 4))
    point = make_point(supplies=((SUPPLIER_A, date(2026, 1, 1)), (SUPPLIER_B, date(2026, 2, 2)),
                                 (SUPPLIER_C, date(2026, 2, 3))))

    deliveries = route_series(point, start, end, "PT1H")

    assert supplier_pieces(deliveries) == [
        (SUPPLIER_A, 0, 24), (SUPPLIER_B, 24, 48), (SUPPLIER_C, 48, 72)]
    # Winter: local midnight is 23:00Z.
    assert [d.start for d in deliveries if d.role == "supplier"] == [
        utc(2026, 1, 31, 23), utc(2026, 2, 1, 23), utc(2026, 2, 2, 23)]


def test_yesterdays_values_go_to_yesterdays_supplier() -> None:
    """The change of supplier today does not move yesterday's values to the new supplier."""
    point = make_point(supplies=((SUPPLIER_A, date(2026, 1, 1)), (SUPPLIER_B, date(2026, 6, 13))))
    yesterday = route_series(point, oslo_midnight(date(2026, 6, 12)),
                             oslo_midnight(date(2026, 6, 13)), "PT1H")
    today = route_series(point, oslo_midnight(date(2026, 6, 13)),
                         oslo_midnight(date(2026, 6, 14)), "PT1H")

    assert supplier_pieces(yesterday) == [(SUPPLIER_A, 0, 24)]
    assert supplier_pieces(today) == [(SUPPLIER_B, 0, 24)]


def test_a_future_supplier_gets_nothing_of_earlier_values() -> None:
    point = make_point(supplies=((SUPPLIER_A, date(2026, 1, 1)), (SUPPLIER_B, date(2026, 7, 1))))
    deliveries = route_series(point, oslo_midnight(date(2026, 6, 12)),
                              oslo_midnight(date(2026, 6, 13)), "PT1H")
    assert SUPPLIER_B not in by_recipient(deliveries)
    assert supplier_pieces(deliveries) == [(SUPPLIER_A, 0, 24)]


def test_no_supplier_on_that_day_only_grid_owner_and_third_parties() -> None:
    start, end = oslo_midnight(date(2026, 6, 12)), oslo_midnight(date(2026, 6, 13))
    access = ThirdPartyAccess(THIRD_PARTY, utc(2026, 1, 1))
    point = make_point(supplies=((SUPPLIER_A, date(2026, 7, 1)),), access=(access,))

    deliveries = route_series(point, start, end, "PT1H")

    assert deliveries == [
        Delivery(GRID_OWNER, "grid_owner", 0, 24, start, end),
        Delivery(THIRD_PARTY, "third_party", 0, 24, start, end),
    ]


def test_first_supplier_starting_inside_the_series_gets_only_its_own_part() -> None:
    start, end = oslo_midnight(date(2026, 6, 12)), oslo_midnight(date(2026, 6, 14))
    point = make_point(supplies=((SUPPLIER_B, date(2026, 6, 13)),))

    deliveries = route_series(point, start, end, "PT1H")

    assert supplier_pieces(deliveries) == [(SUPPLIER_B, 24, 48)]
    assert by_recipient(deliveries)[GRID_OWNER] == [
        Delivery(GRID_OWNER, "grid_owner", 0, 48, start, end)]


def test_grid_owner_always_gets_the_whole_series_exactly_once() -> None:
    start, end = oslo_midnight(date(2026, 6, 1)), oslo_midnight(date(2026, 6, 8))
    point = make_point(supplies=tuple((s, date(2026, 6, d)) for s, d in
                                      ((SUPPLIER_A, 1), (SUPPLIER_B, 3), (SUPPLIER_A, 5))))
    deliveries = route_series(point, start, end, "PT1H")

    owner = by_recipient(deliveries)[GRID_OWNER]
    assert owner == [Delivery(GRID_OWNER, "grid_owner", 0, 168, start, end)]
    # The supplier pieces cover the series without gap or overlap.
    pieces = supplier_pieces(deliveries)
    assert pieces[0][1] == 0
    assert pieces[-1][2] == 168
    assert all(prev[2] == nxt[1] for prev, nxt in pairwise(pieces))
    assert [p[0] for p in pieces] == [SUPPLIER_A, SUPPLIER_B, SUPPLIER_A]


# --- third parties (BRS-NO-622) -----------------------------------------------------------

DAY_START, DAY_END = oslo_midnight(date(2026, 6, 12)), oslo_midnight(date(2026, 6, 13))


@pytest.mark.parametrize(
    ("access", "receives"),
    [
        (ThirdPartyAccess(THIRD_PARTY, utc(2026, 1, 1)), True),
        (ThirdPartyAccess(THIRD_PARTY, utc(2026, 1, 1), utc(2026, 12, 31)), True),
        (ThirdPartyAccess(THIRD_PARTY, DAY_START), True),  # granted from the series start
        (ThirdPartyAccess(THIRD_PARTY, utc(2026, 1, 1), utc(2026, 6, 1)), False),  # ended
        (ThirdPartyAccess(THIRD_PARTY, utc(2026, 1, 1), DAY_START), False),  # [from, to)
        (ThirdPartyAccess(THIRD_PARTY, utc(2026, 7, 1)), False),  # not yet granted
    ],
    ids=["open-ended", "until-later", "from-start", "ended-before", "ended-at-start",
         "granted-later"],
)
def test_third_party_receives_only_within_its_access(
    access: ThirdPartyAccess, receives: bool
) -> None:
    point = make_point(supplies=((SUPPLIER_A, date(2026, 1, 1)),), access=(access,))

    deliveries = route_series(point, DAY_START, DAY_END, "PT1H")

    got = by_recipient(deliveries).get(THIRD_PARTY, [])
    if receives:
        assert got == [Delivery(THIRD_PARTY, "third_party", 0, 24, DAY_START, DAY_END)]
    else:
        assert got == []
    # Nobody else appears because of the grant.
    assert set(by_recipient(deliveries)) <= {SUPPLIER_A, GRID_OWNER, THIRD_PARTY}


def test_several_third_parties_each_decided_on_their_own_grant() -> None:
    active = ThirdPartyAccess(THIRD_PARTY, utc(2026, 1, 1))
    revoked = ThirdPartyAccess(OTHER_PARTY, utc(2026, 1, 1), utc(2026, 3, 1))
    point = make_point(supplies=((SUPPLIER_A, date(2026, 1, 1)),), access=(active, revoked))

    deliveries = route_series(point, DAY_START, DAY_END, "PT1H")

    assert [(d.recipient, d.role) for d in deliveries] == [
        (SUPPLIER_A, "supplier"), (GRID_OWNER, "grid_owner"), (THIRD_PARTY, "third_party")]


def test_third_party_gets_whole_series_even_when_the_supplier_changes() -> None:
    start, end = oslo_midnight(date(2026, 6, 12)), oslo_midnight(date(2026, 6, 14))
    point = make_point(supplies=((SUPPLIER_A, date(2026, 1, 1)), (SUPPLIER_B, date(2026, 6, 13))),
                       access=(ThirdPartyAccess(THIRD_PARTY, utc(2026, 1, 1)),))
    deliveries = route_series(point, start, end, "PT1H")
    assert by_recipient(deliveries)[THIRD_PARTY] == [
        Delivery(THIRD_PARTY, "third_party", 0, 48, start, end)]


# --- business checks against hub state ----------------------------------------------------


def codes_of(point: MeteringPoint | None, sender: str = GRID_OWNER, resolution: str = "PT1H",
             start: datetime = DAY_START) -> list[str]:
    return [r.code for r in check_series_against_point(point, sender, resolution, start)]


def test_series_from_the_grid_owner_at_the_registered_resolution_is_accepted() -> None:
    assert codes_of(make_point()) == []


def test_unknown_point_is_rejected() -> None:
    assert codes_of(None) == ["metering_point.unknown"]


def test_series_from_another_party_than_the_grid_owner_is_rejected() -> None:
    assert codes_of(make_point(), sender=SUPPLIER_A) == ["sender.not_grid_owner"]


def test_resolution_other_than_the_registered_one_is_rejected() -> None:
    assert codes_of(make_point(resolution="PT1H"), resolution="PT15M") == [
        "series.resolution_mismatch"]
    assert codes_of(make_point(resolution="PT15M"), resolution="PT1H") == [
        "series.resolution_mismatch"]


def test_values_before_the_points_valid_from_date_are_rejected() -> None:
    point = make_point(valid_from=date(2026, 6, 13))
    assert codes_of(point, start=DAY_START) == ["series.before_valid_from"]
    assert codes_of(point, start=oslo_midnight(date(2026, 6, 13))) == []


def test_valid_from_is_a_norwegian_day_whatever_offset_the_series_uses() -> None:
    point = make_point(valid_from=date(2026, 1, 1))
    # 2025-12-31T23:00Z is 1 January 00:00 in Oslo: inside the valid period.
    assert codes_of(point, start=utc(2025, 12, 31, 23)) == []
    # One hour earlier is still 31 December in Oslo.
    assert codes_of(point, start=utc(2025, 12, 31, 22)) == ["series.before_valid_from"]


def test_all_reasons_are_reported_together_with_readable_texts() -> None:
    point = make_point(resolution="PT15M", valid_from=date(2026, 7, 1))
    reasons = check_series_against_point(point, SUPPLIER_A, "PT1H", DAY_START)
    assert [r.code for r in reasons] == [
        "sender.not_grid_owner", "series.resolution_mismatch", "series.before_valid_from"]
    assert all(r.text for r in reasons)
    assert "PT15M" in reasons[1].text
    assert "PT1H" in reasons[1].text


# --- the metering point state routing reads --------------------------------------------------


def test_supply_periods_are_kept_sorted_and_answer_who_supplied_a_day() -> None:
    point = make_point(supplies=((SUPPLIER_B, date(2026, 6, 13)), (SUPPLIER_A, date(2026, 1, 1))))
    assert [p.supplier for p in point.supplies] == [SUPPLIER_A, SUPPLIER_B]
    assert point.supplier_on(date(2025, 12, 31)) is None
    assert point.supplier_on(date(2026, 1, 1)) == SUPPLIER_A
    assert point.supplier_on(date(2026, 6, 12)) == SUPPLIER_A
    assert point.supplier_on(date(2026, 6, 13)) == SUPPLIER_B
    assert point.supplier_on(date(2030, 1, 1)) == SUPPLIER_B


def test_supply_changes_are_local_midnights_strictly_inside_the_period() -> None:
    point = make_point(supplies=((SUPPLIER_A, date(2026, 6, 12)), (SUPPLIER_B, date(2026, 6, 13)),
                                 (SUPPLIER_C, date(2026, 6, 14))))
    changes = point.supply_changes_between(utc(2026, 6, 11, 22), utc(2026, 6, 13, 22))
    assert changes == [oslo_midnight(date(2026, 6, 13))]


def test_metering_point_state_round_trips_through_its_avro_record() -> None:
    point = make_point(
        supplies=((SUPPLIER_A, date(2026, 1, 1)), (SUPPLIER_B, date(2026, 6, 13))),
        access=(ThirdPartyAccess(THIRD_PARTY, utc(2026, 1, 1), utc(2026, 12, 31)),
                ThirdPartyAccess(OTHER_PARTY, utc(2026, 2, 1))),
    )
    assert point_record.decode(point_record.encode(point)) == point


def test_access_revoked_part_way_gives_only_the_values_before_revocation() -> None:
    revoked_at = DAY_START + timedelta(hours=5, minutes=30)
    point = make_point(supplies=((SUPPLIER_A, date(2026, 1, 1)),),
                       access=(ThirdPartyAccess(THIRD_PARTY, utc(2026, 1, 1), revoked_at),))
    [got] = by_recipient(route_series(point, DAY_START, DAY_END, "PT1H"))[THIRD_PARTY]
    assert (got.first, got.end) == (0, 5)  # the hour 05:00-06:00 is not wholly inside
    assert got.stop == DAY_START + timedelta(hours=5)


def test_access_granted_part_way_gives_only_the_values_after_the_grant() -> None:
    granted_at = DAY_START + timedelta(hours=20, minutes=15)
    point = make_point(supplies=((SUPPLIER_A, date(2026, 1, 1)),),
                       access=(ThirdPartyAccess(THIRD_PARTY, granted_at),))
    [got] = by_recipient(route_series(point, DAY_START, DAY_END, "PT15M"))[THIRD_PARTY]
    assert (got.first, got.end) == (81, 96)
    assert got.start == DAY_START + timedelta(hours=20, minutes=15)


def test_supplier_that_is_also_a_third_party_gets_two_distinct_messages() -> None:
    point = make_point(supplies=((SUPPLIER_A, date(2026, 1, 1)),),
                       access=(ThirdPartyAccess(SUPPLIER_A, utc(2026, 1, 1)),))
    mine = by_recipient(route_series(point, DAY_START, DAY_END, "PT1H"))[SUPPLIER_A]
    assert sorted(d.role for d in mine) == ["supplier", "third_party"]
    assert len({d.part for d in mine}) == 2


def test_third_party_window_on_the_dst_autumn_day_counts_elapsed_time() -> None:
    autumn = date(2026, 10, 25)
    start, end = oslo_midnight(autumn), oslo_midnight(autumn + timedelta(days=1))
    point = make_point(resolution="PT15M", supplies=((SUPPLIER_A, date(2026, 1, 1)),),
                       access=(ThirdPartyAccess(THIRD_PARTY, utc(2026, 1, 1)),))
    [got] = by_recipient(route_series(point, start, end, "PT15M"))[THIRD_PARTY]
    assert (got.first, got.end) == (0, 100)
