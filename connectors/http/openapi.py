"""The OpenAPI document: FastAPI's, from the routes and the models in schemas/, completed with
what every operation shares.

FastAPI documents each route's own answer (``response_model``, ``responses``). What all of
them share is added here, once: the problem-details schema on every 4xx (JSON:API error
documents on the Contracts API), ``401``/``403``/``429``/``503`` on every authenticated
operation, ``413`` where a body is taken, ``400`` instead of FastAPI's ``422`` (straum answers
request errors with ``400 request.invalid``), the operations' own refusals from
:data:`ROUTE_ERRORS`, and examples of the request bodies. The bearer scheme comes from the
authentication dependency (``connectors/http/deps.py``), so ``/docs`` has an Authorize
button.
"""

from __future__ import annotations

import importlib.util
from copy import deepcopy
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from schemas.answers import (
    AuthorizationGrantDocument,
    AuthorizationGrantsDocument,
    AuthorizationRequestDocument,
    AuthorizationRequestsDocument,
    AuthorizationScopesDocument,
    ContractChangeDocument,
    NewContractsDocument,
)
from schemas.problems import JsonApiErrors, Problem

PROBLEM_JSON = "application/problem+json"
JSONAPI = "application/vnd.api+json"
REF = "#/components/schemas/{model}"

STANDARD_ERRORS = {
    400: "The request is not valid: every problem with its code and JSON pointer",
    401: "No token, or a token that is not valid (expired, wrong issuer or audience)",
    403: "The token's roles do not allow this operation, or Sender is not the token's subject",
    404: "Nothing with that id that the caller may see",
    413: "The body is over STRAUM_MAX_BODY_BYTES",
    429: "Over the actor's request rate: wait Retry-After seconds",
    503: "The broker is not reachable yet: retry after Retry-After seconds",
}

#: Refusals particular to an operation: (method, path) -> {status: description}.
ROUTE_ERRORS: dict[tuple[str, str], dict[int, str]] = {
    ("post", "/v1/queues/{queue}/ack"): {404: "This queue has no open poll with that id"},
    ("get", "/v1/ops/availability"): {},
    ("post", "/v1/ops/replays"): {409: "A replay of an overlapping window is running"},
    ("post", "/v1/ops/replays/{job_id}/resume"): {409: "The replay is done or running"},
    ("post", "/v1/ops/redeliveries"): {404: "The actor has no such queue"},
    ("get", "/v1/metering-points/{metering_point_id}/norgespris-comparison"): {
        404: "No metering point with that id in a period of the caller",
        422: "Norgespris does not apply to the point, or the comparison cannot be made"},
    ("post", "/v1/contracts"): {
        409: "The contract conflicts with another on the point",
        422: "The hub refuses the contract (not eligible, unknown point, dates)"},
    ("patch", "/v1/contracts/{contractId}"): {
        409: "The change conflicts with the contract's state",
        422: "The hub refuses the change"},
}

#: Request-body examples by schema name: what a client sends, valid as it is.
EXAMPLES: dict[str, dict[str, Any]] = {
    "MeteringValuesDocument": {
        "messageId": "5a1c7e2e-3f4b-4c1d-9e8f-2b3c4d5e6f70",
        "series": [{"transactionId": "d3b07384-d9a7-4f5b-8e3c-1a2b3c4d5e6f",
                    "meteringPointId": "707057500000000018",
                    "start": "2026-01-14T23:00:00Z", "end": "2026-01-15T02:00:00Z",
                    "resolution": "PT1H", "unit": "kWh",
                    "points": [{"quantity": 1.25, "quality": "measured"},
                               {"quantity": 0.75, "quality": "measured"},
                               {"quantity": 0.5, "quality": "estimated"}]}]},
    "MeteringPointRegistrationIn": {
        "messageId": "9f0e3c52-0c4e-4d55-8f39-0b6a1d2c3e41",
        "meteringPointId": "707057500000000018", "gridArea": "10YNO-1--------2",
        "priceArea": "NO1", "type": "consumption", "resolution": "PT1H",
        "consumptionCode": "35", "validFrom": "2025-01-01"},
    "StartOfSupplyIn": {
        "messageId": "0b9d8e0e-7c43-4a6a-9a54-3e2f1d0c9b87",
        "meteringPointId": "707057500000000018", "startDate": "2026-01-08",
        "endUser": {"name": "Nordmann Bakeri AS", "organisationNumber": "974760673"}},
    "MasterDataChangeIn": {
        "messageId": "7d2f1c3a-5b6e-4f70-8a9b-0c1d2e3f4a5b",
        "meteringPointId": "707057500000000018", "effectiveFrom": "2026-02-01",
        "resolution": "PT15M"},
    "CustomerInformationIn": {
        "messageId": "1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6",
        "meteringPointId": "707057500000000018",
        "contacts": [{"kind": "email", "value": "post@bakeri.example",
                      "purpose": "notification"}]},
    "ThirdPartyAccessIn": {
        "messageId": "2f3e4d5c-6b7a-4899-8a0b-1c2d3e4f5a6b",
        "meteringPointId": "707057500000000018", "action": "add",
        "validFrom": "2026-01-01T00:00:00+01:00", "validTo": "2027-01-01T00:00:00+01:00"},
    "AccessApprovalIn": {"messageId": "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d",
                         "meteringPointId": "707057500000000018"},
    "AckRequest": {"pollId": "8c4f1f0e-2b3a-4c5d-9e6f-7a8b9c0d1e2f"},
    "MaintenanceIn": {"start": "2027-01-10T22:00:00+01:00", "end": "2027-01-11T00:00:00+01:00",
                      "reason": "Kafka 4.2 rolling upgrade"},
    "ReplayIn": {"from": "2026-01-14T00:00:00+01:00", "to": "2026-01-15T00:00:00+01:00",
                 "by": "value-time", "recipients": ["7080005051293"], "rate": 500,
                 "dryRun": True},
    "RedeliveryIn": {"actor": "7080005051293", "queue": "metering-values",
                     "since": "2026-01-14T00:00:00+01:00"},
    "PricesIn": {"prices": [{"area": "NO1", "start": "2026-01-14T23:00:00Z",
                             "resolution": "PT15M", "price": 912.5, "unit": "NOK/MWh"}]},
}


REQUESTS, GRANTS = "/v1/authorization-requests", "/v1/authorization-grants"

#: Answers of routes that render JSON:API documents themselves and name no model:
#: (method, path) -> (status, model).
ANSWERS: dict[tuple[str, str], tuple[int, type[BaseModel]]] = {
    ("post", REQUESTS): (201, AuthorizationRequestDocument),
    ("get", REQUESTS): (200, AuthorizationRequestsDocument),
    ("get", REQUESTS + "/{request_id}"): (200, AuthorizationRequestDocument),
    ("patch", REQUESTS + "/{request_id}"): (200, AuthorizationRequestDocument),
    ("get", GRANTS): (200, AuthorizationGrantsDocument),
    ("get", GRANTS + "/{grant_id}"): (200, AuthorizationGrantDocument),
    ("get", GRANTS + "/{grant_id}/scopes"): (200, AuthorizationScopesDocument),
}

#: Bodies a route reads itself (JSON:API documents), documented here: (method, path) -> model.
REQUEST_BODIES: dict[tuple[str, str], type[BaseModel]] = {
    ("post", "/v1/contracts"): NewContractsDocument,
    ("patch", "/v1/contracts/{contractId}"): ContractChangeDocument,
}


def is_jsonapi(path: str) -> bool:
    """The Contracts and Access APIs answer JSON:API documents, errors included."""
    return (path == "/v1/contracts" or path.startswith("/v1/contracts/")
            or path.startswith((REQUESTS, GRANTS)))


def _error(description: str, jsonapi: bool, problem_too: bool) -> dict[str, Any]:
    """An error answer: problem details, or JSON:API errors on the Contracts API (where
    authentication, the rate limit and an unreachable broker still answer problem details)."""
    content: dict[str, Any] = {}
    if not jsonapi or problem_too:
        content[PROBLEM_JSON] = {"schema": {"$ref": REF.format(model="Problem")}}
    if jsonapi:
        content[JSONAPI] = {"schema": {"$ref": REF.format(model="JsonApiErrors")}}
    return {"description": description, "content": content}


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the shared answers, schemas and examples added (a new dict)."""
    document = deepcopy(document)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    models: list[type[BaseModel]] = [Problem, JsonApiErrors, *REQUEST_BODIES.values(),
                                     *(model for _, model in ANSWERS.values())]
    for model in models:
        found = model.model_json_schema(by_alias=True, ref_template=REF)
        schemas.update(found.pop("$defs", {}))
        schemas[model.__name__] = found
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for name, example in EXAMPLES.items():
        if name in schemas:
            schemas[name]["examples"] = [example]
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            _complete_operation(path, method, operation)
    return document


def _complete_operation(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if "HTTPValidationError" in str(responses.get("422", {})):
        del responses["422"]  # FastAPI's; straum answers request errors with 400
    jsonapi = is_jsonapi(path)
    if (body := REQUEST_BODIES.get((method, path))) is not None:
        operation["requestBody"] = {"required": True, "content": {JSONAPI: {
            "schema": {"$ref": REF.format(model=body.__name__)}}}}
    if (answer := ANSWERS.get((method, path))) is not None:
        status, model = answer
        responses.setdefault(str(status), {"description": "Successful Response"})["content"] = {
            JSONAPI: {"schema": {"$ref": REF.format(model=model.__name__)}}}
    if jsonapi:  # the Contracts and Access APIs answer application/vnd.api+json
        for key, response in responses.items():
            content = response.get("content", {})
            if key.startswith("2") and "application/json" in content:
                content[JSONAPI] = content.pop("application/json")
    authenticated = bool(operation.get("security"))
    parameters = operation.get("parameters", [])
    codes: dict[int, str] = {}
    if operation.get("requestBody") or parameters:
        codes[400] = STANDARD_ERRORS[400]
    if operation.get("requestBody"):
        codes[413] = STANDARD_ERRORS[413]
    if authenticated:
        codes.update({s: STANDARD_ERRORS[s] for s in (401, 403, 429, 503)})
    if any(p.get("in") == "path" for p in parameters) and authenticated:
        codes[404] = STANDARD_ERRORS[404]
    codes.update(ROUTE_ERRORS.get((method, path), {}))
    for status, description in codes.items():
        key = str(status)
        given = responses.get(key, {})
        responses[key] = {**_error(given.get("description") or description, jsonapi,
                                   status in (401, 403, 429, 503)), **{
            k: v for k, v in given.items() if k not in ("description", "content")}}
    for key, response in responses.items():
        if key.isdigit() and int(key) >= 400 and not all(
                c.get("schema") for c in response.get("content", {None: {}}).values()):
            response.update(_error(response.get("description", ""), jsonapi, False))
    if authenticated and 429 in codes:
        responses["429"]["headers"] = {"Retry-After": {
            "description": "seconds to wait", "schema": {"type": "integer"}}}
    for parameter in parameters:  # the header the bearer scheme replaces
        if parameter.get("in") == "header" and parameter.get("name") == "authorization":
            parameters.remove(parameter)
            break


def _docs_assets() -> Path:
    """Swagger UI's and ReDoc's files as the fastapi-offline package installs them (found
    without importing it)."""
    spec = importlib.util.find_spec("fastapi_offline")
    assert spec is not None and spec.submodule_search_locations, "fastapi-offline is missing"
    return Path(spec.submodule_search_locations[0]) / "static"


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` answer the completed document (built once), and serve it as
    ``/docs`` (Swagger UI, with the Authorize button of the bearer scheme) and ``/redoc``
    from files installed with the package, not from a CDN: the pages work without internet
    access. (Create the app with ``docs_url=None, redoc_url=None``.)"""
    app.mount("/docs/assets", StaticFiles(directory=_docs_assets()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} · API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True, "tryItOutEnabled": True})

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=app.openapi_url or "/openapi.json",
                              title=f"{app.title} · API",
                              redoc_js_url="/docs/assets/redoc.standalone.js",
                              redoc_favicon_url="/docs/assets/favicon.png",
                              with_google_fonts=False)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(get_openapi(
                title=app.title, version=app.version, summary=app.summary,
                description=app.description, routes=app.routes, tags=app.openapi_tags,
                servers=app.servers))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
