"""Over HTTP, with one worker and one API process: how many series the API takes, and how
long from a POST until the series can be polled.

1. Capacity: POSTs as fast as 16 concurrent clients get answers (closed loop), one series per
   document, then 10 series per document.
2. Latency: documents of 10 series each on a fixed schedule (open loop) at a rate well under
   that capacity, while each supplier polls its metering-values queue (max 500), acknowledges
   every poll and sleeps 50 ms when the queue is empty.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from bench.common import Run, console, progress
from bench.fixtures import RESOLUTION, Market, make_market
from bench.forwarder import create_topics, until_stable
from bench.intake import load_master_data, start_api, tokens
from bench.probe import Probe
from bench.procs import Processes
from tests.helpers import day_series, values_document

EMPTY_SLEEP_S = 0.05
PER_DOCUMENT = 10
CONCURRENCY = 16


@dataclass
class Seen:
    """What the suppliers' pollers saw: first sight per transaction, answer times."""

    at: dict[str, float] = field(default_factory=dict)
    poll_ms: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Capacity:
    series_per_post: int
    posts: int
    seconds: float


@dataclass(frozen=True)
class Posted:
    """The open-loop phase: series sent, and per accepted series its times."""

    sent: int
    send_s: float
    failed: int
    http_ms: list[float]
    pollable_ms: list[float]
    end_to_end_ms: list[float]
    missing: int


@dataclass(frozen=True)
class LatencyResult:
    rate: int
    seconds: float
    capacity: list[Capacity]
    posted: Posted
    poll_ms: list[float]


Docs = list[tuple[str, dict[str, object], list[str]]]


def documents(market: Market, first: int, count: int, per: int) -> tuple[Docs, int]:
    """``count`` documents of ``per`` series from slot ``first`` on, each from one grid owner
    for its own points: (grid owner, body, transaction ids), and the next free slot."""
    out: Docs = []
    waiting: dict[str, list[dict[str, object]]] = {}
    slot = first
    while len(out) < count:
        point, day = market.slot(slot)
        slot += 1
        series = waiting.setdefault(point.grid_owner, [])
        series.append(day_series(point.point_id, day, RESOLUTION))
        if len(series) == per:
            out.append((point.grid_owner, values_document(*series),
                        [str(s["transactionId"]) for s in series]))
            waiting[point.grid_owner] = []
    return out, slot


async def poll_loop(client: httpx.AsyncClient, token: str, seen: Seen) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        asked = time.monotonic()
        response = await client.post("/v1/queues/metering-values/poll", params={"max": 500},
                                     headers=headers)
        if response.status_code == 204:
            await asyncio.sleep(EMPTY_SLEEP_S)
            continue
        response.raise_for_status()
        now = time.monotonic()
        seen.poll_ms.append((now - asked) * 1000)
        body = response.json()
        for message in body["messages"]:
            seen.at.setdefault(message["payload"]["transactionId"], now)
        (await client.post("/v1/queues/metering-values/ack", json={"pollId": body["pollId"]},
                           headers=headers)).raise_for_status()


async def post(client: httpx.AsyncClient, token: str, body: dict[str, object]) -> float | None:
    """Seconds until the 202, or None when the document was not accepted."""
    started = time.monotonic()
    try:
        response = await client.post("/v1/metering-values", json=body,
                                     headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError:
        return None
    return time.monotonic() - started if response.status_code == 202 else None


async def capacity(client: httpx.AsyncClient, token: dict[str, str], docs: Docs,
                   label: str) -> float:
    """Seconds to get every document accepted, ``CONCURRENCY`` at a time."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(owner: str, body: dict[str, object]) -> None:
        async with gate:
            if await post(client, token[owner], body) is None:
                raise RuntimeError(f"{label}: a POST was not accepted")

    with progress() as bar:
        task = bar.add_task(label, total=len(docs))
        started = time.monotonic()
        for done in asyncio.as_completed([one(o, b) for o, b, _ in docs]):
            await done
            bar.advance(task)
        return time.monotonic() - started


async def until_seen(seen: Seen, wanted: list[str], pollers: list[asyncio.Task[None]],
                     label: str, within: float = 120) -> None:
    with progress() as bar:
        task = bar.add_task(label, total=len(wanted))
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for poller in pollers:
                if poller.done():
                    poller.result()
            count = sum(1 for tx in wanted if tx in seen.at)
            bar.update(task, completed=count)
            if count == len(wanted):
                return
            await asyncio.sleep(0.2)


async def run_latency(run: Run, rate: int, seconds: float) -> LatencyResult:
    settings = run.settings("lat")
    catalogue = await create_topics(settings)
    probe_posts = 200 if run.quick else 1000
    probes = [(1, probe_posts), (PER_DOCUMENT, probe_posts // PER_DOCUMENT * 2)]
    total_docs = int(rate * seconds) // PER_DOCUMENT
    slots = sum(per * (n + 2) for per, n in probes) + (total_docs + 2) * PER_DOCUMENT
    market = make_market(slots, grid_owners=2, suppliers=2, seed=3)
    token = tokens(settings, market)
    seen = Seen()
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    with Processes(settings) as procs:
        procs.start("worker", "worker", "--metrics-port", "0")
        base = start_api(procs)
        async with Probe(settings) as probe, httpx.AsyncClient(
                base_url=base, timeout=60, limits=limits) as client, httpx.AsyncClient(
                base_url=base, timeout=60) as poll_client:
            await until_stable(probe, procs, settings.topic_prefix)
            await load_master_data(settings, probe, procs, client, market, catalogue)
            pollers = [asyncio.create_task(poll_loop(poll_client, token[s], seen))
                       for s in market.suppliers]
            try:
                caps, slot = [], 0
                for per, n in probes:
                    docs, slot = documents(market, slot, n, per)
                    took = await capacity(client, token, docs, f"API capacity: {per} per POST")
                    caps.append(Capacity(per, n, took))
                    await until_seen(seen, [tx for *_, txs in docs for tx in txs], pollers,
                                     "suppliers: capacity series polled")
                seen.poll_ms.clear()
                docs, _ = documents(market, slot, total_docs, PER_DOCUMENT)
                posted = await timed_posts(client, token, docs, rate / PER_DOCUMENT, seen,
                                           pollers)
            finally:
                for poller in pollers:
                    poller.cancel()
                await asyncio.gather(*pollers, return_exceptions=True)
    return LatencyResult(rate, seconds, caps, posted, seen.poll_ms)


async def timed_posts(client: httpx.AsyncClient, token: dict[str, str], docs: Docs,
                      per_second: float, seen: Seen, pollers: list[asyncio.Task[None]]
                      ) -> Posted:
    posted: dict[str, float] = {}
    accepted: dict[str, float] = {}
    failed = 0

    async def send(owner: str, body: dict[str, object], txs: list[str]) -> None:
        nonlocal failed
        started = time.monotonic()
        took = await post(client, token[owner], body)
        if took is None:
            failed += 1
            return
        for tx in txs:
            posted[tx], accepted[tx] = started, started + took

    console.print(f"latency: {len(docs)} POSTs of {PER_DOCUMENT} series at {per_second:g}/s")
    started = time.monotonic()
    tasks = []
    with progress() as bar:
        task = bar.add_task("latency: documents posted", total=len(docs))
        for i, (owner, body, txs) in enumerate(docs):
            await asyncio.sleep(max(0.0, started + i / per_second - time.monotonic()))
            tasks.append(asyncio.create_task(send(owner, body, txs)))
            bar.update(task, completed=i + 1)
        await asyncio.gather(*tasks)
    send_s = time.monotonic() - started
    await until_seen(seen, list(accepted), pollers, "latency: series polled", within=60)
    ok = [tx for tx in accepted if tx in seen.at]
    return Posted(len(docs) * PER_DOCUMENT, send_s, failed,
                  [(accepted[tx] - posted[tx]) * 1000 for tx in accepted],
                  [(seen.at[tx] - accepted[tx]) * 1000 for tx in ok],
                  [(seen.at[tx] - posted[tx]) * 1000 for tx in ok],
                  len(accepted) - len(ok))
