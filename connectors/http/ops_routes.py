"""Operator routes: the /ops page and /v1/ops (lag, alerts, queues, availability, maintenance,
næringskode migration lists), all for the operator role.
"""

from __future__ import annotations

import importlib.util
import pathlib
import time
import uuid
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from connectors.http import runbook
from connectors.http.auth import Caller, Role, require
from connectors.http.deps import Authenticated
from connectors.http.json_body import StrictJsonRoute
from connectors.http.ops import OpsView
from connectors.http.problems import Problem
from connectors.http.services import Services, _jsonable
from connectors.ops.history import read_between
from connectors.reference_data import ReferenceData
from connectors.state_reader import read_points
from domain.availability import Availability, MaintenanceWindow, maintenance_problems
from domain.metering_point import points_to_migrate
from domain.ops_history import thin, timeline
from schemas.answers import (
    Alerts,
    AlertTimeline,
    AvailabilityReport,
    IndustryCodeMigration,
    LagReport,
    MaintenanceWindowOut,
    MaintenanceWindows,
    OpsHistory,
    OpsQueues,
    camel_case,
)
from schemas.api import (
    MaintenanceIn,
)
from schemas.fields import HubDateTime
from streams.logging import get_logger
from streams.records import ops_history as history_records

log = get_logger(__name__)

OPS_PAGE = pathlib.Path(__file__).resolve().parent / "static" / "ops.html"


def _plotly_js() -> pathlib.Path:
    """plotly.js in the installed plotly package (found without importing it)."""
    spec = importlib.util.find_spec("plotly")
    assert spec is not None and spec.submodule_search_locations, "plotly is not installed"
    return pathlib.Path(spec.submodule_search_locations[0]) / "package_data" / "plotly.min.js"


PLOTLY_JS = _plotly_js()


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

    @router.get("/ops/assets/plotly.min.js", include_in_schema=False)
    async def plotly_js() -> FileResponse:
        """plotly.js as the plotly package installs it (a dependency; never copied here)."""
        return FileResponse(PLOTLY_JS, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    @router.get("/runbook", tags=["operations"], include_in_schema=False)
    async def runbook_page() -> HTMLResponse:
        """The runbook, each section linkable: where alerts' runbook links lead by default."""
        return HTMLResponse(runbook.page())

    def ops_view(who: Caller) -> OpsView:
        require(who, Role.OPERATOR)
        return services.ready_ops()

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
        services.ready_producer()  # connected: the points are read from Kafka
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
        producer = services.ready_producer()
        await view.declare(producer, window, who.party)
        return JSONResponse(_jsonable(window_json(window)), status_code=201)

    @router.get("/v1/ops/maintenance", tags=["operations"],
                response_model=MaintenanceWindows)
    async def list_maintenance(who: Authenticated) -> JSONResponse:
        return JSONResponse(_jsonable(
            {"windows": [window_json(w) for w in ops_view(who).windows()]}))

    def window(from_: datetime | None, to: datetime | None) -> tuple[datetime, datetime]:
        end = to or datetime.now(UTC)
        start = from_ or end - timedelta(hours=6)
        if not start < end or end - start > timedelta(days=400):
            raise Problem(400, "history.range", "The period is not valid",
                          "give from < to, at most 400 days apart",
                          problems=[{"code": "history.range", "pointer": "/query/from",
                                     "detail": "from must be before to, within 400 days"}])
        return start, end

    @router.get("/v1/ops/history", tags=["operations"], response_model=OpsHistory)
    async def ops_history(
            who: Authenticated,
            from_: Annotated[HubDateTime | None, Query(alias="from")] = None,
            to: Annotated[HubDateTime | None, Query()] = None,
            points: Annotated[int, Query(ge=10, le=2000)] = 720) -> JSONResponse:
        """The monitor's figures over time (default: the last 6 hours), at most ``points``
        samples: lag, throughput, catch-up time, dead letters, alerts, queues."""
        ops_view(who)
        start, end = window(from_, to)
        found = await read_between(services.settings, services.catalogue.ops_history, start,
                                   end, history_records.decode_sample, lambda s: s.at)
        samples, step = thin(found, start, end, points)
        return JSONResponse(_jsonable({
            "from": start, "to": end, "stepSeconds": step.total_seconds(),
            "samples": [camel_case(asdict(s)) for s in samples]}))

    @router.get("/v1/ops/alert-timeline", tags=["operations"], response_model=AlertTimeline)
    async def alert_timeline(
            who: Authenticated,
            from_: Annotated[HubDateTime | None, Query(alias="from")] = None,
            to: Annotated[HubDateTime | None, Query()] = None) -> JSONResponse:
        """Every period an alert fired in the window (default: the last 6 hours)."""
        ops_view(who)
        start, end = window(from_, to)
        events = await read_between(services.settings, services.catalogue.alert_events,
                                    start - timedelta(days=7), end, history_records.decode_event,
                                    lambda e: e["at"])
        return JSONResponse(_jsonable({
            "from": start, "to": end,
            "periods": [camel_case(asdict(p)) for p in timeline(events, start, end)]}))

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
