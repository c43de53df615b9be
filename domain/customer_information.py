"""BRS-NO-301: the supplier updates the customer's contact information on a point.

A point holds several contacts, each a kind (mobile, phone, email, fax) and a purpose
(contract or notification). Notifications go to the notification contacts and fall back to the
contract contacts when there are none. The grid owner is notified of every update.
Contact details are personal data: they travel in Kafka and queues, never in logs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from domain.messages import MARKET_PROCESSES, Outbound, Reason, acknowledgement, outbound_message_id
from domain.metering_point import Contact, MeteringPoint
from domain.outcome import Outcome

KINDS = ("mobile", "phone", "email", "fax")
PURPOSES = ("contract", "notification")
E164 = re.compile(r"\+[1-9]\d{6,14}")
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
MAX_CONTACTS = 10
DOCUMENT = "UpdateCustomerInformation"
NOTIFY = "NotifyCustomerInformation"


def contact_problem(kind: str, value: str) -> str | None:
    """Why a contact value is not valid for its kind, or None."""
    if kind == "email":
        if len(value) > 254 or not EMAIL.fullmatch(value):
            return "not an e-mail address"
        return None
    if not E164.fullmatch(value):
        return "not an E.164 phone number (+ and country code, e.g. +4791234567)"
    return None


def notification_contacts(contacts: Sequence[Contact]) -> list[Contact]:
    """Whom to notify: the notification contacts, else the contract contacts."""
    chosen = [c for c in contacts if c.purpose == "notification"]
    return chosen or [c for c in contacts if c.purpose == "contract"]


def update_customer_information(
    current: MeteringPoint | None, *, message_id: str, sender: str, metering_point_id: str,
    contacts: Sequence[Contact], now: datetime, today: date,
) -> Outcome:
    reasons: list[Reason] = []
    if current is None:
        reasons.append(Reason("metering_point.unknown", "the metering point is not known"))
    elif current.supplier_on(today) != sender:
        reasons.append(Reason("sender.not_supplier",
                              "only the point's current supplier updates customer information"))
    ack = acknowledgement(original_message_id=message_id, original_document_type=DOCUMENT,
                          sender=sender, reasons=reasons, created_at=now,
                          metering_point_id=metering_point_id)
    if reasons or current is None:
        return Outcome(None, reasons, [ack])

    def as_record(c: Contact) -> dict[str, str]:
        return {"kind": c.kind, "value": c.value, "purpose": c.purpose}

    notice = Outbound(
        message_id=outbound_message_id(message_id, current.grid_owner, NOTIFY),
        recipient=current.grid_owner, queue=MARKET_PROCESSES, document_type=NOTIFY,
        payload_type="CustomerInformation",
        payload={"originalMessageId": message_id, "meteringPointId": metering_point_id,
                 "supplier": sender, "contacts": [as_record(c) for c in contacts],
                 "notificationContacts": [as_record(c)
                                          for c in notification_contacts(contacts)]},
        created_at=now)
    return Outcome(replace(current, contacts=tuple(contacts)), [], [ack, notice])
