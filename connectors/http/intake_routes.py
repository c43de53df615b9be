"""Intake routes: metering values and the BRS documents, each checked for structure (every
problem with its pointer, connectors/http/intake_checks.py), handed to the intake service
(connectors/http/intake_service.py), whose outcome is the answer
(connectors/http/intake_answers.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from connectors.http.auth import Caller, Role, require
from connectors.http.consent_routes import grant_point
from connectors.http.deps import Authenticated, Intake
from connectors.http.intake import (
    change_document,
    customer_information_document,
    registration_document,
    start_of_supply_document,
    third_party_access_document,
)
from connectors.http.intake_answers import INTAKE_RESPONSES, answer
from connectors.http.intake_checks import (
    Problems,
    change_problems,
    customer_information_problems,
    point_problem,
    registration_problems,
    start_of_supply_problems,
    third_party_access_problems,
)
from connectors.http.intake_service import IntakeService, Refusal
from connectors.http.json_body import StrictJsonRoute
from connectors.http.values_body import MeteringValuesBody, taken
from domain.problem_codes import Code
from domain.series import HUB_TIMEZONE
from schemas.api import (
    Accepted,
    AccessApprovalIn,
    CustomerInformationIn,
    MasterDataChangeIn,
    MeteringPointRegistrationIn,
    StartOfSupplyIn,
    ThirdPartyAccessIn,
)
from schemas.settings import Settings

Route = TypeVar("Route", bound=Callable[..., Any])
REGISTRATION = Refusal("metering_point.invalid", "The metering point is not valid")
START_OF_SUPPLY = Refusal(Code.START_OF_SUPPLY_INVALID, "The start of supply is not valid")
CHANGE = Refusal("master_data.invalid", "The master-data change is not valid")
CUSTOMER_INFORMATION = Refusal("customer_information.invalid",
                               "The customer information is not valid")
THIRD_PARTY_ACCESS = Refusal("third_party_access.invalid", "The access request is not valid")
APPROVAL = Refusal("approval.invalid", "The approval is not valid")


class PointDocument(Protocol):
    """A document about one metering point, with its sender's message id."""

    @property
    def message_id(self) -> object: ...

    @property
    def metering_point_id(self) -> str: ...


async def submit_master_data(intake: IntakeService, request: Request, who: Caller,
                             role: Role, document: PointDocument, document_type: str,
                             record_type: str, refusal: Refusal, problems: Problems,
                             fields: dict[str, Any] | Callable[[], Awaitable[dict[str, Any]]]
                             ) -> JSONResponse:
    """A master-data document of ``who``'s, which must have ``role``, through the intake
    service, answered."""
    require(who, role)
    return answer(await intake.submit(intake.master_data(
        document_type=document_type, sender=who.party, message_id=str(document.message_id),
        metering_point_id=document.metering_point_id, record_type=record_type,
        body=await request.body(), refusal=refusal, problems=problems, fields=fields)))


def intake_routes(settings: Settings) -> APIRouter:
    router = APIRouter(route_class=StrictJsonRoute, tags=["intake"])

    def accept(path: str) -> Callable[[Route], Route]:
        """An intake route: 202 when accepted, and every answer of INTAKE_RESPONSES."""
        return router.post(path, status_code=202, response_model=Accepted,
                           responses=INTAKE_RESPONSES)

    @accept("/v1/metering-values")
    async def metering_values(document: MeteringValuesBody, who: Authenticated,
                              intake: Intake, request: Request) -> JSONResponse:
        require(who, Role.GRID_OWNER)
        return answer(await intake.submit(intake.metering_values(
            taken(document), who.party, await request.body())))

    @accept("/v1/metering-points")
    async def register_metering_point(document: MeteringPointRegistrationIn,
                                      who: Authenticated, intake: Intake,
                                      request: Request) -> JSONResponse:
        """BRS-NO-121: a new metering point with its characteristics, from its grid owner."""
        return await submit_master_data(
            intake, request, who, Role.GRID_OWNER,
            document, "metering-points", "MeteringPointRegistration",
            REGISTRATION, registration_problems(document), registration_document(document))

    @accept("/v1/start-of-supply")
    async def start_of_supply(document: StartOfSupplyIn, who: Authenticated, intake: Intake,
                              request: Request) -> JSONResponse:
        """BRS-NO-101: a supplier takes over a point from ``startDate``."""
        today = datetime.now(HUB_TIMEZONE).date()

        async def fields() -> dict[str, Any]:
            return {**start_of_supply_document(document),
                    "authorizationGrantId": document.authorization_grant_id,
                    "grantMeteringPointId": await grant_point(
                        request, document.authorization_grant_id)}

        return await submit_master_data(
            intake, request, who, Role.SUPPLIER, document, "start-of-supply", "StartOfSupply",
            START_OF_SUPPLY,
            start_of_supply_problems(document, today, settings.supply_start_max_days_ahead),
            fields)

    @accept("/v1/master-data")
    async def change_master_data(document: MasterDataChangeIn, who: Authenticated,
                                 intake: Intake, request: Request) -> JSONResponse:
        """BRS-NO-302: characteristics that change from ``effectiveFrom``."""
        return await submit_master_data(
            intake, request, who, Role.GRID_OWNER,
            document, "master-data", "ChangeOfCharacteristics", CHANGE,
            change_problems(document), change_document(document))

    @accept("/v1/customer-information")
    async def customer_information(document: CustomerInformationIn, who: Authenticated,
                                   intake: Intake, request: Request) -> JSONResponse:
        """BRS-NO-301: the customer's contacts, each with kind and purpose."""
        return await submit_master_data(
            intake, request, who, Role.SUPPLIER, document, "customer-information",
            "CustomerInformationUpdate", CUSTOMER_INFORMATION,
            customer_information_problems(document), customer_information_document(document))

    @accept("/v1/third-party-access")
    async def third_party_access(document: ThirdPartyAccessIn, who: Authenticated,
                                 intake: Intake, request: Request) -> JSONResponse:
        """BRS-NO-622: ask for access to a point's data (add) or give it up (delete)."""
        return await submit_master_data(
            intake, request, who, Role.THIRD_PARTY,
            document, "third-party-access", "ThirdPartyAccessRequest",
            THIRD_PARTY_ACCESS, third_party_access_problems(document),
            third_party_access_document(document))

    @accept("/v1/third-party-access/{request_id}/approval")
    async def approve_third_party_access(
            request_id: Annotated[str, Path(max_length=64)], document: AccessApprovalIn,
            who: Authenticated, intake: Intake, request: Request) -> JSONResponse:
        """The end user's approval of a request (an operator stands in for the portal)."""
        return await submit_master_data(
            intake, request, who, Role.OPERATOR,
            document, "access-approval", "ThirdPartyAccessApproval",
            APPROVAL, point_problem(document.metering_point_id), {"requestId": request_id})

    return router
