"""The hub's state of one metering point over time, as plain immutable data.

Routing asks it "who supplied this point on that day" and "which third parties had access
then"; master-data processes produce new versions of it. Converting to and from the Avro
record of the master-data table lives here too, so the shape is defined in one place.
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


def to_record(point: MeteringPoint) -> dict[str, Any]:
    """The Avro ``MeteringPointState`` record of ``point``."""
    return {
        "meteringPointId": point.metering_point_id,
        "gridOwner": point.grid_owner,
        "gridArea": point.grid_area,
        "priceArea": point.price_area,
        "pointType": point.point_type,
        "resolution": point.resolution,
        "consumptionCode": point.consumption_code,
        "industryCode": point.industry_code,
        "productionType": point.production_type,
        "validFrom": point.valid_from,
        "supplies": [
            {"supplier": s.supplier, "startDate": s.start_date, "messageId": s.message_id,
             "process": s.process,
             "endUserName": s.end_user.name if s.end_user else None,
             "endUserNationalId": s.end_user.national_id if s.end_user else None,
             "endUserOrganisationNumber": s.end_user.organisation_number if s.end_user
             else None}
            for s in point.supplies
        ],
        "thirdPartyAccess": [
            {"party": a.party, "validFrom": a.valid_from, "validTo": a.valid_to}
            for a in point.third_party_access
        ],
        "characteristicsChanges": [
            {"effectiveFrom": c.effective_from, "messageId": c.message_id,
             **characteristics_record(c.characteristics)} for c in point.changes
        ],
        "contacts": [{"kind": c.kind, "value": c.value, "purpose": c.purpose}
                     for c in point.contacts],
        "accessRequests": [
            {"requestId": r.request_id, "party": r.party, "validFrom": r.valid_from,
             "validTo": r.valid_to} for r in point.access_requests
        ],
    }


def characteristics_record(c: Characteristics) -> dict[str, Any]:
    return {"gridArea": c.grid_area, "priceArea": c.price_area, "pointType": c.point_type,
            "resolution": c.resolution, "consumptionCode": c.consumption_code,
            "industryCode": c.industry_code, "productionType": c.production_type}


def characteristics_from(r: dict[str, Any]) -> Characteristics:
    return Characteristics(r["gridArea"], r["priceArea"], r["pointType"], r["resolution"],
                           r["consumptionCode"], r["industryCode"], r["productionType"])


def from_record(record: dict[str, Any]) -> MeteringPoint:
    """The ``MeteringPoint`` of an Avro ``MeteringPointState`` record."""
    return MeteringPoint(
        metering_point_id=record["meteringPointId"],
        grid_owner=record["gridOwner"],
        grid_area=record["gridArea"],
        price_area=record["priceArea"],
        point_type=record["pointType"],
        resolution=record["resolution"],
        valid_from=record["validFrom"],
        consumption_code=record["consumptionCode"],
        industry_code=record["industryCode"],
        production_type=record["productionType"],
        supplies=tuple(
            SupplyPeriod(s["supplier"], s["startDate"], s["messageId"], _end_user(s),
                         s.get("process") or SWITCH)
            for s in record["supplies"]
        ),
        third_party_access=tuple(
            ThirdPartyAccess(a["party"], a["validFrom"], a["validTo"])
            for a in record["thirdPartyAccess"]
        ),
        changes=tuple(
            CharacteristicsChange(c["effectiveFrom"], c["messageId"], characteristics_from(c))
            for c in record["characteristicsChanges"]
        ),
        contacts=tuple(Contact(c["kind"], c["value"], c["purpose"])
                       for c in record["contacts"]),
        access_requests=tuple(
            AccessRequest(r["requestId"], r["party"], r["validFrom"], r["validTo"])
            for r in record["accessRequests"]
        ),
    )


def _end_user(record: dict[str, Any]) -> EndUser | None:
    if record.get("endUserName") is None:
        return None
    return EndUser(record["endUserName"], record.get("endUserNationalId"),
                   record.get("endUserOrganisationNumber"))


def points_to_migrate(points: Iterable[MeteringPoint], lists: CodeLists
                      ) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(grid owner, point, SN2007 code, SN2025 candidates) of the points that carry an SN2007
    næringskode in their latest characteristics: the hub's migration lists."""
    rows = ((p.grid_owner, p.metering_point_id, p.characteristics_on(date.max).industry_code)
            for p in points)
    return migration_candidates(rows, lists)
