"""Operator routes: the /ops page and /v1/ops (lag, alerts, queues, availability, maintenance,
næringskode migration lists), all for the operator role.
"""

from __future__ import annotations

import pathlib
import time
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse

from connectors.http.auth import Caller, Role, require
from connectors.http.deps import Authenticated
from connectors.http import runbook
from connectors.http.json_body import StrictJsonRoute
from connectors.http.ops import OpsView
from connectors.http.problems import Problem
from connectors.http.services import Services, _jsonable
from connectors.reference_data import ReferenceData
from connectors.state_reader import read_points
from domain.availability import Availability, MaintenanceWindow, maintenance_problems
from domain.metering_point import points_to_migrate
from schemas.answers import (
    Alerts,
    AvailabilityReport,
    IndustryCodeMigration,
    LagReport,
    MaintenanceWindowOut,
    MaintenanceWindows,
    OpsQueues,
)
from schemas.api import (
    MaintenanceIn,
)
from straum.logging import get_logger

log = get_logger(__name__)

OPS_PAGE = pathlib.Path(__file__).resolve().parent / "static" / "ops.html"


def window_json(window: MaintenanceWindow) -> dict[str, Any]:
    return {"id": window.id, "start": window.start, "end": window.end, "reason": window.reason}


def availability_json(a: Availability) -> dict[str, Any]:
    return {"period": a.period, "minutes": a.minutes, "observedMinutes": a.observed,
            "upMinutes": a.up, "plannedDownMinutes": a.planned_down,
            "unplannedDownMinutes": a.unplanned_down, "unobservedMinutes": a.unobserved,
            "availabilityPercent": a.percent}


def ops_routes(services: Services) -> APIRouter:
    router = APIRouter(route_class=StrictJsonRoute)

    @router.get("/ops", tags=["operations"], include_in_schema=False)
    async def ops_page() -> HTMLResponse:
        """The operators' page: static, no data of its own; it reads /v1/ops/* with a token."""
        return HTMLResponse(OPS_PAGE.read_text(encoding="utf-8"))

    @router.get("/runbook", tags=["operations"], include_in_schema=False)
    async def runbook_page() -> HTMLResponse:
        """The runbook, each section linkable: where alerts' runbook links lead by default."""
        return HTMLResponse(runbook.page())

    def ops_view(who: Caller) -> OpsView:
        require(who, Role.OPERATOR)
        services.kafka()
        assert services.ops is not None
        return services.ops

    @router.get("/v1/ops/lag", tags=["operations"], response_model=LagReport)
    async def ops_lag(who: Authenticated) -> JSONResponse:
        return JSONResponse(_jsonable(ops_view(who).lag()))

    @router.get("/v1/ops/alerts", tags=["operations"], response_model=Alerts)
    async def ops_alerts(who: Authenticated) -> JSONResponse:
        return JSONResponse(_jsonable({"alerts": ops_view(who).alerts()}))

    migration_cache: dict[str, Any] = {}

    @router.get("/v1/ops/industry-code-migration", tags=["operations"],
                response_model=IndustryCodeMigration)
    async def industry_code_migration(who: Authenticated) -> JSONResponse:
        """Per grid owner, the points that still carry an SN2007 næringskode (refreshed at
        most once a minute). Operators see all grid owners; a grid owner its own points."""
        require(who, Role.OPERATOR, Role.GRID_OWNER)
        services.kafka()
        if time.monotonic() - migration_cache.get("at", -1e9) > 60:
            reference = ReferenceData(services.settings)
            await reference.start()
            try:
                lists = reference.industry_codes()
            finally:
                await reference.stop()
            rows = (points_to_migrate((await read_points(services.settings)).values(), lists)
                    if lists else None)
            migration_cache.update(at=time.monotonic(), rows=rows)
        rows = migration_cache["rows"]
        if rows is None:
            return JSONResponse({"imported": False, "gridOwners": []})
        if Role.OPERATOR not in who.roles:
            rows = [r for r in rows if r[0] == who.party]
        owners: dict[str, list[dict[str, Any]]] = {}
        for grid_owner, point, code, candidates in rows:
            owners.setdefault(grid_owner, []).append(
                {"meteringPointId": point, "sn2007Code": code,
                 "sn2025Candidates": list(candidates)})
        return JSONResponse({"imported": True, "gridOwners": [
            {"gridOwner": g, "points": len(p), "details": p} for g, p in sorted(owners.items())]})

    @router.get("/v1/ops/queues", tags=["operations"], response_model=OpsQueues)
    async def ops_queues(who: Authenticated) -> JSONResponse:
        return JSONResponse(_jsonable({"queues": ops_view(who).queues()}))

    @router.post("/v1/ops/maintenance", tags=["operations"], status_code=201,
                 response_model=MaintenanceWindowOut)
    async def declare_maintenance(body: MaintenanceIn, who: Authenticated) -> JSONResponse:
        """Declare planned maintenance in advance: downtime inside it counts as planned."""
        view = ops_view(who)
        problems = maintenance_problems(body.start, body.end, datetime.now(UTC))
        if problems:
            raise Problem(400, "maintenance.invalid", "The maintenance window is not valid",
                          problems=[{"code": "maintenance.window", "pointer": "/start",
                                     "detail": p} for p in problems])
        window = MaintenanceWindow(str(uuid.uuid4()), body.start, body.end, body.reason)
        producer, _, _ = services.kafka()
        await view.declare(producer, window, who.party)
        return JSONResponse(_jsonable(window_json(window)), status_code=201)

    @router.get("/v1/ops/maintenance", tags=["operations"],
                response_model=MaintenanceWindows)
    async def list_maintenance(who: Authenticated) -> JSONResponse:
        return JSONResponse(_jsonable(
            {"windows": [window_json(w) for w in ops_view(who).windows()]}))

    @router.get("/v1/ops/availability", tags=["operations"],
                response_model=AvailabilityReport)
    async def ops_availability(
            who: Authenticated,
            from_: Annotated[date, Query(alias="from")],
            to: Annotated[date, Query()]) -> JSONResponse:
        """Technical availability per day and month, planned maintenance counted apart."""
        view = ops_view(who)
        if to < from_ or (to - from_).days > 366 or from_.year < 2000 or to.year > 2100:
            raise Problem(400, "availability.range", "The period is not valid",
                          "give from <= to, at most 366 days apart, between 2000 and 2100",
                          problems=[{"code": "availability.range", "pointer": "/query/to",
                                     "detail": "to must be on or after from, within 366 days"}])
        days, months = await view.availability(from_, to)
        return JSONResponse(_jsonable({"days": [availability_json(a) for a in days],
                                       "months": [availability_json(a) for a in months]}))

    return router
