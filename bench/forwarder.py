"""straum's worker alone: how fast series go from the intake topic into the actors' queue
topics, committed, with one or more ``straum worker`` processes.

The workers start on empty topics (each with a stable STRAUM_WORKER_ID); once their consumer
group is Stable, an API process takes the points' master data (registration, start of supply)
as the actors would send it, and is stopped once the workers have processed it. A warm-up
series per point creates every queue topic; only then are N series (each a new day for its
point) written straight to the intake topic as fast as a producer goes. The clock runs from the
first of those writes until the workers' group has committed the intake topic's log end: the
worker commits a batch's input offsets in the same Kafka transaction as its queue records, so
that moment is when the last queue record became visible to a ``read_committed`` reader. The
queue topics are then read (read_committed) to check that every series gave its three records,
each message id once.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import Run, console, progress
from bench.fixtures import Market, make_market, series_records, warmup_records
from bench.intake import load_master_data, start_api
from bench.probe import Probe, produce
from bench.procs import Processes, cpu_snapshot
from bench.standalone import log_size, log_summary, until_members
from bench.tally import Tally, count_committed, queue_ends, tally
from bench.wait import caught_up
from schemas.settings import Settings
from streams.kafka import admin_client, ensure_topics
from streams.topics import TopicCatalogue

GRID_OWNERS, SUPPLIERS = 10, 20


@dataclass(frozen=True)
class Timed:
    """The measured part: N series from their first write until their outputs are committed."""

    load_s: float  # writing the N series to the intake topic
    path_s: float  # first write → the group's committed intake offsets at the log end
    path_ts_s: float | None  # first write → the newest queue record's CreateTime
    queued: Tally  # what the queue topics hold from this run (read_committed)
    dead_letters: int
    cpu: dict[str, float]  # CPU seconds per process (worker-N, broker, bench, machine)
    problems: list[str]  # warnings and errors the workers logged meanwhile


@dataclass(frozen=True)
class ForwarderResult:
    workers: int
    partitions: int
    series: int
    points: int
    startup_s: float
    master_docs: int
    master_s: float
    timed: Timed

    @property
    def rate(self) -> float:
        return self.series / self.timed.path_s

    @property
    def worker_cpu(self) -> float:
        return sum(v for k, v in self.timed.cpu.items() if k.startswith("worker"))


async def create_topics(settings: Settings) -> TopicCatalogue:
    catalogue = TopicCatalogue.from_settings(settings)
    admin = admin_client(settings, "bench-admin")
    await admin.start()
    try:
        await ensure_topics(admin, catalogue.static_topics())
    finally:
        await admin.close()
    return catalogue


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


def worker_names(workers: int) -> list[str]:
    return ["worker"] if workers == 1 else [f"worker-{i + 1}" for i in range(workers)]


async def timed_run(run: Run, settings: Settings, probe: Probe, procs: Processes,
                    market: Market, catalogue: TopicCatalogue, names: list[str]) -> Timed:
    group, intake = settings.topic_prefix, catalogue.metering_values
    count = run.series
    records = series_records(market, count)
    since = await queue_ends(settings)
    intake0 = await probe.end([intake])
    dead0 = await count_committed(settings, catalogue.dead_letters)
    pids = {n: procs.running[n].pid for n in names}
    pids["broker"] = run.broker_pid
    marks = {n: log_size(procs.log(n)) for n in names}
    cpu0 = cpu_snapshot(pids)
    wall0, started = time.time(), time.monotonic()
    await produce(settings, intake, records)
    load_s = time.monotonic() - started
    with progress() as bar:
        task = bar.add_task("worker: intake committed with its outputs", total=count)
        while True:
            procs.check()
            done, end = await probe.lag(group, intake)
            bar.update(task, completed=done - intake0)
            if end >= intake0 + count and done >= end:
                break
            if time.monotonic() - started > 600:
                raise TimeoutError("the workers did not catch up within 600 s")
            await asyncio.sleep(0.05)
    path_s = time.monotonic() - started
    cpu = spent(cpu0, cpu_snapshot(pids))
    queued = await tally(settings, since)
    problems = [f"{n}: {line}" for n in names
                for line in log_summary(procs.log(n), since=marks[n], limit=3)]
    return Timed(load_s, path_s, queued.newest_ms / 1000 - wall0 if queued.newest_ms else None,
                 queued, await count_committed(settings, catalogue.dead_letters) - dead0, cpu,
                 problems)


async def run_forwarder(run: Run, profile: Path | None = None, workers: int = 1,
                        partitions: int | None = None) -> ForwarderResult:
    settings = run.settings(f"fwd{workers}w")
    if partitions is not None:
        settings = settings.model_copy(update={"partitions": partitions})
    catalogue = await create_topics(settings)
    market = make_market(run.series, GRID_OWNERS, SUPPLIERS, seed=2)
    python = [sys.executable, "-m", "cProfile", "-o", str(profile)] if profile else None
    names = worker_names(workers)
    with Processes(settings) as procs:
        for name in names:
            procs.start_worker(name, python=python)
        async with Probe(settings) as probe:
            startup_s = await until_members(probe, procs, settings.topic_prefix, workers)
            console.print(f"forwarder: {workers} worker(s) Stable after {startup_s:.1f} s")
            master_s = await load_and_warm_up(settings, probe, procs, market, catalogue)
            timed = await timed_run(run, settings, probe, procs, market, catalogue, names)
    return ForwarderResult(workers, settings.partitions, run.series, len(market.all_points),
                           startup_s, 2 * len(market.all_points), master_s, timed)


async def load_and_warm_up(settings: Settings, probe: Probe, procs: Processes,
                           market: Market, catalogue: TopicCatalogue) -> float:
    """Register the market's master data through a short-lived API process, then send one
    warm-up series per point and wait until it is through; the master data's seconds."""
    async with httpx.AsyncClient(base_url=start_api(procs), timeout=60) as client:
        master_s = await load_master_data(settings, probe, procs, client, market, catalogue)
    procs.stop("api")
    await produce(settings, catalogue.metering_values, warmup_records(market))
    await caught_up(probe, procs, catalogue.metering_values, "worker: warm-up series")
    return master_s


async def until_stable(probe: Probe, procs: Processes, group: str) -> float:
    """Seconds from the first worker's start until its consumer group is Stable."""
    return await until_members(probe, procs, group, 1)
