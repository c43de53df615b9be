"""From 2026 no SN2007 næringskode becomes a point's current code, whatever the date a change
or a registration takes effect (BRS-NO-302 and BRS-NO-121 against the fixture code lists)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from connectors.klass import load_code_lists
from domain.characteristics import change_characteristics
from domain.industry_codes import CodeLists
from domain.outcome import Outcome
from domain.supply import register_metering_point
from tests.unit.builders import GRID_OWNER, POINT_ID, metering_point

FIXTURES = Path(__file__).parent.parent / "fixtures" / "klass"
IN_2026 = datetime(2026, 1, 10, 9, tzinfo=UTC)
IN_2025 = datetime(2025, 12, 20, 9, tzinfo=UTC)
REGISTRATION = {"gridArea": "10YNO-1--------2", "priceArea": "NO1", "pointType": "consumption",
                "resolution": "PT1H", "consumptionCode": "19", "validFrom": date(2025, 6, 1),
                "industryCode": "62.010"}


@pytest.fixture(scope="module")
def lists() -> CodeLists:
    return load_code_lists(FIXTURES / "sn2007-codes.csv", FIXTURES / "sn2025-codes.csv",
                           FIXTURES / "sn2007-sn2025-correspondence.csv")


def change(code: str, decided: datetime, lists: CodeLists) -> Outcome:
    return change_characteristics(
        metering_point(), message_id="c1", sender=GRID_OWNER, metering_point_id=POINT_ID,
        effective_from=date(2025, 12, 15), fields={"industryCode": code}, now=decided,
        today=decided.date(), code_lists=lists)


def codes(outcome: Outcome) -> list[str]:
    return [r.code for r in outcome.reasons]


def test_backdated_change_to_an_sn2007_code_is_refused_in_2026(lists: CodeLists) -> None:
    outcome = change("62.010", IN_2026, lists)
    assert codes(outcome) == ["industry_code.sn2007_expired"]
    assert outcome.state is None
    [ack] = outcome.messages
    assert ack.payload["status"] == "rejected"
    assert "62.100" in ack.payload["reasons"][0]["text"]


def test_the_same_change_decided_in_2025_was_accepted(lists: CodeLists) -> None:
    outcome = change("62.010", IN_2025, lists)
    assert codes(outcome) == []
    assert outcome.state is not None
    assert outcome.state.characteristics_on(date(2025, 12, 15)).industry_code == "62.010"


def test_backdated_change_to_its_sn2025_successor_is_accepted_in_2026(lists: CodeLists) -> None:
    outcome = change("62.100", IN_2026, lists)
    assert codes(outcome) == []
    assert outcome.state is not None
    assert outcome.state.characteristics_on(IN_2026.date()).industry_code == "62.100"


def test_registration_in_2026_of_a_point_valid_from_2020_takes_the_sn2025_code(
        lists: CodeLists) -> None:
    outcome = register_metering_point(
        None, message_id="r1", sender=GRID_OWNER, metering_point_id=POINT_ID, now=IN_2026,
        document={**REGISTRATION, "validFrom": date(2020, 3, 1), "industryCode": "62.100"},
        code_lists=lists)
    assert codes(outcome) == []
    assert outcome.state is not None and outcome.state.industry_code == "62.100"


def test_registration_valid_from_2025_with_an_sn2007_code_is_refused_in_2026(
        lists: CodeLists) -> None:
    outcome = register_metering_point(None, message_id="r1", sender=GRID_OWNER,
                                      document=REGISTRATION, metering_point_id=POINT_ID,
                                      now=IN_2026, code_lists=lists)
    assert codes(outcome) == ["industry_code.sn2007_expired"]
    assert outcome.state is None


def test_registration_accepted_in_2025_gets_the_same_answer_again_in_2026(
        lists: CodeLists) -> None:
    first = register_metering_point(None, message_id="r1", sender=GRID_OWNER,
                                    document=REGISTRATION, metering_point_id=POINT_ID,
                                    now=IN_2025, code_lists=lists)
    assert codes(first) == [] and first.state is not None
    again = register_metering_point(first.state, message_id="r1", sender=GRID_OWNER,
                                    document=REGISTRATION, metering_point_id=POINT_ID,
                                    now=IN_2026, code_lists=lists)
    assert codes(again) == []
    assert again.messages[0].payload["status"] == "accepted"
