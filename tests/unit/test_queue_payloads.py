"""The poll answer's schema says what the queues really hold: a message of every document
type, made by the domain's own rules and rendered as a queue record is, validates against its
``documentType``'s model in /openapi.json, and names exactly the members the model documents."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import TypeAdapter

from domain.characteristics import change_characteristics
from domain.customer_information import update_customer_information
from domain.forwarding import forward_series
from domain.messages import Outbound
from domain.metering_point import Contact, EndUser
from domain.moving import Consent, move_in, move_out
from domain.norgespris import create
from domain.supply import register_metering_point, start_of_supply
from domain.third_party import approve_access, request_access
from processors.contracts import notice
from schemas.queue_payloads import DOCUMENT_TYPES, QueueMessage
from streams.records.queue_message import render
from tests.unit.builders import GRID_OWNER, POINT_ID, gln, metering_point, oslo_midnight

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)
TODAY = date(2026, 1, 20)
OLD, NEW, THIRD = gln("708000000002"), gln("708000000003"), gln("708000000004")


def every_kind_of_message() -> list[Outbound]:
    point = metering_point(supplies=((OLD, date(2025, 6, 1)),))
    messages: list[Outbound] = []
    messages += register_metering_point(None, message_id="m-1", sender=GRID_OWNER, document={
        "gridArea": "10YNO-1--------2", "priceArea": "NO1", "pointType": "consumption",
        "resolution": "PT1H", "consumptionCode": "35", "industryCode": None,
        "productionType": None, "validFrom": date(2025, 1, 1)},
        metering_point_id=POINT_ID, now=NOW).messages
    switched = start_of_supply(point, message_id="m-2", sender=NEW, start_date=TODAY,
                               metering_point_id=POINT_ID, now=NOW, today=TODAY)
    messages += switched.messages
    messages += change_characteristics(
        switched.state, message_id="m-3", sender=GRID_OWNER, metering_point_id=POINT_ID,
        effective_from=TODAY, fields={"resolution": "PT15M"}, now=NOW, today=TODAY,
        code_lists=None).messages
    messages += update_customer_information(
        switched.state, message_id="m-4", sender=NEW, metering_point_id=POINT_ID,
        contacts=[Contact("email", "post@bakeri.example", "notification")], now=NOW,
        today=TODAY).messages
    asked = request_access(switched.state, message_id="m-5", sender=THIRD,
                           metering_point_id=POINT_ID, valid_from=None, valid_to=None, now=NOW)
    messages += asked.messages
    request_id = asked.state.access_requests[0].request_id if asked.state else ""
    messages += approve_access(asked.state, message_id="m-6", request_id=request_id,
                               metering_point_id=POINT_ID, approver=GRID_OWNER,
                               now=NOW).messages
    day = TODAY - timedelta(days=1)
    messages += forward_series(switched.state, {
        "messageId": "m-7", "transactionId": "t-7", "sender": GRID_OWNER, "receivedAt": NOW,
        "meteringPointId": POINT_ID, "start": oslo_midnight(day),
        "end": oslo_midnight(day) + timedelta(hours=2), "resolution": "PT1H", "unit": "kWh",
        "quantities": [1.25, 0.5], "qualities": ["measured", "estimated"]}, NOW)
    company = EndUser("Nordmann Bakeri AS", organisation_number="974760673")
    moved = move_in(switched.state, message_id="m-8", sender=OLD,
                    start_date=TODAY + timedelta(days=2),
                    metering_point_id=POINT_ID, end_user=company,
                    consent=Consent(None, None), now=NOW, today=TODAY,
                    max_backdating_days=14, max_days_ahead=60).outcome
    messages += moved.messages
    messages += move_out(moved.state, message_id="m-9", sender=OLD,
                         end_date=TODAY + timedelta(days=12), metering_point_id=POINT_ID,
                         now=NOW, today=TODAY, min_days_ahead=1, max_days_ahead=60).messages
    contract = create(contract_id="c-1", metering_point_id=POINT_ID, grid_owner=GRID_OWNER,
                      start_date=TODAY, end_date=None, consumption_code="35",
                      has_active_contract=False, by=GRID_OWNER, now=NOW)
    messages.append(notice(contract, NEW, NOW))
    return messages


MESSAGES = every_kind_of_message()
ADAPTER: TypeAdapter[Any] = TypeAdapter(QueueMessage)


def test_every_document_type_is_made_here() -> None:
    """Shared production's (BRS-NO-701) are made by tests/unit/test_shared_production.py's
    saga, whose every message tests/unit/conftest.py checks against its schema."""
    made = {m.document_type for m in MESSAGES}
    assert made == set(DOCUMENT_TYPES) - {"NotifySharedProductionCalculation"}
    variants = {tuple(sorted(orjson.loads(render(m))["payload"])) for m in MESSAGES
                if m.document_type in ("NotifyStartOfSupply", "NotifyEndOfSupply")}
    assert any("endUser" in v for v in variants) and any("endDate" in v for v in variants)


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: f"{m.document_type}-{m.recipient}")
def test_each_rendered_message_is_what_its_schema_says(message: Outbound) -> None:
    stored = orjson.loads(render(message))
    parsed = ADAPTER.validate_python(stored)
    assert parsed.document_type == message.document_type
    payload = type(parsed.payload)  # the member of a union the payload validated as
    documented = {f.alias or n for n, f in payload.model_fields.items()}
    required = {f.alias or n for n, f in payload.model_fields.items() if f.is_required()}
    assert required <= set(stored["payload"]) <= documented, message.document_type
    assert set(stored) == {"messageId", "documentType", "createdAt", "replayed", "payload"}


def test_a_switch_tells_the_previous_supplier_too() -> None:
    ends = [m for m in MESSAGES if m.document_type == "NotifyEndOfSupply"
            and m.payload["originalMessageId"] == "m-2"]
    assert [m.recipient for m in ends] == [OLD]


def test_every_document_type_the_code_names_has_a_schema() -> None:
    """Document types are string constants in domain/ and processors/: each one that names a
    queue message (Notify…, Confirm…, Acknowledgement) must be in DOCUMENT_TYPES."""
    named: set[str] = set()
    for folder in ("domain", "processors"):
        for path in (ROOT / folder).glob("*.py"):
            named |= set(re.findall(r'"((?:Notify|Confirm)[A-Z][A-Za-z]+|Acknowledgement)"',
                                    path.read_text(encoding="utf-8")))
    assert named - set(DOCUMENT_TYPES) == set()
