"""The simulator's HTTP side: clients carrying development tokens per party, one POST with
retries of 429/5xx and connection errors, a rate limit over all callers, and queue depths."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import httpx

from connectors.http.auth import issue_dev_token
from schemas.settings import Settings

ClientFactory = Callable[[str, str], httpx.AsyncClient]
"""``(GLN, role) -> client`` whose requests carry that party's token; the caller owns (and
closes) the clients, and should hand out one per party rather than a new one per call."""

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
JSON_HEADERS = {"Content-Type": "application/json"}


class _DevTokenAuth(httpx.Auth):
    """A development token, issued again before it expires (``--follow`` runs for days)."""

    def __init__(self, settings: Settings, party: str, role: str, ttl: int = 12 * 3600) -> None:
        self.settings, self.party, self.role, self.ttl = settings, party, role, ttl
        self._token, self._renew_at = "", 0.0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if time.monotonic() >= self._renew_at:
            self._token = issue_dev_token(self.settings, self.party, [self.role], self.ttl)
            self._renew_at = time.monotonic() + self.ttl / 2
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


class DevClients:
    """A :data:`ClientFactory` with development tokens: one ``AsyncClient`` per party."""

    def __init__(self, base_url: str, settings: Settings, timeout: float = 60.0) -> None:
        self.base_url, self.settings, self.timeout = base_url, settings, timeout
        self._clients: dict[tuple[str, str], httpx.AsyncClient] = {}

    def __call__(self, party: str, role: str) -> httpx.AsyncClient:
        key = (party, role)
        if key not in self._clients:
            self._clients[key] = httpx.AsyncClient(
                base_url=self.base_url, timeout=self.timeout,
                auth=_DevTokenAuth(self.settings, party, role),
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
        return self._clients[key]

    def end_user_token(self, national_id: str) -> str:
        """A person's token for answering a consent request (as on Elhub's Min side)."""
        return issue_dev_token(self.settings, None, ["end_user"], 3600, national_id)

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def __aenter__(self) -> DevClients:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


@dataclass(frozen=True)
class Answer:
    """What came of one POST after retries: ``accepted``, ``duplicate`` or ``error``."""

    outcome: str
    status: int
    seconds: float
    detail: str = ""


async def post_document(client: httpx.AsyncClient, path: str, body: bytes,
                        attempts: int = 8) -> Answer:
    """POST an intake document, retrying 429/5xx and connection errors with backoff.

    Retrying is safe: the same ``messageId`` is answered ``duplicate`` if an earlier try got
    through. ``seconds`` is the time of the last try.
    """
    delay, detail, status, seconds = 0.25, "", 0, 0.0
    for attempt in range(attempts):
        started = time.perf_counter()
        wait = delay
        try:
            response = await client.post(path, content=body, headers=JSON_HEADERS)
        except httpx.TransportError as exc:
            seconds = time.perf_counter() - started
            status, detail = 0, f"{type(exc).__name__}: {exc}"
        else:
            seconds = time.perf_counter() - started
            status = response.status_code
            if status == 202:
                return Answer("accepted", status, seconds)
            if status == 200:
                return Answer("duplicate", status, seconds)
            detail = response.text[:500]
            if status not in RETRY_STATUSES:
                return Answer("error", status, seconds, detail)
            with contextlib.suppress(ValueError):
                wait = max(wait, float(response.headers.get("Retry-After", "0")))
        if attempt + 1 < attempts:
            await asyncio.sleep(min(wait, 5.0))
            delay = min(delay * 2, 5.0)
    return Answer("error", status, seconds, detail)


class Pacer:
    """At most ``rate`` units per second over all callers (no limit when ``rate`` is None)."""

    def __init__(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._next = 0.0

    async def take(self, units: int = 1) -> None:
        if self.rate is None:
            return
        now = time.monotonic()
        slot = max(self._next, now)
        self._next = slot + units / self.rate
        if slot > now:
            await asyncio.sleep(slot - now)


class _Bearer(httpx.Auth):
    """One request with another token than its client's (the end user's answer)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


JSONAPI_HEADERS = {"Content-Type": "application/vnd.api+json"}


async def queue_depths(client: httpx.AsyncClient, queue: str) -> int:
    """Depth of one of the caller's queues (``GET /v1/queues``)."""
    response = await client.get("/v1/queues")
    response.raise_for_status()
    for row in response.json()["queues"]:
        if row["queue"] == queue:
            return int(row["depth"])
    return 0
