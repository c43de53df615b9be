"""Elhub's Access API request flow (/v1/authorization-requests, /v1/authorization-grants) and
the end user's page for it (/min-side/authorization-requests/{id}).

A supplier asks for an end user's consent; the end user accepts or rejects with its own token
(``straum token --role end_user --national-id N``), on the page or with PATCH. Writes go as
commands, keyed by metering point, to the consent processor, the single writer of a point's
requests and grants, and the call waits for its answer on the replies topic; reads come from
the compacted view of every request and grant (by id) this process follows. Media type
``application/vnd.api+json``; errors are JSON:API error objects with Elhub's codes. Nobody
learns of a request or grant that is not theirs: it is 404, as an unknown id is.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, cast

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse

from connectors.compacted import CompactedView
from connectors.http.auth import Caller, Role, require
from connectors.http.deps import Authenticated
from connectors.http.statuses import access_status
from connectors.http.views import LazyViews
from domain.consent import (
    AuthorizationGrant,
    AuthorizationRequest,
    ConsentError,
    RequestStatus,
    RequestType,
    check_new_request,
)
from domain.series import HUB_TIMEZONE
from schemas.settings import Settings
from streams.records import consent as consent_records
from streams.records.consent import (
    AuthorizationCommand,
    AuthorizationReply,
    grant_from,
    request_from,
)
from streams.topics import TopicCatalogue

JSONAPI = "application/vnd.api+json"
REPLY_WAIT_S = 15.0
MAX_ID = 64
MIN_SIDE_PAGE = pathlib.Path(__file__).resolve().parent / "static" / "min-side.html"
REQUESTS, GRANTS = "/v1/authorization-requests", "/v1/authorization-grants"
Item = TypeVar("Item", AuthorizationRequest, AuthorizationGrant)


def is_access_api_path(path: str) -> bool:
    """Whether ``path`` belongs to the Access API, whose errors are JSON:API objects."""
    return path.startswith((REQUESTS, GRANTS))


class ConsentServices(Protocol):
    settings: Settings
    catalogue: TopicCatalogue

    views: LazyViews

    def ready_producer(self) -> AIOKafkaProducer: ...


class AccessApiError(Exception):
    """An Access API error: HTTP status, code, title, detail, and where in the body."""

    def __init__(self, status: int, code: str, title: str, detail: str,
                 pointer: str | None = None) -> None:
        super().__init__(detail)
        self.errors = [(status, code, title, detail, pointer)]
        self.status = status

    @classmethod
    def of(cls, errors: list[ConsentError]) -> AccessApiError:
        """One answer for several problems, with the status of the gravest kind."""
        first = errors[0]
        error = cls(access_status(first.code), first.code, first.title, first.detail,
                    first.pointer)
        error.errors = [(access_status(e.code), e.code, e.title, e.detail, e.pointer)
                        for e in errors]
        error.status = min(status for status, *_ in error.errors)  # 400 before 403 before 422
        return error

    def body(self) -> dict[str, Any]:
        created = datetime.now(UTC).isoformat()
        out = []
        for status, code, title, detail, pointer in self.errors:
            error: dict[str, Any] = {"status": str(status), "code": code, "title": title,
                                     "detail": detail, "meta": {"createdAt": created}}
            if pointer:
                error["source"] = {"pointer": pointer}
            out.append(error)
        return {"errors": out}


def jsonapi(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(jsonable_encoder(body), status_code=status, media_type=JSONAPI)


async def access_api_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AccessApiError)
    return jsonapi(exc.body(), exc.status)


def not_found(kind: str) -> AccessApiError:
    return AccessApiError(404, f"{kind}_not_found", "Not found",
                          f"no {kind.replace('_', ' ')} with this id that you may see")


# Resources ---------------------------------------------------------------------------------------

def _party(kind: str, value: str | None) -> dict[str, Any]:
    return {"data": None if value is None else {"type": kind, "id": value}}


def request_resource(r: AuthorizationRequest, now: datetime) -> dict[str, Any]:
    """The Access API's ``AuthorizationRequest`` resource (Expired derived on read)."""
    meta: dict[str, Any] = {
        "requestedFromName": r.requested_from_name,
        "requestedForMeteringPointId": r.metering_point_id,
        "requestedForMeteringPointAddress": r.metering_point_address,
        "balanceSupplierName": r.balance_supplier_name,
        "balanceSupplierContractName": r.balance_supplier_contract_name}
    if r.move_in_date is not None:
        meta["moveInDate"] = r.move_in_date
    return {"type": "AuthorizationRequest", "id": r.id,
            "attributes": {"requestType": r.request_type.value,
                           "status": r.status_at(now).value, "createdAt": r.created_at,
                           "updatedAt": r.updated_at, "validTo": r.valid_to},
            "relationships": {
                "requestedBy": _party("GlobalLocationNumber", r.requested_by),
                "requestedFrom": _party("NationalIdentityNumber", r.requested_from),
                "requestedTo": _party("NationalIdentityNumber", r.requested_to),
                "approvedBy": _party("NationalIdentityNumber", r.approved_by),
                "authorizationGrant": {"data": None if r.grant_id is None else {
                    "type": "AuthorizationGrant", "id": r.grant_id}}},
            "meta": meta, "links": {"self": f"{REQUESTS}/{r.id}"}}


def scope_resource(g: AuthorizationGrant) -> dict[str, Any]:
    return {"type": "AuthorizationScope", "id": g.id,
            "attributes": {"permissionType": g.permission_type.value,
                           "authorizedResources": [{"type": "MeteringPoint",
                                                    "id": g.metering_point_id}]}}


def grant_resource(g: AuthorizationGrant, now: datetime) -> dict[str, Any]:
    """The Access API's ``AuthorizationGrant`` resource (Expired derived on read)."""
    return {"type": "AuthorizationGrant", "id": g.id,
            "attributes": {"status": g.status_at(now).value, "grantedAt": g.granted_at,
                           "validFrom": g.valid_from, "validTo": g.valid_to,
                           "createdAt": g.created_at, "updatedAt": g.updated_at},
            "relationships": {
                "grantedFor": _party("NationalIdentityNumber", g.granted_for),
                "grantedBy": _party("NationalIdentityNumber", g.granted_by),
                "grantedTo": _party("GlobalLocationNumber", g.granted_to),
                "source": {"data": {"type": "AuthorizationRequest", "id": g.request_id}},
                "scopes": {"data": [{"type": "AuthorizationScope", "id": g.id}],
                           "links": {"related": f"{GRANTS}/{g.id}/scopes"}}},
            "links": {"self": f"{GRANTS}/{g.id}"}}


def may_see(who: Caller, supplier: str, end_user: str) -> bool:
    """The supplier it concerns and the end user it names; nobody else."""
    if Role.END_USER in who.roles:
        return who.national_id == end_user
    return Role.SUPPLIER in who.roles and who.party == supplier


# The views this process follows, shared with the intake routes (grant look-ups) ------------------

class ConsentViews:
    """The compacted view of requests and grants by id, and the replies, started on first
    use (the app's LazyViews: stopped with it)."""

    def __init__(self, services: ConsentServices) -> None:
        self.services = services

    async def items(self) -> CompactedView[dict[str, Any]]:
        services = self.services
        return await services.views.get("authorizations", lambda: CompactedView(
            services.settings, services.catalogue.authorizations,
            consent_records.decode_authorization_record))

    async def replies(self) -> CompactedView[AuthorizationReply]:
        services = self.services
        return await services.views.get("authorization-replies", lambda: CompactedView(
            services.settings, services.catalogue.authorization_replies,
            consent_records.decode_reply))

    async def _find(self, item_id: str) -> dict[str, Any] | None:
        """An item by id; one not seen yet is looked for again once this process has read
        everything written before (another API process may have just created it)."""
        items = await self.items()
        found = items.values.get(item_id)
        if found is None and await items.caught_up(5.0):
            found = items.values.get(item_id)
        return found

    async def request(self, request_id: str) -> AuthorizationRequest | None:
        found = await self._find(request_id)
        return request_from(found) if found and found["kind"] == "request" else None

    async def grant(self, grant_id: str) -> AuthorizationGrant | None:
        found = await self._find(grant_id)
        return grant_from(found) if found and found["kind"] == "grant" else None

    async def grant_point(self, grant_id: str | None) -> str | None:
        """The metering point a grant is for, as far as this process has seen: lets the
        hub say "for another metering point" rather than "not found"."""
        if grant_id is None:
            return None
        try:
            self.services.ready_producer()
            grant = await self.grant(grant_id)
        except Exception:  # no view, no hint: the process says "not found" instead
            return None
        return grant.metering_point_id if grant is not None else None


# Routes ---------------------------------------------------------------------------------------

_TEXT = {"type": "string"}
CREATE_BODY = {"requestBody": {"required": True, "content": {JSONAPI: {"schema": {
    "type": "object", "required": ["data"], "properties": {"data": {
        "type": "object", "required": ["type", "attributes", "meta"], "properties": {
            "type": {"type": "string", "enum": ["AuthorizationRequest"]},
            "attributes": {"type": "object", "required": ["requestType"], "properties": {
                "requestType": {"type": "string", "enum": [t.value for t in RequestType]}}},
            "meta": {"type": "object", "required": [
                "requestedBy", "requestedFrom", "requestedTo", "requestedFromName",
                "requestedForMeteringPointId", "requestedForMeteringPointAddress",
                "balanceSupplierName", "balanceSupplierContractName"],
                "properties": {**{name: _TEXT for name in (
                    "requestedBy", "requestedFrom", "requestedTo", "requestedFromName",
                    "requestedForMeteringPointId", "requestedForMeteringPointAddress",
                    "balanceSupplierName", "balanceSupplierContractName")},
                    "moveInDate": {"type": "string", "format": "date"}}}}}}}}}}}
ANSWER_BODY = {"requestBody": {"required": True, "content": {JSONAPI: {"schema": {
    "type": "object", "required": ["data"], "properties": {"data": {
        "type": "object", "required": ["type", "attributes"], "properties": {
            "type": {"type": "string", "enum": ["AuthorizationRequest"]},
            "id": {"type": "string"},
            "attributes": {"type": "object", "required": ["status"], "properties": {
                "status": {"type": "string", "enum": ["Accepted", "Rejected"]}}}}}}}}}}}
ERRORS = {status: {"description": text, "content": {JSONAPI: {}}} for status, text in (
    (400, "Malformed body or field"), (401, "Not authenticated"),
    (403, "Not the role, or requestedBy is not the caller"),
    (404, "No such request, grant or metering point that you may see"),
    (409, "data.type or data.id does not match"), (415, "Not JSON"),
    (422, "Business validation failed (Elhub's codes), expired or wrong state"))}


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: ERRORS[s] for s in statuses}


def consent_routes(services: ConsentServices, views: ConsentViews,
                   clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> APIRouter:
    router = APIRouter(tags=["consent (Access API)"])

    async def body_of(request: Request) -> dict[str, Any]:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in (JSONAPI, "application/json"):
            raise AccessApiError(415, "unsupported_media_type", "Unsupported media type",
                                 f"send {JSONAPI}")
        try:
            body = json.loads(await request.body())
        except (ValueError, RecursionError) as exc:
            raise AccessApiError(400, "invalid_input", "Malformed body",
                                 "the body is not JSON") from exc
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise AccessApiError(400, "invalid_input", "Malformed body",
                                 "the body is a JSON:API document with a data object", "/data")
        data: dict[str, Any] = body["data"]
        return data

    async def request_body_of(request: Request) -> dict[str, Any]:
        """The body's data object, which must be an AuthorizationRequest."""
        data = await body_of(request)
        if data.get("type") != "AuthorizationRequest":
            raise AccessApiError(409, "type_mismatch", "Conflict",
                                 "data.type must be AuthorizationRequest", "/data/type")
        return data

    def member(data: dict[str, Any], name: str) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise AccessApiError(400, "invalid_input", "Malformed field",
                                 f"{name} must be an object", f"/data/{name}")
        return value

    async def command(point_id: str, fields: dict[str, Any]
                      ) -> list[AuthorizationRequest | AuthorizationGrant]:
        producer = services.ready_producer()
        replies = await views.replies()
        items = await views.items()
        correlation = str(uuid.uuid4())
        value = consent_records.encode_command(cast(AuthorizationCommand, {
            "correlationId": correlation, "meteringPointId": point_id,
            "receivedAt": datetime.now(UTC), **fields}))
        await producer.send_and_wait(services.catalogue.authorization_commands, value,
                                     key=point_id.encode())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REPLY_WAIT_S
        while (answer := replies.values.get(correlation)) is None:
            if loop.time() > deadline:
                raise AccessApiError(503, "processing_delayed", "Not processed yet",
                                     "the request is queued but was not processed in time; "
                                     "read it again shortly")
            await asyncio.sleep(0.02)
        if answer["errorCode"] is not None:
            raise AccessApiError(access_status(answer["errorCode"]), answer["errorCode"],
                                 answer["errorTitle"] or answer["errorCode"],
                                 answer["errorDetail"] or "", answer["errorPointer"])
        changed = []
        for item in answer["items"]:
            known = items.values.get(item["id"])
            if known is None or known["updatedAt"] <= item["updatedAt"]:
                items.values[item["id"]] = item  # read your own write at once
            changed.append(request_from(item) if item["kind"] == "request"
                           else grant_from(item))
        return changed

    async def visible(who: Caller, item_id: str, kind: str,
                      find: Callable[[str], Awaitable[Item | None]]) -> Item:
        """The request or grant ``item_id`` if the caller may see it; else the 404 of an
        unknown id (``kind``: ``authorization_request`` or ``authorization_grant``)."""
        services.ready_producer()
        if len(item_id) > MAX_ID:
            raise not_found(kind)
        found = await find(item_id)
        if found is None or not may_see(who, *found.parties):
            raise not_found(kind)
        return found

    async def visible_request(who: Caller, request_id: str) -> AuthorizationRequest:
        return await visible(who, request_id, "authorization_request", views.request)

    async def visible_grant(who: Caller, grant_id: str) -> AuthorizationGrant:
        return await visible(who, grant_id, "authorization_grant", views.grant)

    async def all_visible(who: Caller, kind: str,
                          decode: Callable[[dict[str, Any]], Item]) -> list[Item]:
        """Every request or grant (``kind``: ``request`` or ``grant``) the caller may see,
        newest first."""
        services.ready_producer()
        found = [item for item in (decode(v) for v in (await views.items()).values.values()
                                   if v["kind"] == kind)
                 if may_see(who, *item.parties)]
        found.sort(key=lambda item: item.created_at, reverse=True)
        return found

    def page(items: list[Item], query: Mapping[str, str]) -> list[Item]:
        """The page of ``items`` that ``page[number]`` (from 0) and ``page[size]`` (up to 100)
        of the query name."""
        number, size = query.get("page[number]"), query.get("page[size]")
        try:
            n = int(number) if number is not None else 0
            s = int(size) if size is not None else 100
        except ValueError as exc:
            raise AccessApiError(400, "invalid_input", "Malformed parameter",
                                 "page[number] and page[size] are whole numbers") from exc
        if n < 0 or not 1 <= s <= 100:
            raise AccessApiError(400, "invalid_input", "Malformed parameter",
                                 "page[number] starts at 0; page[size] is 1 to 100")
        return items[n * s:(n + 1) * s]

    @router.post(REQUESTS, status_code=201, openapi_extra=CREATE_BODY,
                 responses=_responses(400, 401, 403, 404, 409, 415, 422))
    async def create_request(request: Request, who: Authenticated) -> JSONResponse:
        """A supplier asks an end user for consent to a switch (BRS-NO-101) or a move-in
        (BRS-NO-102/103): ``201`` with the request, ``Pending``, open for 28 days."""
        require(who, Role.SUPPLIER)
        data = await request_body_of(request)
        attributes, meta = member(data, "attributes"), member(data, "meta")
        today = clock().astimezone(HUB_TIMEZONE).date()
        new, errors = check_new_request(attributes.get("requestType"), meta, who.party, today)
        if errors or new is None:
            raise AccessApiError.of(errors)
        request_id = str(uuid.uuid4())
        [created] = await command(new.metering_point_id, {
            "action": "create", "requestId": request_id, "caller": who.party,
            "requestType": new.request_type.value, "requestedBy": new.requested_by,
            "requestedFrom": new.requested_from, "requestedTo": new.requested_to,
            "requestedFromName": new.requested_from_name,
            "meteringPointAddress": new.metering_point_address,
            "balanceSupplierName": new.balance_supplier_name,
            "balanceSupplierContractName": new.balance_supplier_contract_name,
            "moveInDate": new.move_in_date})
        assert isinstance(created, AuthorizationRequest)
        response = jsonapi({"data": request_resource(created, clock())}, 201)
        response.headers["Location"] = f"{REQUESTS}/{created.id}"
        return response

    @router.get(REQUESTS, responses=_responses(400, 401, 403))
    async def list_requests(request: Request, who: Authenticated) -> JSONResponse:
        """The caller's requests (a supplier's own, an end user's to answer), newest first;
        ``filter[status]``, ``page[number]`` (from 0), ``page[size]`` (up to 100)."""
        require(who, Role.SUPPLIER, Role.END_USER)
        services.ready_producer()
        query = request.query_params
        wanted = query.get("filter[status]")
        if wanted is not None and wanted not in {s.value for s in RequestStatus}:
            raise AccessApiError(400, "invalid_input", "Malformed parameter",
                                 "filter[status] is Pending, Accepted, Rejected or Expired")
        now = clock()
        found = [r for r in await all_visible(who, "request", request_from)
                 if wanted is None or r.status_at(now).value == wanted]
        return jsonapi({"data": [request_resource(r, now) for r in page(found, query)]})

    @router.get(REQUESTS + "/{request_id}", responses=_responses(401, 403, 404))
    async def get_request(request_id: str, who: Authenticated) -> JSONResponse:
        """One request: to its supplier and to the end user it asks."""
        require(who, Role.SUPPLIER, Role.END_USER)
        return jsonapi({"data": request_resource(await visible_request(who, request_id),
                                                 clock())})

    @router.patch(REQUESTS + "/{request_id}", openapi_extra=ANSWER_BODY,
                  responses=_responses(400, 401, 403, 404, 409, 415, 422))
    async def answer_request(request_id: str, request: Request,
                             who: Authenticated) -> JSONResponse:
        """The end user accepts or rejects (``attributes.status``: ``Accepted`` or
        ``Rejected``); acceptance creates the ``Active`` grant at once."""
        require(who, Role.END_USER)
        found = await visible_request(who, request_id)
        data = await request_body_of(request)
        if "id" in data and data["id"] != request_id:
            raise AccessApiError(409, "id_mismatch", "Conflict",
                                 "data.id must be the request's id", "/data/id")
        status = member(data, "attributes").get("status")
        if not isinstance(status, str):
            raise AccessApiError(400, "invalid_input", "Malformed field",
                                 "attributes.status must be Accepted or Rejected",
                                 "/data/attributes/status")
        assert who.national_id is not None
        changed = await command(found.metering_point_id, {
            "action": "answer", "requestId": request_id, "caller": who.national_id,
            "status": status})
        answered = next(c for c in changed if isinstance(c, AuthorizationRequest))
        grants = [c for c in changed if isinstance(c, AuthorizationGrant)]
        body: dict[str, Any] = {"data": request_resource(answered, clock())}
        if grants:
            body["included"] = [grant_resource(g, clock()) for g in grants]
        return jsonapi(body)

    @router.get(GRANTS, responses=_responses(400, 401, 403))
    async def list_grants(request: Request, who: Authenticated) -> JSONResponse:
        """The grants given to the calling supplier, or by the calling end user."""
        require(who, Role.SUPPLIER, Role.END_USER)
        now = clock()
        found = await all_visible(who, "grant", grant_from)
        return jsonapi({"data": [grant_resource(g, now) for g in
                                 page(found, request.query_params)]})

    @router.get(GRANTS + "/{grant_id}", responses=_responses(401, 403, 404))
    async def get_grant(grant_id: str, who: Authenticated) -> JSONResponse:
        """One grant: to the supplier it was given to and the end user who gave it."""
        require(who, Role.SUPPLIER, Role.END_USER)
        return jsonapi({"data": grant_resource(await visible_grant(who, grant_id), clock())})

    @router.get(GRANTS + "/{grant_id}/scopes", responses=_responses(401, 403, 404))
    async def get_grant_scopes(grant_id: str, who: Authenticated) -> JSONResponse:
        """What a grant allows: one kind of process on one metering point."""
        require(who, Role.SUPPLIER, Role.END_USER)
        return jsonapi({"data": [scope_resource(await visible_grant(who, grant_id))]})

    @router.get("/min-side/authorization-requests/{request_id}", include_in_schema=False)
    async def min_side_page(request_id: str) -> HTMLResponse:
        """The end user's page for one request: static, no data of its own; it reads and
        answers the request with the end user's token from the URL fragment."""
        return HTMLResponse(MIN_SIDE_PAGE.read_text(encoding="utf-8"))

    return router


async def grant_point(request: Request, grant_id: str | None) -> str | None:
    """The point the app's view saw a grant for (intake routes name it in the record)."""
    views: ConsentViews | None = getattr(request.app.state, "consent_views", None)
    return await views.grant_point(grant_id) if views is not None else None
