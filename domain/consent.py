"""The end user's consent to a switch or a move-in: Elhub's Access API request flow, as pure
rules.

A supplier asks (an :class:`AuthorizationRequest`, open for four weeks); the end user accepts
or rejects; acceptance gives an :class:`AuthorizationGrant` for one metering point, one
supplier and one kind of process, usable for a year and by one process only. The hub checks
the grant when the switch (BRS-NO-101) or the move-in (BRS-NO-102/103) arrives, and marks it
``Exhausted`` in the same step. Codes of the request's validation are Elhub's own
(auth-grant-manager); the reasons a process gives for a grant are ours (Elhub's are not
public), each named for what is wrong.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from domain.identifiers import (
    IdentifierError,
    validate_gln,
    validate_national_id,
    validate_norwegian_gsrn,
)
from domain.messages import Reason
from domain.metering_point import EndUser, MeteringPoint
from domain.problem_codes import AccessCode
from domain.series import HUB_TIMEZONE


class RequestType(StrEnum):
    """What a consent is for (Elhub's ``requestType`` / ``permissionType``)."""

    CHANGE_OF_SUPPLIER = "ChangeOfBalanceSupplierForPerson"  # BRS-NO-101
    MOVE_IN = "MoveInAndChangeOfBalanceSupplierForPerson"  # BRS-NO-102 and -103


class RequestStatus(StrEnum):
    PENDING = "Pending"
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    EXPIRED = "Expired"


class GrantStatus(StrEnum):
    ACTIVE = "Active"
    EXHAUSTED = "Exhausted"
    REVOKED = "Revoked"
    EXPIRED = "Expired"


Status = TypeVar("Status", RequestStatus, GrantStatus)


def _expired_or(status: Status, open_status: Status, expired: Status, valid_to: datetime,
                moment: datetime) -> Status:
    """The status at ``moment``: an item still open at its ``valid_to`` has expired (expiry is
    read, never stored, so nothing has to run at the deadline)."""
    return expired if status == open_status and moment >= valid_to else status


@dataclass(frozen=True)
class AuthorizationRequest:
    """A supplier's request for an end user's consent (national ids: personal data)."""

    id: str
    request_type: RequestType
    status: RequestStatus
    requested_by: str  # the supplier's GLN
    requested_from: str  # the end user's national id
    requested_to: str  # who answers: today always requested_from
    requested_from_name: str
    metering_point_id: str
    metering_point_address: str
    balance_supplier_name: str
    balance_supplier_contract_name: str
    move_in_date: date | None
    created_at: datetime
    updated_at: datetime
    valid_to: datetime
    approved_by: str | None = None
    grant_id: str | None = None

    @property
    def parties(self) -> tuple[str, str]:
        """Whom it concerns: the supplier (GLN) and the end user who answers it."""
        return self.requested_by, self.requested_to

    def status_at(self, moment: datetime) -> RequestStatus:
        """Expired is derived: a request still pending at its ``valid_to``."""
        return _expired_or(self.status, RequestStatus.PENDING, RequestStatus.EXPIRED,
                           self.valid_to, moment)


@dataclass(frozen=True)
class AuthorizationGrant:
    """An end user's consent, for one point, one supplier and one kind of process."""

    id: str
    request_id: str
    permission_type: RequestType
    status: GrantStatus
    granted_for: str  # the end user's national id
    granted_by: str  # who accepted (national id)
    granted_to: str  # the supplier's GLN
    metering_point_id: str
    granted_at: datetime
    valid_from: datetime
    valid_to: datetime
    created_at: datetime
    updated_at: datetime
    used_by: str | None = None  # the message id of the process that exhausted it

    @property
    def parties(self) -> tuple[str, str]:
        """Whom it concerns: the supplier (GLN) it was given to and the end user who gave it."""
        return self.granted_to, self.granted_for

    def status_at(self, moment: datetime) -> GrantStatus:
        """Expired is derived: a grant still active at its ``valid_to``."""
        return _expired_or(self.status, GrantStatus.ACTIVE, GrantStatus.EXPIRED, self.valid_to,
                           moment)


@dataclass(frozen=True)
class AuthorizationSet:
    """A metering point's requests and grants (grants are for one point only, so they live
    with the point: the process that uses a grant finds it beside the point's state)."""

    requests: tuple[AuthorizationRequest, ...] = ()
    grants: tuple[AuthorizationGrant, ...] = ()

    def request(self, request_id: str) -> AuthorizationRequest | None:
        return next((r for r in self.requests if r.id == request_id), None)

    def grant(self, grant_id: str) -> AuthorizationGrant | None:
        return next((g for g in self.grants if g.id == grant_id), None)

    def with_request(self, request: AuthorizationRequest) -> AuthorizationSet:
        others = tuple(r for r in self.requests if r.id != request.id)
        return replace(self, requests=(*others, request))

    def with_grant(self, grant: AuthorizationGrant) -> AuthorizationSet:
        others = tuple(g for g in self.grants if g.id != grant.id)
        return replace(self, grants=(*others, grant))

    def pruned(self, now: datetime, keep_days: int = 30) -> AuthorizationSet:
        """Without what ended more than ``keep_days`` ago (the read view keeps it all)."""
        horizon = now - timedelta(days=keep_days)
        return AuthorizationSet(
            tuple(r for r in self.requests
                  if r.status_at(now) == RequestStatus.PENDING or r.updated_at >= horizon),
            tuple(g for g in self.grants
                  if g.status_at(now) == GrantStatus.ACTIVE or g.updated_at >= horizon))


class ConsentError(Exception):
    """A refused Access API call: Elhub's code (:class:`AccessCode`), and where in the body.

    The HTTP status of each code is the HTTP layer's business (connectors/http/statuses.py).
    """

    def __init__(self, code: AccessCode, detail: str, pointer: str | None = None,
                 title: str | None = None) -> None:
        super().__init__(detail)
        self.code, self.detail, self.pointer = code, detail, pointer
        self.title = title or code.replace("_", " ").capitalize()


# Validity ------------------------------------------------------------------------------------

def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, HUB_TIMEZONE)


def request_valid_to(now: datetime, days: int) -> datetime:
    """A request is open until the start of the day (Europe/Oslo) ``days`` from today."""
    return start_of_day(now.astimezone(HUB_TIMEZONE).date() + timedelta(days=days))


def add_months(day: date, months: int) -> date:
    """The same day ``months`` on (the month's last day where that month is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def grant_validity(now: datetime, months: int) -> tuple[datetime, datetime]:
    """A grant runs from the start of today (Europe/Oslo) for ``months`` calendar months."""
    today = now.astimezone(HUB_TIMEZONE).date()
    return start_of_day(today), start_of_day(add_months(today, months))


# Creating a request ----------------------------------------------------------------------------

META_FIELDS = ("requestedBy", "requestedFrom", "requestedTo", "requestedFromName",
               "requestedForMeteringPointId", "requestedForMeteringPointAddress",
               "balanceSupplierName", "balanceSupplierContractName")


@dataclass(frozen=True)
class NewRequest:
    """A request that passed the checks that need no hub state."""

    request_type: RequestType
    requested_by: str
    requested_from: str
    requested_to: str
    requested_from_name: str
    metering_point_id: str
    metering_point_address: str
    balance_supplier_name: str
    balance_supplier_contract_name: str
    move_in_date: date | None


def _text(meta: Mapping[str, Any], name: str) -> str:
    value = meta.get(name)
    if value is not None and not isinstance(value, str):
        raise ConsentError(AccessCode.INVALID_INPUT, f"{name} must be a string",
                           f"/data/meta/{name}", "Malformed field")
    return (value or "").strip()


def check_new_request(request_type: Any, meta: Mapping[str, Any], caller: str,
                      today: date) -> tuple[NewRequest | None, list[ConsentError]]:
    """A request's own checks (Elhub's codes), before the hub's state is consulted.

    Type errors come first (malformed: ``invalid_request_type``, ``invalid_input``), alone;
    then every business validation failure; a request made in another supplier's name last.
    """
    try:
        kind = RequestType(request_type)
    except ValueError:
        return None, [ConsentError(AccessCode.INVALID_REQUEST_TYPE,
                                   "requestType must be ChangeOfBalanceSupplierForPerson or "
                                   "MoveInAndChangeOfBalanceSupplierForPerson",
                                   "/data/attributes/requestType", "Malformed field")]
    try:
        values = {name: _text(meta, name) for name in META_FIELDS}
        move_in_raw = meta.get("moveInDate")
        if move_in_raw is not None and not isinstance(move_in_raw, str):
            raise ConsentError(AccessCode.INVALID_INPUT, "moveInDate must be a date (YYYY-MM-DD)",
                               "/data/meta/moveInDate", "Malformed field")
    except ConsentError as error:
        return None, [error]
    errors: list[ConsentError] = []

    def missing(field: str, code: AccessCode, what: str) -> bool:
        if values[field]:
            return False
        errors.append(ConsentError(code, f"{what} is missing", f"/data/meta/{field}"))
        return True

    if not missing("requestedBy", AccessCode.MISSING_REQUESTED_BY, "requestedBy"):
        try:
            validate_gln(values["requestedBy"])
        except IdentifierError as exc:
            errors.append(ConsentError(AccessCode.INVALID_REQUESTED_BY, str(exc),
                                       "/data/meta/requestedBy"))
    for field, code in (("requestedFrom", AccessCode.INVALID_REQUESTED_FROM),
                        ("requestedTo", AccessCode.INVALID_REQUESTED_TO)):
        try:
            validate_national_id(values[field])
        except IdentifierError as exc:
            errors.append(ConsentError(code, f"{field}: {exc}", f"/data/meta/{field}"))
    if values["requestedTo"] != values["requestedFrom"]:
        errors.append(ConsentError(AccessCode.REQUESTED_TO_REQUESTED_FROM_MISMATCH,
                                   "requestedTo must be the same person as requestedFrom",
                                   "/data/meta/requestedTo"))
    missing("requestedFromName", AccessCode.MISSING_REQUESTED_FROM_NAME, "requestedFromName")
    if not missing("requestedForMeteringPointId", AccessCode.MISSING_METERING_POINT_ID,
                   "requestedForMeteringPointId"):
        try:
            validate_norwegian_gsrn(values["requestedForMeteringPointId"])
        except IdentifierError as exc:
            errors.append(ConsentError(AccessCode.INVALID_METERING_POINT_ID, str(exc),
                                       "/data/meta/requestedForMeteringPointId"))
    missing("requestedForMeteringPointAddress", AccessCode.MISSING_METERING_POINT_ADDRESS,
            "requestedForMeteringPointAddress")
    missing("balanceSupplierName", AccessCode.MISSING_BALANCE_SUPPLIER_NAME, "balanceSupplierName")
    missing("balanceSupplierContractName", AccessCode.MISSING_BALANCE_SUPPLIER_CONTRACT_NAME,
            "balanceSupplierContractName")
    move_in: date | None = None
    if move_in_raw is not None:
        try:
            move_in = date.fromisoformat(move_in_raw)
        except ValueError:
            errors.append(ConsentError(AccessCode.INVALID_MOVE_IN_DATE,
                                       "moveInDate is not a date (YYYY-MM-DD)",
                                       "/data/meta/moveInDate"))
        else:
            if kind != RequestType.MOVE_IN:
                errors.append(ConsentError(AccessCode.INVALID_MOVE_IN_DATE,
                                           "moveInDate belongs to a move-in request only",
                                           "/data/meta/moveInDate"))
            elif move_in > today:
                errors.append(ConsentError(
                    AccessCode.MOVE_IN_DATE_NOT_BACK_IN_TIME,
                    "moveInDate is for a move-in today or back in time (BRS-NO-103); omit it "
                    "for a move-in ahead (BRS-NO-102)", "/data/meta/moveInDate"))
    if errors:
        return None, errors
    if values["requestedBy"] != caller:
        return None, [ConsentError(AccessCode.REQUESTED_BY_NOT_CALLER,
                                   "requestedBy must be the calling supplier",
                                   "/data/meta/requestedBy", "Not allowed")]
    return NewRequest(kind, values["requestedBy"], values["requestedFrom"],
                      values["requestedTo"], values["requestedFromName"],
                      values["requestedForMeteringPointId"],
                      values["requestedForMeteringPointAddress"],
                      values["balanceSupplierName"], values["balanceSupplierContractName"],
                      move_in), []


def check_against_point(new: NewRequest, point: MeteringPoint | None, today: date
                        ) -> ConsentError | None:
    """The checks that need the point's state: it exists; for a switch the asking person is
    the point's end user, for a move-in not already."""
    if point is None:
        return ConsentError(AccessCode.METERING_POINT_NOT_FOUND,
                            f"metering point {new.metering_point_id} is not known",
                            "/data/meta/requestedForMeteringPointId", "Not found")
    end_user = point.end_user_on(today)
    current = end_user.national_id if end_user is not None else None
    if new.request_type == RequestType.CHANGE_OF_SUPPLIER and current != new.requested_from:
        return ConsentError(AccessCode.REQUESTED_FROM_NOT_METERING_POINT_END_USER,
                            "requestedFrom is not the metering point's end user",
                            "/data/meta/requestedFrom")
    if new.request_type == RequestType.MOVE_IN and current == new.requested_from:
        return ConsentError(AccessCode.REQUESTED_FROM_IS_METERING_POINT_END_USER,
                            "requestedFrom already is the metering point's end user; a "
                            "change of supplier needs ChangeOfBalanceSupplierForPerson",
                            "/data/meta/requestedFrom")
    return None


def create_request(request_id: str, new: NewRequest, now: datetime, valid_days: int
                   ) -> AuthorizationRequest:
    return AuthorizationRequest(
        id=request_id, request_type=new.request_type, status=RequestStatus.PENDING,
        requested_by=new.requested_by, requested_from=new.requested_from,
        requested_to=new.requested_to, requested_from_name=new.requested_from_name,
        metering_point_id=new.metering_point_id,
        metering_point_address=new.metering_point_address,
        balance_supplier_name=new.balance_supplier_name,
        balance_supplier_contract_name=new.balance_supplier_contract_name,
        move_in_date=new.move_in_date, created_at=now, updated_at=now,
        valid_to=request_valid_to(now, valid_days))


# The end user's answer -------------------------------------------------------------------------

def answer_request(request: AuthorizationRequest, status: Any, answered_by: str,
                   now: datetime, grant_id: str, grant_months: int
                   ) -> tuple[AuthorizationRequest, AuthorizationGrant | None]:
    """The end user accepts or rejects; acceptance creates an Active grant at once.

    Only ``Accepted`` and ``Rejected`` are allowed, only by the person asked, only while the
    request is pending and open.
    """
    if status not in (RequestStatus.ACCEPTED.value, RequestStatus.REJECTED.value):
        raise ConsentError(AccessCode.INVALID_STATUS, "status must be Accepted or Rejected",
                           "/data/attributes/status")
    if answered_by != request.requested_to:
        raise ConsentError(AccessCode.AUTHORIZATION_REQUEST_NOT_FOUND,
                           "no such authorization request for you", title="Not found")
    current = request.status_at(now)
    if current == RequestStatus.EXPIRED:
        raise ConsentError(AccessCode.AUTHORIZATION_REQUEST_EXPIRED,
                           "the request has expired; the supplier must ask again")
    if current != RequestStatus.PENDING:
        raise ConsentError(AccessCode.AUTHORIZATION_REQUEST_NOT_PENDING,
                           f"the request is already {current.value}")
    if status == RequestStatus.REJECTED.value:
        return replace(request, status=RequestStatus.REJECTED, updated_at=now,
                       approved_by=answered_by), None
    valid_from, valid_to = grant_validity(now, grant_months)
    grant = AuthorizationGrant(
        id=grant_id, request_id=request.id, permission_type=request.request_type,
        status=GrantStatus.ACTIVE, granted_for=request.requested_from,
        granted_by=answered_by, granted_to=request.requested_by,
        metering_point_id=request.metering_point_id, granted_at=now, valid_from=valid_from,
        valid_to=valid_to, created_at=now, updated_at=now)
    return replace(request, status=RequestStatus.ACCEPTED, updated_at=now,
                   approved_by=answered_by, grant_id=grant_id), grant


# Using a grant in a process ----------------------------------------------------------------------

def consent_required(end_user: EndUser, today: date, required_from: date | None) -> bool:
    """Whether the process needs a grant: the end user is a person (Elhub's request types are
    "…ForPerson"; organisations have no consent flow) and the requirement is in force."""
    return end_user.is_person and required_from is not None and today >= required_from


def grant_reasons(grant: AuthorizationGrant | None, *, grant_id: str | None, required: bool,
                  permission: RequestType, supplier: str, metering_point_id: str,
                  end_user: EndUser, message_id: str, now: datetime,
                  seen_for_point: str | None = None) -> list[Reason]:
    """Why a process may not go ahead on the consent it names (empty: it may).

    A grant named is always checked, required or not. The same document processed again
    finds the grant exhausted by itself, and passes.
    """
    if grant_id is None:
        return [Reason("consent.missing", "the end user's consent is required: give the "
                       "authorizationGrantId of an accepted authorization request")] \
            if required else []
    if grant is None:
        if seen_for_point is not None and seen_for_point != metering_point_id:
            return [Reason("consent.grant_other_metering_point",
                           "the grant is for another metering point")]
        return [Reason("consent.grant_not_found", "no grant with this id")]
    if grant.used_by == message_id:
        return []
    reasons = []
    status = grant.status_at(now)
    if status == GrantStatus.EXPIRED:
        reasons.append(Reason("consent.grant_expired", "the grant has expired"))
    elif status != GrantStatus.ACTIVE:
        reasons.append(Reason("consent.grant_not_active",
                              f"the grant is {status.value}; a grant is used once"))
    if grant.granted_to != supplier:
        reasons.append(Reason("consent.grant_other_supplier",
                              "the grant was given to another supplier"))
    if grant.metering_point_id != metering_point_id:
        reasons.append(Reason("consent.grant_other_metering_point",
                              "the grant is for another metering point"))
    if grant.granted_for != end_user.national_id:
        reasons.append(Reason("consent.grant_other_end_user",
                              "the grant was given by another end user"))
    if grant.permission_type != permission:
        reasons.append(Reason("consent.grant_wrong_type",
                              f"the grant is for {grant.permission_type.value}, this process "
                              f"needs {permission.value}"))
    return reasons


def exhaust(grant: AuthorizationGrant, message_id: str, now: datetime) -> AuthorizationGrant:
    """The grant after the process it was given for used it: never usable again."""
    if grant.used_by == message_id:
        return grant
    return replace(grant, status=GrantStatus.EXHAUSTED, used_by=message_id, updated_at=now)
