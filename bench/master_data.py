"""Master data in bulk: registrations of new metering points POSTed over HTTP, one document per
request as the API takes them, by many grid owners at once, until every acknowledgement is in
the grid owner's queue.

One ``straum api`` process and one ``straum worker`` (stable STRAUM_WORKER_ID) run on the
machine. Two phases, each with its own new points:

1. together: the worker runs while ``CONCURRENCY`` clients POST the registrations (each
   document from its point's grid owner, the grid owners taking turns). Measured: first POST →
   last 202 (the API, with the worker beside it), and first POST → the worker's group has
   committed the master-data intake's log end (the acknowledgements are committed in the same
   transaction as the new state and the input offsets: that is when every one of them is in
   its grid owner's queue);
2. backlog: the worker is stopped (SIGTERM), the registrations are POSTed (the API alone on
   the machine), then the worker is started again: from its log saying its partitions are
   assigned (tables restored) until it has committed the intake's log end is the processor
   alone.

Before both, one registration per grid owner makes their queue topics exist.

The grid owners' market-processes queues are read back (read_committed): one acknowledgement
per registration, each message id once. Beside it, raw aiokafka in the same run: the same
master-data records produced one send per record (acks=all), and consumed → transacted → one
record of the acknowledgement's size produced per input, as bench/baseline.py does for series.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import httpx
from aiokafka import TopicPartition

from bench.baseline import Shape, Transacted, create_plain_topics, produce_all, transact_through
from bench.common import Run, Table, console, num, progress
from bench.fixtures import RESOLUTION, new_points
from bench.forwarder import create_topics
from bench.intake import start_api, wait_ready
from bench.probe import Probe
from bench.procs import Processes, cpu_snapshot
from bench.standalone import log_size, log_summary, until_members
from bench.tally import Tally, queue_ends, tally
from bench.wait import caught_up, until_logged
from connectors.http.auth import issue_dev_token
from domain.series import HUB_TIMEZONE
from schemas.settings import Settings
from streams.kafka import reader
from streams.topics import TopicCatalogue
from tests.helpers import register_point

GRID_OWNERS = 40
CONCURRENCY = 16
TARGET = 2000.0


@dataclass
class Posted:
    """One phase's POSTs: how long until the last 202, and what came back."""

    documents: int
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    retries: int = 0
    latencies_ms: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Phase:
    name: str
    posted: Posted
    processed_s: float  # the phase's processor clock (see the module's docstring)
    queued: Tally
    cpu: dict[str, float]
    problems: list[str]
    startup_s: float | None = None  # backlog: worker start → group Stable


@dataclass(frozen=True)
class MasterDataResult:
    together: Phase
    backlog: Phase
    record_bytes: int
    ack_bytes: float
    produced_s: float
    raw: Transacted


async def post_registrations(client: httpx.AsyncClient, token: dict[str, str],
                             docs: list[tuple[str, dict[str, object]]], label: str) -> Posted:
    """POST every document, ``CONCURRENCY`` at a time; a 429 or 503 is sent again after its
    Retry-After, as a client would."""
    out = Posted(len(docs))
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(owner: str, body: dict[str, object]) -> None:
        headers = {"Authorization": f"Bearer {token[owner]}"}
        async with gate:
            while True:
                sent = time.monotonic()
                response = await client.post("/v1/metering-points", json=body, headers=headers)
                out.statuses[response.status_code] = out.statuses.get(response.status_code,
                                                                      0) + 1
                if response.status_code in (429, 503):
                    out.retries += 1
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                if response.status_code != 202:
                    raise RuntimeError(f"POST /v1/metering-points answered "
                                       f"{response.status_code}: {response.text[:300]}")
                out.latencies_ms.append((time.monotonic() - sent) * 1000)
                return

    with progress() as bar:
        task = bar.add_task(label, total=len(docs))
        started = time.monotonic()
        for done in asyncio.as_completed([one(o, b) for o, b in docs]):
            await done
            bar.advance(task)
        out.seconds = time.monotonic() - started
    return out


def registrations(points: list[tuple[str, str]], valid_from: date
                  ) -> list[tuple[str, dict[str, object]]]:
    """(grid owner, document) per point, the grid owners taking turns."""
    return [(owner, register_point(point, RESOLUTION, valid_from)) for point, owner in points]


async def one_record(settings: Settings, topic: str) -> bytes:
    """The value of one committed record of ``topic`` (partition order)."""
    consumer = reader(settings, "bench-sample")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(settings.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        for _ in range(40):
            for records in (await consumer.getmany(timeout_ms=250, max_records=1)).values():
                if records and records[0].value:
                    return bytes(records[0].value)
        raise RuntimeError(f"no record in {topic}")
    finally:
        await consumer.stop()


async def run_master_data(run: Run, documents: int) -> MasterDataResult:
    settings = run.settings("md")
    catalogue = await create_topics(settings)
    points = new_points(2 * documents + GRID_OWNERS, GRID_OWNERS, seed=5)
    warm, first, second = (points[:GRID_OWNERS], points[GRID_OWNERS:GRID_OWNERS + documents],
                           points[GRID_OWNERS + documents:])
    token = {o: issue_dev_token(settings, o, ["grid_owner"]) for o in {o for _, o in points}}
    valid_from = datetime.now(HUB_TIMEZONE).date() - timedelta(days=60)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    with Processes(settings) as procs:
        procs.start_worker()
        base = start_api(procs)
        async with Probe(settings) as probe, httpx.AsyncClient(
                base_url=base, timeout=60, limits=limits) as client:
            await until_members(probe, procs, settings.topic_prefix, 1)
            await wait_ready(client, procs)
            # one registration per grid owner first: their queue topics exist, as they do for
            # grid owners that have used the hub before
            await post_registrations(client, token, registrations(warm, valid_from),
                                     "warm-up: one registration per grid owner")
            await caught_up(probe, procs, catalogue.master_data, "warm-up: worker committed")
            together = await phase(run, "together", settings, catalogue, probe, procs,
                                   client, token, registrations(first, valid_from),
                                   worker_running=True)
            backlog = await phase(run, "backlog", settings, catalogue, probe, procs, client,
                                  token, registrations(second, valid_from),
                                  worker_running=False)
        value = await one_record(settings, catalogue.master_data)
    ack_bytes = together.queued.mean_bytes("market-processes")
    raw_settings = run.settings("mdraw")
    source = f"{raw_settings.topic_prefix}.source"
    await create_plain_topics(raw_settings, [source], raw_settings.partitions)
    keys = [p.encode() for p, _ in first]
    produced_s = await produce_all(raw_settings, source, [(k, value) for k in keys])
    shape = Shape((300 if math.isnan(ack_bytes) else round(ack_bytes),),
                  ("market-processes",), {"market-processes": GRID_OWNERS})
    raw = await transact_through(raw_settings, source, raw_settings.partitions, shape,
                                 len(keys), "baseline: consume → transact → 1 record")
    return MasterDataResult(together, backlog, len(value), ack_bytes, produced_s, raw)


async def phase(run: Run, name: str, settings: Settings, catalogue: TopicCatalogue,
                probe: Probe, procs: Processes, client: httpx.AsyncClient,
                token: dict[str, str], docs: list[tuple[str, dict[str, object]]],
                worker_running: bool) -> Phase:
    since = await queue_ends(settings)
    if not worker_running:
        procs.stop("worker")
    pids = {"api": procs.running["api"].pid, "broker": run.broker_pid}
    if worker_running:
        pids["worker"] = procs.running["worker"].pid
    marks = {n: log_size(procs.log(n)) for n in ("worker", "api")}
    cpu0 = cpu_snapshot(pids)
    started = time.monotonic()
    posted = await post_registrations(client, token, docs, f"{name}: registrations POSTed")
    if worker_running:
        await caught_up(probe, procs, catalogue.master_data, f"{name}: worker committed")
        processed_s = time.monotonic() - started
        cpu = {k: v - cpu0[k] for k, v in cpu_snapshot(pids).items()}
    else:
        cpu = {k: v - cpu0[k] for k, v in cpu_snapshot(pids).items()}
        mark = log_size(procs.log("worker"))
        launched = time.time()
        procs.start_worker()
        wpids = {"worker": procs.running["worker"].pid, "broker": run.broker_pid}
        wcpu0 = cpu_snapshot(wpids)
        # the clock starts when the new worker has its partitions and restored its tables
        # (its log says so), not at the group's state: with static membership the group stays
        # Stable across a restart
        stable = await until_logged(procs, "worker", "partitions assigned", mark)
        await caught_up(probe, procs, catalogue.master_data, f"{name}: worker committed")
        processed_s = time.time() - stable
        wcpu = {k: v - wcpu0[k] for k, v in cpu_snapshot(wpids).items()}
        cpu.update({f"{k} (restart and processing)": v for k, v in wcpu.items()})
    queued = await tally(settings, since)
    problems = [f"{n}: {line}" for n in marks
                for line in log_summary(procs.log(n), since=marks[n], limit=3)]
    return Phase(name, posted, processed_s, queued, cpu, problems,
                 None if worker_running else stable - launched)


def master_data_table(r: MasterDataResult, produce_rate: float | None = None) -> Table:
    t, b = r.together, r.backlog
    n = t.posted.documents
    table = Table("Master data in bulk: registrations through the API and the processor",
                  ["Measure", "Documents", "Seconds", "Documents/s", "Raw aiokafka/s",
                   "straum ÷ raw", "Target", "Met"])
    raw_produce = n / r.produced_s

    def row(label: str, docs: int, seconds: float, raw: float | None,
            target: bool = False) -> None:
        rate = docs / seconds
        table.rows.append([label, num(docs), num(seconds, 2), num(rate),
                           num(raw) if raw else "", f"{rate / raw:.0%}" if raw else "",
                           f"≥ {num(TARGET)}/s" if target else "",
                           ("yes" if rate >= TARGET else "**no**") if target else "–"])

    row("API and processor together: first POST → every acknowledgement committed",
        n, t.processed_s, None, target=True)
    row("API, worker running: first POST → last 202", n, t.posted.seconds, raw_produce)
    row("API alone (worker stopped): first POST → last 202", b.posted.documents,
        b.posted.seconds, raw_produce, target=True)
    row("processor alone (backlog): partitions assigned → intake committed",
        b.posted.documents,
        b.processed_s, r.raw.rate, target=True)
    for p in (t, b):
        expected = p.posted.documents
        acks = p.queued.by_queue.get("market-processes", 0)
        ok = acks == expected and p.queued.repeated == 0
        lat = sorted(p.posted.latencies_ms)
        p99 = lat[max(0, math.ceil(0.99 * len(lat)) - 1)] if lat else float("nan")
        table.notes.append(
            f"{p.name}: answers {dict(sorted(p.posted.statuses.items()))} "
            f"({p.posted.retries} sent again after 429/503); POST → 202 p50 "
            f"{num(lat[len(lat) // 2] if lat else float('nan'), 1)} ms, p99 {num(p99, 1)} ms; "
            f"read back from the grid owners' queues (read_committed): {num(acks)} "
            f"acknowledgements for {num(expected)} registrations, {p.queued.repeated} "
            f"repeated message ids — {'as expected' if ok else '**not as expected**'}.")
        table.notes.append(f"{p.name}: CPU seconds during the phase: "
                           + ", ".join(f"{k} {v:.1f}" for k, v in p.cpu.items()) + ".")
        for line in p.problems:
            table.notes.append(f"{p.name}, logged: `{line}`")
    table.notes += [
        f"Each document registers a new metering point (POST /v1/metering-points, one "
        f"document per request as the API takes them) from its grid owner; {GRID_OWNERS} grid "
        f"owners take turns, {CONCURRENCY} requests in flight, one API process (rate limit "
        f"per actor and API process as configured: 100/s), one worker, "
        f"{r.together.posted.documents:,} new points per phase.",
        f"Worker restart in the backlog phase: process start → partitions assigned and "
        f"tables restored {b.startup_s or float('nan'):.1f} s (its log's timestamp; not in "
        "the processor's clock).",
        f"Raw aiokafka in this run: the same master-data record ({r.record_bytes} bytes, as "
        f"the API wrote it) produced {num(n)} times one send per record (acks=all, "
        f"idempotent): {num(raw_produce)}/s; consumed → transacted → one "
        f"{num(r.raw.shape.sizes[0])}-byte record per input to {GRID_OWNERS} single-partition "
        f"queue topics: {num(r.raw.rate)}/s ({num(r.raw.transactions)} transactions). The "
        "worker also writes the point's new state to the table's changelog in the same "
        "transaction; the raw loop does not.",
    ]
    return table


async def measure_master_data(run: Run, documents: int) -> Table:
    console.print(f"master data: {documents} registrations per phase")
    return master_data_table(await run_master_data(run, documents))
