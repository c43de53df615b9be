"""Structural checks of the intake documents: every problem with its code and its pointer.

Pure functions of a typed document (no hub state, no Kafka): the routes hand what they find to
the intake service, which writes nothing when there is any problem. A bulk call prefixes each
document's pointers with ``/documents/<i>``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from connectors.http.intake import characteristics_fields
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
from domain.supply import start_window_reasons
from schemas.api import (
    CustomerInformationIn,
    EndUser,
    MasterDataChangeIn,
    MeteringPointRegistrationIn,
    StartOfSupplyIn,
    ThirdPartyAccessIn,
)

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


def within(index: int, problems: Problems) -> Problems:
    """``problems`` of the bulk's document ``index``, pointing into ``/documents/<index>``."""
    return [{**p, "pointer": f"/documents/{index}{p['pointer']}"} for p in problems]


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


def registration_problems(d: MeteringPointRegistrationIn) -> Problems:
    """BRS-NO-121: the point, its grid area and its codes."""
    return (point_problem(d.metering_point_id)
            + identifier_problem(validate_eic, d.grid_area, "/gridArea")
            + code_problems(d.consumption_code, d.industry_code))


def start_of_supply_problems(d: StartOfSupplyIn, today: date, max_days_ahead: int
                             ) -> Problems:
    """BRS-NO-101: the point, the end user, and the process's window at once (a start far
    ahead would block the point)."""
    return (point_problem(d.metering_point_id) + end_user_problems(d.end_user)
            + [{"code": r.code, "pointer": "/startDate", "detail": r.text}
               for r in start_window_reasons(d.start_date, today,
                                             max_days_ahead=max_days_ahead)])


def change_problems(d: MasterDataChangeIn) -> Problems:
    """BRS-NO-302: the point, at least one characteristic, and each one given."""
    problems = point_problem(d.metering_point_id)
    if all(v is None for v in characteristics_fields(d).values()):
        problems.append({"code": "master_data.empty", "pointer": "",
                         "detail": "give at least one characteristic to change"})
    return (problems + identifier_problem(validate_eic, d.grid_area, "/gridArea")
            + code_problems(d.consumption_code, d.industry_code))


def customer_information_problems(d: CustomerInformationIn) -> Problems:
    """BRS-NO-301: the point and each contact's value for its kind."""
    return point_problem(d.metering_point_id) + [
        {"code": f"contact.{contact.kind}", "detail": why, "pointer": f"/contacts/{i}/value"}
        for i, contact in enumerate(d.contacts)
        if (why := contact_problem(contact.kind, contact.value)) is not None]


def third_party_access_problems(d: ThirdPartyAccessIn) -> Problems:
    """BRS-NO-622: the point and a period that ends after it starts."""
    problems = point_problem(d.metering_point_id)
    if d.valid_from and d.valid_to and d.valid_to <= d.valid_from:
        problems.append({"code": "access.period", "pointer": "/validTo",
                         "detail": "validTo must be after validFrom"})
    return problems
