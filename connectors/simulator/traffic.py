"""Registering a population and sending its days of values through the API, with bounded
concurrency: registration and start of supply (or a move-in with consent) per point, a morning
batch per day, the demo's endless trickle of corrections, and waiting for the hub's answers."""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import zip_longest
from typing import Any

import httpx
from rich.console import Console
from rich.progress import (
    Progress,
)

from connectors.simulator.client import (
    JSONAPI_HEADERS,
    RETRY_STATUSES,
    Answer,
    ClientFactory,
    Pacer,
    _Bearer,
    post_document,
)
from connectors.simulator.console import _console, _progress, _say
from connectors.simulator.documents import (
    authorization_request_document,
    move_in_document,
    registration_document,
    start_of_supply_document,
)
from connectors.simulator.load_profile import oslo_today, series_for
from connectors.simulator.population import NAMESPACE, MeteringPointPlan, Population
from streams.logging import get_logger

log = get_logger(__name__)

async def _in_parallel(jobs: Iterable[Any], concurrency: int,
                       handle: Callable[[Any], Awaitable[None]]) -> None:
    """``handle`` each job with at most ``concurrency`` at a time (no task per job)."""
    shared: Iterator[Any] = iter(jobs)

    async def worker() -> None:
        for job in shared:
            await handle(job)

    async with asyncio.TaskGroup() as group:
        for _ in range(max(1, concurrency)):
            group.create_task(worker())


def _record_error(errors: list[str], what: str, answer: Answer) -> None:
    if len(errors) < 10:
        errors.append(f"{what}: HTTP {answer.status} {answer.detail}".strip())
    if len(errors) <= 3:
        log.warning("simulator request failed", what=what, status=answer.status,
                    detail=answer.detail[:300])


ALREADY_LIVES_THERE = "requested_from_is_metering_point_end_user"


async def obtain_move_in_grant(point: MeteringPointPlan, client_factory: ClientFactory,
                               start: date, attempts: int = 20) -> tuple[str | None, str]:
    """The person's consent to move in (Access API): the supplier asks, the person accepts
    with its own token, the grant's id comes back. ``(None, why)`` when there is none;
    ``why`` is ``ALREADY_LIVES_THERE`` when the person has the point already (a second run).

    The hub answers 404 until it has processed the point's registration: asked again.
    """
    token_of = getattr(client_factory, "end_user_token", None)
    if token_of is None or point.national_id is None:
        return None, "no end-user tokens to answer the consent request with"
    client = client_factory(point.supplier, "supplier")
    body = json.dumps(authorization_request_document(point, start, oslo_today())).encode()
    delay, response, detail = 0.1, None, ""
    for _ in range(attempts):
        try:
            response = await client.post("/v1/authorization-requests", content=body,
                                         headers=JSONAPI_HEADERS)
        except httpx.TransportError as exc:
            response, detail = None, str(exc)
        if response is not None and response.status_code not in (404, *RETRY_STATUSES):
            break
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)
    if response is None:
        return None, f"no answer to the consent request: {detail}"
    if response.status_code != 201:
        codes = [e.get("code") for e in response.json().get("errors", [])]
        return None, ALREADY_LIVES_THERE if ALREADY_LIVES_THERE in codes else (
            f"consent request: HTTP {response.status_code} {codes}")
    request_id = response.json()["data"]["id"]
    answer = json.dumps({"data": {"type": "AuthorizationRequest", "id": request_id,
                                  "attributes": {"status": "Accepted"}}}).encode()
    accepted = await client.patch(f"/v1/authorization-requests/{request_id}", content=answer,
                                  headers=JSONAPI_HEADERS,
                                  auth=_Bearer(token_of(point.national_id)))
    if accepted.status_code != 200:
        return None, f"consent answer: HTTP {accepted.status_code} {accepted.text[:200]}"
    grant = accepted.json()["data"]["relationships"]["authorizationGrant"]["data"]
    return grant["id"], ""


@dataclass
class RegisterResult:
    """The outcome of registering a population: documents answered by the API (accepted,
    duplicates, errors) and, once settled, what the hub made of the accepted ones."""

    points: int = 0
    accepted: int = 0
    duplicates: int = 0
    errors: int = 0
    rejected: int = 0
    seconds: float = 0.0
    settled: bool = True
    error_samples: list[str] = field(default_factory=list)
    rejection_samples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Sent:
    """An accepted document whose acknowledgement is awaited."""

    sender: str
    role: str
    what: str


async def register(population: Population, client_factory: ClientFactory, *,
                   supply_start: date | None = None, concurrency: int = 32,
                   settle_timeout: float | None = 120.0, quiet: bool = False,
                   console: Console | None = None) -> RegisterResult:
    """Register every point (BRS-NO-121, as its grid owner) and start supply on it (BRS-NO-101,
    as its supplier, from ``supply_start``: default two days before yesterday).

    The two are sent one after the other per point (the start of supply must reach the hub
    after the registration), points in parallel. The API answers before the hub has processed
    a document, so with ``settle_timeout`` this then reads the senders' market-processes
    queues, as the actors would (poll, acknowledge), until the hub has acknowledged every
    accepted document: the hub then knows every point it accepted, and values sent next are
    not rejected as unknown. The documents the hub rejected are counted in ``rejected``, with
    their reason codes in ``rejection_samples``: a rejected registration or start of supply
    means no values are forwarded for that point.
    """
    start = supply_start or oslo_today() - timedelta(days=3)
    result = RegisterResult(points=len(population.points))
    waiting: dict[str, _Sent] = {}
    began = time.perf_counter()
    async with _progress(quiet, console) as progress:
        task = progress.add_task("registering points", total=2 * len(population.points),
                                 note="")

        async def supply(point: MeteringPointPlan) -> tuple[str, dict[str, Any]] | None:
            """A person moves in with consent (BRS-NO-102/103); others start supply
            (BRS-NO-101). None: nothing to send (the person has the point already)."""
            if point.national_id is None:
                return "/v1/start-of-supply", start_of_supply_document(point, start,
                                                                       population.seed)
            grant_id, why = await obtain_move_in_grant(point, client_factory, start)
            if grant_id is not None:
                return "/v1/move-in", move_in_document(point, start, population.seed, grant_id)
            if why == ALREADY_LIVES_THERE:
                result.duplicates += 1
                progress.advance(task)
                return None
            result.errors += 1
            progress.advance(task)
            _record_error(result.error_samples, f"consent {point.gsrn}",
                          Answer("error", 0, 0.0, why))
            return None

        async def one(point: MeteringPointPlan) -> None:
            for who, role, path, document in (
                    (point.grid_owner, "grid_owner", "/v1/metering-points",
                     registration_document(point, population.seed)),
                    (point.supplier, "supplier", "", {})):
                if role == "supplier":
                    step = await supply(point)
                    if step is None:
                        return
                    path, document = step
                answer = await post_document(client_factory(who, role), path,
                                             json.dumps(document).encode())
                progress.advance(task)
                if answer.outcome == "accepted":
                    result.accepted += 1
                    waiting[document["messageId"]] = _Sent(who, role, f"{path} {point.gsrn}")
                elif answer.outcome == "duplicate":
                    result.duplicates += 1
                else:
                    result.errors += 1
                    _record_error(result.error_samples, f"{path} {point.gsrn}", answer)
                    return  # no start of supply on a point that was not registered

        await _in_parallel(population.points, concurrency, one)
        if settle_timeout and waiting:
            result.settled = await _await_acknowledgements(
                client_factory, waiting, result, settle_timeout, progress)
    result.seconds = time.perf_counter() - began
    return result


async def _await_acknowledgements(client_factory: ClientFactory, waiting: dict[str, _Sent],
                                  result: RegisterResult, within: float,
                                  progress: Progress) -> bool:
    """Poll the senders' market-processes queues until every document in ``waiting`` has its
    Acknowledgement (True) or ``within`` seconds passed (False); count the rejected ones.

    Every message read is acknowledged, as the actor would: the simulated actors have no use
    for the notifications that come with an accepted document.
    """
    total = len(waiting)
    task = progress.add_task("hub processing registrations", total=total, note="")
    senders = {(sent.sender, sent.role) for sent in waiting.values()}
    deadline = time.monotonic() + within
    while waiting:
        read = 0
        for sender, role in sorted(senders):
            read += await _read_answers(client_factory(sender, role), waiting, result)
        progress.update(task, completed=total - len(waiting))
        if not waiting:
            break
        if time.monotonic() >= deadline:
            log.warning("simulator gave up waiting for the hub's acknowledgements",
                        missing=len(waiting))
            return False
        if not read:
            await asyncio.sleep(0.5)
    return True


async def _read_answers(client: httpx.AsyncClient, waiting: dict[str, _Sent],
                        result: RegisterResult) -> int:
    """One poll of the caller's market-processes queue, acknowledged; the number of messages."""
    response = await client.post("/v1/queues/market-processes/poll", params={"max": 2000})
    if response.status_code == 204:
        return 0
    response.raise_for_status()
    body = response.json()
    for message in body["messages"]:
        payload = message["payload"]
        sent = waiting.pop(payload.get("originalMessageId") or "", None) \
            if message["documentType"] == "Acknowledgement" else None
        if sent is not None and payload.get("status") == "rejected":
            result.rejected += 1
            if len(result.rejection_samples) < 10:
                codes = ", ".join(r["code"] for r in payload.get("reasons", []))
                result.rejection_samples.append(f"{sent.what}: rejected ({codes})")
    (await client.post("/v1/queues/market-processes/ack",
                       json={"pollId": body["pollId"]})).raise_for_status()
    return len(body["messages"])


@dataclass
class SendResult:
    """The outcome of a batch: counts of documents (accepted, duplicates, errors are
    documents), series, and the latency of each ``202``."""

    day: date
    documents: int = 0
    series: int = 0
    accepted: int = 0
    duplicates: int = 0
    errors: int = 0
    series_accepted: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    @property
    def series_per_second(self) -> float:
        return self.series / self.seconds if self.seconds else 0.0

    def percentiles(self) -> dict[str, float]:
        """p50/p95/p99/max latency of the 202s, in milliseconds (nearest rank)."""
        if not self.latencies:
            return {}
        ordered = sorted(self.latencies)

        def rank(q: float) -> float:
            return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]
        return {name: round(rank(q) * 1000, 1)
                for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))}

    def summary(self) -> str:
        latency = " ".join(f"{k} {v:g} ms" for k, v in self.percentiles().items())
        return (f"{self.day}: {self.series} series in {self.documents} documents in "
                f"{self.seconds:.1f} s ({self.series_per_second:,.0f} series/s): "
                f"{self.accepted} accepted, {self.duplicates} duplicates, {self.errors} errors"
                + (f"; 202 latency {latency}" if latency else ""))


def _batches(population: Population, batch_size: int
             ) -> Iterator[tuple[str, list[MeteringPointPlan]]]:
    """Each grid owner's points in documents of up to ``batch_size``, grid owners taking
    turns (so concurrent documents come from several senders, as on a real morning)."""
    per_owner = [[(owner, points[i:i + batch_size])
                  for i in range(0, len(points), batch_size)]
                 for owner, points in population.points_of_grid_owner().items()]
    for round_ in zip_longest(*per_owner):
        for batch in round_:
            if batch is not None:
                yield batch


def _values_body(population: Population, day: date, batch_size: int, owner: str,
                 points: list[MeteringPointPlan]) -> bytes:
    message_id = uuid.uuid5(
        NAMESPACE, f"{population.seed}|values|{owner}|{day}|{batch_size}|{points[0].gsrn}")
    return json.dumps({"messageId": str(message_id),
                       "series": [series_for(p, day, population.seed) for p in points]}
                      ).encode()


async def send_day(population: Population, day: date, client_factory: ClientFactory, *,
                   batch_size: int = 50, concurrency: int = 32, rate: float | None = None,
                   prebuild: bool = False, quiet: bool = False, console: Console | None = None
                   ) -> SendResult:
    """The morning batch: every grid owner sends its points' series for ``day`` in documents
    of up to ``batch_size`` series, at most ``concurrency`` documents in flight and at most
    ``rate`` series per second.

    Documents are built as they are sent (about 0.2 ms of CPU per series, in this event
    loop); ``prebuild`` builds them all before the clock starts, so that a benchmark measures
    the API rather than the generator (about 4 KB of memory per series).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    result = SendResult(day)
    pacer = Pacer(rate)
    jobs: Iterable[tuple[str, list[MeteringPointPlan], bytes | None]] = (
        (owner, points, None) for owner, points in _batches(population, batch_size))
    if prebuild:
        jobs = [(owner, points, _values_body(population, day, batch_size, owner, points))
                for owner, points, _ in jobs]
    began = time.perf_counter()
    async with _progress(quiet, console) as progress:
        task = progress.add_task(f"sending {day}", total=len(population.points), note="")

        async def one(job: tuple[str, list[MeteringPointPlan], bytes | None]) -> None:
            owner, points, body = job
            if body is None:
                body = _values_body(population, day, batch_size, owner, points)
            await pacer.take(len(points))
            answer = await post_document(client_factory(owner, "grid_owner"),
                                         "/v1/metering-values", body)
            result.documents += 1
            result.series += len(points)
            if answer.outcome == "accepted":
                result.accepted += 1
                result.series_accepted += len(points)
                result.latencies.append(answer.seconds)
            elif answer.outcome == "duplicate":
                result.duplicates += 1
            else:
                result.errors += 1
                _record_error(result.error_samples, f"metering values from {owner}", answer)
            progress.update(task, advance=len(points),
                            note=f"{result.series / max(1e-9, time.perf_counter() - began):,.0f}"
                                 " series/s")

        await _in_parallel(jobs, concurrency, one)
    result.seconds = time.perf_counter() - began
    return result


async def follow(population: Population, client_factory: ClientFactory, last_day: date, *,
                 rate: float = 1.0, batch_size: int = 50, concurrency: int = 32,
                 console: Console | None = None, report_every: float = 60.0) -> None:
    """Forever (until cancelled): one correction (or, one time in ten, an identical resend
    under a new transaction, which the hub drops) of ``last_day`` for a random point per
    ``1/rate`` seconds, and the morning batch for each new Oslo day as it comes."""
    console = console or _console()
    rng = random.Random(f"{population.seed}|follow|{time.time()}")
    versions: dict[str, int] = {}
    pacer = Pacer(rate)
    counts: Counter[str] = Counter()
    next_report = time.monotonic() + report_every
    while True:
        yesterday = oslo_today() - timedelta(days=1)
        while last_day < yesterday:
            last_day += timedelta(days=1)
            result = await send_day(population, last_day, client_factory,
                                    batch_size=batch_size, concurrency=concurrency, quiet=True)
            _say(console, f"morning batch {result.summary()}")
            versions.clear()
        await pacer.take()
        point = rng.choice(population.points)
        version = versions.get(point.gsrn, 1)
        resend = rng.random() < 0.1
        if not resend:
            version += 1
            versions[point.gsrn] = version
        series = series_for(point, last_day, population.seed, version)
        if resend:  # same values, new transaction: a duplicate by content
            series["transactionId"] = str(uuid.uuid4())
        body = json.dumps({"messageId": str(uuid.uuid4()), "series": [series]}).encode()
        answer = await post_document(client_factory(point.grid_owner, "grid_owner"),
                                     "/v1/metering-values", body)
        counts["resends" if resend else "corrections"] += 1
        counts[answer.outcome] += 1
        if answer.outcome == "error":
            _record_error([], f"correction of {point.gsrn}", answer)
        if time.monotonic() >= next_report:
            next_report = time.monotonic() + report_every
            log.info("simulator trickle", day=str(last_day), **counts)
