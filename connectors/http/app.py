"""The HTTP API: intake, actor queues, health and metrics (market-api.md).

Every route but /healthz, /readyz and /metrics checks the bearer token and the caller's role;
an actor only ever reaches its own queues.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from connectors.http.auth import AuthError, TokenVerifier
from connectors.http.bulk_routes import bulk_routes
from connectors.http.consent_routes import (
    AccessApiError,
    ConsentViews,
    access_api_error_handler,
    consent_routes,
    is_access_api_path,
)
from connectors.http.contracts import (
    JsonApiError,
    contract_routes,
    is_jsonapi_path,
    jsonapi_error_handler,
    jsonapi_validation_handler,
)
from connectors.http.intake_routes import intake_routes
from connectors.http.limits import BodyLimit
from connectors.http.moving_routes import moving_routes
from connectors.http.norgespris import norgespris_routes
from connectors.http.openapi import install as install_openapi
from connectors.http.ops_routes import ops_routes
from connectors.http.owners import QueueOwners
from connectors.http.point_reads import PointReads
from connectors.http.problems import (
    Problem,
    http_problem_handler,
    problem_handler,
    unexpected_handler,
    validation_handler,
)
from connectors.http.queue_routes import queue_routes
from connectors.http.ratelimit import RateLimiter
from connectors.http.replays import replay_routes
from connectors.http.services import (
    REQUEST_SECONDS,
    Services,
    _connect,
    _processors_assigned,
    not_durable,
)
from connectors.http.shared_production_routes import shared_production_routes
from connectors.http.tracing import TracedFastAPI
from connectors.http.value_requests import value_request_routes
from schemas.answers import Health, Readiness
from schemas.settings import Settings, get_settings
from streams.logging import get_logger
from streams.topics import TopicCatalogue

log = get_logger(__name__)


class Timing:
    """Request durations by route (a plain ASGI middleware: Starlette's ``@app.middleware``
    runs every request through extra tasks and streams, more than the intake's own work)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            REQUEST_SECONDS.labels(getattr(route, "path", "unmatched"),
                                   scope["method"]).observe(time.perf_counter() - started)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API application (uvicorn runs it; tests may too)."""
    settings = settings or get_settings()
    services = Services(settings, TopicCatalogue.from_settings(settings),
                        TokenVerifier(settings),
                        rate_limiter=RateLimiter(settings.rate_limit_per_second,
                                                 settings.rate_limit_burst))
    owners = QueueOwners.from_settings(settings)
    reads = PointReads(services)  # one reply follower for the comparison and history

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_connect(services))
        yield
        task.cancel()
        await services.stop()  # its parts and every view started on first use
        await reads.stop()
        if services.producer:
            await services.producer.stop()
        await owners.close()

    app = TracedFastAPI(title="straum", version="0.1.0", lifespan=lifespan,
                        summary="Message backend for an electricity datahub",
                        docs_url=None, redoc_url=None)  # served offline: connectors/http/openapi
    app.state.services = services
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       jsonapi=lambda path: is_jsonapi_path(path) or is_access_api_path(path))
    app.add_middleware(Timing)
    app.add_exception_handler(Problem, problem_handler)
    app.add_exception_handler(StarletteHTTPException, http_problem_handler)
    app.add_exception_handler(Exception, unexpected_handler)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        """Problem details; JSON:API error objects on the Contracts API."""
        if is_jsonapi_path(request.url.path):
            return await jsonapi_validation_handler(request, exc)
        return await validation_handler(request, exc)

    @app.exception_handler(AuthError)
    async def auth_failed(request: Request, exc: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        title = "Not authenticated" if exc.status == 401 else "Not allowed"
        return await problem_handler(request, Problem(exc.status, exc.code, title, exc.detail,
                                                      headers=headers))

    @app.exception_handler(KafkaError)
    async def broker_failed(request: Request, exc: KafkaError) -> JSONResponse:
        """A broker lost mid-request (a poll's position write, a read): 503 and Retry-After,
        never a 500; the request changed nothing the caller relies on."""
        log.warning("kafka error answered 503", path=request.url.path,
                    error_type=type(exc).__name__)
        return await problem_handler(request, not_durable(
            f"the message broker failed the request ({type(exc).__name__})"))

    # -- operations ----------------------------------------------------------------------
    @app.get("/healthz", tags=["operations"], response_model=Health)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], response_model=Readiness, responses={
        503: {"model": Readiness, "description": "Not ready: the body says what is missing"}})
    async def readyz() -> JSONResponse:
        broker = services.ready.is_set()
        processors = broker and await _processors_assigned(services)
        body = {"broker": "ok" if broker else "unreachable",
                "processors": "ok" if processors else "not assigned"}
        return JSONResponse(body, status_code=200 if broker and processors else 503)

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse, responses={
        200: {"description": "Prometheus text format", "content": {CONTENT_TYPE_LATEST: {
            "schema": {"type": "string"}}}}})
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(ops_routes(services))
    app.include_router(bulk_routes())
    app.include_router(intake_routes(settings))
    app.include_router(queue_routes(services, owners))
    app.include_router(replay_routes(services))
    app.include_router(contract_routes(services))
    app.include_router(norgespris_routes(services, reads))
    app.include_router(value_request_routes(services, reads))
    app.add_exception_handler(JsonApiError, jsonapi_error_handler)
    consent_views = app.state.consent_views = ConsentViews(services)
    app.include_router(consent_routes(services, consent_views))
    app.include_router(moving_routes(consent_views))
    app.include_router(shared_production_routes())
    app.add_exception_handler(AccessApiError, access_api_error_handler)
    install_openapi(app)

    return app
