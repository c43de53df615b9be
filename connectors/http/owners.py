"""Several API processes on one port: each actor's queues belong to one of them.

Polls and acknowledgements of one queue are decided by one process, under its lock, from its
own view of the queue's position, so processes never race on a queue: no poll is opened twice
and no acknowledgement meets a process that has not yet seen the poll. A request for a queue
another process owns is passed to that process's loopback port with the caller's own token
(it authenticates again), and its answer is returned as it is. When the owner does not answer
(it is restarting, which the supervisor does in seconds), the caller gets 503 with Retry-After:
deciding here instead would let two processes open two polls of one queue at once.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import httpx
from fastapi import Request, Response

from connectors.http.problems import Problem
from schemas.settings import Settings
from streams.logging import get_logger

log = get_logger(__name__)

#: Headers passed on to the owner and back to the caller.
FORWARDED_REQUEST_HEADERS = ("authorization", "sender", "content-type", "x-request-id")
FORWARDED_RESPONSE_HEADERS = ("content-type", "retry-after", "www-authenticate", "x-request-id")


@dataclass
class QueueOwners:
    """Which process decides an actor's queues, and the way to it."""

    index: int
    ports: tuple[int, ...]
    _client: httpx.AsyncClient | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> QueueOwners:
        ports = tuple(int(p) for p in settings.api_process_ports.split(",") if p.strip())
        return cls(settings.api_process_index, ports)

    def owner(self, actor: str) -> int:
        return zlib.crc32(actor.encode()) % len(self.ports) if self.ports else self.index

    def mine(self, actor: str) -> bool:
        return len(self.ports) <= 1 or self.owner(actor) == self.index

    async def forward(self, actor: str, request: Request) -> Response:
        """The owner's answer to ``request``; 503 with Retry-After if it does not answer."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=60.0)
        url = f"http://127.0.0.1:{self.ports[self.owner(actor)]}{request.url.path}"
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in FORWARDED_REQUEST_HEADERS}
        try:
            answer = await self._client.request(request.method, url,
                                                params=list(request.query_params.multi_items()),
                                                content=await request.body(), headers=headers)
        except httpx.TransportError as exc:
            log.warning("queue owner did not answer", actor=actor, owner=self.owner(actor),
                        error=str(exc))
            raise Problem(503, "queue.owner_unavailable",
                          "The process that serves this queue is restarting",
                          "try again in a moment", headers={"Retry-After": "1"}) from exc
        return Response(answer.content, status_code=answer.status_code,
                        headers={k: v for k, v in answer.headers.items()
                                 if k.lower() in FORWARDED_RESPONSE_HEADERS})

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
