"""Moving in and out, and the end user's consent to a switch, on a metering point's state.

- **BRS-NO-102 / BRS-NO-103** (move-in ahead / backdated; Elhub's "Oppstart kraftleveranse –
  innflytting frem i tid / tilbake i tid"): the new end user's supplier sends it; from the start
  date the point has the new end user and that supplier. Which of the two it is follows from the
  start date against today. The grid owner and the supplier that had the point are told.
- **BRS-NO-201** ("Opphør på grunn av utflytting"): the supplier of the end user who leaves
  sends it, ahead of the end date only, within Elhub's window for interval-metered points (at
  the latest one calendar day, at the earliest four before); from the end date the point has no
  supplier and no end user until someone moves in, and the grid owner is told.
- **BRS-NO-101 with consent**: a switch for a person needs the person's grant.

Like ``domain.supply``, each rule takes the current state and returns an :class:`Outcome`;
consent is checked against the grant named, which the caller then marks as used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from domain.consent import (
    AuthorizationGrant,
    RequestType,
    consent_required,
    exhaust,
    grant_reasons,
)
from domain.messages import MARKET_PROCESSES, Outbound, Reason, acknowledgement, outbound_message_id
from domain.metering_point import (
    MOVE_IN_AHEAD,
    MOVE_IN_BACKDATED,
    MOVE_OUT,
    EndUser,
    MeteringPoint,
    SupplyPeriod,
)
from domain.outcome import Outcome
from domain.supply import MAX_SUPPLY_DAYS_AHEAD, start_of_supply

MOVE_IN_DOCUMENT, MOVE_OUT_DOCUMENT, SWITCH_DOCUMENT = "MoveIn", "MoveOut", "StartOfSupply"


@dataclass(frozen=True)
class Consent:
    """The consent a process names, as the hub found it."""

    grant_id: str | None
    grant: AuthorizationGrant | None
    seen_for_point: str | None = None  # where the API saw the grant, if not in this point
    required_from: date | None = None  # Settings.consent_required_from


@dataclass(frozen=True)
class Processed:
    """An outcome, and the grant it used up (to be stored with it), if any."""

    outcome: Outcome
    grant: AuthorizationGrant | None = None


def same_end_user(a: EndUser | None, b: EndUser | None) -> bool:
    if a is None or b is None:
        return False
    return ((a.national_id is not None and a.national_id == b.national_id)
            or (a.organisation_number is not None
                and a.organisation_number == b.organisation_number))


def end_user_json(end_user: EndUser) -> dict[str, Any]:
    shown: dict[str, Any] = {"name": end_user.name}
    if end_user.national_id is not None:
        shown["nationalId"] = end_user.national_id
    if end_user.organisation_number is not None:
        shown["organisationNumber"] = end_user.organisation_number
    return shown


def _with_consent(outcome: Outcome, *, consent: Consent, permission: RequestType,
                  document_type: str, message_id: str, sender: str, metering_point_id: str,
                  end_user: EndUser, now: datetime, today: date, known: bool) -> Processed:
    """``outcome`` if the consent holds (with the grant used up when it was accepted), or a
    rejection with the consent's reasons added to the process's own."""
    reasons = grant_reasons(
        consent.grant, grant_id=consent.grant_id,
        required=consent_required(end_user, today, consent.required_from),
        permission=permission, supplier=sender, metering_point_id=metering_point_id,
        end_user=end_user, message_id=message_id, now=now,
        seen_for_point=consent.seen_for_point) if known else []
    if reasons:
        everything = [*outcome.reasons, *reasons]
        return Processed(Outcome(None, everything, [acknowledgement(
            original_message_id=message_id, original_document_type=document_type,
            sender=sender, reasons=everything, created_at=now,
            metering_point_id=metering_point_id)]))
    if outcome.reasons or consent.grant is None:
        return Processed(outcome)
    return Processed(outcome, exhaust(consent.grant, message_id, now))


def switch(current: MeteringPoint | None, *, message_id: str, sender: str, start_date: date,
           metering_point_id: str, end_user: EndUser, consent: Consent, now: datetime,
           today: date, max_days_ahead: int = MAX_SUPPLY_DAYS_AHEAD) -> Processed:
    """BRS-NO-101 with the end user's consent (a person's switch needs a grant for it)."""
    outcome = start_of_supply(current, message_id=message_id, sender=sender,
                              start_date=start_date, metering_point_id=metering_point_id,
                              now=now, today=today, end_user=end_user,
                              max_days_ahead=max_days_ahead)
    return _with_consent(outcome, consent=consent, permission=RequestType.CHANGE_OF_SUPPLIER,
                         document_type=SWITCH_DOCUMENT, message_id=message_id, sender=sender,
                         metering_point_id=metering_point_id, end_user=end_user, now=now,
                         today=today, known=current is not None)


def _notice(cause: str, recipient: str, document_type: str, payload: dict[str, Any],
            now: datetime) -> Outbound:
    return Outbound(message_id=outbound_message_id(cause, recipient, document_type),
                    recipient=recipient, queue=MARKET_PROCESSES, document_type=document_type,
                    payload_type="SupplyNotification", payload=payload, created_at=now)


def move_in(current: MeteringPoint | None, *, message_id: str, sender: str, start_date: date,
            metering_point_id: str, end_user: EndUser, consent: Consent, now: datetime,
            today: date, max_backdating_days: int, max_days_ahead: int) -> Processed:
    """BRS-NO-102/103: ``end_user`` takes over the point with ``sender`` from ``start_date``.

    Rejected for an unknown point, a date outside the window, a date before the point exists,
    a change of supply on or after the date already registered (history is not rewritten),
    the point's own end user moving in again (that is a switch), or the consent.
    """
    process = MOVE_IN_BACKDATED if start_date < today else MOVE_IN_AHEAD
    reasons: list[Reason] = []
    again = next((i for i, p in enumerate(current.supplies) if p.message_id == message_id),
                 None) if current is not None else None
    if current is None:
        reasons.append(Reason("metering_point.unknown", "the metering point is not known"))
    elif again is None:
        if (today - start_date).days > max_backdating_days:
            reasons.append(Reason("move_in.backdated", f"a move-in (BRS-NO-103) may lie at "
                                  f"most {max_backdating_days} days back"))
        if (start_date - today).days > max_days_ahead:
            reasons.append(Reason("move_in.too_far_ahead", f"a move-in (BRS-NO-102) may lie "
                                  f"at most {max_days_ahead} days ahead"))
        if start_date < current.valid_from:
            reasons.append(Reason("supply.before_valid_from",
                                  "the start date is before the point's valid-from date"))
        latest = current.supplies[-1] if current.supplies else None
        if latest is not None and start_date <= latest.start_date:
            reasons.append(Reason("supply.overlap",
                                  "a change of supply on or after this date exists"))
        if same_end_user(current.end_user_on(start_date), end_user):
            reasons.append(Reason("move_in.same_end_user",
                                  "the end user already has the point; a change of supplier "
                                  "is BRS-NO-101"))
    ack = acknowledgement(original_message_id=message_id,
                          original_document_type=MOVE_IN_DOCUMENT, sender=sender,
                          reasons=reasons, created_at=now, metering_point_id=metering_point_id)
    if reasons or current is None:
        outcome = Outcome(None, reasons, [ack])
    else:
        if again is not None:
            previous = current.supplies[again - 1].supplier if again > 0 else None
            process = current.supplies[again].process
            state = current
        else:
            previous = current.supplier_on(start_date)
            state = current.with_supply(SupplyPeriod(sender, start_date, message_id, end_user,
                                                     process))
        payload = {"originalMessageId": message_id, "meteringPointId": metering_point_id,
                   "supplier": sender, "startDate": start_date, "previousSupplier": previous,
                   "process": process, "reason": "move_in"}
        messages = [ack, _notice(message_id, sender, "ConfirmStartOfSupply", payload, now),
                    _notice(message_id, current.grid_owner, "NotifyStartOfSupply",
                            {**payload, "endUser": end_user_json(end_user)}, now)]
        if previous is not None:  # the end user who left had a supplier: its supply ends
            messages.append(_notice(message_id, previous, "NotifyEndOfSupply",
                                    {**payload, "endDate": start_date}, now))
        outcome = Outcome(state, [], messages)
    return _with_consent(outcome, consent=consent, permission=RequestType.MOVE_IN,
                         document_type=MOVE_IN_DOCUMENT, message_id=message_id, sender=sender,
                         metering_point_id=metering_point_id, end_user=end_user, now=now,
                         today=today, known=current is not None)


def move_out(current: MeteringPoint | None, *, message_id: str, sender: str, end_date: date,
             metering_point_id: str, now: datetime, today: date, min_days_ahead: int,
             max_days_ahead: int) -> Outcome:
    """BRS-NO-201: the end user leaves; ``sender``, its supplier, ends the supply at the start
    of ``end_date``. Only ahead, within the window; only the supplier of the day before."""
    reasons: list[Reason] = []
    again = next((p for p in current.supplies if p.message_id == message_id),
                 None) if current is not None else None
    if current is None:
        reasons.append(Reason("metering_point.unknown", "the metering point is not known"))
    elif again is None:
        ahead = (end_date - today).days
        if ahead < min_days_ahead:
            reasons.append(Reason("move_out.too_late", "a move-out (BRS-NO-201) is sent at "
                                  f"the latest {min_days_ahead} day(s) before its end date; it "
                                  "cannot be backdated"))
        elif ahead > max_days_ahead:
            reasons.append(Reason("move_out.too_early", "a move-out (BRS-NO-201) is sent at "
                                  f"the earliest {max_days_ahead} days before its end date"))
        leaving = current.supply_on(end_date - timedelta(days=1))
        if leaving is None or leaving.supplier is None:
            reasons.append(Reason("move_out.no_supply",
                                  "nobody supplies the point the day before the end date"))
        elif leaving.supplier != sender:
            reasons.append(Reason("move_out.not_supplier",
                                  "only the supplier of the end user who leaves sends the "
                                  "move-out"))
        latest = current.supplies[-1] if current.supplies else None
        if latest is not None and end_date <= latest.start_date:
            reasons.append(Reason("supply.overlap",
                                  "a change of supply on or after this date exists"))
    ack = acknowledgement(original_message_id=message_id,
                          original_document_type=MOVE_OUT_DOCUMENT, sender=sender,
                          reasons=reasons, created_at=now, metering_point_id=metering_point_id)
    if reasons or current is None:
        return Outcome(None, reasons, [ack])
    state = current if again is not None else current.with_supply(
        SupplyPeriod(None, end_date, message_id, None, MOVE_OUT))
    payload = {"originalMessageId": message_id, "meteringPointId": metering_point_id,
               "supplier": sender, "endDate": end_date, "process": MOVE_OUT,
               "reason": "move_out"}
    return Outcome(state, [], [
        ack, _notice(message_id, sender, "ConfirmEndOfSupply", payload, now),
        _notice(message_id, current.grid_owner, "NotifyEndOfSupply", payload, now)])
