"""The hub's state of one metering point over time, as plain immutable data.

Routing asks it "who supplied this point on that day" and "which third parties had access
then"; master-data processes produce new versions of it. Its Avro record (the master-data
table) is read and written in streams/records/metering_point.py only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from domain.industry_codes import CodeLists, migration_candidates
from domain.series import HUB_TIMEZONE


@dataclass(frozen=True)
class EndUser:
    """Who uses the point: a person (national id) or an organisation. Personal data: kept in
    Kafka, never logged."""

    name: str
    national_id: str | None = None
    organisation_number: str | None = None

    @property
    def is_person(self) -> bool:
        return self.national_id is not None


#: The BRS a supply period came from.
SWITCH, MOVE_IN_AHEAD, MOVE_IN_BACKDATED, MOVE_OUT = (
    "BRS-NO-101", "BRS-NO-102", "BRS-NO-103", "BRS-NO-201")


@dataclass(frozen=True)
class SupplyPeriod:
    """A supplier responsible from ``start_date`` (Norwegian day) until the next period.

    A move-out (BRS-NO-201) leaves a period with no supplier and no end user: the point is
    vacant until someone moves in (the grid owner's loss meanwhile).
    """

    supplier: str | None
    start_date: date
    message_id: str
    end_user: EndUser | None = None
    process: str = SWITCH


@dataclass(frozen=True)
class ThirdPartyAccess:
    """Access an end user granted a third party, valid in [valid_from, valid_to)."""

    party: str
    valid_from: datetime
    valid_to: datetime | None = None

    def active_at(self, moment: datetime) -> bool:
        return self.valid_from <= moment and (self.valid_to is None or moment < self.valid_to)


@dataclass(frozen=True)
class Characteristics:
    """What BRS-NO-302 can change about a point, as it applies on some day."""

    grid_area: str
    price_area: str
    point_type: str
    resolution: str
    consumption_code: str | None = None
    industry_code: str | None = None
    production_type: str | None = None


@dataclass(frozen=True)
class CharacteristicsChange:
    effective_from: date
    message_id: str
    characteristics: Characteristics


@dataclass(frozen=True)
class Contact:
    """Customer contact information (BRS-NO-301); personal data, never logged."""

    kind: str  # mobile, phone, email, fax
    value: str
    purpose: str  # contract, notification


@dataclass(frozen=True)
class AccessRequest:
    """A third party's request for access, waiting for the end user's approval."""

    request_id: str
    party: str
    valid_from: datetime | None = None
    valid_to: datetime | None = None


@dataclass(frozen=True)
class MeteringPoint:
    """Characteristics and relations of one metering point (GSRN)."""

    metering_point_id: str
    grid_owner: str
    grid_area: str
    price_area: str
    point_type: str
    resolution: str
    valid_from: date
    consumption_code: str | None = None
    industry_code: str | None = None
    production_type: str | None = None
    supplies: tuple[SupplyPeriod, ...] = field(default=())
    third_party_access: tuple[ThirdPartyAccess, ...] = field(default=())
    changes: tuple[CharacteristicsChange, ...] = field(default=())
    contacts: tuple[Contact, ...] = field(default=())
    access_requests: tuple[AccessRequest, ...] = field(default=())

    @property
    def registered(self) -> Characteristics:
        return Characteristics(self.grid_area, self.price_area, self.point_type,
                               self.resolution, self.consumption_code, self.industry_code,
                               self.production_type)

    def characteristics_on(self, day: date) -> Characteristics:
        """The characteristics in force on ``day``: the latest change effective by then."""
        current = self.registered
        for change in self.changes:  # kept sorted by effective date
            if change.effective_from <= day:
                current = change.characteristics
        return current

    def with_change(self, change: CharacteristicsChange) -> MeteringPoint:
        changes = sorted([*(c for c in self.changes
                            if c.effective_from != change.effective_from), change],
                         key=lambda c: c.effective_from)
        return replace(self, changes=tuple(changes))

    def supply_on(self, day: date) -> SupplyPeriod | None:
        """The supply period covering ``day``, if any (supplies are kept sorted by start)."""
        current = None
        for period in self.supplies:
            if period.start_date <= day:
                current = period
            else:
                break
        return current

    def supplier_on(self, day: date) -> str | None:
        period = self.supply_on(day)
        return period.supplier if period else None

    def end_user_on(self, day: date) -> EndUser | None:
        """The end user on ``day``: the one whose supply (or move-in) covers it."""
        period = self.supply_on(day)
        return period.end_user if period else None

    def supply_changes_between(self, start: datetime, end: datetime) -> list[datetime]:
        """Local midnights in (start, end) at which the responsible supplier changes."""
        changes = []
        for period in self.supplies:
            moment = datetime.combine(period.start_date, datetime.min.time(), HUB_TIMEZONE)
            if start < moment < end:
                changes.append(moment)
        return changes

    def with_supply(self, period: SupplyPeriod) -> MeteringPoint:
        supplies = sorted([*self.supplies, period], key=lambda p: p.start_date)
        return replace(self, supplies=tuple(supplies))


def characteristics_record(c: Characteristics) -> dict[str, Any]:
    return {"gridArea": c.grid_area, "priceArea": c.price_area, "pointType": c.point_type,
            "resolution": c.resolution, "consumptionCode": c.consumption_code,
            "industryCode": c.industry_code, "productionType": c.production_type}


def points_to_migrate(points: Iterable[MeteringPoint], lists: CodeLists
                      ) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(grid owner, point, SN2007 code, SN2025 candidates) of the points that carry an SN2007
    næringskode in their latest characteristics: the hub's migration lists."""
    rows = ((p.grid_owner, p.metering_point_id, p.characteristics_on(date.max).industry_code)
            for p in points)
    return migration_candidates(rows, lists)
