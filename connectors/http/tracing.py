"""Traceable requests: an ``X-Request-Id`` on every answer and log line, and an access log.

The id is the caller's ``X-Request-Id`` when it sends a usable one (1-128 characters of
letters, digits and ``._:@/+=-``: a trace id, a UUID), otherwise a new UUID. It is bound to
structlog's context variables for the length of the request, so every line any code logs while
handling it carries ``request_id``; it is echoed in the answer's ``X-Request-Id`` header and in
every problem-details body (``requestId``). A request passed to the queue owner process keeps
its id (``connectors/http/owners.py`` forwards the header).

One access-log line per request (logger ``straum.access``, event ``request``): the route's
template (``/v1/metering-points/{metering_point_id}/...``, never the path itself, whose
segments can be identifiers), method, status, latency in milliseconds and the authenticated
actor's GLN (a company's number, never a person's). The query string and the body are never
logged.

The middleware wraps the whole application, FastAPI's own error middleware included
(:class:`TracedFastAPI`), so an answer made anywhere, even an unexpected 500, carries the id.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from streams.logging import get_logger

HEADER = "x-request-id"
_USABLE = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

access_log = get_logger("straum.access")


def request_id_of(given: str | None) -> str:
    """The caller's id when it is usable, else a new one."""
    if given is not None and _USABLE.fullmatch(given):
        return given
    return str(uuid.uuid4())


def current_request_id(request: Request) -> str | None:
    """The id of ``request`` (set by :class:`RequestTracing`), if it went through it."""
    state: dict[str, Any] = request.scope.get("state") or {}
    found = state.get("request_id")
    return found if isinstance(found, str) else None


def note_actor(request: Request, party: str) -> None:
    """Record who is calling, for the access log line."""
    request.scope.setdefault("state", {})["actor"] = party


class RequestTracing:
    """ASGI middleware: the request id in and out, bound while handling, and the access log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers", [])
                      if k == HEADER.encode()), None)
        request_id = request_id_of(given)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        header = (HEADER.encode(), request_id.encode())

        async def traced_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != HEADER.encode()]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, traced_send)
        finally:
            route = scope.get("route")
            access_log.info("request", method=scope.get("method"),
                            route=getattr(route, "path", "unmatched"), status=status,
                            latency_ms=round((time.perf_counter() - started) * 1000, 1),
                            actor=state.get("actor"))
            structlog.contextvars.reset_contextvars(**tokens)


class TracedFastAPI(FastAPI):
    """FastAPI with :class:`RequestTracing` outside everything, its error middleware too."""

    def build_middleware_stack(self) -> ASGIApp:
        return RequestTracing(super().build_middleware_stack())
