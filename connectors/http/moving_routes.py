"""Intake of moving in and out: BRS-NO-102/103 (move-in, with the end user's consent) and
BRS-NO-201 (move-out), both sent by a supplier, as Elhub's processes for them say.

Like every intake route: structure checked here (every problem with its pointer), the document
written durably once per (sender, messageId), ``202``; the hub's answer comes as an
acknowledgement in the sender's market-processes queue.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connectors.http.auth import Role, require
from connectors.http.consent_routes import ConsentViews
from connectors.http.deps import Authenticated
from connectors.http.intake import master_data_record
from connectors.http.intake_routes import (
    Problems,
    identifier_problem,
    point_problem,
    reject_if_invalid,
)
from connectors.http.services import INTAKE_RESPONSES, Services
from domain.identifiers import validate_national_id, validate_organisation_number
from schemas.api import Accepted, EndUser, MoveInIn, MoveOutIn


def end_user_problems(end_user: EndUser) -> Problems:
    """Exactly one identifier, and a valid one."""
    problems = []
    if (end_user.national_id is None) == (end_user.organisation_number is None):
        problems.append({"code": "end_user.identifier", "pointer": "/endUser",
                         "detail": "give exactly one of nationalId or organisationNumber"})
    problems += identifier_problem(validate_national_id, end_user.national_id,
                                   "/endUser/nationalId")
    problems += identifier_problem(validate_organisation_number, end_user.organisation_number,
                                   "/endUser/organisationNumber")
    return problems


def moving_routes(services: Services, consent: ConsentViews) -> APIRouter:
    router = APIRouter(tags=["intake"])

    @router.post("/v1/move-in", status_code=202, response_model=Accepted,
                 responses=INTAKE_RESPONSES)
    async def move_in(document: MoveInIn, who: Authenticated, request: Request
                      ) -> JSONResponse:
        """BRS-NO-102 (from today on) or BRS-NO-103 (backdated): a new end user takes over
        the point with the sending supplier from ``startDate``; a person needs its consent
        (``authorizationGrantId``, request type ``MoveInAndChangeOfBalanceSupplierForPerson``).
        """
        require(who, Role.SUPPLIER)
        reject_if_invalid("move_in.invalid", "The move-in is not valid",
                          point_problem(document.metering_point_id)
                          + end_user_problems(document.end_user))
        end_user = document.end_user
        record = master_data_record(
            message_id=str(document.message_id), sender=who.party, sender_role="supplier",
            metering_point_id=document.metering_point_id, document_type="MoveIn",
            document={"startDate": document.start_date, "endUserName": end_user.name,
                      "endUserNationalId": end_user.national_id,
                      "endUserOrganisationNumber": end_user.organisation_number,
                      "authorizationGrantId": document.authorization_grant_id,
                      "grantMeteringPointId": await consent.grant_point(
                          document.authorization_grant_id)})
        return await services.intake(request, who, "move-in", str(document.message_id),
                                     services.catalogue.master_data, [record])

    @router.post("/v1/move-out", status_code=202, response_model=Accepted,
                 responses=INTAKE_RESPONSES)
    async def move_out(document: MoveOutIn, who: Authenticated, request: Request
                       ) -> JSONResponse:
        """BRS-NO-201: the end user leaves the point; its supplier sends it, ahead of
        ``endDate`` (the first day without supply), within Elhub's window."""
        require(who, Role.SUPPLIER)
        reject_if_invalid("move_out.invalid", "The move-out is not valid",
                          point_problem(document.metering_point_id))
        record = master_data_record(
            message_id=str(document.message_id), sender=who.party, sender_role="supplier",
            metering_point_id=document.metering_point_id, document_type="MoveOut",
            document={"endDate": document.end_date})
        return await services.intake(request, who, "move-out", str(document.message_id),
                                     services.catalogue.master_data, [record])

    return router
