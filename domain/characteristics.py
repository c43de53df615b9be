"""BRS-NO-302: a grid owner changes a metering point's characteristics from a date.

Accepted changes are kept with their effective date (the state answers "what applied on that
day"), and the supplier responsible then, and today's supplier if another, get
``NotifyMeteringPointCharacteristics``. Industry codes are checked against the imported SSB
code lists: an SN2007 code is refused from 2026-01-01 with the SN2025 candidates named, and
from that day on whatever the change's effective date (a backdated change must not make an old
code current again; see ``check_industry_code``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from domain.codes import check_consumption_code, check_industry
from domain.industry_codes import CodeLists
from domain.messages import MARKET_PROCESSES, Outbound, Reason, acknowledgement, outbound_message_id
from domain.metering_point import (
    Characteristics,
    CharacteristicsChange,
    MeteringPoint,
    characteristics_record,
)
from domain.outcome import Outcome

MAX_BACKDATING_DAYS = 366  # a year back; corrections of older master data go through support
FIELDS = {"gridArea": "grid_area", "priceArea": "price_area", "pointType": "point_type",
          "resolution": "resolution", "consumptionCode": "consumption_code",
          "industryCode": "industry_code", "productionType": "production_type"}
DOCUMENT = "ChangeOfCharacteristics"
NOTIFY = "NotifyMeteringPointCharacteristics"


def change_characteristics(
    current: MeteringPoint | None, *, message_id: str, sender: str, metering_point_id: str,
    effective_from: date, fields: dict[str, Any], now: datetime, today: date,
    code_lists: CodeLists | None, max_backdating_days: int = MAX_BACKDATING_DAYS,
) -> Outcome:
    """Apply a change of characteristics from ``effective_from`` (camelCase ``fields``)."""
    reasons: list[Reason] = []
    new: Characteristics | None = None
    done = next((c for c in current.changes if c.message_id == message_id),
                None) if current is not None else None
    if current is None:
        reasons.append(Reason("metering_point.unknown", "the metering point is not known"))
    elif done is not None:
        new = done.characteristics  # this very change again (processed twice): same answer
    else:
        if current.grid_owner != sender:
            reasons.append(Reason("sender.not_grid_owner",
                                  "only the point's grid owner changes its characteristics"))
        if effective_from < current.valid_from:
            reasons.append(Reason("master_data.before_valid_from",
                                  "the change takes effect before the point's valid-from date"))
        if (today - effective_from).days > max_backdating_days:
            reasons.append(Reason("master_data.backdated",
                                  f"changes may be backdated at most {max_backdating_days} days"))
        before = current.characteristics_on(effective_from)
        given = {FIELDS[k]: v for k, v in fields.items() if k in FIELDS and v is not None}
        new = replace(before, **given)
        if new == before:
            reasons.append(Reason("master_data.no_change",
                                  "the document changes nothing on that date"))
        for reason in (check_consumption_code(given.get("consumption_code")),
                       check_industry(given.get("industry_code"), effective_from, code_lists,
                                      today)):
            if reason is not None:
                reasons.append(reason)
    ack = acknowledgement(original_message_id=message_id, original_document_type=DOCUMENT,
                          sender=sender, reasons=reasons, created_at=now,
                          metering_point_id=metering_point_id)
    if reasons or current is None or new is None:
        return Outcome(None, reasons, [ack])
    state = (current if done is not None  # already applied: the state stays as it is
             else current.with_change(CharacteristicsChange(effective_from, message_id, new)))
    payload = {"originalMessageId": message_id, "meteringPointId": metering_point_id,
               "effectiveFrom": effective_from, **characteristics_record(new)}
    suppliers = dict.fromkeys(s for s in (current.supplier_on(effective_from),
                                          current.supplier_on(today)) if s is not None)
    messages = [ack] + [
        Outbound(message_id=outbound_message_id(message_id, supplier, NOTIFY),
                 recipient=supplier, queue=MARKET_PROCESSES, document_type=NOTIFY,
                 payload_type="MeteringPointCharacteristics", payload=payload, created_at=now)
        for supplier in suppliers]
    return Outcome(state, [], messages)
