"""/openapi.json describes every operation fully: its answer's schema, problem details on
every 4xx, the bearer scheme, one naming convention, and request examples that the API itself
accepts. (Built from the application without a broker: the document needs none.)"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import BaseModel

from connectors.http.app import create_app
from connectors.http.norgespris import PricesIn
from connectors.http.openapi import EXAMPLES, JSONAPI, PROBLEM_JSON, is_jsonapi
from connectors.http.replays import RedeliveryIn, ReplayIn
from schemas import answers, api
from schemas.settings import Settings

NO_BODY = {"204"}
TEXT = {("get", "/metrics"), ("get", "/v1/ping")}
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$|^filter\[|^page\[")


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("openapi")))
    found: dict[str, Any] = app.openapi()
    return found


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in document["paths"].items()
            for method, op in ops.items()]


def test_every_success_answer_has_a_schema(document: dict[str, Any]) -> None:
    missing = []
    for method, path, op in operations(document):
        for status, response in op["responses"].items():
            if not status.startswith("2") or status in NO_BODY:
                continue
            content = response.get("content", {})
            if (method, path) in TEXT:
                assert any(c.startswith("text/plain") for c in content), path
                continue
            schemas = [c.get("schema") for c in content.values()]
            if not schemas or not all(schemas) or schemas == [{}]:
                missing.append(f"{method.upper()} {path} {status}")
    assert missing == []
    assert len(operations(document)) >= 33


def test_every_4xx_is_problem_details_or_jsonapi_errors(document: dict[str, Any]) -> None:
    for method, path, op in operations(document):
        for status, response in op["responses"].items():
            if not status.startswith("4"):
                continue
            content = response["content"]
            wanted = {PROBLEM_JSON, JSONAPI} if is_jsonapi(path) else {PROBLEM_JSON}
            assert set(content) <= wanted and content, (method, path, status)
            for body in content.values():
                assert body["schema"]["$ref"].endswith(
                    "/Problem" if body is content.get(PROBLEM_JSON) else "/JsonApiErrors")
        assert "422" not in op["responses"] or is_jsonapi(path) or path.startswith(
            "/v1/metering-points/")
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "code", "instance"}
    assert "requestId" in problem["properties"]


def test_authenticated_operations_use_the_bearer_scheme(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer",
                                                                           "JWT")
    public = {"/healthz", "/readyz", "/metrics", "/v1/ping"}
    for method, path, op in operations(document):
        if path in public:
            assert "security" not in op, path
            continue
        assert op["security"] == [{"bearer": []}], (method, path)
        names = [p["name"].lower() for p in op.get("parameters", [])]
        assert "authorization" not in names, path
        for status in ("401", "403", "429", "503"):
            assert status in op["responses"], (method, path, status)


def keys_of(schema: Any, found: set[str]) -> set[str]:
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            found.add(name)
            keys_of(sub, found)
        for value in schema.values():
            keys_of(value, found)
    elif isinstance(schema, list):
        for value in schema:
            keys_of(value, found)
    return found


def test_one_naming_convention_camel_case(document: dict[str, Any]) -> None:
    names = keys_of(document["components"]["schemas"], set())
    assert {"energyKwh", "pollId", "documentType", "requestId"} <= names
    assert sorted(n for n in names if not CAMEL.match(n)) == []
    for _, _, op in operations(document):
        for parameter in op.get("parameters", []):
            if parameter["in"] == "query":
                assert CAMEL.match(parameter["name"]), parameter["name"]


def test_the_poll_answer_lists_a_schema_per_document_type(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    poll = schemas["PollAnswer"]["properties"]["messages"]["items"]
    mapping = poll["discriminator"]["mapping"]
    assert {"NotifyValidatedDataForBillingEnergy", "Acknowledgement", "ConfirmStartOfSupply",
            "NotifyContract"} <= set(mapping)
    values = schemas["NotifyValidatedDataForBillingEnergy"]["properties"]["payload"]
    assert values["$ref"].endswith("/MeteringValuesPayload")
    assert "points" in schemas["MeteringValuesPayload"]["properties"]


MODELS: dict[str, type[BaseModel]] = {
    name: model for module in (api, answers) for name, model in vars(module).items()
    if isinstance(model, type) and issubclass(model, BaseModel)}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_request_example_is_valid(name: str, document: dict[str, Any]) -> None:
    assert document["components"]["schemas"][name]["examples"] == [EXAMPLES[name]]
    model = {**MODELS, "PricesIn": PricesIn, "ReplayIn": ReplayIn,
             "RedeliveryIn": RedeliveryIn}[name]
    model.model_validate_json(json.dumps(EXAMPLES[name]))
