"""Intake routes: metering values and the BRS documents, each checked for structure (every
problem with its pointer) and written durably once per (sender, messageId).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from connectors.http.auth import Caller, Role, require
from connectors.http.consent_routes import grant_point
from connectors.http.deps import Authenticated
from connectors.http.intake import (
    change_document,
    characteristics_fields,
    customer_information_document,
    master_data_record,
    registration_document,
    series_records,
    start_of_supply_document,
    third_party_access_document,
)
from connectors.http.json_body import StrictJsonRoute
from connectors.http.problems import Problem
from connectors.http.services import INTAKE, INTAKE_RESPONSES, INTAKE_SERIES, Services
from connectors.http.values_body import MeteringValuesBody, taken
from domain.codes import check_consumption_code
from domain.customer_information import contact_problem
from domain.identifiers import (
    IdentifierError,
    validate_eic,
    validate_national_id,
    validate_norwegian_gsrn,
    validate_organisation_number,
)
from domain.industry_codes import is_subclass_code
from domain.problem_codes import Code
from domain.series import HUB_TIMEZONE
from domain.supply import start_window_reasons
from schemas.api import (
    Accepted,
    AccessApprovalIn,
    CustomerInformationIn,
    MasterDataChangeIn,
    MeteringPointRegistrationIn,
    StartOfSupplyIn,
    ThirdPartyAccessIn,
)
from streams.logging import get_logger

log = get_logger(__name__)


Problems = list[dict[str, str]]


def identifier_problem(validate: Callable[[str], object], value: str | None,
                       pointer: str) -> Problems:
    """The problem with an identifier at ``pointer`` (none when it is valid or absent)."""
    if value is None:
        return []
    try:
        validate(value)
    except IdentifierError as exc:
        return [{"code": exc.code, "pointer": pointer, "detail": str(exc)}]
    return []


def code_problems(consumption_code: str | None, industry_code: str | None) -> Problems:
    """Structural problems of a consumption code and a næringskode (lists come later)."""
    problems = []
    if (reason := check_consumption_code(consumption_code)) is not None:
        problems.append({"code": reason.code, "pointer": "/consumptionCode",
                         "detail": reason.text})
    if industry_code is not None and not is_subclass_code(industry_code):
        problems.append({"code": "industry_code.format", "pointer": "/industryCode",
                         "detail": "a næringskode has the form NN.NNN"})
    return problems


def point_problem(point_id: str) -> Problems:
    return identifier_problem(validate_norwegian_gsrn, point_id, "/meteringPointId")


def reject_if_invalid(code: str, title: str, problems: Problems) -> None:
    """Answer 400 with every problem found, if there is any."""
    if problems:
        raise Problem(400, code, title, f"{len(problems)} problem(s) found", problems)


def intake_routes(services: Services) -> APIRouter:
    router = APIRouter(route_class=StrictJsonRoute)

    async def master_data(request: Request, who: Caller, document_type: str, role: str,
                          message_id: str, point_id: str, record_type: str,
                          document: dict[str, Any]) -> JSONResponse:
        record = master_data_record(message_id=message_id, sender=who.party, sender_role=role,
                                    metering_point_id=point_id, document_type=record_type,
                                    document=document)
        return await services.intake(request, who, document_type, message_id,
                                     services.catalogue.master_data, [record])

    @router.post("/v1/metering-values", status_code=202, tags=["intake"],
                    response_model=Accepted, responses=INTAKE_RESPONSES)
    async def metering_values(document: MeteringValuesBody, who: Authenticated,
                              request: Request) -> JSONResponse:
        require(who, Role.GRID_OWNER)
        values = taken(document)
        try:
            records = series_records(values, who.party)
        except Problem:
            INTAKE.labels("metering-values", "invalid").inc()
            raise
        response = await services.intake(request, who, "metering-values",
                                         values.message_id,
                                         services.catalogue.metering_values, records)
        if response.status_code == 202:
            INTAKE_SERIES.inc(len(records))
        return response

    @router.post("/v1/metering-points", status_code=202, tags=["intake"],
                    response_model=Accepted, responses=INTAKE_RESPONSES)
    async def register_metering_point(document: MeteringPointRegistrationIn,
                                      who: Authenticated, request: Request) -> JSONResponse:
        """BRS-NO-121: a new metering point with its characteristics, from its grid owner."""
        require(who, Role.GRID_OWNER)
        reject_if_invalid("metering_point.invalid", "The metering point is not valid",
                          point_problem(document.metering_point_id)
                          + identifier_problem(validate_eic, document.grid_area, "/gridArea")
                          + code_problems(document.consumption_code, document.industry_code))
        return await master_data(request, who, "metering-points", "grid_owner",
                                 str(document.message_id), document.metering_point_id,
                                 "MeteringPointRegistration", registration_document(document))

    @router.post("/v1/start-of-supply", status_code=202, tags=["intake"],
                    response_model=Accepted, responses=INTAKE_RESPONSES)
    async def start_of_supply(document: StartOfSupplyIn, who: Authenticated,
                              request: Request) -> JSONResponse:
        """BRS-NO-101: a supplier takes over a point from ``startDate``."""
        require(who, Role.SUPPLIER)
        end_user = document.end_user
        problems = point_problem(document.metering_point_id)
        if (end_user.national_id is None) == (end_user.organisation_number is None):
            problems.append({"code": "end_user.identifier", "pointer": "/endUser",
                             "detail": "give exactly one of nationalId or organisationNumber"})
        problems += identifier_problem(validate_national_id, end_user.national_id,
                                       "/endUser/nationalId")
        problems += identifier_problem(validate_organisation_number,
                                       end_user.organisation_number,
                                       "/endUser/organisationNumber")
        # The process's window (BRS-NO-101), at once: a start far ahead would block the point.
        today = datetime.now(HUB_TIMEZONE).date()
        problems += [{"code": r.code, "pointer": "/startDate", "detail": r.text}
                     for r in start_window_reasons(
                         document.start_date, today,
                         max_days_ahead=services.settings.supply_start_max_days_ahead)]
        reject_if_invalid(Code.START_OF_SUPPLY_INVALID, "The start of supply is not valid",
                          problems)
        return await master_data(request, who, "start-of-supply", "supplier",
                                 str(document.message_id), document.metering_point_id,
                                 "StartOfSupply",
                                 {**start_of_supply_document(document),
                                  "authorizationGrantId": document.authorization_grant_id,
                                  "grantMeteringPointId": await grant_point(
                                      request, document.authorization_grant_id)})

    @router.post("/v1/master-data", status_code=202, tags=["intake"],
                 response_model=Accepted, responses=INTAKE_RESPONSES)
    async def change_master_data(document: MasterDataChangeIn, who: Authenticated,
                                 request: Request) -> JSONResponse:
        """BRS-NO-302: characteristics that change from ``effectiveFrom``."""
        require(who, Role.GRID_OWNER)
        problems = point_problem(document.metering_point_id)
        if all(v is None for v in characteristics_fields(document).values()):
            problems.append({"code": "master_data.empty", "pointer": "",
                             "detail": "give at least one characteristic to change"})
        problems += identifier_problem(validate_eic, document.grid_area, "/gridArea")
        problems += code_problems(document.consumption_code, document.industry_code)
        reject_if_invalid("master_data.invalid", "The master-data change is not valid", problems)
        return await master_data(request, who, "master-data", "grid_owner",
                                 str(document.message_id), document.metering_point_id,
                                 "ChangeOfCharacteristics", change_document(document))

    @router.post("/v1/customer-information", status_code=202, tags=["intake"],
                 response_model=Accepted, responses=INTAKE_RESPONSES)
    async def customer_information(document: CustomerInformationIn, who: Authenticated,
                                   request: Request) -> JSONResponse:
        """BRS-NO-301: the customer's contacts, each with kind and purpose."""
        require(who, Role.SUPPLIER)
        problems = point_problem(document.metering_point_id)
        for i, contact in enumerate(document.contacts):
            if (why := contact_problem(contact.kind, contact.value)) is not None:
                problems.append({"code": f"contact.{contact.kind}", "detail": why,
                                 "pointer": f"/contacts/{i}/value"})
        reject_if_invalid("customer_information.invalid", "The customer information is not valid",
                problems)
        return await master_data(request, who, "customer-information", "supplier",
                                 str(document.message_id), document.metering_point_id,
                                 "CustomerInformationUpdate",
                                 customer_information_document(document))

    @router.post("/v1/third-party-access", status_code=202, tags=["intake"],
                 response_model=Accepted, responses=INTAKE_RESPONSES)
    async def third_party_access(document: ThirdPartyAccessIn, who: Authenticated,
                                 request: Request) -> JSONResponse:
        """BRS-NO-622: ask for access to a point's data (add) or give it up (delete)."""
        require(who, Role.THIRD_PARTY)
        problems = point_problem(document.metering_point_id)
        if (document.valid_from and document.valid_to
                and document.valid_to <= document.valid_from):
            problems.append({"code": "access.period", "pointer": "/validTo",
                             "detail": "validTo must be after validFrom"})
        reject_if_invalid("third_party_access.invalid", "The access request is not valid", problems)
        return await master_data(request, who, "third-party-access", "third_party",
                                 str(document.message_id), document.metering_point_id,
                                 "ThirdPartyAccessRequest",
                                 third_party_access_document(document))

    @router.post("/v1/third-party-access/{request_id}/approval", status_code=202,
                 tags=["intake"], response_model=Accepted, responses=INTAKE_RESPONSES)
    async def approve_third_party_access(
            request_id: Annotated[str, Path(max_length=64)], document: AccessApprovalIn,
            who: Authenticated, request: Request) -> JSONResponse:
        """The end user's approval of a request (an operator stands in for the portal)."""
        require(who, Role.OPERATOR)
        reject_if_invalid("approval.invalid", "The approval is not valid",
                point_problem(document.metering_point_id))
        return await master_data(request, who, "access-approval", "operator",
                                 str(document.message_id), document.metering_point_id,
                                 "ThirdPartyAccessApproval", {"requestId": request_id})

    return router
