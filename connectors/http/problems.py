"""Errors as RFC 9457 problem details, with a machine-readable code per problem and a JSON
pointer to the offending field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An HTTP error answered as problem details."""

    def __init__(self, status: int, code: str, title: str, detail: str = "",
                 problems: Sequence[dict[str, str]] = (), headers: dict[str, str] | None = None
                 ) -> None:
        super().__init__(detail or title)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.problems = list(problems)
        self.headers = headers

    def body(self, instance: str) -> dict[str, Any]:
        body: dict[str, Any] = {"type": f"https://straum.dev/problems/{self.code}",
                                "title": self.title, "status": self.status,
                                "code": self.code, "instance": instance}
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
    return JSONResponse(exc.body(request.url.path), status_code=exc.status,
                        media_type=PROBLEM_JSON, headers=exc.headers)


async def validation_handler(request: Request, exc: Exception) -> JSONResponse:
    """Every shape or type error of a request, each with its pointer, in one 400."""
    assert isinstance(exc, RequestValidationError)
    problems = [{"code": f"body.{err['type']}", "pointer": pointer(err["loc"]),
                 "detail": err["msg"]} for err in exc.errors()[:200]]
    problem = Problem(400, "request.invalid", "The request is not valid",
                      f"{len(exc.errors())} problem(s) found", problems)
    return await problem_handler(request, problem)
