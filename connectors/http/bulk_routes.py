"""Master data in bulk: many registrations or changes of characteristics in one call.

A national first load is millions of points; one document per request costs the HTTP and
authentication work millions of times. A bulk call is checked as a whole (every problem with
its pointer into ``/documents/<i>``, and nothing written if there is one), then each document
is written durably once per (sender, messageId), exactly as if it had come alone: the
processors see one intake record per document and answer each with its own acknowledgement.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connectors.http.auth import Caller, Role, require
from connectors.http.deps import Authenticated
from connectors.http.documents import Document
from connectors.http.intake import (
    change_document,
    characteristics_fields,
    master_data_record,
    registration_document,
)
from connectors.http.intake_routes import (
    Problems,
    code_problems,
    identifier_problem,
    point_problem,
    reject_if_invalid,
)
from connectors.http.json_body import StrictJsonRoute
from connectors.http.services import INTAKE, INTAKE_RESPONSES, Services
from domain.identifiers import validate_eic
from schemas.api import (
    BulkAccepted,
    BulkChangesIn,
    BulkRegistrationsIn,
    MasterDataChangeIn,
    MeteringPointRegistrationIn,
)


def _within(index: int, problems: Problems) -> Problems:
    return [{**p, "pointer": f"/documents/{index}{p['pointer']}"} for p in problems]


def registration_problems(index: int, d: MeteringPointRegistrationIn) -> Problems:
    return _within(index, point_problem(d.metering_point_id)
                   + identifier_problem(validate_eic, d.grid_area, "/gridArea")
                   + code_problems(d.consumption_code, d.industry_code))


def change_problems(index: int, d: MasterDataChangeIn) -> Problems:
    problems = point_problem(d.metering_point_id)
    if all(v is None for v in characteristics_fields(d).values()):
        problems.append({"code": "master_data.empty", "pointer": "",
                         "detail": "give at least one characteristic to change"})
    problems += identifier_problem(validate_eic, d.grid_area, "/gridArea")
    problems += code_problems(d.consumption_code, d.industry_code)
    return _within(index, problems)


def bulk_routes(services: Services) -> APIRouter:
    router = APIRouter(route_class=StrictJsonRoute)

    async def write(who: Caller, document_type: str, record_type: str,
                    documents: list[tuple[MeteringPointRegistrationIn | MasterDataChangeIn,
                                          dict[str, object]]]) -> JSONResponse:
        producer, _, ledger = services.kafka()
        assert services.actors is not None
        actors = services.actors
        bulk = [Document(str(d.message_id), document_type,
                         orjson.dumps(d.model_dump(mode="json", by_alias=True)),
                         [master_data_record(message_id=str(d.message_id), sender=who.party,
                                             sender_role="grid_owner",
                                             metering_point_id=d.metering_point_id,
                                             document_type=record_type, document=document)])
                for d, document in documents]

        async def accept_all() -> list[bool]:
            await actors.register(producer, who.party, "grid_owner")
            return await ledger.accept_all_once(who.party, services.catalogue.master_data,
                                                bulk)

        written = await services.durably(accept_all(), document_type, who.party)
        accepted = sum(written)
        INTAKE.labels(document_type, "accepted").inc(accepted)
        INTAKE.labels(document_type, "duplicate").inc(len(written) - accepted)
        answer = BulkAccepted(documents=[
            {"message_id": d.message_id, "status": "accepted" if new else "duplicate"}
            for d, new in zip(bulk, written, strict=True)])
        return JSONResponse(answer.model_dump(by_alias=True),
                            status_code=202 if accepted else 200)

    @router.post("/v1/metering-points/bulk", status_code=202, tags=["intake"],
                 response_model=BulkAccepted, responses=INTAKE_RESPONSES)
    async def register_metering_points(body: BulkRegistrationsIn, who: Authenticated,
                                       request: Request) -> JSONResponse:
        """BRS-NO-121 for many points at once (a first load): every document as if sent
        alone, each acknowledged in the grid owner's market-processes queue."""
        require(who, Role.GRID_OWNER)
        reject_if_invalid("metering_point.invalid", "Metering points are not valid",
                          [p for i, d in enumerate(body.documents)
                           for p in registration_problems(i, d)])
        return await write(who, "metering-points", "MeteringPointRegistration",
                           [(d, registration_document(d)) for d in body.documents])

    @router.post("/v1/master-data/bulk", status_code=202, tags=["intake"],
                 response_model=BulkAccepted, responses=INTAKE_RESPONSES)
    async def change_master_data(body: BulkChangesIn, who: Authenticated,
                                 request: Request) -> JSONResponse:
        """BRS-NO-302 for many points at once: each change as if sent alone."""
        require(who, Role.GRID_OWNER)
        reject_if_invalid("master_data.invalid", "Master-data changes are not valid",
                          [p for i, d in enumerate(body.documents)
                           for p in change_problems(i, d)])
        return await write(who, "master-data", "ChangeOfCharacteristics",
                           [(d, change_document(d)) for d in body.documents])

    return router
