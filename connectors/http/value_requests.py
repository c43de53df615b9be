"""``POST /v1/requests/metering-values``: historical values on request (BRS-NO-315).

A supplier or a third party asks for a point's values over a period. The request goes to the
task that holds the point (connectors/http/point_reads.py); it writes the answer straight into
the caller's metering-values queue, in the same transaction as its reply, with the values'
current versions and only for the times the caller was the point's supplier or had access
(domain/read_access.py). The API answers 202 once the answer is in the queue, with the number
of messages; a repeated messageId is answered 200 duplicate and not answered again.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from connectors.http.auth import Role, require
from connectors.http.deps import Authenticated
from connectors.http.intake_answers import INTAKE_RESPONSES
from connectors.http.json_body import StrictJsonRoute
from connectors.http.point_reads import PointReads, periods_of
from connectors.http.problems import Problem
from connectors.http.services import Services
from domain.identifiers import IdentifierError, validate_norwegian_gsrn
from domain.problem_codes import Code
from schemas.api import MeteringValuesRequestAccepted, MeteringValuesRequestIn
from streams.logging import get_logger
from streams.records.point_requests import PointReply

log = get_logger(__name__)
DOCUMENT = "metering-values-request"
MAX_PERIOD = timedelta(days=366, hours=1)


def request_problems(document: MeteringValuesRequestIn) -> list[dict[str, str]]:
    """Every problem of the request, with its pointer."""
    problems = []
    try:
        validate_norwegian_gsrn(document.metering_point_id)
    except IdentifierError as exc:
        problems.append({"code": exc.code, "pointer": "/meteringPointId", "detail": str(exc)})
    start, end = document.start.astimezone(UTC), document.end.astimezone(UTC)
    if end <= start:
        problems.append({"code": Code.VALUES_REQUEST_PERIOD, "pointer": "/end",
                         "detail": "end must be after start"})
    elif end - start > MAX_PERIOD:
        problems.append({"code": Code.VALUES_REQUEST_PERIOD, "pointer": "/end",
                         "detail": "a request covers at most 366 days; ask again for more"})
    return problems


def value_request_routes(services: Services, reads: PointReads) -> APIRouter:
    router = APIRouter(tags=["requests"], route_class=StrictJsonRoute)

    @router.post("/v1/requests/metering-values", status_code=202,
                 response_model=MeteringValuesRequestAccepted,
                 responses={**INTAKE_RESPONSES, 404: {
                     "description": "No such point, or no part of the period the caller may "
                                    "read (it was never its supplier or had no access then)"}})
    async def request_metering_values(document: MeteringValuesRequestIn, who: Authenticated,
                                      request: Request) -> JSONResponse:
        """A point's values over a period, for the times the caller was its supplier or had
        access, into the caller's metering-values queue (current versions)."""
        require(who, Role.SUPPLIER, Role.THIRD_PARTY)
        if problems := request_problems(document):
            raise Problem(400, Code.VALUES_REQUEST_INVALID, "The request is not valid",
                          f"{len(problems)} problem(s) found", problems)
        producer, ledger = services.ready_producer(), services.ready_ledger()
        role = Role.SUPPLIER if Role.SUPPLIER in who.roles else Role.THIRD_PARTY
        await services.ready_actors().register(producer, who.party, str(role))
        message_id = str(document.message_id)
        answers: list[PointReply] = []

        async def ask() -> None:
            answers.append(await reads.ask("history", who, document.metering_point_id,
                                           document.start, document.end, message_id))

        accepted = await ledger.accept_once(who.party, message_id, DOCUMENT,
                                            await request.body(), ask)
        if not accepted:
            return JSONResponse({"messageId": message_id, "status": "duplicate"},
                                status_code=200)
        answer = answers[0]
        log.info("history request", actor=who.party, message_id=message_id,
                 metering_point=document.metering_point_id, messages=answer["messages"])
        return JSONResponse(jsonable_encoder({
            "messageId": message_id, "status": "accepted", "messages": answer["messages"],
            "readablePeriods": [{"start": p.start, "end": p.end}
                                for p in periods_of(answer)]}), status_code=202)

    return router
