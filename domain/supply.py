"""Master-data processes on a metering point's state: BRS-NO-121 and BRS-NO-101.

Each rule takes the current state and a document and returns the new state, the reasons for a
rejection, and the messages to send. Nothing here knows about Kafka or the clock: "today" is an
argument.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domain.codes import check_consumption_code, check_industry
from domain.industry_codes import CodeLists
from domain.messages import (
    MARKET_PROCESSES,
    Outbound,
    Reason,
    acknowledgement,
    outbound_message_id,
)
from domain.metering_point import EndUser, MeteringPoint, SupplyPeriod
from domain.outcome import Outcome
from domain.problem_codes import Code
from domain.series import HUB_TIMEZONE

MAX_SUPPLY_BACKDATING_DAYS = 14
"""How far back a start of supply may be dated (a setting in production; Elhub's own limit
depends on the case)."""

MAX_SUPPLY_DAYS_AHEAD = 60
"""How far ahead a start of supply may lie (``Settings.supply_start_max_days_ahead``).

Elhub's BRS-NO-101 lets the new supplier report a switch ahead "as long as the deadlines are
kept", without a number we could find; 60 days is our choice (docs/ARCHITECTURE.md). The limit
is what keeps one document from blocking a point: a later start wins over nothing that comes
before it, so a start far ahead (9999-12-31) would make every genuine switch until then an
overlap."""


def start_window_reasons(start_date: date, today: date, *,
                         max_backdating_days: int = MAX_SUPPLY_BACKDATING_DAYS,
                         max_days_ahead: int = MAX_SUPPLY_DAYS_AHEAD) -> list[Reason]:
    """Why ``start_date`` lies outside the window a start of supply may have, judged on
    ``today`` (Norwegian): at most ``max_backdating_days`` back, ``max_days_ahead`` ahead.

    The API applies it at once (a 400) and the process again when it runs, with its own clock.
    """
    reasons = []
    if (today - start_date).days > max_backdating_days:
        reasons.append(Reason(Code.SUPPLY_BACKDATED,
                              f"the start date lies more than {max_backdating_days} days back"))
    if (start_date - today).days > max_days_ahead:
        reasons.append(Reason(Code.SUPPLY_TOO_FAR_AHEAD,
                              f"the start date lies more than {max_days_ahead} days ahead; "
                              "report the switch closer to the date"))
    return reasons


def register_metering_point(
    current: MeteringPoint | None, *, message_id: str, sender: str, document: dict[str, Any],
    metering_point_id: str, now: datetime, code_lists: CodeLists | None = None,
) -> Outcome:
    """BRS-NO-121: a grid owner registers a new metering point; it becomes the grid owner.

    Its consumption code and næringskode are checked as on its valid-from date; from 2026 the
    næringskode must be an SN2025 code whatever that date (see ``check_industry_code``).
    """
    again = current is not None and _same_registration(current, sender, document)
    today = now.astimezone(HUB_TIMEZONE).date()
    reasons = [] if again else [r for r in (  # accepted once: the same answer whatever today is
        check_consumption_code(document.get("consumptionCode")),
        check_industry(document.get("industryCode"), document["validFrom"], code_lists, today))
        if r is not None]
    if current is not None and not again:
        reasons.insert(0, Reason("metering_point.exists",
                                 "the metering point is already registered"))
    ack = acknowledgement(original_message_id=message_id,
                          original_document_type="RegisterMeteringPoint", sender=sender,
                          reasons=reasons, created_at=now, metering_point_id=metering_point_id)
    if reasons or current is not None:  # rejected, or this very registration again: same answer
        return Outcome(None, reasons, [ack])
    point = MeteringPoint(
        metering_point_id=metering_point_id,
        grid_owner=sender,
        grid_area=document["gridArea"],
        price_area=document["priceArea"],
        point_type=document["pointType"],
        resolution=document["resolution"],
        valid_from=document["validFrom"],
        consumption_code=document.get("consumptionCode"),
        industry_code=document.get("industryCode"),
        production_type=document.get("productionType"),
    )
    return Outcome(point, [], [ack])


def _same_registration(current: MeteringPoint, sender: str, document: dict[str, Any]) -> bool:
    """Whether a registration is the one that created ``current`` (a document processed
    again after a crash gets its first answer, not a rejection)."""
    r = current.registered
    return (current.grid_owner == sender and current.valid_from == document["validFrom"]
            and (r.grid_area, r.price_area, r.point_type, r.resolution, r.consumption_code,
                 r.industry_code, r.production_type)
            == (document["gridArea"], document["priceArea"], document["pointType"],
                document["resolution"], document.get("consumptionCode"),
                document.get("industryCode"), document.get("productionType")))


def start_of_supply(
    current: MeteringPoint | None, *, message_id: str, sender: str, start_date: date,
    metering_point_id: str, now: datetime, today: date,
    max_backdating_days: int = MAX_SUPPLY_BACKDATING_DAYS,
    max_days_ahead: int = MAX_SUPPLY_DAYS_AHEAD,
    end_user: EndUser | None = None,
) -> Outcome:
    """BRS-NO-101: ``sender`` supplies the point from ``start_date``.

    Rejected for an unknown point, a start too far back or too far ahead
    (``start_window_reasons``), or a start on or before an existing supply period's start:
    the hub keeps history, and, as Elhub's conflict table says for two BRS-NO-101 switches, an
    incoming start on or before a pending one is rejected while a later one is accepted and
    leaves the pending one in place (the pending supplier supplies until the later start).
    """
    reasons: list[Reason] = []
    again = next((i for i, p in enumerate(current.supplies) if p.message_id == message_id),
                 None) if current is not None else None
    if current is None:
        reasons.append(Reason("metering_point.unknown", "the metering point is not known"))
    elif again is None:  # (this very start of supply again gets the same messages below)
        reasons += start_window_reasons(start_date, today,
                                        max_backdating_days=max_backdating_days,
                                        max_days_ahead=max_days_ahead)
        if start_date < current.valid_from:
            reasons.append(Reason("supply.before_valid_from",
                                  "the start date is before the point's valid-from date"))
        latest = current.supplies[-1] if current.supplies else None
        if latest is not None and start_date <= latest.start_date:
            reasons.append(Reason(Code.SUPPLY_OVERLAP,
                                  "a supply period starting on or after this date exists"))
        elif latest is not None and latest.supplier == sender:
            reasons.append(Reason("supply.already_supplier",
                                  "the sender already supplies the point"))
    ack = acknowledgement(original_message_id=message_id,
                          original_document_type="StartOfSupply", sender=sender,
                          reasons=reasons, created_at=now, metering_point_id=metering_point_id)
    if reasons or current is None:
        return Outcome(None, reasons, [ack])
    if again is not None:
        previous = current.supplies[again - 1].supplier if again > 0 else None
        new_state = current
    else:
        previous = current.supplier_on(start_date)
        new_state = current.with_supply(SupplyPeriod(sender, start_date, message_id, end_user))
    payload = {"originalMessageId": message_id, "meteringPointId": metering_point_id,
               "supplier": sender, "startDate": start_date, "previousSupplier": previous}

    def notice(recipient: str, document_type: str) -> Outbound:
        return Outbound(
            message_id=outbound_message_id(message_id, recipient, document_type),
            recipient=recipient, queue=MARKET_PROCESSES, document_type=document_type,
            payload_type="SupplyNotification", payload=payload, created_at=now)

    messages = [ack, notice(sender, "ConfirmStartOfSupply"),
                notice(current.grid_owner, "NotifyStartOfSupply")]
    if previous is not None and previous != sender:
        messages.append(notice(previous, "NotifyEndOfSupply"))
    return Outcome(new_state, [], messages)
