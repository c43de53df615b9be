"""``python -m bench.replay_bench``: replaying a day, with and without live traffic, and
catching up after a weekend with the processors down.

The issue: replay of one day for 100,000 metering points (96-point series): series/s and total
time, with and without live traffic; catch-up time after the processors were down for a
simulated weekend of intake. That many points do not fit this benchmark's five minutes on a
2-CPU machine (registering them alone takes the worker, which takes master data one document at
a time, several minutes): the run is scaled down (``--points``) and says so.

One worker, one API and one monitor (production settings) run against the broker. Then:

1. a simulated market (``connectors.simulator``: the planned population, mixed PT15M/PT1H as in
   Norway) is registered through the API (registration, start of supply);
2. one day of values for every point is written to the intake topic (the records the API would
   write: simulator documents through ``MeteringValuesDocument`` and ``series_records``) and
   the worker forwards it;
3. ``straum replay metering-values --from <day> --to <day+1> --rate 0`` runs as a subprocess:
   its wall time (plan + send) gives series/s. The replay writes the messages straight to the
   actors' queue topics (acks=all) before it exits; the queue topics are read back
   (read_committed) to count the replayed messages;
4. the same replay again while grid owners POST another day through the API at a modest rate
   (live traffic), their 202 latencies recorded;
5. weekend: the worker is stopped (SIGTERM), two days of values for every point are written to
   intake, the worker (same STRAUM_WORKER_ID) is started again, and the clock runs until its
   group has committed the intake log end: the worker commits the queue records in the same
   transaction as the input offsets, so the queues have caught up then too. The monitor's
   catch-up ETA (``catchUpEtaSeconds`` in its status) is sampled meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import resource
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

import straum.monitor as monitor_module
from bench.common import Run, Table, console, num, percentile, progress
from bench.forwarder import create_topics
from bench.intake import start_api, wait_ready
from bench.probe import Probe, produce
from bench.procs import Processes, cpu_snapshot
from bench.standalone import log_size, log_summary, main
from bench.tally import queue_ends, tally
from bench.wait import caught_up, until_logged
from connectors.compacted import CompactedView
from connectors.http.intake import series_records
from connectors.simulator import (
    DevClients,
    MeteringPointPlan,
    Population,
    oslo_midnight,
    oslo_today,
    plan_population,
    post_document,
    register,
    series_for,
)
from schemas.api import MeteringValuesDocument
from schemas.settings import Settings
from streams.records import ops_status
from streams.topics import TopicCatalogue

SEED = 7
BATCH = 50  # series per document, as the simulator's morning batch
LIVE_RATE = 50.0  # series/s of live traffic during the second replay
LIVE_BATCH = 5


def day_records(population: Population, day: date) -> list[tuple[bytes, bytes]]:
    """Every point's series for ``day`` as the API writes them to the intake topic."""
    out: list[tuple[bytes, bytes]] = []
    with progress() as bar:
        task = bar.add_task(f"build intake records for {day}", total=len(population.points))
        for owner, points in population.points_of_grid_owner().items():
            for i in range(0, len(points), BATCH):
                chunk = points[i:i + BATCH]
                document = MeteringValuesDocument.model_validate(
                    {"messageId": str(uuid.uuid4()),
                     "series": [series_for(p, day, population.seed) for p in chunk]})
                out += series_records(document, owner)
                bar.advance(task, len(chunk))
    return out


@dataclass
class Replay:
    series: int = 0
    messages: int = 0
    cli_s: float = 0.0
    in_queues: int = 0  # replayed messages read back from the queue topics
    returncode: int = 0
    cli_cpu_s: float = 0.0
    stderr_tail: str = ""
    cpu: dict[str, float] = field(default_factory=dict)


async def replay(procs: Processes, probe: Probe, catalogue: TopicCatalogue, day: date,
                 pids: dict[str, int]) -> Replay:
    """Run the replay CLI for ``day``; time it and count what it wrote to the queues."""
    out = Replay()
    since = await queue_ends(procs.settings)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    before = cpu_snapshot(pids)
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "straum", "replay", "metering-values",
        "--from", oslo_midnight(day).isoformat(),
        "--to", oslo_midnight(day + timedelta(days=1)).isoformat(), "--rate", "0",
        env=procs.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await process.communicate()
    out.cli_s = time.monotonic() - started
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    out.cli_cpu_s = (reaped.ru_utime + reaped.ru_stime) - (children.ru_utime + children.ru_stime)
    text = err.decode(errors="replace")
    out.returncode = process.returncode or 0
    out.stderr_tail = " | ".join(line.strip() for line in text.splitlines()[-3:])
    done = re.search(r"(done|stopped): ([\d,]+) series, ([\d,]+) messages", text)
    if out.returncode != 0 or done is None:
        raise RuntimeError(f"straum replay failed ({out.returncode}): {text[-1500:]}")
    out.series = int(done.group(2).replace(",", ""))
    out.messages = int(done.group(3).replace(",", ""))
    after = cpu_snapshot(pids)
    out.cpu = {k: after[k] - before[k] for k in before}
    out.in_queues = (await tally(procs.settings, since)).replayed
    return out


async def committed_past(probe: Probe, procs: Processes, topic: str, within: float = 600,
                         target: dict[Any, int] | None = None) -> None:
    """Until the group has committed, in every partition of ``topic``, the log end as it is
    now or ``target`` (later records, e.g. live traffic, need not be done)."""
    tps = await probe.partitions(topic)
    target = target or await probe.consumer.end_offsets(tps)
    group = procs.settings.topic_prefix
    deadline = time.monotonic() + within
    while True:
        procs.check()
        committed = await probe.admin.list_consumer_group_offsets(group, partitions=tps)
        if all(tp in committed and committed[tp].offset >= target[tp] for tp in tps):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{topic}: the group did not commit the log end in {within} s")
        await asyncio.sleep(0.1)


@dataclass
class Live:
    series: int = 0
    documents: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0


async def live_traffic(population: Population, day: date, clients: DevClients, live: Live,
                       stop: asyncio.Event) -> None:
    """Grid owners POST ``day``'s series at LIVE_RATE (documents of LIVE_BATCH) until stopped."""
    points: list[MeteringPointPlan] = list(population.points)
    started = time.monotonic()
    tasks: set[asyncio.Task[None]] = set()

    async def one(owner: str, chunk: list[MeteringPointPlan]) -> None:
        body = (b'{"messageId":"' + str(uuid.uuid4()).encode() + b'","series":['
                + b",".join(_json(series_for(p, day, population.seed)) for p in chunk) + b"]}")
        answer = await post_document(clients(owner, "grid_owner"), "/v1/metering-values", body)
        live.documents += 1
        if answer.outcome == "accepted":
            live.series += len(chunk)
            live.latencies_ms.append(answer.seconds * 1000)
        else:
            live.errors += 1

    by_owner: dict[str, list[MeteringPointPlan]] = {}
    for p in points:
        by_owner.setdefault(p.grid_owner, []).append(p)
    queue = [(o, ps[i:i + LIVE_BATCH]) for o, ps in by_owner.items()
             for i in range(0, len(ps), LIVE_BATCH)]
    n = 0
    while not stop.is_set() and n < len(queue):
        task = asyncio.create_task(one(*queue[n]))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
        due = started + n * LIVE_BATCH / LIVE_RATE
        await asyncio.sleep(max(0.0, due - time.monotonic()))
    await asyncio.gather(*tasks)
    live.seconds = time.monotonic() - started


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value).encode()


@dataclass
class CatchUp:
    backlog_series: int = 0
    load_s: float = 0.0
    assigned_s: float = 0.0  # worker start → partitions assigned, tables restored
    path_s: float = 0.0  # worker start → the backlog committed with its queue records
    etas: list[tuple[float, float | None]] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    queued: int = 0


async def weekend(run: Run, settings: Settings, procs: Processes, probe: Probe,
                  catalogue: TopicCatalogue, population: Population, days: list[date],
                  status: CompactedView[dict[str, Any]]) -> CatchUp:
    out = CatchUp()
    procs.stop("worker")
    console.print("replay: worker stopped; the weekend's intake arrives")
    records = [r for d in days for r in day_records(population, d)]
    out.backlog_series = len(records)
    started = time.monotonic()
    await produce(settings, catalogue.metering_values, records)
    out.load_s = time.monotonic() - started
    since = await queue_ends(settings)
    backlog_end = await probe.consumer.end_offsets(await probe.partitions(
        catalogue.metering_values))
    mark = log_size(procs.log("worker"))
    procs.start_worker("worker")
    started, restarted_at = time.monotonic(), time.time()
    pids = {"worker": procs.running["worker"].pid, "broker": run.broker_pid}
    before = cpu_snapshot(pids)
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            s = status.values.get("status")
            if s is not None and s["takenAt"].timestamp() > restarted_at:
                out.etas.append((s["takenAt"].timestamp() - restarted_at,
                                 s.get("catchUpEtaSeconds")))
            await asyncio.sleep(1)

    sampler = asyncio.create_task(sample())
    try:
        out.assigned_s = await until_logged(procs, "worker", "partitions assigned",
                                            mark) - restarted_at
        await committed_past(probe, procs, catalogue.metering_values, within=900,
                             target=backlog_end)
        out.path_s = time.monotonic() - started
    finally:
        stop.set()
        await sampler
    after = cpu_snapshot(pids)
    out.cpu = {k: after[k] - before[k] for k in before}
    out.queued = (await tally(settings, since)).records
    return out


@dataclass
class Result:
    points: int
    registration_s: float
    day_series: int
    day_forward_s: float
    quiet: Replay
    busy: Replay
    live: Live
    catch: CatchUp
    problems: list[str]
    describe: str


async def run_all(run: Run, points: int) -> Result:
    settings = run.settings("rp")
    catalogue = await create_topics(settings)
    today = oslo_today()
    supply_start = today - timedelta(days=12)
    replay_day, live_day = today - timedelta(days=11), today - timedelta(days=10)
    weekend_days = [today - timedelta(days=9), today - timedelta(days=8)]
    population = plan_population(SEED, points, grid_owners=10, suppliers=20, third_parties=0)
    status = CompactedView(settings, catalogue.ops_status, ops_status.decode)
    with Processes(settings) as procs:
        procs.env.update({"STRAUM_WORKER_METRICS_PORT": "0", "STRAUM_MONITOR_METRICS_PORT": "0"})
        procs.start_worker("worker")
        base_url = start_api(procs)
        procs.start("monitor", "monitor", "--metrics-port", "0")
        async with Probe(settings) as probe, DevClients(base_url, settings) as clients:
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
                await wait_ready(client, procs)
            await status.start()
            console.print(f"replay: registering {points:,} points through the API")
            started = time.monotonic()
            registered = await register(population, clients, supply_start=supply_start,
                                        concurrency=32, settle_timeout=600, quiet=True)
            if registered.errors:
                raise RuntimeError(f"registration: {registered.errors} errors, e.g. "
                                   f"{registered.error_samples[:2]}")
            await caught_up(probe, procs, catalogue.master_data, "worker: master data")
            registration_s = time.monotonic() - started

            records = day_records(population, replay_day)
            started = time.monotonic()
            await produce(settings, catalogue.metering_values, records)
            await caught_up(probe, procs, catalogue.metering_values, "worker: the day forwarded")
            day_forward_s = time.monotonic() - started

            pids = {"worker": procs.running["worker"].pid, "api": procs.running["api"].pid,
                    "broker": run.broker_pid}
            console.print(f"replay: replaying {replay_day} (quiet)")
            quiet = await replay(procs, probe, catalogue, replay_day, pids)
            console.print(f"replay: {quiet.series:,} series in {quiet.cli_s:.1f} s; again with "
                          "live traffic")
            live, stop = Live(), asyncio.Event()
            traffic = asyncio.create_task(live_traffic(population, live_day, clients, live,
                                                       stop))
            await asyncio.sleep(3)
            try:
                busy = await replay(procs, probe, catalogue, replay_day, pids)
            finally:
                stop.set()
                await traffic
            await caught_up(probe, procs, catalogue.metering_values, "worker: live traffic")

            mark = {n: log_size(procs.log(n)) for n in ("worker", "api")}
            catch = await weekend(run, settings, procs, probe, catalogue, population,
                                  weekend_days, status)
            await status.stop()
            problems = [f"{n}: {line}" for n in ("worker", "api")
                        for line in log_summary(procs.log(n), since=mark[n], limit=3)]
    return Result(points, registration_s, len(records), day_forward_s, quiet, busy, live, catch,
                  problems, population.describe())


def tables(r: Result, quick: bool) -> list[Table]:
    t = Table("Replay of one day",
              ["Replay", "Series", "Messages", "In the queue topics", "CLI seconds",
               "Series/s", "CLI CPU s", "Worker CPU s", "Broker CPU s"])
    for label, rp in (("quiet (no other traffic)", r.quiet),
                      (f"with live traffic ({LIVE_RATE:g} series/s through the API)", r.busy)):
        t.rows.append([label, num(rp.series), num(rp.messages), num(rp.in_queues),
                       num(rp.cli_s, 1), num(rp.series / rp.cli_s), num(rp.cli_cpu_s, 1),
                       num(rp.cpu.get("worker", float("nan")), 1),
                       num(rp.cpu.get("broker", float("nan")), 1)])
    scale = ("--quick smoke run: " if quick else "") + (
        f"{r.points:,} metering points, not the issue's 100,000 ({r.describe}). Registering "
        f"them through the API took {r.registration_s:.0f} s; 100,000 would take about ten "
        "times that before anything is measured. "
        "At the same series/s, 100,000 points' day would take about ten times as long; the "
        "replay scans the intake from the window's start, so more stored intake after that "
        "(later days, other traffic) makes it longer still.")
    t.notes.append(scale)
    t.notes.append(
        f"The replayed day: {r.day_series:,} series (one per point; PT15M points have 96 "
        f"values, PT1H 24), forwarded the first time in {r.day_forward_s:.1f} s (intake "
        "written at once, until the worker's group had committed the intake log end, which it "
        "does in the same transaction as the queue records). The replay sends each series "
        "again to the supplier and the grid owner of the time (no acknowledgements), marked "
        "`replayed`, straight to their queue topics.")
    t.notes.append(
        "CLI seconds: `straum replay metering-values --from <day> --to <day+1> --rate 0`, "
        "process start to exit: loading every point's state and series history from the "
        "changelogs, the dry-run plan (a scan of the intake from the window's start), then "
        "the sending scan (produce to the queue topics with acks=all, checkpoint every 200 "
        "series): when it exits, the messages are in the actors' queues. 'In the queue "
        "topics': records marked replayed read back from the queue topics (read_committed) "
        "after the CLI exited.")
    lv = r.live
    t.notes.append(
        f"Live traffic during the second replay: {lv.series:,} series in {lv.documents:,} "
        f"documents of {LIVE_BATCH} over {lv.seconds:.1f} s, {lv.errors} errors; 202 latency "
        f"p50 {num(percentile(lv.latencies_ms, 50), 1)} ms, p99 "
        f"{num(percentile(lv.latencies_ms, 99), 1)} ms. The second replay also scans the live "
        "day's intake written so far (the window is in value time; the scan starts at the "
        "first intake record written after the window's start).")
    c = r.catch
    t2 = Table("Catch-up after a simulated weekend with the processors down",
               ["Backlog series", "Worker start → partitions assigned s",
                "Caught up (queues committed) s", "Series/s", "Queue records",
                "Worker CPU s"])
    t2.rows.append([num(c.backlog_series), num(c.assigned_s, 1), num(c.path_s, 1),
                    num(c.backlog_series / c.path_s), num(c.queued),
                    num(c.cpu.get("worker", float("nan")), 1)])
    t2.notes.append(
        f"Weekend: two days of values for every point ({c.backlog_series:,} series) written "
        f"to the intake topic in {c.load_s:.1f} s while the worker was stopped (SIGTERM); the "
        "API and the monitor kept running. The clock starts when the worker is started again "
        "(it restores its tables from the changelogs first; 'partitions assigned' is the "
        "time its log says so) and stops when its group has committed the intake log end, "
        "which it commits in the same transactions as the queue records "
        f"({c.queued:,} queue records: acknowledgement, supplier's and grid owner's "
        "notification per series).")
    window = getattr(monitor_module, "RATE_WINDOW_S", None)
    window_text = f", the last {window:g} s (`RATE_WINDOW_S`)" if window else ""
    rounds = sorted(dict(c.etas).items())  # one entry per monitor round
    etas = [(t, e) for t, e in rounds if e is not None]
    if etas:
        shown = etas[:: max(1, len(etas) // 6)][:7]
        t2.notes.append(
            "The monitor's catch-up ETA (`catchUpEtaSeconds`: backlog ÷ processed rate over "
            f"its rate window{window_text}), per monitor round after the restart, as "
            "(seconds since restart: ETA): "
            + ", ".join(f"{t:.0f} s: {e:.0f} s" for t, e in shown)
            + f"; the worker actually caught up at {c.path_s:.0f} s. Early rounds "
            "still average in time before the worker was back, so the first ETAs run long.")
    else:
        t2.notes.append("The monitor reported no catch-up ETA while catching up (it needs a "
                        "processed rate over its window; the catch-up may have been quicker "
                        "than its 5 s rounds could see).")
    for line in r.problems:
        t2.notes.append(f"Warnings/errors logged from the first replay on: `{line}`")
    return [t, t2]


async def measure(run: Run, args: argparse.Namespace) -> list[Table]:
    points = args.points or (1_000 if run.quick else 10_000)
    return tables(await run_all(run, points), run.quick)


def extend(p: argparse.ArgumentParser) -> None:
    p.add_argument("--points", type=int, help="metering points (default 10000; quick 1000)")


if __name__ == "__main__":
    raise SystemExit(main("replay_bench", "Replay and catch-up", __doc__, measure,
                          extend=extend))
