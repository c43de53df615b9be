"""Norgespris contracts: the lifecycle of Elhub's Contracts API, as pure functions.

A Norgespris contract belongs to a metering point (not to its owner) and is registered or
edited by the point's grid owner, or ordered by the end user in the hub's portal. Its status
follows the Contracts API (``elhub-contracts-openapi.yaml``)::

    Initiated ──(14-day regret period over)──▶ Activated ──(31 Dec / end date)──▶ Expired
        │
        └──(cancelled within the 14 days)──▶ Cancelled

Decisions, with the reasons:

* **The regret period runs from creation** (``created_at``, when the order was registered in the
  hub), not from ``start_date``. Angrerett for a service runs from when the agreement is made,
  and the start date can lie before creation (a grid owner registering an order effective from
  an earlier day) or far after it (an order for next year), which would make a period counted
  from the start already over at creation, or open for months. It is exact elapsed time:
  ``created_at + 14 × 24 h`` computed in UTC, so across a DST change the wall-clock time of
  activation moves by an hour (created 10:00 CEST → activated 09:00 CET).
* **Expiry**: an Activated contract expires at the last millisecond (23:59:59.999 Europe/Oslo)
  of its end date or, when it has none, of 31 December of the Norgespris price year its start
  date falls in: the first price period runs 1 Oct 2025 – 31 Dec 2026 (domain.md), later ones
  are calendar years, so a contract starting in 2025 expires at the end of 2026. An end
  date that has already passed makes it expire at once (at the moment of the change that set
  it, or of its activation). Initiated → Expired is not a transition (the spec gives it as its
  example of ``INVALID_STATUS_TRANSITION``): an Initiated contract whose end date passes stays
  cancellable until the regret period is over, then activates and expires at the same instant.
* **Time is an argument.** Every operation first brings the contract up to ``now``
  (:func:`advance`), so a contract whose regret period is over cannot be cancelled even if no
  scheduler has activated it yet, and an Activated contract past its expiry cannot be edited.
  Operations that may make a transition due (ending with a past end date) advance again after.
* **The hub does not second-guess the grid owner** (domain.md): edits are checked for structure
  only (``endDate`` ≥ ``startDate``), never for their basis.
* ``updated_at`` is the time a change was *recorded* (``now``), also for automatic transitions,
  so that suppliers polling ``filter[updatedAt][gt]`` see a transition the scheduler recorded
  late; each audit entry's ``at`` is the time the change took effect.

Errors are :class:`ContractError` values with the spec's error codes where it has one
(``INVALID_STATUS_TRANSITION``, ``CONTRACT_ALREADY_EXISTS``, ``INVALID_END_DATE``,
``METERING_POINT_MISMATCH``, ``CONTRACT_TYPE_MISMATCH``), named in
:class:`domain.problem_codes.ContractCode`. The HTTP status of each code is the HTTP layer's
business (connectors/http/statuses.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final

from domain.problem_codes import ContractCode
from domain.series import HUB_TIMEZONE, as_utc

CONTRACT_TYPE: Final = "Norgespris"
"""``contractType`` of a Norgespris contract (the spec's only enum value for it)."""

REGRET_PERIOD: Final = timedelta(days=14)
"""Angrefrist: exact elapsed time from creation during which the contract may be cancelled."""

FIRST_PRICE_PERIOD_END: Final = date(2026, 12, 31)
"""Norgespris started 1 Oct 2025 at a price fixed to 31 Dec 2026; adjusted yearly after."""

HOUSEHOLD: Final = "35"
HOLIDAY_HOME: Final = "36"
ELIGIBLE_CONSUMPTION_CODES: Final = frozenset({HOUSEHOLD, HOLIDAY_HOME})
"""NVE consumption codes that may have Norgespris: households and holiday homes only."""

HUB: Final = "hub"
"""``by`` of the changes the hub makes itself (activation, expiry)."""

_LAST_MOMENT: Final = time(23, 59, 59, 999_000)


class ContractStatus(StrEnum):
    """``attributes.status`` of a contract, spelled as in Elhub's Contracts API."""

    INITIATED = "Initiated"
    ACTIVATED = "Activated"
    EXPIRED = "Expired"
    CANCELLED = "Cancelled"


OPEN_STATUSES: Final = frozenset({ContractStatus.INITIATED, ContractStatus.ACTIVATED})
"""Statuses of a contract that still holds the point's one Norgespris place."""


class ContractError(Exception):
    """A refused contract operation, ready for a JSON:API error object.

    ``code`` is the rule's member of :class:`ContractCode` (the spec's codes where it has
    one), ``pointer`` the JSON pointer into the request document (``source.pointer``).
    """

    def __init__(
        self, code: ContractCode, detail: str, *, title: str = "", pointer: str | None = None
    ) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.title = title or code.replace("_", " ").capitalize()
        self.pointer = pointer

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ContractError):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"ContractError({self.code!r}, {self.detail!r})"

    def _key(self) -> tuple[str, str, str, str | None]:
        return (self.code, self.detail, self.title, self.pointer)


@dataclass(frozen=True)
class Change:
    """One entry of a contract's audit trail: when it took effect, who made it, what it was."""

    at: datetime
    by: str
    what: str


@dataclass(frozen=True)
class Contract:
    """A Norgespris contract on one metering point (the spec's ``contract`` resource).

    ``created_by``/``updated_by`` are the spec's relationships (a party's GLN, or the end
    user); ``grid_owner`` is the point's grid owner, who settles Norgespris. Datetimes are
    aware and kept in UTC.
    """

    id: str
    metering_point_id: str
    grid_owner: str
    status: ContractStatus
    start_date: date
    end_date: date | None
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str
    changes: tuple[Change, ...]
    contract_type: str = CONTRACT_TYPE

    @property
    def is_cancelled(self) -> bool:
        """The spec's ``isCancelled`` attribute."""
        return self.status is ContractStatus.CANCELLED



def _end_of_day(day: date) -> datetime:
    """23:59:59.999 Europe/Oslo on ``day``, in UTC (never inside a Norwegian DST gap)."""
    return datetime.combine(day, _LAST_MOMENT, HUB_TIMEZONE).astimezone(UTC)


def regret_period_end(contract: Contract) -> datetime:
    """When the regret period is over: cancellation is possible strictly before this instant."""
    return contract.created_at + REGRET_PERIOD


def price_period_end(start_date: date) -> date:
    """Last day of the Norgespris price period ``start_date`` falls in (see the docstring)."""
    return date(max(start_date.year, FIRST_PRICE_PERIOD_END.year), 12, 31)


def expires_at(contract: Contract) -> datetime:
    """The nominal instant an Activated contract expires (see the module docstring)."""
    return _end_of_day(contract.end_date or price_period_end(contract.start_date))


def _last_change_at(contract: Contract) -> datetime:
    return contract.changes[-1].at if contract.changes else contract.created_at


def due_transitions(contract: Contract, now: datetime) -> list[tuple[ContractStatus, datetime]]:
    """The automatic transitions due by ``now``, in order, each with the instant it took effect.

    A transition never takes effect before the change that led to it (an end date set in the
    past expires the contract at the time it was set, not retroactively).
    """
    now = as_utc(now, "now")
    due: list[tuple[ContractStatus, datetime]] = []
    status, since = contract.status, _last_change_at(contract)
    if status is ContractStatus.INITIATED:
        at = max(regret_period_end(contract), since)
        if at > now:
            return due
        due.append((ContractStatus.ACTIVATED, at))
        status, since = ContractStatus.ACTIVATED, at
    if status is ContractStatus.ACTIVATED:
        at = max(expires_at(contract), since)
        if at <= now:
            due.append((ContractStatus.EXPIRED, at))
    return due


def next_transition_at(contract: Contract) -> datetime | None:
    """When a scheduler should next call :func:`advance`; ``None`` once nothing more happens.

    May lie in the past (a transition is already due).
    """
    since = _last_change_at(contract)
    if contract.status is ContractStatus.INITIATED:
        return max(regret_period_end(contract), since)
    if contract.status is ContractStatus.ACTIVATED:
        return max(expires_at(contract), since)
    return None


_TRANSITION_REASONS: Final = {
    ContractStatus.ACTIVATED: "regret period over",
    ContractStatus.EXPIRED: "end of the contract period",
}


def advance(contract: Contract, now: datetime) -> Contract:
    """The contract as it is at ``now``: every due transition applied and recorded."""
    due = due_transitions(contract, now)
    if not due:
        return contract
    changes = list(contract.changes)
    status = contract.status
    for new_status, at in due:
        changes.append(
            Change(at, HUB, f"status {status} → {new_status} ({_TRANSITION_REASONS[new_status]})")
        )
        status = new_status
    return replace(
        contract,
        status=status,
        changes=tuple(changes),
        updated_at=as_utc(now, "now"),
        updated_by=HUB,
    )


def check_eligibility(
    consumption_code: str | None, has_active_contract: bool
) -> ContractError | None:
    """Whether a point may get a new Norgespris contract; ``None`` when it may.

    Only households (35) and holiday homes (36), and one open (Initiated or Activated)
    Norgespris contract per point at a time.
    """
    if consumption_code not in ELIGIBLE_CONSUMPTION_CODES:
        return ContractError(
            ContractCode.NOT_ELIGIBLE,
            f"consumption code {consumption_code} cannot have Norgespris; only households (35) "
            "and holiday homes (36) can",
            title="Metering point not eligible for Norgespris",
            pointer="/data/relationships/meteringPoint",
        )
    if has_active_contract:
        return ContractError(
            ContractCode.CONTRACT_ALREADY_EXISTS,
            f"the metering point already has an open contract of type {CONTRACT_TYPE}",
            title="Contract Already Exists",
            pointer="/data/relationships/meteringPoint",
        )
    return None


def has_open_contract(contracts: Iterable[Contract], now: datetime) -> bool:
    """True when one of a point's contracts is still Initiated or Activated at ``now``."""
    return any(advance(c, now).status in OPEN_STATUSES for c in contracts)


def _check_dates(start_date: date, end_date: date | None) -> None:
    if end_date is not None and end_date < start_date:
        raise ContractError(
            ContractCode.INVALID_END_DATE,
            f"endDate {end_date.isoformat()} must be after or equal to startDate "
            f"{start_date.isoformat()}",
            title="End Date is before Start Date",
            pointer="/data/attributes/endDate",
        )


def create(
    *,
    contract_id: str,
    metering_point_id: str,
    grid_owner: str,
    start_date: date,
    end_date: date | None,
    consumption_code: str | None,
    has_active_contract: bool,
    by: str,
    now: datetime,
) -> Contract:
    """A new contract, Initiated at ``now``; raises :class:`ContractError` when refused.

    ``has_active_contract``: whether the point already has an open Norgespris contract at
    ``now`` (:func:`has_open_contract`).
    """
    refusal = check_eligibility(consumption_code, has_active_contract)
    if refusal is not None:
        raise refusal
    _check_dates(start_date, end_date)
    now = as_utc(now, "now")
    period = f"{start_date.isoformat()}..{end_date.isoformat() if end_date else 'open'}"
    return Contract(
        id=contract_id,
        metering_point_id=metering_point_id,
        grid_owner=grid_owner,
        status=ContractStatus.INITIATED,
        start_date=start_date,
        end_date=end_date,
        created_at=now,
        updated_at=now,
        created_by=by,
        updated_by=by,
        changes=(Change(now, by, f"created {CONTRACT_TYPE} {period}, status Initiated"),),
    )


def _require_open(contract: Contract, action: str) -> None:
    if contract.status not in OPEN_STATUSES:
        raise ContractError(
            ContractCode.INVALID_STATUS_TRANSITION,
            f"cannot {action} contract {contract.id}: it is {contract.status}",
            title="Invalid Contract Status Transition",
            pointer="/data/attributes/status",
        )


class _Unset:
    """Marker for "not given" where ``None`` is a value (no end date)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


def edit(
    contract: Contract,
    *,
    by: str,
    now: datetime,
    start_date: date | _Unset = UNSET,
    end_date: date | _Unset | None = UNSET,
    metering_point_id: str | None = None,
    contract_type: str | None = None,
) -> Contract:
    """The grid owner's edit of an Initiated or Activated contract (PATCH).

    ``metering_point_id``/``contract_type``, when the request names them, must match the
    contract (``METERING_POINT_MISMATCH``/``CONTRACT_TYPE_MISMATCH``). Editing an Expired
    or Cancelled contract is ``INVALID_STATUS_TRANSITION``. Only the structure is
    checked: ``endDate`` ≥ ``startDate`` (``INVALID_END_DATE``). The result is advanced to
    ``now``, so an end date already passed expires an Activated contract at once.
    """
    if metering_point_id is not None and metering_point_id != contract.metering_point_id:
        raise ContractError(
            ContractCode.METERING_POINT_MISMATCH,
            "Contract metering point ID does not match update request.",
            title="Mismatched Metering Point in Contract Update",
            pointer="/data/relationships/meteringPoint",
        )
    if contract_type is not None and contract_type != contract.contract_type:
        raise ContractError(
            ContractCode.CONTRACT_TYPE_MISMATCH,
            f"Contract type {contract.contract_type} does not match update request type "
            f"{contract_type}.",
            title="Mismatched Contract Type in Update",
            pointer="/data/attributes/contractType",
        )
    current = advance(contract, now)
    _require_open(current, "edit")
    new_start = current.start_date if isinstance(start_date, _Unset) else start_date
    new_end = current.end_date if isinstance(end_date, _Unset) else end_date
    _check_dates(new_start, new_end)
    what: list[str] = []
    if new_start != current.start_date:
        what.append(f"startDate {current.start_date.isoformat()} → {new_start.isoformat()}")
    if new_end != current.end_date:
        old = current.end_date.isoformat() if current.end_date else "none"
        what.append(f"endDate {old} → {new_end.isoformat() if new_end else 'none'}")
    if not what:
        return current
    edited = replace(current, start_date=new_start, end_date=new_end)
    return _record(edited, by, now, "edited: " + ", ".join(what))


def _record(changed: Contract, by: str, now: datetime, what: str) -> Contract:
    """``changed`` with the change recorded at ``now``, then advanced to ``now``."""
    now = as_utc(now, "now")
    recorded = replace(
        changed,
        updated_at=now,
        updated_by=by,
        changes=(*changed.changes, Change(now, by, what)),
    )
    return advance(recorded, now)


def end(contract: Contract, *, on: date, by: str, now: datetime) -> Contract:
    """End an Initiated or Activated contract after day ``on`` (its new end date).

    ``on`` in the past expires an Activated contract at once; an Initiated one still runs out
    its regret period (see the module docstring).
    """
    current = advance(contract, now)
    _require_open(current, "end")
    _check_dates(current.start_date, on)
    return _record(replace(current, end_date=on), by, now, f"ended: endDate → {on.isoformat()}")


def cancel(contract: Contract, *, by: str, now: datetime) -> Contract:
    """Cancel within the regret period (``isCancelled: true``); refused once it is over."""
    current = advance(contract, now)
    if current.status is not ContractStatus.INITIATED:
        raise ContractError(
            ContractCode.INVALID_STATUS_TRANSITION,
            f"Cannot transition contract status from {current.status} to Cancelled for "
            f"metering point {current.metering_point_id}"
            + (": the 14-day regret period is over"
               if current.status is ContractStatus.ACTIVATED else "."),
            title="Invalid Contract Status Transition",
            pointer="/data/attributes/isCancelled",
        )
    return _record(replace(current, status=ContractStatus.CANCELLED), by, now,
                   "status Initiated → Cancelled (cancelled in the regret period)")
