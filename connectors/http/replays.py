"""Operator endpoints for replays and queue re-deliveries (the same engine as the CLI).

A replay started here runs as a background task of this API process, at its rate bound, and
checkpoints like any other: if the process stops, `straum replay resume` (or the resume
endpoint) continues it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal, Protocol

from fastapi import APIRouter, Path
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import Field, StrictBool, StrictFloat

from connectors.http.auth import Caller, Role, require
from connectors.http.deps import Authenticated
from connectors.http.json_body import StrictJsonRoute
from connectors.http.problems import Problem
from connectors.replay import Replayer, ReplayError, State
from domain.replay import ReplayPlan, ReplayScope
from schemas.answers import ReplayJobOut, ReplayJobs, ReplayStarted
from schemas.api import ContractModel
from schemas.fields import GridAreaId, HubDateTime, PartyId, PointId
from schemas.settings import Settings
from streams.logging import get_logger
from streams.records.replay_job import Job
from streams.topics import Queue

log = get_logger(__name__)


MAX_REPLAY_RATE = 1_000_000.0
"""Series per second; far above what a broker takes, so only a mistake is refused."""


class ReplayIn(ContractModel):
    from_: HubDateTime = Field(alias="from")
    to: HubDateTime
    by: Literal["value-time", "intake-time"] = "value-time"
    metering_points: list[PointId] = Field(default_factory=list, max_length=10_000)
    grid_areas: list[GridAreaId] = Field(default_factory=list, max_length=500)
    recipients: list[PartyId] = Field(default_factory=list, max_length=1_000)
    rate: StrictFloat = Field(default=500.0, ge=0, le=MAX_REPLAY_RATE, allow_inf_nan=False)
    dry_run: StrictBool = False


class RedeliveryIn(ContractModel):
    actor: PartyId = Field(min_length=13)
    queue: Queue
    since: HubDateTime


class HasSettings(Protocol):
    settings: Settings


def job_json(job: Job) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "status": job.status, "operator": job.operator,
            "createdAt": job.created_at, "from": job.scope.start, "to": job.scope.end,
            "by": job.scope.by, "plannedSeries": job.planned_series,
            "plannedMessages": job.planned_messages, "sentSeries": job.sent_series,
            "sentMessages": job.sent_messages, "rate": job.rate, "note": job.note}


def plan_json(plan: ReplayPlan) -> dict[str, Any]:
    return {"series": plan.series, "messages": plan.messages,
            "perRecipient": dict(sorted(plan.per_recipient.items()))}


def replay_routes(services: HasSettings) -> APIRouter:
    router = APIRouter(prefix="/v1/ops", tags=["operations"], route_class=StrictJsonRoute)
    replayer: Replayer | None = None
    running: dict[str, tuple[asyncio.Task[Job], asyncio.Event]] = {}

    async def engine(who: Caller) -> Replayer:
        nonlocal replayer
        require(who, Role.OPERATOR)
        if replayer is None:
            replayer = Replayer(services.settings)
            await replayer.start()
        return replayer

    def start(r: Replayer, job: Job, state: State) -> None:
        stop = asyncio.Event()

        async def run() -> Job:
            try:
                return await r.run(job, state, should_stop=stop.is_set)
            except Exception as exc:  # say so in the audit record; the job can be resumed
                log.error("replay failed", replay=job.id, error=str(exc))
                raise
            finally:
                running.pop(job.id, None)

        running[job.id] = (asyncio.create_task(run()), stop)

    @router.post("/replays", response_model=ReplayStarted, responses={
        202: {"model": ReplayStarted, "description": "The replay runs in the background"}})
    async def create_replay(body: ReplayIn, who: Authenticated) -> JSONResponse:
        r = await engine(who)
        scope = ReplayScope(body.from_, body.to, body.by, frozenset(body.metering_points),
                            frozenset(body.grid_areas), frozenset(body.recipients))
        try:
            plan, positions, state = await r.plan(scope)
        except ReplayError as exc:
            raise Problem(409 if "overlapping" in str(exc) else 400, "replay.refused",
                          "The replay cannot run", str(exc)) from exc
        if body.dry_run or plan.series == 0:
            return JSONResponse(jsonable_encoder({"dryRun": True, "plan": plan_json(plan)}))
        job = r.new_job(scope, who.party, body.rate, positions, plan)
        await r.save(job)
        start(r, job, state)
        return JSONResponse(jsonable_encoder({"replay": job_json(job), "plan": plan_json(plan)}),
                            status_code=202)

    @router.get("/replays", response_model=ReplayJobs)
    async def list_replays(who: Authenticated) -> JSONResponse:
        r = await engine(who)
        jobs = sorted(r.jobs.values.values(), key=lambda j: j.created_at, reverse=True)
        return JSONResponse(jsonable_encoder({"replays": [job_json(j) for j in jobs]}))

    async def job_of(who: Caller, job_id: str) -> tuple[Replayer, Job]:
        r = await engine(who)
        job = r.jobs.values.get(job_id)
        if job is None:
            raise Problem(404, "replay.unknown", "No such replay")
        return r, job

    JobId = Path(max_length=64)

    @router.get("/replays/{job_id}", response_model=ReplayJobOut)
    async def get_replay(who: Authenticated, job_id: str = JobId
                         ) -> JSONResponse:
        _, job = await job_of(who, job_id)
        return JSONResponse(jsonable_encoder(job_json(job)))

    @router.post("/replays/{job_id}/stop", response_model=ReplayJobOut)
    async def stop_replay(who: Authenticated, job_id: str = JobId
                          ) -> JSONResponse:
        _, job = await job_of(who, job_id)
        if job_id in running:
            task, stop = running[job_id]
            stop.set()
            job = await task
        return JSONResponse(jsonable_encoder(job_json(job)))

    @router.post("/replays/{job_id}/resume", status_code=202, response_model=ReplayJobOut)
    async def resume_replay(who: Authenticated, job_id: str = JobId
                            ) -> JSONResponse:
        r, job = await job_of(who, job_id)
        if job.status == "done" or job_id in running:
            raise Problem(409, "replay.not_resumable", f"the replay is {job.status}")
        job.status = "running"
        start(r, job, await r.load_state(job.scope))
        return JSONResponse(jsonable_encoder(job_json(job)), status_code=202)

    @router.post("/redeliveries", status_code=201, response_model=ReplayJobOut)
    async def redeliver(body: RedeliveryIn, who: Authenticated) -> JSONResponse:
        r = await engine(who)
        try:
            job = await r.redeliver(body.actor, body.queue, body.since, who.party)
        except ReplayError as exc:
            raise Problem(404, "queue.unknown", "No such queue", str(exc)) from exc
        return JSONResponse(jsonable_encoder(job_json(job)), status_code=201)

    return router

