"""Intake of shared production (BRS-NO-701): a grid owner sets up, changes or ends a
calculation. The document goes to the calculation's own topic, keyed by ``<grid owner>|<name>``
(a name is unique per grid owner), and the answer comes as an acknowledgement, with the whole
calculation when accepted, in the grid owner's market-processes queue.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connectors.http.auth import Role, require
from connectors.http.deps import Authenticated
from connectors.http.intake_routes import identifier_problem, reject_if_invalid
from connectors.http.services import INTAKE_RESPONSES, Services
from domain.identifiers import validate_norwegian_gsrn
from processors.shared_production import calculation_key
from schemas.api import Accepted, SharedProductionIn
from streams.records.shared_production import encode_calculation_event


def shared_production_routes(services: Services) -> APIRouter:
    router = APIRouter(tags=["intake"])

    @router.post("/v1/shared-production", status_code=202, response_model=Accepted,
                 responses=INTAKE_RESPONSES)
    async def shared_production(document: SharedProductionIn, who: Authenticated,
                                request: Request) -> JSONResponse:
        """BRS-NO-701: ``distributionType`` (``manual``, ``equal``, ``dynamic``), ``validFrom``,
        ``name`` (unique per grid owner), ``description``, ``contributors`` (point ids) and
        ``receivers`` (``{meteringPointId, share}``, a share for manual split only)."""
        require(who, Role.GRID_OWNER)
        problems = [p for i, point in enumerate(document.contributors)
                    for p in identifier_problem(validate_norwegian_gsrn, point,
                                                f"/contributors/{i}")]
        problems += [p for i, r in enumerate(document.receivers)
                     for p in identifier_problem(validate_norwegian_gsrn, r.metering_point_id,
                                                 f"/receivers/{i}/meteringPointId")]
        reject_if_invalid("shared_production.invalid", "The calculation is not valid", problems)
        key = calculation_key(who.party, document.name)
        value = encode_calculation_event(key, "SharedProductionSetup", {
            "messageId": str(document.message_id), "sender": who.party,
            "receivedAt": datetime.now(UTC), "action": document.action,
            "name": document.name, "description": document.description,
            "distributionType": document.distribution_type,
            "validFrom": document.valid_from, "contributors": document.contributors,
            "receivers": [{"meteringPointId": r.metering_point_id,
                           "share": None if r.share is None else str(r.share)}
                          for r in document.receivers]})
        return await services.intake(request, who, "shared-production",
                                     str(document.message_id),
                                     services.catalogue.shared_production,
                                     [(key.encode(), value)])

    return router
