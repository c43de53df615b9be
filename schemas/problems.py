"""The error answers of /openapi.json: RFC 9457 problem details (every 4xx of straum's own API)
and JSON:API error documents (the Contracts API, except authentication's 401/403)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProblemItem(BaseModel):
    """One problem of a request: the rule's code and where in the body (a JSON pointer)."""

    code: str = Field(examples=["series.point_count"])
    pointer: str = Field(description="JSON pointer (RFC 6901) into the body; '' is the whole "
                                     "body, /query/<name> a query parameter",
                         examples=["/series/0/points"])
    detail: str = Field(examples=["expected 24 points for PT1H from 2026-01-01T00:00:00+01:00 "
                                  "to 2026-01-02T00:00:00+01:00, got 23"])


class Problem(BaseModel):
    """An error as problem details (``application/problem+json``). ``code`` is what a program
    branches on (the catalogue: domain/problem_codes.py); ``requestId`` is the request's
    ``X-Request-Id``, to quote when asking about it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "type": "https://straum.dev/problems/metering_values.invalid",
        "title": "The metering values are not valid", "status": 400,
        "code": "metering_values.invalid", "instance": "/v1/metering-values",
        "detail": "1 problem(s) found", "requestId": "4f9c0d2e-6a1b-4c3d-9e8f-0a1b2c3d4e5f",
        "problems": [{"code": "series.point_count", "pointer": "/series/0/points",
                      "detail": "expected 24 points, got 23"}]}]})

    type: str
    title: str
    status: int = Field(ge=400, le=599)
    code: str
    instance: str
    detail: str | None = None
    request_id: str | None = Field(default=None, alias="requestId")
    problems: list[ProblemItem] | None = None


class JsonApiErrorSource(BaseModel):
    pointer: str | None = None
    parameter: str | None = None


class JsonApiError(BaseModel):
    status: str
    code: str
    title: str
    detail: str
    source: JsonApiErrorSource | None = None


class JsonApiErrorMeta(BaseModel):
    request_id: str | None = Field(default=None, alias="requestId")


class JsonApiErrors(BaseModel):
    """A JSON:API error document (``application/vnd.api+json``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "errors": [{"status": "422", "code": "NOT_ELIGIBLE", "title": "Not eligible",
                    "detail": "only households (35) and holiday homes (36) can have "
                              "Norgespris"}],
        "meta": {"requestId": "4f9c0d2e-6a1b-4c3d-9e8f-0a1b2c3d4e5f"}}]})

    errors: list[JsonApiError]
    meta: JsonApiErrorMeta | None = None
