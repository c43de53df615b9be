"""Queue routes: an actor polls and acknowledges its own two queues, and sees their depth.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from connectors.http.deps import Authenticated
from connectors.http.json_body import StrictJsonRoute
from connectors.http.owners import QueueOwners
from connectors.http.problems import Problem
from connectors.http.queues import poll_answer
from connectors.http.services import Services
from schemas.answers import Acknowledged
from schemas.api import AckRequest, QueuesOverview
from schemas.queue_payloads import PollAnswer
from streams.logging import get_logger
from streams.topics import Queue

log = get_logger(__name__)


def queue_routes(services: Services, owners: QueueOwners) -> APIRouter:
    router = APIRouter(route_class=StrictJsonRoute)

    @router.post("/v1/queues/{queue}/poll", tags=["queues"], response_model=PollAnswer,
                 responses={204: {"description": "The queue is empty"}})
    async def poll(queue: Queue, who: Authenticated, request: Request,
                   max: Annotated[int, Query(ge=1, le=2000)] = 100) -> Response:
        if not owners.mine(who.party):
            return await owners.forward(who.party, request)
        queues = services.ready_queues()
        result = await queues.poll(who.party, queue, max)
        if result is None:
            return Response(status_code=204)
        poll_id, messages = result
        return Response(poll_answer(poll_id, messages), media_type="application/json")

    @router.post("/v1/queues/{queue}/ack", tags=["queues"], response_model=Acknowledged)
    async def ack(queue: Queue, body: AckRequest, who: Authenticated, request: Request
                  ) -> Response:
        if not owners.mine(who.party):
            return await owners.forward(who.party, request)
        queues = services.ready_queues()
        result = await queues.ack(who.party, queue, body.poll_id)
        if result == "unknown":
            raise Problem(404, "poll.unknown", "No such poll",
                          "this queue has no open poll with that id")
        return JSONResponse({"pollId": body.poll_id, "status": result})

    @router.get("/v1/queues", tags=["queues"], response_model=QueuesOverview)
    async def queues_overview(who: Authenticated, request: Request) -> Response:
        if not owners.mine(who.party):
            return await owners.forward(who.party, request)
        queues = services.ready_queues()
        return JSONResponse({"queues": await queues.status(who.party)})

    return router
