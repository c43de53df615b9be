"""``python -m bench.scaleout``: forwarder throughput with one and with two worker processes.

The same measurement as bench/forwarder.py (its functions are used as they are), on topics with
``STRAUM_PARTITIONS=12``, once with one ``straum worker`` and once with two in the same
consumer group: master data through the API, a warm-up series per supplier, then N series (each
a new day for its point) written straight to the intake topic; the clock runs from the first
write until the group has committed the intake topic's log end (forwarder) and then the
outbound topic's (queue writer, the whole path to the actor queues). Beside them, the raw
aiokafka consume-then-produce loop of bench/baseline.py on 12-partition topics with the same
records. The machine has two CPUs, shared by the broker, the workers and this benchmark.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace

from bench.baseline import pass_through, produce_all
from bench.common import Run, Table, console, num
from bench.fixtures import make_market, series_value
from bench.forwarder import (
    GRID_OWNERS,
    SUPPLIERS,
    Timed,
    create_topics,
    load_and_warm_up,
    timed_run,
)
from bench.probe import Probe
from bench.procs import Processes, cpu_snapshot
from bench.standalone import log_size, log_summary, main, until_members
from straum.settings import Settings
from streams.kafka import admin_client, ensure_topics
from streams.topics import TopicSpec

PARTITIONS = 12


@dataclass(frozen=True)
class Config:
    workers: int
    startup_s: float
    master_s: float
    master_docs: int
    timed: Timed
    cpu_workers: list[float]  # CPU seconds per worker during the whole-path window
    cpu_broker: float
    cpu_machine: float
    problems: list[str]


def settings_for(run: Run, name: str) -> Settings:
    return run.settings(name).model_copy(update={"partitions": PARTITIONS})


async def one_config(run: Run, workers: int, series: int) -> Config:
    settings = settings_for(run, f"so{workers}w")
    catalogue = await create_topics(settings)
    market = make_market(series, GRID_OWNERS, SUPPLIERS, seed=2)
    names = [f"worker-{i + 1}" for i in range(workers)]
    with Processes(settings) as procs:
        for name in names:
            procs.start(name, "worker", "--metrics-port", "0")
        async with Probe(settings) as probe:
            startup_s = await until_members(probe, procs, settings.topic_prefix, workers)
            console.print(f"scaleout: {workers} worker(s) Stable after {startup_s:.1f} s")
            master_s = await load_and_warm_up(settings, probe, procs, market, catalogue)
            # timed_run reads the CPU of the process named "worker"; alias the first one.
            procs.running["worker"] = procs.running[names[0]]
            pids = {n: procs.running[n].pid for n in names}
            pids["broker"] = run.broker_pid
            marks = {n: log_size(procs.log(n)) for n in names}
            before = cpu_snapshot(pids)
            timed = await timed_run(replace_series(run, series), settings, probe, procs,
                                    market, catalogue)
            after = cpu_snapshot(pids)
            del procs.running["worker"]
            problems = [f"{n}: {line}" for n in names
                        for line in log_summary(procs.log(n), since=marks[n], limit=3)]
    return Config(workers, startup_s, master_s, 2 * len(market.all_points), timed,
                  [after[n] - before[n] for n in names], after["broker"] - before["broker"],
                  after["machine"] - before["machine"], problems)


def replace_series(run: Run, series: int) -> Run:
    return replace(run, series=series)


async def baseline(run: Run, series: int) -> float:
    """Raw aiokafka consume-then-produce records/s on 12-partition topics."""
    settings = settings_for(run, "sobase")
    source, target = (f"{settings.topic_prefix}.{n}" for n in ("source", "target"))
    admin = admin_client(settings, "bench-scaleout-baseline")
    await admin.start()
    try:
        await ensure_topics(admin, [TopicSpec(n, PARTITIONS, 1, -1) for n in (source, target)])
    finally:
        await admin.close()
    market = make_market(series, GRID_OWNERS, SUPPLIERS, seed=1)
    value = series_value(market.points[0], market.days[0])
    keys = [p.point_id.encode() for p in market.points]
    await produce_all(settings, source, [(keys[i % len(keys)], value) for i in range(series)])
    return series / await pass_through(settings, source, target, series)


def table(configs: list[Config], base_rate: float, series: int, quick: bool) -> Table:
    t = Table(f"Scale-out: forwarder throughput with 1 and 2 workers, {PARTITIONS} partitions",
              ["Workers", "Series", "Forwarder s", "Forwarder series/s", "Whole path s",
               "Whole path series/s", "× one worker (whole path)", "Worker CPU s (each)",
               "Broker CPU s", "Machine busy", "Baseline records/s"])
    one = configs[0].timed.path_s
    for c in configs:
        tm = c.timed
        t.rows.append([
            str(c.workers), num(series), num(tm.forward_s, 2), num(series / tm.forward_s),
            num(tm.path_s, 2), num(series / tm.path_s), f"{one / tm.path_s:.2f}",
            " + ".join(f"{s:.1f}" for s in c.cpu_workers), num(c.cpu_broker, 1),
            f"{c.cpu_machine / tm.path_s / 2:.0%} of 2 CPUs", num(base_rate)])
    t.notes.append(
        ("--quick smoke run. " if quick else "")
        + f"Same method as the forwarder benchmark (bench/forwarder.py `timed_run`): {series:,} "
        "pre-encoded 96-point PT15M series written to the intake topic while the workers run; "
        "the clock stops when the group has committed the intake log end (forwarder), then "
        "the outbound log end (whole path: queue writer done). Committed offsets run up to "
        "~1 s late (Faust commits every second).")
    for c in configs:
        tm = c.timed
        per_core = [s / tm.path_s for s in c.cpu_workers]
        t.notes.append(
            f"{c.workers} worker(s): group Stable with {c.workers} member(s) "
            f"{c.startup_s:.1f} s after start; {c.master_docs:,} master-data documents through "
            f"the API processed in {c.master_s:.1f} s; outbound {tm.outbound_records:,}, "
            f"queue records {tm.queue_records:,}, dead letters {tm.dead_letters}; worker CPU "
            "over the whole-path window "
            + ", ".join(f"{p:.0%}" for p in per_core) + " of one core each; CPU-seconds per "
            f"series (all workers) {sum(c.cpu_workers) / series * 1000:.2f} ms.")
        for line in c.problems:
            t.notes.append(f"{c.workers} worker(s), warnings/errors logged during the timed run: "
                           f"`{line}`")
    if len(configs) > 1:
        a, b = configs[0], configs[-1]
        busy = b.cpu_machine / b.timed.path_s / 2
        t.notes.append(
            f"Two workers did the whole path {a.timed.path_s / b.timed.path_s:.2f}× as fast as "
            f"one and the forwarder hop {a.timed.forward_s / b.timed.forward_s:.2f}× "
            f"(Faust spread the {PARTITIONS} partitions over both). The machine was "
            f"{busy:.0%} busy with two workers, and each worker used "
            + " and ".join(f"{s / b.timed.path_s:.0%}" for s in b.cpu_workers)
            + " of a core: "
            + ("the two CPUs were the limit." if busy > 0.9 else
               "neither the workers nor the machine were CPU-bound, so the rest is waiting; "
               "docs/BENCHMARKS.md (forwarder findings) shows each batch is acknowledged in "
               "full before the next is taken, which a second worker halves but does not "
               "remove. How far more workers go with a core each and the broker elsewhere is "
               "not measured here."))
    t.notes.append(
        "This machine has 2 CPUs for the broker, every worker and the benchmark: a second "
        "worker can at best use the second core, which the broker also needs (it took the "
        "'Broker CPU' column). Baseline: raw aiokafka consume-then-produce (getmany 500, send "
        f"all, await all, commit) of {series:,} records of the same size on {PARTITIONS}-partition "
        "topics, in this run.")
    return t


async def measure(run: Run, args: argparse.Namespace) -> list[Table]:
    series = args.series or (2_000 if run.quick else 20_000)
    base_rate = await baseline(run, series)
    console.print(f"scaleout: baseline {base_rate:,.0f} records/s")
    configs = [await one_config(run, workers, series) for workers in (1, 2)]
    return [table(configs, base_rate, series, run.quick)]


def extend(p: argparse.ArgumentParser) -> None:
    p.add_argument("--series", type=int, help="series per configuration (default 20000; "
                                              "quick 2000)")


if __name__ == "__main__":
    raise SystemExit(main("scaleout", "Scale-out: one and two workers", __doc__, measure,
                          extend=extend))
