"""The hub's state of one metering point over time, as plain immutable data.

Routing asks it "who supplied this point on that day" and "which third parties had access
then"; master-data processes produce new versions of it. Converting to and from the Avro
record of the master-data table lives here too, so the shape is defined in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from domain.series import HUB_TIMEZONE


@dataclass(frozen=True)
class SupplyPeriod:
    """A supplier responsible from ``start_date`` (Norwegian day) until the next period."""

    supplier: str
    start_date: date
    message_id: str


@dataclass(frozen=True)
class ThirdPartyAccess:
    """Access an end user granted a third party, valid in [valid_from, valid_to)."""

    party: str
    valid_from: datetime
    valid_to: datetime | None = None

    def active_at(self, moment: datetime) -> bool:
        return self.valid_from <= moment and (self.valid_to is None or moment < self.valid_to)


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
            {"supplier": s.supplier, "startDate": s.start_date, "messageId": s.message_id}
            for s in point.supplies
        ],
        "thirdPartyAccess": [
            {"party": a.party, "validFrom": a.valid_from, "validTo": a.valid_to}
            for a in point.third_party_access
        ],
    }


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
            SupplyPeriod(s["supplier"], s["startDate"], s["messageId"])
            for s in record["supplies"]
        ),
        third_party_access=tuple(
            ThirdPartyAccess(a["party"], a["validFrom"], a["validTo"])
            for a in record["thirdPartyAccess"]
        ),
    )
