"""Request body size limit (413), enforced while reading so a huge body is never buffered.

A declared ``Content-Length`` over the limit is refused before the body is read. A chunked body
(no length) is counted while it streams in: the read that crosses the limit raises a 413
``Problem``, which the route's exception handler answers as problem details, whoever reads the
body (FastAPI for a model, a route itself for the Contracts API).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.http.problems import Problem
from domain.problem_codes import Code


class BodyLimit:
    """ASGI middleware answering 413 problem details for bodies over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 jsonapi: Callable[[str], bool] = lambda _: False) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.jsonapi = jsonapi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._too_large(scope, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        """413 as problem details, or as a JSON:API error object where the path's API uses
        those (the Contracts API)."""
        path = scope.get("path", "")
        problem = _TooLarge(self.max_bytes)
        request_id = (scope.get("state") or {}).get("request_id")
        body: dict[str, Any] = problem.body(path, request_id)
        media_type = b"application/problem+json"
        if self.jsonapi(path):
            body = {"errors": [{"status": "413", "code": problem.code, "title": problem.title,
                                "detail": problem.detail}]}
            media_type = b"application/vnd.api+json"
        payload = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", media_type),
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


class _TooLarge(Problem):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, Code.REQUEST_TOO_LARGE, "The request body is too large",
                         f"bodies over {max_bytes} bytes are refused")
