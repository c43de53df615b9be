"""Intake of moving in and out: BRS-NO-102/103 (move-in, with the end user's consent) and
BRS-NO-201 (move-out), both sent by a supplier, as Elhub's processes for them say.

Like every intake route: structure checked here (every problem with its pointer), the document
written durably once per (sender, messageId), ``202``; the hub's answer comes as an
acknowledgement in the sender's market-processes queue.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connectors.http.auth import Role
from connectors.http.consent_routes import ConsentViews
from connectors.http.deps import Authenticated, Intake
from connectors.http.intake_answers import INTAKE_RESPONSES
from connectors.http.intake_checks import end_user_problems, point_problem
from connectors.http.intake_routes import submit_master_data
from connectors.http.intake_service import Refusal
from schemas.api import Accepted, MoveInIn, MoveOutIn

MOVE_IN = Refusal("move_in.invalid", "The move-in is not valid")
MOVE_OUT = Refusal("move_out.invalid", "The move-out is not valid")


def moving_routes(consent: ConsentViews) -> APIRouter:
    router = APIRouter(tags=["intake"])

    @router.post("/v1/move-in", status_code=202, response_model=Accepted,
                 responses=INTAKE_RESPONSES)
    async def move_in(document: MoveInIn, who: Authenticated, intake: Intake,
                      request: Request) -> JSONResponse:
        """BRS-NO-102 (from today on) or BRS-NO-103 (backdated): a new end user takes over
        the point with the sending supplier from ``startDate``; a person needs its consent
        (``authorizationGrantId``, request type ``MoveInAndChangeOfBalanceSupplierForPerson``).
        """
        end_user = document.end_user

        async def fields() -> dict[str, Any]:
            return {"startDate": document.start_date, "endUserName": end_user.name,
                    "endUserNationalId": end_user.national_id,
                    "endUserOrganisationNumber": end_user.organisation_number,
                    "authorizationGrantId": document.authorization_grant_id,
                    "grantMeteringPointId": await consent.grant_point(
                        document.authorization_grant_id)}

        return await submit_master_data(
            intake, request, who, Role.SUPPLIER, document, "move-in", "MoveIn", MOVE_IN,
            point_problem(document.metering_point_id) + end_user_problems(end_user), fields)

    @router.post("/v1/move-out", status_code=202, response_model=Accepted,
                 responses=INTAKE_RESPONSES)
    async def move_out(document: MoveOutIn, who: Authenticated, intake: Intake,
                       request: Request) -> JSONResponse:
        """BRS-NO-201: the end user leaves the point; its supplier sends it, ahead of
        ``endDate`` (the first day without supply), within Elhub's window."""
        return await submit_master_data(
            intake, request, who, Role.SUPPLIER, document, "move-out", "MoveOut", MOVE_OUT,
            point_problem(document.metering_point_id), {"endDate": document.end_date})

    return router
