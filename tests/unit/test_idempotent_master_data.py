"""A master-data document processed twice (a worker crash between its state and its answers)
gets the same answer and messages again, never a rejection of itself."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.supply import register_metering_point, start_of_supply

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
POINT, GRID_OWNER, SUPPLIER = "707057500000000018", "7080005051286", "7080005051293"
DOCUMENT = {"gridArea": "10YNO-1--------2", "priceArea": "NO1", "pointType": "consumption",
            "resolution": "PT1H", "consumptionCode": "35", "validFrom": date(2025, 1, 1)}


def test_registration_twice_is_accepted_twice_and_another_is_refused() -> None:
    first = register_metering_point(None, message_id="m1", sender=GRID_OWNER,
                                    document=DOCUMENT, metering_point_id=POINT, now=NOW)
    assert first.state is not None and first.reasons == []
    again = register_metering_point(first.state, message_id="m1", sender=GRID_OWNER,
                                    document=DOCUMENT, metering_point_id=POINT, now=NOW)
    assert again.reasons == [] and again.state is None
    assert [m.message_id for m in again.messages] == [m.message_id for m in first.messages]
    other = register_metering_point(first.state, message_id="m2", sender=GRID_OWNER,
                                    document={**DOCUMENT, "resolution": "PT15M"},
                                    metering_point_id=POINT, now=NOW)
    assert [r.code for r in other.reasons] == ["metering_point.exists"]


def test_start_of_supply_twice_gives_the_same_messages() -> None:
    point = register_metering_point(None, message_id="m1", sender=GRID_OWNER,
                                    document=DOCUMENT, metering_point_id=POINT, now=NOW).state
    first = start_of_supply(point, message_id="s1", sender=SUPPLIER, start_date=date(2026, 11, 18),
                            metering_point_id=POINT, now=NOW, today=date(2026, 11, 20))
    assert first.state is not None and first.reasons == []
    again = start_of_supply(first.state, message_id="s1", sender=SUPPLIER,
                            start_date=date(2026, 11, 18), metering_point_id=POINT, now=NOW,
                            today=date(2026, 11, 20))
    assert again.reasons == []
    assert [(m.message_id, m.document_type, m.payload) for m in again.messages] == [
        (m.message_id, m.document_type, m.payload) for m in first.messages]
