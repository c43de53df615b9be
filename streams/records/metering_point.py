"""A metering point's state (domain.metering_point.MeteringPoint) as the Avro
``MeteringPointState`` record of the master-data table: the one place it is written and read."""

from __future__ import annotations

from typing import Any

from domain.metering_point import (
    SWITCH,
    AccessRequest,
    Characteristics,
    CharacteristicsChange,
    Contact,
    EndUser,
    MeteringPoint,
    SupplyPeriod,
    ThirdPartyAccess,
    characteristics_record,
)
from streams.serialisation import METERING_POINT_STATE, codec


def encode(point: MeteringPoint) -> bytes:
    return codec(METERING_POINT_STATE).encode(to_record(point))


def decode(raw: bytes | None) -> MeteringPoint:
    """The point in ``raw``; UndecodableRecord (a ValueError) if it is not one."""
    return from_record(codec(METERING_POINT_STATE).decode(raw))


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
