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
from connectors.http.deps import Authenticated, Intake
from connectors.http.intake_answers import INTAKE_RESPONSES, answer
from connectors.http.intake_checks import identifier_problem
from connectors.http.intake_service import Records, Refusal, Submission
from domain.identifiers import validate_norwegian_gsrn
from processors.shared_production import calculation_key
from schemas.api import Accepted, SharedProductionIn
from streams.records.shared_production import encode_calculation_event

REFUSAL = Refusal("shared_production.invalid", "The calculation is not valid")


def shared_production_routes() -> APIRouter:
    router = APIRouter(tags=["intake"])

    @router.post("/v1/shared-production", status_code=202, response_model=Accepted,
                 responses=INTAKE_RESPONSES)
    async def shared_production(document: SharedProductionIn, who: Authenticated,
                                intake: Intake, request: Request) -> JSONResponse:
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
        key = calculation_key(who.party, document.name)

        def encode() -> Records:
            return [(key.encode(), encode_calculation_event(key, "SharedProductionSetup", {
                "messageId": str(document.message_id), "sender": who.party,
                "receivedAt": datetime.now(UTC), "action": document.action,
                "name": document.name, "description": document.description,
                "distributionType": document.distribution_type,
                "validFrom": document.valid_from, "contributors": document.contributors,
                "receivers": [{"meteringPointId": r.metering_point_id,
                               "share": None if r.share is None else str(r.share)}
                              for r in document.receivers]}))]

        return answer(await intake.submit(Submission(
            "shared-production", who.party, str(document.message_id), await request.body(),
            intake.parts.catalogue.shared_production, REFUSAL, problems, encode)))

    return router
