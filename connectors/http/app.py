"""The HTTP API: intake, actor queues, health and metrics (market-api.md).

Every route but /healthz, /readyz and /metrics checks the bearer token and the caller's role;
an actor only ever reaches its own queues.
"""

from __future__ import annotations

import asyncio
import pathlib
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any

from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from connectors.actors import ActorRegistry
from connectors.http.auth import AuthError, Caller, Role, TokenVerifier, require
from connectors.http.contracts import JsonApiError, contract_routes, jsonapi_error_handler
from connectors.http.deps import Authenticated
from connectors.http.documents import DocumentLedger
from connectors.http.intake import master_data_record, send_all, series_records
from connectors.http.limits import BodyLimit
from connectors.http.norgespris import norgespris_routes
from connectors.http.ops import OpsView
from connectors.http.problems import Problem, problem_handler, validation_handler
from connectors.http.queues import QueueStore
from connectors.http.ratelimit import RateLimiter
from connectors.http.replays import replay_routes
from connectors.kafka import admin_client, durable_producer, ensure_topics, wait_for_broker
from connectors.reference_data import ReferenceData
from connectors.state_reader import read_points
from domain.availability import Availability, MaintenanceWindow, maintenance_problems
from domain.codes import check_consumption_code
from domain.customer_information import contact_problem
from domain.identifiers import (
    IdentifierError,
    validate_eic,
    validate_gsrn,
    validate_national_id,
    validate_organisation_number,
)
from domain.industry_codes import is_subclass_code
from domain.metering_point import points_to_migrate
from schemas.api import (
    Accepted,
    AccessApprovalIn,
    AckRequest,
    CustomerInformationIn,
    MaintenanceIn,
    MasterDataChangeIn,
    MeteringPointRegistrationIn,
    MeteringValuesDocument,
    StartOfSupplyIn,
    ThirdPartyAccessIn,
)
from straum.logging import get_logger
from straum.settings import Settings, get_settings
from streams.topics import Queue, TopicCatalogue

log = get_logger(__name__)

INTAKE = Counter("straum_intake_documents_total", "Intake documents", ["document", "result"])
INTAKE_SERIES = Counter("straum_intake_series_total", "Series accepted at intake")
OPS_PAGE = pathlib.Path(__file__).resolve().parent / "static" / "ops.html"
ROLE_OF_DOCUMENT = {"metering-values": "grid_owner", "metering-points": "grid_owner",
                    "start-of-supply": "supplier", "master-data": "grid_owner",
                    "customer-information": "supplier", "third-party-access": "third_party",
                    "access-approval": "operator"}
INTAKE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A message id this sender already used: nothing is processed twice",
          "model": Accepted},
    400: {"description": "Structural problems, each with a code and a JSON pointer"},
    413: {"description": "Body over the size limit"},
}
REQUEST_SECONDS = Histogram("straum_http_request_duration_seconds", "HTTP request time",
                            ["route", "method"])


@dataclass
class Services:
    """What the API holds while it runs; Kafka parts appear once the broker answers."""

    settings: Settings
    catalogue: TopicCatalogue
    verifier: TokenVerifier
    producer: AIOKafkaProducer | None = None
    queues: QueueStore | None = None
    ledger: DocumentLedger | None = None
    actors: ActorRegistry | None = None
    ops: OpsView | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    processors_seen: float = 0.0
    rate_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0, 1))

    def kafka(self) -> tuple[AIOKafkaProducer, QueueStore, DocumentLedger]:
        if (self.producer is None or self.queues is None or self.ledger is None
                or not self.ready.is_set()):
            raise Problem(503, "broker.unavailable", "The message broker is not reachable yet",
                          headers={"Retry-After": "2"})
        return self.producer, self.queues, self.ledger

    async def intake(self, request: Request, who: Caller, document_type: str, message_id: str,
                     topic: str, records: list[tuple[bytes, bytes]]) -> JSONResponse:
        """Write an intake document's records durably, once per (sender, messageId)."""
        producer, _, ledger = self.kafka()
        assert self.actors is not None
        await self.actors.register(producer, who.party, ROLE_OF_DOCUMENT[document_type])
        body = await request.body()
        accepted = await ledger.accept_once(who.party, message_id, document_type, body,
                                            lambda: send_all(producer, topic, records))
        status = "accepted" if accepted else "duplicate"
        INTAKE.labels(document_type, status).inc()
        log.info("intake document", document_type=document_type, message_id=message_id,
                 actor=who.party, records=len(records), status=status)
        return JSONResponse({"messageId": message_id, "status": status},
                            status_code=202 if accepted else 200)


async def _connect(services: Services) -> None:
    settings = services.settings
    while True:
        try:
            await wait_for_broker(settings, deadline_s=30)
            admin = admin_client(settings, "straum-api-admin")
            await admin.start()
            try:
                await ensure_topics(admin, services.catalogue.static_topics())
            finally:
                await admin.close()
            producer = durable_producer(settings, "straum-api")
            await producer.start()
            queues = QueueStore(settings, services.catalogue, producer)
            await queues.start()
            ledger = DocumentLedger(settings, services.catalogue, producer)
            await ledger.start()
            actors = ActorRegistry(settings, services.catalogue)
            await actors.start()
            services.actors = actors
            ops = OpsView(settings, services.catalogue)
            await ops.start()
            services.ops = ops
            services.producer, services.queues, services.ledger = producer, queues, ledger
            services.ready.set()
            log.info("api connected to kafka")
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # broker down: keep trying; /readyz says 503 meanwhile
            log.warning("api cannot reach kafka yet", error=str(exc))
            await asyncio.sleep(2)





def create_app(settings: Settings | None = None) -> FastAPI:
    """The API application (uvicorn runs it; tests may too)."""
    settings = settings or get_settings()
    services = Services(settings, TopicCatalogue.from_settings(settings),
                        TokenVerifier(settings),
                        rate_limiter=RateLimiter(settings.rate_limit_per_second,
                                                 settings.rate_limit_burst))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_connect(services))
        yield
        task.cancel()
        if services.queues:
            await services.queues.stop()
        if services.ledger:
            await services.ledger.stop()
        if services.actors:
            await services.actors.stop()
        if services.ops:
            await services.ops.stop()
        if services.producer:
            await services.producer.stop()

    app = FastAPI(title="straum", version="0.1.0", lifespan=lifespan,
                  summary="Message backend for an electricity datahub")
    app.state.services = services
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_exception_handler(Problem, problem_handler)
    app.add_exception_handler(RequestValidationError, validation_handler)

    @app.exception_handler(AuthError)
    async def auth_failed(request: Request, exc: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        title = "Not authenticated" if exc.status == 401 else "Not allowed"
        return await problem_handler(request, Problem(exc.status, exc.code, title, exc.detail,
                                                      headers=headers))

    @app.middleware("http")
    async def timing(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        REQUEST_SECONDS.labels(getattr(route, "path", "unmatched"), request.method).observe(
            time.perf_counter() - started)
        return response

    def identifier_problem(exc: IdentifierError, ptr: str) -> dict[str, str]:
        return {"code": exc.code, "pointer": ptr, "detail": str(exc)}

    # -- operations ----------------------------------------------------------------------
    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        broker = services.ready.is_set()
        processors = broker and await _processors_assigned(services)
        body = {"broker": "ok" if broker else "unreachable",
                "processors": "ok" if processors else "not assigned"}
        return JSONResponse(body, status_code=200 if broker and processors else 503)

    @app.get("/metrics", tags=["operations"])
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/ops", tags=["operations"], include_in_schema=False)
    async def ops_page() -> HTMLResponse:
        """The operators' page: static, no data of its own; it reads /v1/ops/* with a token."""
        return HTMLResponse(OPS_PAGE.read_text(encoding="utf-8"))

    def ops_view(who: Caller) -> OpsView:
        require(who, Role.OPERATOR)
        services.kafka()
        assert services.ops is not None
        return services.ops

    @app.get("/v1/ops/lag", tags=["operations"])
    async def ops_lag(who: Authenticated) -> JSONResponse:
        return JSONResponse(_jsonable(ops_view(who).lag()))

    @app.get("/v1/ops/alerts", tags=["operations"])
    async def ops_alerts(who: Authenticated) -> JSONResponse:
        return JSONResponse(_jsonable({"alerts": ops_view(who).alerts()}))

    migration_cache: dict[str, Any] = {}

    @app.get("/v1/ops/industry-code-migration", tags=["operations"])
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

    @app.get("/v1/ops/queues", tags=["operations"])
    async def ops_queues(who: Authenticated) -> JSONResponse:
        return JSONResponse(_jsonable({"queues": ops_view(who).queues()}))

    @app.post("/v1/ops/maintenance", tags=["operations"], status_code=201)
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

    @app.get("/v1/ops/maintenance", tags=["operations"])
    async def list_maintenance(who: Authenticated) -> JSONResponse:
        return JSONResponse(_jsonable(
            {"windows": [window_json(w) for w in ops_view(who).windows()]}))

    @app.get("/v1/ops/availability", tags=["operations"])
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

    app.include_router(replay_routes(services))
    app.include_router(contract_routes(services))
    app.include_router(norgespris_routes(services))
    app.add_exception_handler(JsonApiError, jsonapi_error_handler)

    # -- intake ----------------------------------------------------------------------------
    @app.post("/v1/metering-values", status_code=202, tags=["intake"],
              response_model=Accepted, responses=INTAKE_RESPONSES)
    async def metering_values(document: MeteringValuesDocument, who: Authenticated,
                              request: Request) -> JSONResponse:
        require(who, Role.GRID_OWNER)
        try:
            records = series_records(document, who.party)
        except Problem:
            INTAKE.labels("metering-values", "invalid").inc()
            raise
        response = await services.intake(request, who, "metering-values",
                                         str(document.message_id),
                                         services.catalogue.metering_values, records)
        if response.status_code == 202:
            INTAKE_SERIES.inc(len(records))
        return response

    @app.post("/v1/metering-points", status_code=202, tags=["intake"], response_model=Accepted,
              responses=INTAKE_RESPONSES)
    async def register_metering_point(document: MeteringPointRegistrationIn,
                                      who: Authenticated, request: Request) -> JSONResponse:
        require(who, Role.GRID_OWNER)
        problems = []
        try:
            validate_gsrn(document.metering_point_id)
        except IdentifierError as exc:
            problems.append(identifier_problem(exc, "/meteringPointId"))
        try:
            validate_eic(document.grid_area)
        except IdentifierError as exc:
            problems.append(identifier_problem(exc, "/gridArea"))
        problems += code_problems(document.consumption_code, document.industry_code)
        if problems:
            raise Problem(400, "metering_point.invalid", "The metering point is not valid",
                          problems=problems)
        record = master_data_record(
            message_id=str(document.message_id), sender=who.party, sender_role="grid_owner",
            metering_point_id=document.metering_point_id,
            document_type="MeteringPointRegistration",
            document={"gridArea": document.grid_area, "priceArea": document.price_area,
                      "pointType": document.type, "resolution": document.resolution,
                      "consumptionCode": document.consumption_code,
                      "industryCode": document.industry_code,
                      "productionType": document.production_type,
                      "validFrom": document.valid_from})
        return await services.intake(request, who, "metering-points", str(document.message_id),
                                     services.catalogue.master_data, [record])

    @app.post("/v1/start-of-supply", status_code=202, tags=["intake"], response_model=Accepted,
              responses=INTAKE_RESPONSES)
    async def start_of_supply(document: StartOfSupplyIn, who: Authenticated,
                              request: Request) -> JSONResponse:
        require(who, Role.SUPPLIER)
        problems = []
        try:
            validate_gsrn(document.metering_point_id)
        except IdentifierError as exc:
            problems.append(identifier_problem(exc, "/meteringPointId"))
        end_user = document.end_user
        if (end_user.national_id is None) == (end_user.organisation_number is None):
            problems.append({"code": "end_user.identifier", "pointer": "/endUser",
                             "detail": "give exactly one of nationalId or organisationNumber"})
        try:
            if end_user.national_id is not None:
                validate_national_id(end_user.national_id)
        except IdentifierError as exc:
            problems.append(identifier_problem(exc, "/endUser/nationalId"))
        try:
            if end_user.organisation_number is not None:
                validate_organisation_number(end_user.organisation_number)
        except IdentifierError as exc:
            problems.append(identifier_problem(exc, "/endUser/organisationNumber"))
        if problems:
            raise Problem(400, "start_of_supply.invalid", "The start of supply is not valid",
                          problems=problems)
        record = master_data_record(
            message_id=str(document.message_id), sender=who.party, sender_role="supplier",
            metering_point_id=document.metering_point_id, document_type="StartOfSupply",
            document={"startDate": document.start_date, "endUserName": end_user.name,
                      "endUserNationalId": end_user.national_id,
                      "endUserOrganisationNumber": end_user.organisation_number})
        return await services.intake(request, who, "start-of-supply", str(document.message_id),
                                     services.catalogue.master_data, [record])

    def point_problem(point_id: str) -> list[dict[str, str]]:
        try:
            validate_gsrn(point_id)
        except IdentifierError as exc:
            return [identifier_problem(exc, "/meteringPointId")]
        return []

    def invalid(code: str, title: str, problems: list[dict[str, str]]) -> None:
        if problems:
            raise Problem(400, code, title, f"{len(problems)} problem(s) found", problems)

    async def master_data(request: Request, who: Caller, document_type: str, role: str,
                          message_id: str, point_id: str, record_type: str,
                          document: dict[str, Any]) -> JSONResponse:
        record = master_data_record(message_id=message_id, sender=who.party, sender_role=role,
                                    metering_point_id=point_id, document_type=record_type,
                                    document=document)
        return await services.intake(request, who, document_type, message_id,
                                     services.catalogue.master_data, [record])

    @app.post("/v1/master-data", status_code=202, tags=["intake"], response_model=Accepted,
              responses=INTAKE_RESPONSES)
    async def change_master_data(document: MasterDataChangeIn, who: Authenticated,
                                 request: Request) -> JSONResponse:
        """BRS-NO-302: characteristics that change from ``effectiveFrom``."""
        require(who, Role.GRID_OWNER)
        problems = point_problem(document.metering_point_id)
        fields = {"gridArea": document.grid_area, "priceArea": document.price_area,
                  "pointType": document.type, "resolution": document.resolution,
                  "consumptionCode": document.consumption_code,
                  "industryCode": document.industry_code,
                  "productionType": document.production_type}
        if all(v is None for v in fields.values()):
            problems.append({"code": "master_data.empty", "pointer": "",
                             "detail": "give at least one characteristic to change"})
        if document.grid_area is not None:
            try:
                validate_eic(document.grid_area)
            except IdentifierError as exc:
                problems.append(identifier_problem(exc, "/gridArea"))
        problems += code_problems(document.consumption_code, document.industry_code)
        invalid("master_data.invalid", "The master-data change is not valid", problems)
        return await master_data(request, who, "master-data", "grid_owner",
                                 str(document.message_id), document.metering_point_id,
                                 "ChangeOfCharacteristics",
                                 {"effectiveFrom": document.effective_from, **fields})

    @app.post("/v1/customer-information", status_code=202, tags=["intake"],
              response_model=Accepted, responses=INTAKE_RESPONSES)
    async def customer_information(document: CustomerInformationIn, who: Authenticated,
                                   request: Request) -> JSONResponse:
        """BRS-NO-301: the customer's contacts, each with kind and purpose."""
        require(who, Role.SUPPLIER)
        problems = point_problem(document.metering_point_id)
        for i, contact in enumerate(document.contacts):
            if (why := contact_problem(contact.kind, contact.value)) is not None:
                problems.append({"code": f"contact.{contact.kind}", "detail": why,
                                 "pointer": f"/contacts/{i}/value"})
        invalid("customer_information.invalid", "The customer information is not valid",
                problems)
        return await master_data(request, who, "customer-information", "supplier",
                                 str(document.message_id), document.metering_point_id,
                                 "CustomerInformationUpdate",
                                 {"contacts": [c.model_dump() for c in document.contacts]})

    @app.post("/v1/third-party-access", status_code=202, tags=["intake"],
              response_model=Accepted, responses=INTAKE_RESPONSES)
    async def third_party_access(document: ThirdPartyAccessIn, who: Authenticated,
                                 request: Request) -> JSONResponse:
        """BRS-NO-622: ask for access to a point's data (add) or give it up (delete)."""
        require(who, Role.THIRD_PARTY)
        problems = point_problem(document.metering_point_id)
        if (document.valid_from and document.valid_to
                and document.valid_to <= document.valid_from):
            problems.append({"code": "access.period", "pointer": "/validTo",
                             "detail": "validTo must be after validFrom"})
        invalid("third_party_access.invalid", "The access request is not valid", problems)
        return await master_data(request, who, "third-party-access", "third_party",
                                 str(document.message_id), document.metering_point_id,
                                 "ThirdPartyAccessRequest",
                                 {"action": document.action, "validFrom": document.valid_from,
                                  "validTo": document.valid_to})

    @app.post("/v1/third-party-access/{request_id}/approval", status_code=202,
              tags=["intake"], response_model=Accepted, responses=INTAKE_RESPONSES)
    async def approve_third_party_access(
            request_id: Annotated[str, Path(max_length=64)], document: AccessApprovalIn,
            who: Authenticated, request: Request) -> JSONResponse:
        """The end user's approval of a request (an operator stands in for the portal)."""
        require(who, Role.OPERATOR)
        invalid("approval.invalid", "The approval is not valid",
                point_problem(document.metering_point_id))
        return await master_data(request, who, "access-approval", "operator",
                                 str(document.message_id), document.metering_point_id,
                                 "ThirdPartyAccessApproval", {"requestId": request_id})

    # -- queues ----------------------------------------------------------------------------
    @app.post("/v1/queues/{queue}/poll", tags=["queues"],
              responses={204: {"description": "The queue is empty"}})
    async def poll(queue: Queue, who: Authenticated,
                   max: Annotated[int, Query(ge=1, le=2000)] = 100) -> Response:
        _, queues, _ = services.kafka()
        result = await queues.poll(who.party, queue, max)
        if result is None:
            return Response(status_code=204)
        poll_id, messages = result
        return JSONResponse(_jsonable({"pollId": poll_id, "messages": messages}))

    @app.post("/v1/queues/{queue}/ack", tags=["queues"])
    async def ack(queue: Queue, body: AckRequest, who: Authenticated) -> dict[str, str]:
        _, queues, _ = services.kafka()
        result = await queues.ack(who.party, queue, body.poll_id)
        if result == "unknown":
            raise Problem(404, "poll.unknown", "No such poll",
                          "this queue has no open poll with that id")
        return {"pollId": body.poll_id, "status": result}

    @app.get("/v1/queues", tags=["queues"])
    async def queues_overview(who: Authenticated) -> JSONResponse:
        _, queues, _ = services.kafka()
        return JSONResponse({"queues": await queues.status(who.party)})

    return app


def code_problems(consumption_code: str | None, industry_code: str | None
                  ) -> list[dict[str, str]]:
    """Structural problems of a consumption code and a næringskode (lists come later)."""
    problems = []
    if (reason := check_consumption_code(consumption_code)) is not None:
        problems.append({"code": reason.code, "pointer": "/consumptionCode",
                         "detail": reason.text})
    if industry_code is not None and not is_subclass_code(industry_code):
        problems.append({"code": "industry_code.format", "pointer": "/industryCode",
                         "detail": "a næringskode has the form NN.NNN"})
    return problems


def window_json(window: MaintenanceWindow) -> dict[str, Any]:
    return {"id": window.id, "start": window.start, "end": window.end, "reason": window.reason}


def availability_json(a: Availability) -> dict[str, Any]:
    return {"period": a.period, "minutes": a.minutes, "observedMinutes": a.observed,
            "upMinutes": a.up, "plannedDownMinutes": a.planned_down,
            "unplannedDownMinutes": a.unplanned_down, "unobservedMinutes": a.unobserved,
            "availabilityPercent": a.percent}


def _jsonable(value: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(value)


async def _processors_assigned(services: Services) -> bool:
    """True when the stream processors' consumer group has members (cached for 5 s)."""
    if time.monotonic() - services.processors_seen < 5:
        return True
    admin = admin_client(services.settings, "straum-api-readyz")
    try:
        await admin.start()
        described = await admin.describe_consumer_groups([services.settings.topic_prefix])
        for response in described:
            for group in response.groups:
                state, members = group[2], group[5]
                if state == "Stable" and members:
                    services.processors_seen = time.monotonic()
                    return True
        return False
    except Exception:  # an unreachable broker means not ready, never a crash
        return False
    finally:
        await admin.close()
