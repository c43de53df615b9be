"""Master data in bulk: many registrations or changes of characteristics in one call.

A national first load is millions of points; one document per request costs the HTTP and
authentication work millions of times. A bulk call is checked as a whole (every problem with
its pointer into ``/documents/<i>``, and nothing written if there is one), then each document
is written durably once per (sender, messageId), exactly as if it had come alone: the
processors see one intake record per document and answer each with its own acknowledgement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from connectors.http.auth import Caller, Role, require
from connectors.http.deps import Authenticated, Intake
from connectors.http.documents import Document
from connectors.http.intake import change_document, master_data_record, registration_document
from connectors.http.intake_answers import INTAKE_RESPONSES, answer_bulk
from connectors.http.intake_checks import (
    Problems,
    change_problems,
    registration_problems,
    within,
)
from connectors.http.intake_service import BulkSubmission, IntakeService, Refusal
from connectors.http.json_body import StrictJsonRoute
from schemas.api import (
    BulkAccepted,
    BulkChangesIn,
    BulkRegistrationsIn,
    MasterDataChangeIn,
    MeteringPointRegistrationIn,
)

D = TypeVar("D", MeteringPointRegistrationIn, MasterDataChangeIn)


def bulk_documents(who: Caller, document_type: str, record_type: str, bulk: Sequence[D],
                   fields: Callable[[D], dict[str, Any]]) -> list[Document]:
    """Each document of a bulk as if it had come alone: its id, its own bytes, one record."""
    return [Document(str(d.message_id), document_type,
                     orjson.dumps(d.model_dump(mode="json", by_alias=True)),
                     [master_data_record(message_id=str(d.message_id), sender=who.party,
                                         sender_role="grid_owner",
                                         metering_point_id=d.metering_point_id,
                                         document_type=record_type, document=fields(d))])
            for d in bulk]


async def submit_bulk(intake: IntakeService, who: Caller, document_type: str,
                      record_type: str, refusal: Refusal, bulk: Sequence[D],
                      problems: Callable[[D], Problems], fields: Callable[[D], dict[str, Any]]
                      ) -> JSONResponse:
    """A grid owner's bulk through the intake service, answered."""
    require(who, Role.GRID_OWNER)
    return answer_bulk(await intake.submit_all(BulkSubmission(
        document_type, who.party, intake.parts.catalogue.master_data, refusal,
        [p for i, d in enumerate(bulk) for p in within(i, problems(d))],
        lambda: bulk_documents(who, document_type, record_type, bulk, fields))))


def bulk_routes() -> APIRouter:
    router = APIRouter(route_class=StrictJsonRoute)

    @router.post("/v1/metering-points/bulk", status_code=202, tags=["intake"],
                 response_model=BulkAccepted, responses=INTAKE_RESPONSES)
    async def register_metering_points(body: BulkRegistrationsIn, who: Authenticated,
                                       intake: Intake) -> JSONResponse:
        """BRS-NO-121 for many points at once (a first load): every document as if sent
        alone, each acknowledged in the grid owner's market-processes queue."""
        return await submit_bulk(
            intake, who, "metering-points", "MeteringPointRegistration",
            Refusal("metering_point.invalid", "Metering points are not valid"),
            body.documents, registration_problems, registration_document)

    @router.post("/v1/master-data/bulk", status_code=202, tags=["intake"],
                 response_model=BulkAccepted, responses=INTAKE_RESPONSES)
    async def change_master_data(body: BulkChangesIn, who: Authenticated,
                                 intake: Intake) -> JSONResponse:
        """BRS-NO-302 for many points at once: each change as if sent alone."""
        return await submit_bulk(
            intake, who, "master-data", "ChangeOfCharacteristics",
            Refusal("master_data.invalid", "Master-data changes are not valid"),
            body.documents, change_problems, change_document)

    return router
