"""What one intake series of metering values turns into (domain.forwarding).

What a hub user checks: the grid owner gets an Acknowledgement; every recipient gets its own
NotifyValidatedDataForBillingEnergy with exactly its values; the ids are the same when the series
is forwarded again (replay), so actors de-duplicate; a rejected series reaches nobody but the
sender, and only as an Acknowledgement with the reasons.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from domain.forwarding import NOTIFY_VALUES, forward_series
from domain.messages import MARKET_PROCESSES, METERING_VALUES, Outbound
from domain.metering_point import MeteringPoint, ThirdPartyAccess
from domain.series import expected_point_count
from tests.unit.builders import GRID_OWNER, POINT_ID, gln, metering_point, oslo_midnight

SUPPLIER_A = gln("708000000002")
SUPPLIER_B = gln("708000000003")
THIRD_PARTY = gln("708000000005")
REVOKED_PARTY = gln("708000000006")
STRANGER = gln("708000000009")

RECEIVED = datetime(2026, 6, 14, 5, 12, 3, tzinfo=UTC)
NOW = datetime(2026, 6, 14, 5, 12, 4, tzinfo=UTC)
LATER = datetime(2026, 6, 20, 9, 0, tzinfo=UTC)


def make_point(*, resolution: str = "PT1H",
               supplies: tuple[tuple[str, date], ...] = (
                   (SUPPLIER_A, date(2026, 1, 1)), (SUPPLIER_B, date(2026, 6, 13))),
               access: tuple[ThirdPartyAccess, ...] = ()) -> MeteringPoint:
    return metering_point(resolution=resolution, supplies=supplies, access=access)


def make_series(first_day: date = date(2026, 6, 12), days: int = 2, resolution: str = "PT1H",
                sender: str = GRID_OWNER, transaction_id: str = "tx-1") -> dict[str, Any]:
    """An intake record as the forwarder decodes it (times in UTC)."""
    start = oslo_midnight(first_day).astimezone(UTC)
    end = oslo_midnight(first_day + timedelta(days=days)).astimezone(UTC)
    count = expected_point_count(start, end, resolution)
    return {
        "messageId": "doc-1", "transactionId": transaction_id, "sender": sender,
        "receivedAt": RECEIVED, "meteringPointId": POINT_ID, "start": start, "end": end,
        "resolution": resolution, "unit": "kWh",
        "quantities": [round(0.5 + i / 1000, 3) for i in range(count)],
        "qualities": ["measured" if i % 7 else "estimated" for i in range(count)],
    }


def values_for(messages: list[Outbound], recipient: str) -> list[Outbound]:
    return [m for m in messages if m.recipient == recipient and m.document_type == NOTIFY_VALUES]


# --- accepted ------------------------------------------------------------------------------


def test_accepted_series_is_acknowledged_and_split_at_the_supplier_change() -> None:
    series = make_series()

    messages = forward_series(make_point(), series, NOW)

    assert [(m.document_type, m.recipient, m.queue) for m in messages] == [
        ("Acknowledgement", GRID_OWNER, MARKET_PROCESSES),
        (NOTIFY_VALUES, SUPPLIER_A, METERING_VALUES),
        (NOTIFY_VALUES, SUPPLIER_B, METERING_VALUES),
        (NOTIFY_VALUES, GRID_OWNER, METERING_VALUES),
    ]
    ack = messages[0]
    assert ack.payload["status"] == "accepted"
    assert ack.payload["reasons"] == []
    assert ack.payload["transactionId"] == "tx-1"
    assert ack.payload["originalMessageId"] == "doc-1"
    assert ack.payload["meteringPointId"] == POINT_ID

    a, b, owner = (m.payload for m in messages[1:])
    change = oslo_midnight(date(2026, 6, 13))
    assert (a["start"], a["end"]) == (series["start"], change)
    assert (b["start"], b["end"]) == (change, series["end"])
    assert (owner["start"], owner["end"]) == (series["start"], series["end"])
    assert a["quantities"] == series["quantities"][:24]
    assert b["quantities"] == series["quantities"][24:]
    assert owner["quantities"] == series["quantities"]
    assert a["qualities"] == series["qualities"][:24]
    assert b["qualities"] == series["qualities"][24:]
    assert (a["recipientRole"], b["recipientRole"], owner["recipientRole"]) == (
        "supplier", "supplier", "grid_owner")


def test_value_messages_carry_the_series_identity_and_registration_time() -> None:
    series = make_series()
    for message in forward_series(make_point(), series, NOW)[1:]:
        assert message.payload_type == NOTIFY_VALUES
        assert message.created_at == NOW
        payload = message.payload
        assert payload["transactionId"] == "tx-1"
        assert payload["originalMessageId"] == "doc-1"
        assert payload["meteringPointId"] == POINT_ID
        assert payload["resolution"] == "PT1H"
        assert payload["unit"] == "kWh"
        assert payload["registeredAt"] == RECEIVED
        assert len(payload["quantities"]) == len(payload["qualities"]) == expected_point_count(
            payload["start"], payload["end"], "PT1H")


def test_dst_day_series_reaches_each_recipient_with_all_92_quarter_hours() -> None:
    series = make_series(date(2026, 3, 29), days=1, resolution="PT15M")
    point = make_point(resolution="PT15M", access=(
        ThirdPartyAccess(THIRD_PARTY, datetime(2026, 1, 1, tzinfo=UTC)),))

    messages = forward_series(point, series, NOW)

    assert [m.recipient for m in messages[1:]] == [SUPPLIER_A, GRID_OWNER, THIRD_PARTY]
    for message in messages[1:]:
        assert len(message.payload["quantities"]) == 92
        assert message.payload["start"] == datetime(2026, 3, 28, 23, tzinfo=UTC)
        assert message.payload["end"] == datetime(2026, 3, 29, 22, tzinfo=UTC)


def test_third_party_with_access_gets_the_series_and_a_revoked_one_does_not() -> None:
    access = (ThirdPartyAccess(THIRD_PARTY, datetime(2026, 1, 1, tzinfo=UTC)),
              ThirdPartyAccess(REVOKED_PARTY, datetime(2026, 1, 1, tzinfo=UTC),
                               datetime(2026, 5, 1, tzinfo=UTC)))
    series = make_series()
    messages = forward_series(make_point(access=access), series, NOW)

    (third,) = values_for(messages, THIRD_PARTY)
    assert third.payload["recipientRole"] == "third_party"
    assert third.payload["quantities"] == series["quantities"]
    assert values_for(messages, REVOKED_PARTY) == []
    assert all(m.recipient != REVOKED_PARTY for m in messages)


# --- stable ids ----------------------------------------------------------------------------


def test_forwarding_again_gives_the_same_message_ids() -> None:
    """A replay (or a redelivered intake record) must not look like new data to the actors."""
    first = forward_series(make_point(), make_series(), NOW)
    replayed = forward_series(make_point(), make_series(), LATER)

    assert [m.message_id for m in replayed] == [m.message_id for m in first]
    assert [m.payload for m in replayed] == [m.payload for m in first]
    assert all(m.created_at == LATER for m in replayed)


def test_every_message_of_a_series_has_its_own_id() -> None:
    point = make_point(access=(ThirdPartyAccess(THIRD_PARTY, datetime(2026, 1, 1, tzinfo=UTC)),))
    messages = forward_series(point, make_series(), NOW)
    assert len(messages) == 5
    assert len({m.message_id for m in messages}) == 5


def test_another_series_gets_other_ids() -> None:
    first = forward_series(make_point(), make_series(transaction_id="tx-1"), NOW)
    second = forward_series(make_point(), make_series(transaction_id="tx-2"), NOW)
    assert not {m.message_id for m in first} & {m.message_id for m in second}


def test_a_later_supplier_change_moves_values_into_new_messages_not_reused_ids() -> None:
    """If the split changes (the state differs on replay), the parts get different ids, so an
    actor never de-duplicates a different set of values away as 'already seen'."""
    single = forward_series(make_point(supplies=((SUPPLIER_A, date(2026, 1, 1)),)),
                            make_series(), NOW)
    split = forward_series(make_point(), make_series(), NOW)
    (whole,) = values_for(single, SUPPLIER_A)
    (part,) = values_for(split, SUPPLIER_A)
    assert len(whole.payload["quantities"]) == 48
    assert len(part.payload["quantities"]) == 24
    assert whole.message_id != part.message_id


# --- rejected ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "series", "codes"),
    [
        pytest.param(None, make_series(), ["metering_point.unknown"], id="unknown-point"),
        pytest.param(make_point(), make_series(sender=STRANGER), ["sender.not_grid_owner"],
                     id="not-grid-owner"),
        pytest.param(make_point(), make_series(resolution="PT15M"),
                     ["series.resolution_mismatch"], id="resolution"),
        pytest.param(make_point(), make_series(first_day=date(2024, 12, 30)),
                     ["series.before_valid_from"], id="before-valid-from"),
    ],
)
def test_rejected_series_gives_only_an_acknowledgement_to_the_sender(
    point: MeteringPoint | None, series: dict[str, Any], codes: list[str]
) -> None:
    messages = forward_series(point, series, NOW)

    assert len(messages) == 1
    (ack,) = messages
    assert (ack.document_type, ack.recipient, ack.queue) == (
        "Acknowledgement", series["sender"], MARKET_PROCESSES)
    assert ack.payload["status"] == "rejected"
    assert [r["code"] for r in ack.payload["reasons"]] == codes
    assert ack.payload["transactionId"] == series["transactionId"]


def test_series_from_a_stranger_reveals_no_values_to_anyone() -> None:
    messages = forward_series(make_point(), make_series(sender=STRANGER), NOW)
    assert all(m.document_type == "Acknowledgement" for m in messages)
    assert {m.recipient for m in messages} == {STRANGER}


def test_acknowledgement_id_is_the_same_whether_accepted_or_rejected() -> None:
    """The series is answered once: a redelivery after a state change cannot add a second,
    contradicting acknowledgement with a new id."""
    accepted = forward_series(make_point(), make_series(), NOW)[0]
    rejected = forward_series(None, make_series(), NOW)[0]
    assert accepted.message_id == rejected.message_id
