"""Queue routes: an actor polls and acknowledges its own two queues, and sees their depth.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from connectors.http.deps import Authenticated
from connectors.http.json_body import StrictJsonRoute
from connectors.http.problems import Problem
from connectors.http.services import Services
from schemas.api import (
    AckRequest,
)
from straum.logging import get_logger
from streams.topics import Queue

log = get_logger(__name__)


def queue_routes(services: Services) -> APIRouter:
    router = APIRouter(route_class=StrictJsonRoute)

    @router.post("/v1/queues/{queue}/poll", tags=["queues"],
              responses={204: {"description": "The queue is empty"}})
    async def poll(queue: Queue, who: Authenticated,
                   max: Annotated[int, Query(ge=1, le=2000)] = 100) -> Response:
        _, queues, _ = services.kafka()
        result = await queues.poll(who.party, queue, max)
        if result is None:
            return Response(status_code=204)
        poll_id, messages = result
        return JSONResponse({"pollId": poll_id, "messages": messages})

    @router.post("/v1/queues/{queue}/ack", tags=["queues"])
    async def ack(queue: Queue, body: AckRequest, who: Authenticated) -> dict[str, str]:
        _, queues, _ = services.kafka()
        result = await queues.ack(who.party, queue, body.poll_id)
        if result == "unknown":
            raise Problem(404, "poll.unknown", "No such poll",
                          "this queue has no open poll with that id")
        return {"pollId": body.poll_id, "status": result}

    @router.get("/v1/queues", tags=["queues"])
    async def queues_overview(who: Authenticated) -> JSONResponse:
        _, queues, _ = services.kafka()
        return JSONResponse({"queues": await queues.status(who.party)})

    return router
