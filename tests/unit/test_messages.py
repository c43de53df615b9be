"""Outbound messages and their stable ids (domain.messages).

What a market actor relies on: a message id is the same on redelivery and on replay, so it can
de-duplicate on it, and different for every distinct message, so it never drops one; and what the
hub stores on its queue topics is exactly the message it meant to send (the real Avro codec).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from domain.forwarding import forward_series
from domain.messages import (
    MARKET_PROCESSES,
    METERING_VALUES,
    Outbound,
    Reason,
    acknowledgement,
    outbound_message_id,
)
from domain.metering_point import MeteringPoint, SupplyPeriod
from domain.supply import start_of_supply
from streams.serialisation import QUEUE_MESSAGE, codec

CAUSE = "8a1f5c2e-0b7d-4c3a-9e61-2d4f6a8b0c13"
RECIPIENT = "7080000000010"
OTHER_RECIPIENT = "7080000000027"
NOW = datetime(2026, 6, 15, 8, 30, 12, 345000, tzinfo=UTC)  # Avro keeps milliseconds


def round_trip(message: Outbound) -> dict[str, object]:
    queue_codec = codec(QUEUE_MESSAGE)
    return queue_codec.decode(queue_codec.encode(message.to_record()))


# --- stable ids ----------------------------------------------------------------------------


def test_message_id_is_stable_for_the_same_inputs() -> None:
    first = outbound_message_id(CAUSE, RECIPIENT, "NotifyValidatedDataForBillingEnergy", "0-24")
    again = outbound_message_id(CAUSE, RECIPIENT, "NotifyValidatedDataForBillingEnergy", "0-24")
    assert first == again
    parsed = uuid.UUID(first)
    assert str(parsed) == first
    assert parsed.version == 5


@pytest.mark.parametrize(
    "other",
    [
        ("1d3c0b7e-6a3f-4b1e-9a55-3f1e2c7d9b10", RECIPIENT, "NotifyStartOfSupply", ""),
        (CAUSE, OTHER_RECIPIENT, "NotifyStartOfSupply", ""),
        (CAUSE, RECIPIENT, "NotifyEndOfSupply", ""),
        (CAUSE, RECIPIENT, "NotifyStartOfSupply", "0-24"),
    ],
    ids=["cause", "recipient", "document-type", "part"],
)
def test_message_id_differs_when_any_input_differs(other: tuple[str, str, str, str]) -> None:
    base = outbound_message_id(CAUSE, RECIPIENT, "NotifyStartOfSupply", "")
    assert outbound_message_id(*other) != base


def test_parts_of_a_split_series_have_distinct_ids() -> None:
    ids = {outbound_message_id(CAUSE, RECIPIENT, "NotifyValidatedDataForBillingEnergy", part)
           for part in ("0-24", "24-48", "0-48")}
    assert len(ids) == 3


def test_default_part_is_the_empty_part() -> None:
    assert outbound_message_id(CAUSE, RECIPIENT, "Acknowledgement") == outbound_message_id(
        CAUSE, RECIPIENT, "Acknowledgement", "")


# --- acknowledgements ----------------------------------------------------------------------


def test_positive_acknowledgement_goes_to_the_sender_in_market_processes() -> None:
    ack = acknowledgement(original_message_id=CAUSE, original_document_type="StartOfSupply",
                          sender=RECIPIENT, reasons=[], created_at=NOW,
                          metering_point_id="707057500000000017")
    assert ack.recipient == RECIPIENT
    assert ack.queue == MARKET_PROCESSES
    assert ack.document_type == ack.payload_type == "Acknowledgement"
    assert ack.payload["status"] == "accepted"
    assert ack.payload["reasons"] == []
    assert ack.payload["originalMessageId"] == CAUSE
    assert ack.message_id == outbound_message_id(CAUSE, RECIPIENT, "Acknowledgement")


def test_rejection_lists_every_reason_code_and_text() -> None:
    reasons = [Reason("sender.not_grid_owner", "not yours"), Reason("series.x", "also bad")]
    ack = acknowledgement(original_message_id=CAUSE, original_document_type="X",
                          sender=RECIPIENT, reasons=reasons, created_at=NOW)
    assert ack.payload["status"] == "rejected"
    assert ack.payload["reasons"] == [
        {"code": "sender.not_grid_owner", "text": "not yours"},
        {"code": "series.x", "text": "also bad"},
    ]


def test_each_series_of_one_document_gets_its_own_acknowledgement_id() -> None:
    def ack_for(transaction_id: str, created_at: datetime = NOW) -> Outbound:
        return acknowledgement(original_message_id=CAUSE,
                               original_document_type="NotifyValidatedDataForBillingEnergy",
                               sender=RECIPIENT, reasons=[], created_at=created_at,
                               transaction_id=transaction_id)

    first = ack_for("t-1")
    second = ack_for("t-2")
    assert first.message_id != second.message_id
    # The same transaction answered again (redelivery, replay) keeps its id, whatever the time.
    assert ack_for("t-1", NOW + timedelta(days=3)).message_id == first.message_id
    assert first.payload["transactionId"] == "t-1"
    assert first.payload["originalMessageId"] == CAUSE


# --- the Avro record -----------------------------------------------------------------------


def test_to_record_names_the_union_branch_and_the_queue_enum() -> None:
    ack = acknowledgement(original_message_id=CAUSE, original_document_type="X",
                          sender=RECIPIENT, reasons=[], created_at=NOW)
    record = ack.to_record()
    assert record["queue"] == "market_processes"
    assert record["payload"] == ("no.straum.queue.Acknowledgement", ack.payload)
    assert record["replayed"] is False
    values = replace(ack, queue=METERING_VALUES)
    assert values.to_record()["queue"] == "metering_values"


@pytest.mark.parametrize("reasons", [[], [Reason("metering_point.unknown", "unknown point")]],
                         ids=["accepted", "rejected"])
def test_acknowledgement_round_trips_through_the_avro_codec(reasons: list[Reason]) -> None:
    ack = acknowledgement(original_message_id=CAUSE, original_document_type="StartOfSupply",
                          sender=RECIPIENT, reasons=reasons, created_at=NOW,
                          metering_point_id="707057500000000017", transaction_id=None)
    decoded = round_trip(ack)
    assert decoded == ack.to_record()
    name, payload = decoded["payload"]  # type: ignore[misc]
    assert name == "no.straum.queue.Acknowledgement"
    assert payload["status"] == ("rejected" if reasons else "accepted")


def test_supply_notifications_round_trip_through_the_avro_codec() -> None:
    point = MeteringPoint(
        metering_point_id="707057500000000017", grid_owner="7080000000034",
        grid_area="10YNO-1--------2", price_area="NO1", point_type="consumption",
        resolution="PT1H", valid_from=date(2025, 1, 1),
        supplies=(SupplyPeriod(OTHER_RECIPIENT, date(2026, 1, 1), "m0"),))
    outcome = start_of_supply(point, message_id=CAUSE, sender=RECIPIENT,
                              start_date=date(2026, 6, 20),
                              metering_point_id=point.metering_point_id, now=NOW,
                              today=date(2026, 6, 15))
    assert len(outcome.messages) == 4
    for message in outcome.messages:
        decoded = round_trip(message)
        assert decoded == message.to_record()
    _, payload = round_trip(outcome.messages[-1])["payload"]  # type: ignore[misc]
    assert payload["startDate"] == date(2026, 6, 20)
    assert payload["previousSupplier"] == OTHER_RECIPIENT


def test_metering_values_round_trip_through_the_avro_codec() -> None:
    point = MeteringPoint(
        metering_point_id="707057500000000017", grid_owner="7080000000034",
        grid_area="10YNO-1--------2", price_area="NO1", point_type="consumption",
        resolution="PT1H", valid_from=date(2025, 1, 1),
        supplies=(SupplyPeriod(RECIPIENT, date(2026, 1, 1), "m0"),))
    start = datetime(2026, 6, 11, 22, tzinfo=UTC)
    series = {
        "messageId": CAUSE, "transactionId": "t-1", "sender": "7080000000034",
        "receivedAt": NOW, "meteringPointId": point.metering_point_id, "start": start,
        "end": start + timedelta(hours=24), "resolution": "PT1H", "unit": "kWh",
        "quantities": [0.5 + i / 1000 for i in range(24)], "qualities": ["measured"] * 24,
    }
    messages = forward_series(point, series, NOW)
    assert [m.document_type for m in messages] == [
        "Acknowledgement", "NotifyValidatedDataForBillingEnergy",
        "NotifyValidatedDataForBillingEnergy"]
    for message in messages:
        assert round_trip(message) == message.to_record()
    name, payload = round_trip(messages[1])["payload"]  # type: ignore[misc]
    assert name == "no.straum.queue.NotifyValidatedDataForBillingEnergy"
    assert payload["quantities"] == series["quantities"]
    assert payload["start"] == start


def test_replayed_flag_and_local_time_survive_the_codec() -> None:
    ack = acknowledgement(original_message_id=CAUSE, original_document_type="X",
                          sender=RECIPIENT, reasons=[], created_at=NOW)
    oslo_summer = timezone(timedelta(hours=2))
    replayed = replace(ack, replayed=True, created_at=NOW.astimezone(oslo_summer))
    decoded = round_trip(replayed)
    assert decoded["replayed"] is True
    assert decoded["createdAt"] == NOW  # the same instant, read back in UTC


def test_payload_that_does_not_fit_its_named_branch_is_not_written() -> None:
    """The union branch is written by name, never guessed from the payload's shape."""
    ack = acknowledgement(original_message_id=CAUSE, original_document_type="X",
                          sender=RECIPIENT, reasons=[], created_at=NOW)
    wrong = replace(ack, payload_type="SupplyNotification")
    with pytest.raises((TypeError, ValueError)):
        codec(QUEUE_MESSAGE).encode(wrong.to_record())


def test_message_ids_are_the_rfc_4122_uuid5_of_their_name() -> None:
    import uuid

    from domain.messages import MESSAGE_ID_NAMESPACE, outbound_message_id

    names = [("tx-1", "7080000000012", "Acknowledgement", ""),
             ("ø", "7080000000029", "NotifyValidated", "supplier:0-96")]
    for cause, recipient, kind, part in names:
        assert outbound_message_id(cause, recipient, kind, part) == str(
            uuid.uuid5(MESSAGE_ID_NAMESPACE, f"{cause}|{recipient}|{kind}|{part}"))
