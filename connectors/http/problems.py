"""Errors as RFC 9457 problem details, with a machine-readable code per problem and a JSON
pointer to the offending field.

``Problem`` is an ``HTTPException`` so that one raised while FastAPI reads a body (too large,
not JSON) reaches its handler as it is, instead of becoming FastAPI's bare
``{"detail": "There was an error parsing the body"}``. Any other HTTP error (no such route, a
method not allowed) is answered as problem details too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from connectors.http.tracing import current_request_id
from domain.problem_codes import Code
from streams.logging import get_logger

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"


class Problem(HTTPException):
    """An HTTP error answered as problem details."""

    def __init__(self, status: int, code: str, title: str, detail: str = "",
                 problems: Sequence[dict[str, str]] = (), headers: dict[str, str] | None = None
                 ) -> None:
        super().__init__(status, detail or title, headers)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.problems = list(problems)

    def body(self, instance: str, request_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": f"https://straum.dev/problems/{self.code}",
                                "title": self.title, "status": self.status,
                                "code": self.code, "instance": instance}
        if request_id is not None:
            body["requestId"] = request_id
        if self.detail:
            body["detail"] = self.detail
        if self.problems:
            body["problems"] = self.problems
        return body


def pointer(location: Sequence[str | int]) -> str:
    """A JSON pointer (RFC 6901) from a pydantic error location, without the 'body' part."""
    parts = [str(p) for p in location]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


async def problem_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return JSONResponse(exc.body(request.url.path, current_request_id(request)),
                        status_code=exc.status, media_type=PROBLEM_JSON, headers=exc.headers)


async def unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
    """An error no rule foresaw: a 500 in problem details with the request id to quote (the
    traceback is in the log line of the same id), never a bare text page."""
    log.error("unhandled error", exc_info=exc, route=getattr(request.scope.get("route"),
                                                             "path", "unmatched"))
    return await problem_handler(request, Problem(
        500, Code.INTERNAL_ERROR, "Internal error",
        "the hub could not answer this request; quote the requestId when you report it"))


HTTP_CODES = {404: Code.ROUTE_NOT_FOUND, 405: Code.METHOD_NOT_ALLOWED}


async def http_problem_handler(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's and FastAPI's own HTTP errors (404 for an unknown path, 405, ...) as
    problem details."""
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, Code.HTTP_ERROR)
    title = str(exc.detail) if exc.detail else "HTTP error"
    headers = dict(exc.headers) if exc.headers else None
    return await problem_handler(request, Problem(exc.status_code, code, title,
                                                  headers=headers))


async def validation_handler(request: Request, exc: Exception) -> JSONResponse:
    """Every shape or type error of a request, each with its pointer, in one 400."""
    assert isinstance(exc, RequestValidationError)
    problems = [{"code": f"body.{err['type']}", "pointer": pointer(err["loc"]),
                 "detail": err["msg"]} for err in exc.errors()[:200]]
    problem = Problem(400, Code.REQUEST_INVALID, "The request is not valid",
                      f"{len(exc.errors())} problem(s) found", problems)
    return await problem_handler(request, problem)
