"""BRS-NO-622: third-party access to a point's data.

A third party asks; the end user approves (in the hub's portal; here an operator stands in);
only then does the access start. Deleting access takes effect at once. Routing reads the
access periods, so values from outside an access period never reach the third party.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from domain.messages import MARKET_PROCESSES, Outbound, Reason, acknowledgement, outbound_message_id
from domain.metering_point import AccessRequest, MeteringPoint, ThirdPartyAccess
from domain.outcome import Outcome

REQUEST = "RequestThirdPartyAccess"
NOTICE = "NotifyThirdPartyAccess"


def _notice(point_id: str, cause: str, party: str, status: str, now: datetime,
            valid_from: datetime | None = None, valid_to: datetime | None = None) -> Outbound:
    return Outbound(
        message_id=outbound_message_id(cause, party, NOTICE, status), recipient=party,
        queue=MARKET_PROCESSES, document_type=NOTICE, payload_type="ThirdPartyAccessNotice",
        payload={"originalMessageId": cause, "meteringPointId": point_id, "party": party,
                 "status": status, "validFrom": valid_from, "validTo": valid_to},
        created_at=now)


def request_access(current: MeteringPoint | None, *, message_id: str, sender: str,
                   metering_point_id: str, valid_from: datetime | None,
                   valid_to: datetime | None, now: datetime) -> Outcome:
    """Record a request for access; it waits for the end user's approval."""
    reasons: list[Reason] = []
    if current is None:
        reasons.append(Reason("metering_point.unknown", "the metering point is not known"))
    elif any(a.party == sender and a.active_at(now) for a in current.third_party_access):
        reasons.append(Reason("access.exists", "the third party already has access"))
    elif any(r.party == sender for r in current.access_requests):
        reasons.append(Reason("access.pending", "a request from this party awaits approval"))
    if valid_to is not None and valid_from is not None and valid_to <= valid_from:
        reasons.append(Reason("access.period", "validTo must be after validFrom"))
    ack = acknowledgement(original_message_id=message_id, original_document_type=REQUEST,
                          sender=sender, reasons=reasons, created_at=now,
                          metering_point_id=metering_point_id)
    if reasons or current is None:
        return Outcome(None, reasons, [ack])
    request = AccessRequest(message_id, sender, valid_from, valid_to)
    state = replace(current, access_requests=(*current.access_requests, request))
    return Outcome(state, [], [ack, _notice(metering_point_id, message_id, sender,
                                            "pending_approval", now, valid_from, valid_to)])


def approve_access(current: MeteringPoint | None, *, message_id: str, request_id: str,
                   metering_point_id: str, approver: str, now: datetime) -> Outcome:
    """The end user approved: access starts now (or at the requested later start)."""
    request = next((r for r in current.access_requests if r.request_id == request_id),
                   None) if current else None
    reasons = [] if request else [Reason("access.request_unknown",
                                         "no pending request with that id on this point")]
    ack = acknowledgement(original_message_id=message_id, original_document_type="ApproveAccess",
                          sender=approver, reasons=reasons, created_at=now,
                          metering_point_id=metering_point_id)
    if current is None or request is None:
        return Outcome(None, reasons, [ack])
    start = max(now, request.valid_from) if request.valid_from else now
    access = ThirdPartyAccess(request.party, start, request.valid_to)
    state = replace(current, third_party_access=(*current.third_party_access, access),
                    access_requests=tuple(r for r in current.access_requests if r != request))
    return Outcome(state, [], [ack, _notice(metering_point_id, request_id, request.party,
                                            "granted", now, start, request.valid_to)])


def delete_access(current: MeteringPoint | None, *, message_id: str, sender: str,
                  metering_point_id: str, now: datetime) -> Outcome:
    """The third party gives up its access: it ends at once."""
    active = [a for a in current.third_party_access
              if a.party == sender and a.active_at(now)] if current else []
    reasons = [] if active else [Reason("access.not_found", "the party has no active access")]
    ack = acknowledgement(original_message_id=message_id, original_document_type=REQUEST,
                          sender=sender, reasons=reasons, created_at=now,
                          metering_point_id=metering_point_id)
    if current is None or not active:
        return Outcome(None, reasons, [ack])
    ended = tuple(replace(a, valid_to=now) if a in active else a
                  for a in current.third_party_access)
    state = replace(current, third_party_access=ended)
    return Outcome(state, [], [ack, _notice(metering_point_id, message_id, sender, "revoked",
                                            now, active[0].valid_from, now)])
