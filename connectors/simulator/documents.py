"""The master-data and consent documents the simulator sends for a planned point: the
registration (BRS-NO-121), the start of supply (BRS-NO-101), the move-in (BRS-NO-103) and the
supplier's authorization request that the move-in needs. Message ids are UUIDv5 of the seed."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from connectors.simulator.population import NAMESPACE, MeteringPointPlan


def registration_document(point: MeteringPointPlan, seed: int) -> dict[str, Any]:
    """BRS-NO-121 for ``point``, sent by its grid owner."""
    document: dict[str, Any] = {
        "messageId": str(uuid.uuid5(NAMESPACE, f"{seed}|register|{point.gsrn}")),
        "meteringPointId": point.gsrn, "gridArea": point.grid_area,
        "priceArea": point.price_area, "type": point.type, "resolution": point.resolution,
        "validFrom": point.valid_from.isoformat()}
    for key, value in (("consumptionCode", point.consumption_code),
                       ("industryCode", point.industry_code),
                       ("productionType", point.production_type)):
        if value is not None:
            document[key] = value
    return document


def start_of_supply_document(point: MeteringPointPlan, start: date, seed: int
                             ) -> dict[str, Any]:
    """BRS-NO-101 for ``point`` from ``start``, sent by its supplier."""
    return {"messageId": str(uuid.uuid5(NAMESPACE, f"{seed}|supply|{point.gsrn}|{start}")),
            "meteringPointId": point.gsrn, "startDate": start.isoformat(),
            "endUser": {"name": point.end_user_name,
                        "organisationNumber": point.organisation_number}}


def move_in_document(point: MeteringPointPlan, start: date, seed: int, grant_id: str
                     ) -> dict[str, Any]:
    """BRS-NO-102/103 for a person's ``point`` from ``start``, with the person's consent."""
    return {"messageId": str(uuid.uuid5(NAMESPACE, f"{seed}|move-in|{point.gsrn}|{start}")),
            "meteringPointId": point.gsrn, "startDate": start.isoformat(),
            "endUser": {"name": point.end_user_name, "nationalId": point.national_id},
            "authorizationGrantId": grant_id}


def authorization_request_document(point: MeteringPointPlan, start: date, today: date
                                   ) -> dict[str, Any]:
    """The supplier's request for the person's consent to move in (Access API)."""
    meta: dict[str, Any] = {
        "requestedBy": point.supplier, "requestedFrom": point.national_id,
        "requestedTo": point.national_id, "requestedFromName": point.end_user_name,
        "requestedForMeteringPointId": point.gsrn,
        "requestedForMeteringPointAddress": f"Simulert vei {int(point.gsrn[-6:-1])}",
        "balanceSupplierName": f"Kraftleverandør {point.supplier[-5:]}",
        "balanceSupplierContractName": "Spotpris"}
    if start <= today:  # a backdated move-in (BRS-NO-103) names its date
        meta["moveInDate"] = start.isoformat()
    return {"data": {"type": "AuthorizationRequest",
                     "attributes": {"requestType": "MoveInAndChangeOfBalanceSupplierForPerson"},
                     "meta": meta}}
