"""Elhub's Contracts JSON:API (/v1/contracts) on straum's authentication.

Writes go as commands to the contracts processor, the single writer per metering point, and
the request waits for its answer on the replies topic; reads come from the compacted contracts
topic this process follows. Media type ``application/vnd.api+json``; errors are JSON:API error
objects (``status``, ``code``, ``title``, ``detail``, ``source.pointer``) in an ``errors`` list.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Protocol

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from connectors.compacted import CompactedView
from connectors.http.auth import Role, require
from connectors.http.contract_index import ContractIndex, IndexedContract, document, resource
from connectors.http.deps import Authenticated
from connectors.http.json_body import StrictJsonRoute, check_depth
from connectors.http.problems import Problem
from connectors.http.statuses import contract_status
from connectors.http.tracing import current_request_id
from connectors.http.views import LazyViews
from domain.calendar import calendar_text, day_in_calendar
from domain.identifiers import IdentifierError, validate_norwegian_gsrn
from schemas.answers import ContractDocument, ContractsDocument
from schemas.fields import HubDateTime
from schemas.settings import Settings
from streams.records import contracts as contract_records
from streams.topics import TopicCatalogue

JSONAPI = "application/vnd.api+json"
JSONAPI_PATH = "/v1/contracts"
REPLY_WAIT_S = 15.0
MAX_CONTRACTS_PER_REQUEST = 100


class ContractServices(Protocol):
    settings: Settings
    catalogue: TopicCatalogue

    views: LazyViews

    def ready_producer(self) -> AIOKafkaProducer: ...


class JsonApiError(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str,
                 pointer: str | None = None, parameter: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail, self.pointer = (
            status, code, title, detail, pointer)
        self.parameter = parameter

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"status": str(self.status), "code": self.code,
                                 "title": self.title, "detail": self.detail}
        if self.pointer:
            error["source"] = {"pointer": self.pointer}
        elif self.parameter:
            error["source"] = {"parameter": self.parameter}
        return {"errors": [error]}


def is_jsonapi_path(path: str) -> bool:
    """Whether ``path`` belongs to the Contracts API, whose errors are JSON:API objects."""
    return path == JSONAPI_PATH or path.startswith(JSONAPI_PATH + "/")


async def jsonapi_validation_handler(request: Request, exc: Exception) -> JSONResponse:
    """A query parameter or path that does not validate, as JSON:API error objects."""
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors()[:50]:
        where, *rest = [str(p) for p in err["loc"]] or ["request"]
        error: dict[str, Any] = {"status": "400", "code": "INVALID_INPUT",
                                 "title": "Invalid input", "detail": err["msg"]}
        if where == "query" and rest:
            error["source"] = {"parameter": rest[0]}
        elif where == "body":
            error["source"] = {"pointer": "".join(f"/{p}" for p in rest)}
        errors.append(error)
    return jsonapi({"errors": errors, "meta": {"requestId": current_request_id(request)}}, 400)


async def jsonapi_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JsonApiError)
    return jsonapi({**exc.body(), "meta": {"requestId": current_request_id(request)}},
                   exc.status)


def jsonapi(body: Any, status: int = 200) -> JSONResponse:
    from fastapi.encoders import jsonable_encoder

    return JSONResponse(jsonable_encoder(body), status_code=status, media_type=JSONAPI)


def _date(value: Any, pointer: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise JsonApiError(400, "INVALID_INPUT", "Invalid date",
                           "a date is a string (YYYY-MM-DD)", pointer)
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise JsonApiError(400, "INVALID_INPUT", "Invalid date",
                           f"{value[:40]!r} is not a date (YYYY-MM-DD)", pointer) from exc
    if not day_in_calendar(day):
        raise JsonApiError(400, "INVALID_INPUT", "Invalid date",
                           f"{value} is outside the hub's calendar ({calendar_text()})", pointer)
    return day


def _object(value: Any, pointer: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise JsonApiError(400, "INVALID_INPUT", f"Missing {what}", f"{what} must be an object",
                           pointer)
    return value


def parse_create(item: Any, index: int) -> dict[str, Any]:
    base = f"/data/{index}"
    item = _object(item, base, "resource object")
    if item.get("type") != "contract":
        raise JsonApiError(400, "INVALID_INPUT", "Wrong type", "type must be 'contract'",
                           f"{base}/type")
    attributes = _object(item.get("attributes"), f"{base}/attributes", "attributes")
    relationships = _object(item.get("relationships"), f"{base}/relationships",
                            "relationships")
    if attributes.get("contractType") != "Norgespris":
        raise JsonApiError(400, "INVALID_INPUT", "Invalid contract type",
                           "contractType must be 'Norgespris'",
                           f"{base}/attributes/contractType")
    start = _date(attributes.get("startDate"), f"{base}/attributes/startDate")
    if start is None:
        raise JsonApiError(400, "INVALID_INPUT", "Missing start date", "startDate is required",
                           f"{base}/attributes/startDate")
    point = _object(relationships.get("meteringPoint"), f"{base}/relationships/meteringPoint",
                    "meteringPoint relationship")
    point_id = _object(point.get("data"), f"{base}/relationships/meteringPoint/data",
                       "meteringPoint data").get("id")
    if not isinstance(point_id, str):
        raise JsonApiError(400, "INVALID_INPUT", "Invalid metering point",
                           "the metering point id is a string of 18 digits",
                           f"{base}/relationships/meteringPoint/data/id")
    try:
        validate_norwegian_gsrn(point_id)
    except IdentifierError as exc:
        raise JsonApiError(400, "INVALID_INPUT", "Invalid metering point", str(exc),
                           f"{base}/relationships/meteringPoint/data/id") from exc
    return {"meteringPointId": str(point_id), "startDate": start,
            "endDate": _date(attributes.get("endDate"), f"{base}/attributes/endDate")}


def contract_routes(services: ContractServices) -> APIRouter:
    router = APIRouter(tags=["contracts (Norgespris)"], route_class=StrictJsonRoute)
    index = ContractIndex()

    async def view(name: str) -> CompactedView[Any]:
        """The contracts (records, for the index) or the replies (ContractReply), started on
        first use (the app's LazyViews: stopped with it)."""
        if name == "contracts":  # only the index keeps the contracts (views hold nothing)
            return await services.views.get("contracts", lambda: CompactedView(
                services.settings, services.catalogue.contracts,
                contract_records.decode_contract_record, on_change=index.change, keep=False))
        return await services.views.get("contract-replies", lambda: CompactedView(
            services.settings, services.catalogue.contract_replies,
            contract_records.decode_reply))

    async def contracts() -> ContractIndex:
        await view("contracts")
        return index

    async def command(sender: str, action: str, point_id: str, contract_id: str,
                      start: date | None = None, end: date | None = None,
                      clear_end: bool = False) -> dict[str, Any]:
        producer = services.ready_producer()
        replies = await view("replies")
        correlation = str(uuid.uuid4())
        value = contract_records.encode_command({
            "correlationId": correlation, "action": action, "sender": sender,
            "meteringPointId": point_id, "contractId": contract_id, "startDate": start,
            "endDate": end, "clearEndDate": clear_end, "receivedAt": datetime.now(UTC)})
        await producer.send_and_wait(services.catalogue.contract_commands, value,
                                     key=point_id.encode())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REPLY_WAIT_S
        while (answer := replies.values.get(correlation)) is None:
            if loop.time() > deadline:
                raise JsonApiError(503, "PROCESSING_DELAYED", "Not processed yet",
                                   "the request is queued but was not processed in time; "
                                   "read the contract again shortly")
            await asyncio.sleep(0.02)
        if answer["errorCode"] is not None:
            raise JsonApiError(contract_status(answer["errorCode"]), answer["errorCode"],
                               answer["errorTitle"] or answer["errorCode"],
                               answer["errorDetail"] or "", answer["errorPointer"])
        contract: dict[str, Any] = answer["contract"]
        if isinstance(contract, tuple):  # a union of records is read as (name, fields)
            contract = contract[1]
        known = (await contracts()).get(contract["id"])
        if known is None or known.updated_at <= contract["updatedAt"]:
            index.put(IndexedContract.of(contract))  # read your own write at once
        return contract

    def visible(caller_party: str, roles: frozenset[Role], c: IndexedContract) -> bool:
        return (Role.OPERATOR in roles
                or (Role.GRID_OWNER in roles and c.grid_owner == caller_party)
                or (Role.SUPPLIER in roles and c.supplier == caller_party))

    async def body_of(request: Request) -> Any:
        """The request's document: strict JSON (StrictJsonRequest), at most MAX_JSON_DEPTH
        deep, its problems as JSON:API errors."""
        try:
            body = await request.json()
            check_depth(body)
        except Problem as exc:
            code = "INVALID_INPUT" if exc.status == 400 else exc.code
            raise JsonApiError(exc.status, code, exc.title, exc.detail or exc.title) from None
        return body

    @router.get("/v1/ping", response_class=PlainTextResponse)
    async def ping() -> str:
        return "pong"

    @router.get("/v1/contracts", response_model=ContractsDocument)
    async def list_contracts(
            who: Authenticated,
            contract_type: Annotated[str | None, Query(alias="filter[contractType]")] = None,
            point_ids: Annotated[list[str] | None, Query(alias="filter[meteringPointId]")]
            = None,
            updated_after: Annotated[HubDateTime | None, Query(alias="filter[updatedAt][gt]")]
            = None,
            updated_before: Annotated[HubDateTime | None,
                                      Query(alias="filter[updatedAt][lt]")] = None,
    ) -> Response:
        """The contracts the caller may see: a grid owner's on its points, a supplier's on
        the points it supplies; operators see all. Found by index (metering point, party),
        never by walking every contract."""
        require(who, Role.GRID_OWNER, Role.SUPPLIER, Role.OPERATOR)
        if contract_type not in (None, "Norgespris"):
            raise JsonApiError(400, "INVALID_INPUT", "Invalid filter",
                               "filter[contractType] must be Norgespris")
        wanted = {p for ids in point_ids or [] for p in ids.split(",") if p}
        known = await contracts()
        if wanted:
            candidates = known.on_points(wanted)
        elif Role.OPERATOR in who.roles:
            candidates = known.all()
        else:
            candidates = known.of_party(who.party)
        found = [c for c in candidates
                 if visible(who.party, who.roles, c)
                 and not (updated_after and c.updated_at <= updated_after)
                 and not (updated_before and c.updated_at >= updated_before)]
        found.sort(key=lambda c: (c.updated_at, c.id))
        return Response(document(found), media_type=JSONAPI)

    @router.post("/v1/contracts", status_code=201, response_model=ContractsDocument)
    async def create_contracts(request: Request, who: Authenticated) -> JSONResponse:
        """Create one or more Norgespris contracts (grid owner, on its own points)."""
        require(who, Role.GRID_OWNER)
        body = _object(await body_of(request), "", "document")
        items = body.get("data")
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list) or not items or len(items) > MAX_CONTRACTS_PER_REQUEST:
            raise JsonApiError(400, "INVALID_INPUT", "Missing data",
                               f"data must hold 1 to {MAX_CONTRACTS_PER_REQUEST} contract "
                               "resource objects", "/data")
        parsed = [parse_create(item, i) for i, item in enumerate(items)]
        created = [await command(who.party, "create", p["meteringPointId"], str(uuid.uuid4()),
                                 p["startDate"], p["endDate"]) for p in parsed]
        return jsonapi({"data": [resource(c) for c in created]}, 201)

    ContractId = Path(max_length=64)

    async def one(who: Any, contract_id: str) -> IndexedContract:
        contract = (await contracts()).get(contract_id)
        if contract is None or not visible(who.party, who.roles, contract):
            raise JsonApiError(404, "CONTRACT_NOT_FOUND", "Contract not found",
                               f"no contract {contract_id} that you may see")
        return contract

    @router.get("/v1/contracts/{contractId}", response_model=ContractDocument)
    async def get_contract(who: Authenticated, contractId: str = ContractId) -> Response:
        require(who, Role.GRID_OWNER, Role.SUPPLIER, Role.OPERATOR)
        return Response(b'{"data":' + (await one(who, contractId)).json + b"}",
                        media_type=JSONAPI)

    @router.patch("/v1/contracts/{contractId}", response_model=ContractDocument)
    async def update_contract(request: Request, who: Authenticated,
                              contractId: str = ContractId) -> JSONResponse:
        """Edit start or end date, or cancel (isCancelled) within the regret period."""
        require(who, Role.GRID_OWNER)
        current = await one(who, contractId)
        data = _object(_object(await body_of(request), "", "document").get("data"), "/data",
                       "data")
        attributes = _object(data.get("attributes", {}), "/data/attributes", "attributes")
        if "status" in attributes:
            raise JsonApiError(403, "INVALID_STATUS_UPDATE", "Status is set by the hub",
                               "status changes by the lifecycle; cancel with isCancelled",
                               "/data/attributes/status")
        if attributes.get("isCancelled") is True:
            changed = await command(who.party, "cancel", current.metering_point_id,
                                    contractId)
        else:
            start = _date(attributes.get("startDate"), "/data/attributes/startDate")
            end = _date(attributes.get("endDate"), "/data/attributes/endDate")
            if start is None and end is None and "endDate" not in attributes:
                raise JsonApiError(400, "INVALID_INPUT", "Nothing to change",
                                   "give startDate, endDate or isCancelled", "/data/attributes")
            changed = await command(who.party, "edit", current.metering_point_id, contractId,
                                    start, end, clear_end="endDate" in attributes and end is None)
        return jsonapi({"data": resource(changed)})

    return router

