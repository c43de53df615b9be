"""straum's worker alone: how fast series go from the intake topic to outbound and to the
actors' queue topics, with one ``python -m straum worker`` process.

The worker starts on empty topics; once its consumer group is Stable, an API process takes the
points' master data (registration, start of supply) as the actors would send it, and is stopped
once the worker has processed it. A warm-up series per supplier creates every queue topic; only
then are N series (each a new day for its point) written straight to the intake topic as fast
as a producer goes. The clock runs from the first of those writes until the worker's group has
committed the intake topic's log end (forwarder), then the outbound topic's (queue writer).
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
from bench.wait import caught_up
from straum.settings import Settings
from streams.kafka import admin_client, ensure_topics
from streams.topics import TopicCatalogue

GRID_OWNERS, SUPPLIERS = 10, 20
FAN_OUT = 3  # outbound records per accepted series: ack, supplier, grid owner


@dataclass(frozen=True)
class Timed:
    """The measured part: N series from their first write until both groups caught up."""

    load_s: float
    forward_s: float
    path_s: float
    forward_ts_s: float | None
    path_ts_s: float | None
    outbound_records: int
    queue_records: int
    dead_letters: int
    behind_at_forward: int  # outbound records the queue writer still had to do then
    queue_record_bytes: int  # largest of the last queue records (a supplier's notification)
    cpu_forward: dict[str, float]  # CPU seconds per process during the forwarder window
    cpu_path: dict[str, float]  # ... during the whole path window


@dataclass(frozen=True)
class ForwarderResult:
    series: int
    points: int
    startup_s: float
    master_docs: int
    master_s: float
    timed: Timed


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


async def timed_run(run: Run, settings: Settings, probe: Probe, procs: Processes,
                    market: Market, catalogue: TopicCatalogue) -> Timed:
    group, intake, outbound = settings.topic_prefix, catalogue.metering_values, catalogue.outbound
    count = run.series
    records = series_records(market, count)
    queues = await probe.topics(f"{settings.topic_prefix}.queue.")
    intake0, out0 = await probe.end([intake]), await probe.end([outbound])
    queue0, dead0 = await probe.end(queues), await probe.end([catalogue.dead_letters])
    pids = {"worker": procs.running["worker"].pid, "broker": run.broker_pid}
    forward_at = path_at = 0.0
    behind = 0
    cpu0 = cpu_snapshot(pids)
    cpu_fwd: dict[str, float] = {}
    wall0, started = time.time(), time.monotonic()
    await produce(settings, intake, records)
    load_s = time.monotonic() - started
    with progress() as bar:
        fwd = bar.add_task("forwarder: intake committed", total=count)
        qw = bar.add_task("queue writer: outbound committed", total=count * FAN_OUT)
        while not path_at:
            procs.check()
            done, end = await probe.lag(group, intake)
            bar.update(fwd, completed=done - intake0)
            out_done, out_end = await probe.lag(group, outbound)
            bar.update(qw, completed=out_done - out0)
            if not forward_at and end >= intake0 + count and done >= end:
                forward_at, cpu_fwd = time.monotonic(), spent(cpu0, cpu_snapshot(pids))
                behind = out_end - out_done
            if forward_at and out_done >= out_end:
                path_at = time.monotonic()
            if time.monotonic() - started > 600:
                raise TimeoutError("the worker did not catch up within 600 s")
            await asyncio.sleep(0.1)
    cpu_path = spent(cpu0, cpu_snapshot(pids))
    queues = await probe.topics(f"{settings.topic_prefix}.queue.")
    (fwd_ts, _), (path_ts, size) = (await probe.last_records([outbound]),
                                    await probe.last_records(queues))
    return Timed(load_s, forward_at - started, path_at - started,
                 fwd_ts - wall0 if fwd_ts else None, path_ts - wall0 if path_ts else None,
                 await probe.end([outbound]) - out0, await probe.end(queues) - queue0,
                 await probe.end([catalogue.dead_letters]) - dead0, behind, size, cpu_fwd,
                 cpu_path)


async def run_forwarder(run: Run, profile: Path | None = None) -> ForwarderResult:
    settings = run.settings("fwd")
    catalogue = await create_topics(settings)
    market = make_market(run.series, GRID_OWNERS, SUPPLIERS, seed=2)
    python = [sys.executable, "-m", "cProfile", "-o", str(profile)] if profile else None
    with Processes(settings) as procs:
        procs.start("worker", "worker", "--metrics-port", "0", python=python)
        async with Probe(settings) as probe:
            startup_s = await until_stable(probe, procs, settings.topic_prefix)
            console.print(f"forwarder: worker group Stable after {startup_s:.1f} s")
            master_s = await load_and_warm_up(settings, probe, procs, market, catalogue)
            timed = await timed_run(run, settings, probe, procs, market, catalogue)
    return ForwarderResult(run.series, len(market.all_points), startup_s,
                           2 * len(market.all_points), master_s, timed)


async def load_and_warm_up(settings: Settings, probe: Probe, procs: Processes,
                           market: Market, catalogue: TopicCatalogue) -> float:
    """Register the market's master data through a short-lived API process, then send one
    warm-up series per point and wait until it is through; the master data's seconds."""
    async with httpx.AsyncClient(base_url=start_api(procs), timeout=60) as client:
        master_s = await load_master_data(settings, probe, procs, client, market, catalogue)
    procs.stop("api")
    await produce(settings, catalogue.metering_values, warmup_records(market))
    await caught_up(probe, procs, catalogue.metering_values, "worker: warm-up series")
    await caught_up(probe, procs, catalogue.outbound, "worker: warm-up outbound")
    return master_s


async def until_stable(probe: Probe, procs: Processes, group: str) -> float:
    """Seconds from the worker's start until its consumer group is Stable."""
    deadline = time.monotonic() + 180
    while not await probe.group_stable(group):
        procs.check()
        if time.monotonic() > deadline:
            raise TimeoutError("the worker's consumer group was not Stable within 180 s")
        await asyncio.sleep(0.1)
    return time.monotonic() - procs.started_at["worker"]
