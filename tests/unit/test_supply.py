"""Master-data processes on a point's state: BRS-NO-121 registration and BRS-NO-101 start of
supply (domain.supply).

What a hub user checks: an accepted change of supplier is recorded, the sender gets a positive
Acknowledgement, the new supplier a confirmation, the grid owner and the old supplier a notice;
a rejected one changes nothing and answers only the sender, with the reason code.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from domain.messages import MARKET_PROCESSES, Outbound
from domain.metering_point import MeteringPoint, SupplyPeriod
from domain.supply import (
    MAX_SUPPLY_BACKDATING_DAYS,
    MAX_SUPPLY_DAYS_AHEAD,
    register_metering_point,
    start_of_supply,
    start_window_reasons,
)
from tests.unit.builders import GRID_OWNER, POINT_ID, gln, metering_point

OLD_SUPPLIER = gln("708000000002")
NEW_SUPPLIER = gln("708000000003")
OTHER_GRID_OWNER = gln("708000000007")

NOW = datetime(2026, 6, 15, 8, 30, tzinfo=UTC)
TODAY = date(2026, 6, 15)
MESSAGE_ID = "2b7f5d1e-8c3a-4e6b-9f0d-1a2b3c4d5e6f"


def make_point(*, supplies: tuple[tuple[str, date], ...] = ((OLD_SUPPLIER, date(2026, 1, 1)),),
               valid_from: date = date(2025, 1, 1)) -> MeteringPoint:
    return metering_point(supplies=supplies, valid_from=valid_from, supply_ids="earlier")


def start(current: MeteringPoint | None, *, sender: str = NEW_SUPPLIER,
          start_date: date = date(2026, 6, 20), **kwargs: Any) -> Any:
    return start_of_supply(current, message_id=MESSAGE_ID, sender=sender, start_date=start_date,
                           metering_point_id=POINT_ID, now=NOW, today=TODAY, **kwargs)


def routed(messages: list[Outbound]) -> list[tuple[str, str]]:
    return [(m.document_type, m.recipient) for m in messages]


# --- BRS-NO-101: accepted ------------------------------------------------------------------


def test_change_of_supplier_is_recorded_and_every_party_is_told() -> None:
    current = make_point()

    outcome = start(current)

    assert outcome.reasons == []
    assert outcome.state is not None
    assert outcome.state.supplies == (
        SupplyPeriod(OLD_SUPPLIER, date(2026, 1, 1), "earlier-0"),
        SupplyPeriod(NEW_SUPPLIER, date(2026, 6, 20), MESSAGE_ID),
    )
    assert outcome.state.supplier_on(date(2026, 6, 19)) == OLD_SUPPLIER
    assert outcome.state.supplier_on(date(2026, 6, 20)) == NEW_SUPPLIER
    assert routed(outcome.messages) == [
        ("Acknowledgement", NEW_SUPPLIER),
        ("ConfirmStartOfSupply", NEW_SUPPLIER),
        ("NotifyStartOfSupply", GRID_OWNER),
        ("NotifyEndOfSupply", OLD_SUPPLIER),
    ]
    assert all(m.queue == MARKET_PROCESSES for m in outcome.messages)
    assert all(m.created_at == NOW for m in outcome.messages)


def test_acknowledgement_of_an_accepted_start_names_the_document() -> None:
    ack = start(make_point()).messages[0]
    assert ack.payload_type == "Acknowledgement"
    assert ack.payload == {
        "originalMessageId": MESSAGE_ID,
        "originalDocumentType": "StartOfSupply",
        "meteringPointId": POINT_ID,
        "transactionId": None,
        "status": "accepted",
        "reasons": [],
    }


def test_notices_carry_supplier_start_date_and_previous_supplier() -> None:
    notices = start(make_point()).messages[1:]
    for notice in notices:
        assert notice.payload_type == "SupplyNotification"
        assert notice.payload == {
            "originalMessageId": MESSAGE_ID,
            "meteringPointId": POINT_ID,
            "supplier": NEW_SUPPLIER,
            "startDate": date(2026, 6, 20),
            "previousSupplier": OLD_SUPPLIER,
        }


def test_first_supplier_of_a_point_has_no_previous_supplier_to_notify() -> None:
    outcome = start(make_point(supplies=()))

    assert outcome.state is not None
    assert [p.supplier for p in outcome.state.supplies] == [NEW_SUPPLIER]
    assert routed(outcome.messages) == [
        ("Acknowledgement", NEW_SUPPLIER),
        ("ConfirmStartOfSupply", NEW_SUPPLIER),
        ("NotifyStartOfSupply", GRID_OWNER),
    ]
    assert outcome.messages[1].payload["previousSupplier"] is None


def test_message_ids_are_stable_and_distinct() -> None:
    first = start(make_point()).messages
    again = start(make_point()).messages  # the same document processed again

    assert [m.message_id for m in first] == [m.message_id for m in again]
    assert len({m.message_id for m in first}) == len(first)


def test_start_may_be_backdated_up_to_the_limit() -> None:
    limit = TODAY - timedelta(days=MAX_SUPPLY_BACKDATING_DAYS)
    outcome = start(make_point(), start_date=limit)
    assert outcome.reasons == []
    assert outcome.state is not None


def test_start_today_and_in_the_future_is_accepted() -> None:
    assert start(make_point(), start_date=TODAY).reasons == []
    assert start(make_point(), start_date=date(2026, 7, 1)).reasons == []
    last_day = TODAY + timedelta(days=MAX_SUPPLY_DAYS_AHEAD)
    assert start(make_point(), start_date=last_day).reasons == []


# --- BRS-NO-101: how far ahead, and what a later start does to a pending one ---------------


def test_window_of_a_start_date_back_and_ahead() -> None:
    """The pure rule the API and the process share: at most 14 days back, 60 ahead."""
    assert start_window_reasons(TODAY, TODAY) == []
    assert start_window_reasons(TODAY - timedelta(days=14), TODAY) == []
    assert start_window_reasons(TODAY + timedelta(days=60), TODAY) == []
    assert [r.code for r in start_window_reasons(TODAY - timedelta(days=15), TODAY)] == [
        "supply.backdated"]
    assert [r.code for r in start_window_reasons(TODAY + timedelta(days=61), TODAY)] == [
        "supply.too_far_ahead"]
    assert [r.code for r in start_window_reasons(date(9999, 12, 31), TODAY)] == [
        "supply.too_far_ahead"]
    assert start_window_reasons(TODAY + timedelta(days=90), TODAY, max_days_ahead=90) == []


def test_a_start_on_9999_12_31_is_rejected_and_tells_nobody_their_supply_ends() -> None:
    """Finding 3 of issue 20: such a start was accepted, told the current supplier its supply
    ends in 9999, and blocked every later genuine switch as an overlap."""
    current = make_point()
    outcome = start(current, start_date=date(9999, 12, 31))

    assert [r.code for r in outcome.reasons] == ["supply.too_far_ahead"]
    assert outcome.state is None
    assert routed(outcome.messages) == [("Acknowledgement", NEW_SUPPLIER)]
    # The point is not blocked: a genuine switch next week goes through.
    genuine = start_of_supply(current, message_id="genuine", sender=gln("708000000009"),
                              start_date=TODAY + timedelta(days=7), metering_point_id=POINT_ID,
                              now=NOW, today=TODAY)
    assert genuine.reasons == []


def test_no_single_start_blocks_the_point_for_longer_than_the_window() -> None:
    """The most a start can hold back is the days up to its own date, at most the window."""
    pending = start(make_point(), start_date=TODAY + timedelta(days=MAX_SUPPLY_DAYS_AHEAD))
    assert pending.state is not None
    after = start_of_supply(pending.state, message_id="after", sender=gln("708000000009"),
                            start_date=TODAY + timedelta(days=MAX_SUPPLY_DAYS_AHEAD + 1),
                            metering_point_id=POINT_ID, now=NOW,
                            today=TODAY + timedelta(days=1))
    assert after.reasons == []


def test_how_far_ahead_is_a_parameter() -> None:
    ahead = TODAY + timedelta(days=30)
    assert start(make_point(), start_date=ahead, max_days_ahead=30).reasons == []
    assert [r.code for r in start(make_point(), start_date=ahead,
                                  max_days_ahead=29).reasons] == ["supply.too_far_ahead"]


def test_a_later_start_is_accepted_and_the_pending_one_stands_until_it() -> None:
    """Elhub's conflict table for two BRS-NO-101: an incoming start after the pending one's
    date is accepted; the pending supplier supplies from its date until the later start."""
    pending_supplier, later_supplier = NEW_SUPPLIER, gln("708000000009")
    pending = start(make_point(), start_date=TODAY + timedelta(days=10)).state
    assert pending is not None

    later = start_of_supply(pending, message_id="later", sender=later_supplier,
                            start_date=TODAY + timedelta(days=20), metering_point_id=POINT_ID,
                            now=NOW, today=TODAY)

    assert later.reasons == []
    assert later.state is not None
    assert [(p.supplier, p.start_date) for p in later.state.supplies] == [
        (OLD_SUPPLIER, date(2026, 1, 1)), (pending_supplier, TODAY + timedelta(days=10)),
        (later_supplier, TODAY + timedelta(days=20))]
    assert later.state.supplier_on(TODAY + timedelta(days=15)) == pending_supplier
    # The pending supplier learns its supply ends where the later one starts.
    assert ("NotifyEndOfSupply", pending_supplier) in routed(later.messages)


def test_a_start_on_or_before_a_pending_one_is_rejected() -> None:
    """Elhub's conflict table: an incoming start dated on or before the pending one's date is
    rejected, and the pending start is left as it was."""
    pending = start(make_point(), start_date=TODAY + timedelta(days=10)).state
    assert pending is not None
    for day in (TODAY + timedelta(days=5), TODAY + timedelta(days=10)):
        earlier = start_of_supply(pending, message_id=f"earlier-{day}",
                                  sender=gln("708000000009"), start_date=day,
                                  metering_point_id=POINT_ID, now=NOW, today=TODAY)
        assert [r.code for r in earlier.reasons] == ["supply.overlap"]
        assert earlier.state is None


def test_start_on_the_points_valid_from_date_is_accepted() -> None:
    outcome = start(make_point(supplies=(), valid_from=date(2026, 6, 20)))
    assert outcome.reasons == []


def test_backdating_limit_is_a_parameter() -> None:
    five_days_back = TODAY - timedelta(days=5)
    assert start(make_point(), start_date=five_days_back, max_backdating_days=5).reasons == []
    assert [r.code for r in start(make_point(), start_date=five_days_back,
                                  max_backdating_days=4).reasons] == ["supply.backdated"]


def test_input_state_is_not_modified_by_an_accepted_start() -> None:
    current = make_point()
    snapshot = make_point()
    start(current)
    assert current == snapshot


# --- BRS-NO-101: rejected ------------------------------------------------------------------

REJECTIONS = [
    pytest.param(None, NEW_SUPPLIER, date(2026, 6, 20), "metering_point.unknown", id="unknown"),
    pytest.param(make_point(), NEW_SUPPLIER, TODAY - timedelta(days=15), "supply.backdated",
                 id="backdated"),
    pytest.param(make_point(supplies=((OLD_SUPPLIER, date(2026, 6, 20)),)), NEW_SUPPLIER,
                 date(2026, 6, 20), "supply.overlap", id="overlap-same-day"),
    pytest.param(make_point(supplies=((OLD_SUPPLIER, date(2026, 6, 25)),)), NEW_SUPPLIER,
                 date(2026, 6, 20), "supply.overlap", id="overlap-before-latest"),
    pytest.param(make_point(), OLD_SUPPLIER, date(2026, 6, 20), "supply.already_supplier",
                 id="already-supplier"),
    pytest.param(make_point(supplies=(), valid_from=date(2026, 7, 1)), NEW_SUPPLIER,
                 date(2026, 6, 20), "supply.before_valid_from", id="before-valid-from"),
]


@pytest.mark.parametrize(("current", "sender", "start_date", "code"), REJECTIONS)
def test_rejected_start_changes_nothing_and_answers_only_the_sender(
    current: MeteringPoint | None, sender: str, start_date: date, code: str
) -> None:
    outcome = start(current, sender=sender, start_date=start_date)

    assert [r.code for r in outcome.reasons] == [code]
    assert outcome.state is None
    assert len(outcome.messages) == 1
    ack = outcome.messages[0]
    assert (ack.document_type, ack.recipient, ack.queue) == (
        "Acknowledgement", sender, MARKET_PROCESSES)
    assert ack.payload["status"] == "rejected"
    assert ack.payload["originalMessageId"] == MESSAGE_ID
    assert [r["code"] for r in ack.payload["reasons"]] == [code]
    assert all(r["text"] for r in ack.payload["reasons"])


def test_rejection_reports_every_reason_at_once() -> None:
    point = make_point(supplies=(), valid_from=date(2026, 7, 1))
    outcome = start(point, start_date=TODAY - timedelta(days=30))
    assert [r.code for r in outcome.reasons] == ["supply.backdated", "supply.before_valid_from"]
    assert outcome.state is None


def test_rejected_and_accepted_answers_to_one_document_share_the_acknowledgement_id() -> None:
    """Redelivery of a document must not produce a second, different acknowledgement."""
    accepted = start(make_point()).messages[0]
    rejected = start(None).messages[0]
    assert accepted.message_id == rejected.message_id


# --- BRS-NO-121: registration --------------------------------------------------------------

REGISTRATION = {
    "gridArea": "10YNO-1--------2", "priceArea": "NO1", "pointType": "consumption",
    "resolution": "PT15M", "validFrom": date(2026, 1, 1), "consumptionCode": "35",
    "industryCode": None, "productionType": None,
}


def test_registration_of_a_new_point_makes_the_sender_its_grid_owner() -> None:
    outcome = register_metering_point(None, message_id=MESSAGE_ID, sender=GRID_OWNER,
                                      document=REGISTRATION, metering_point_id=POINT_ID, now=NOW)

    assert outcome.reasons == []
    assert outcome.state == MeteringPoint(
        metering_point_id=POINT_ID, grid_owner=GRID_OWNER, grid_area="10YNO-1--------2",
        price_area="NO1", point_type="consumption", resolution="PT15M",
        valid_from=date(2026, 1, 1), consumption_code="35")
    assert outcome.state.supplies == ()
    assert routed(outcome.messages) == [("Acknowledgement", GRID_OWNER)]
    assert outcome.messages[0].payload["status"] == "accepted"
    assert outcome.messages[0].payload["originalDocumentType"] == "RegisterMeteringPoint"


def test_registration_of_an_existing_point_is_rejected_and_keeps_its_grid_owner() -> None:
    existing = make_point()
    outcome = register_metering_point(existing, message_id=MESSAGE_ID, sender=OTHER_GRID_OWNER,
                                      document=REGISTRATION, metering_point_id=POINT_ID, now=NOW)

    assert [r.code for r in outcome.reasons] == ["metering_point.exists"]
    assert outcome.state is None
    assert routed(outcome.messages) == [("Acknowledgement", OTHER_GRID_OWNER)]
    assert outcome.messages[0].payload["status"] == "rejected"
    assert [r["code"] for r in outcome.messages[0].payload["reasons"]] == [
        "metering_point.exists"]
    assert existing == make_point()
