"""``python -m bench`` (``make bench``): one embedded broker, every benchmark, one report.

The broker and every straum process the benchmarks start are stopped whatever happens; the
report is written only when every selected benchmark finished.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bench.baseline import Baseline, baseline_table, run_baseline
from bench.common import Run, Table, console
from bench.findings import findings, targets_missed
from bench.forwarder import run_forwarder
from bench.forwarder_report import forwarder_table
from bench.latency import run_latency
from bench.latency_report import capacity_table, latency_table
from bench.master_data import measure_master_data
from bench.procs import LoadMeter
from bench.profiling import summarise
from bench.report import Section, load_fact, load_note, run_facts, write
from bench.standalone import run_options, scratch_broker

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "bench" / "results" / "forwarder.prof"
NAMES = ("baseline", "forwarder", "master-data", "latency", "queues", "reads", "intake")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    run_options(parser, "docs/BENCHMARKS.md, or bench/results/BENCHMARKS-quick.md with --quick")
    parser.add_argument("--series", type=int, default=20_000,
                        help="series (records) per throughput benchmark (default 20000)")
    parser.add_argument("--workers", default="1,2",
                        help="worker counts of the forwarder benchmark, comma-separated "
                             "(default 1,2: one worker, then two; the first is the reference)")
    parser.add_argument("--documents", type=int, default=10_000,
                        help="registrations per phase of the master-data benchmark "
                             "(default 10000)")
    parser.add_argument("--only", choices=NAMES,
                        help="run one benchmark (the baseline always runs: figures stand "
                             "beside it)")
    parser.add_argument("--profile", action="store_true",
                        help="profile the worker (a separate pass under cProfile, written to "
                             "bench/results/forwarder.prof) even when the targets are met")
    return parser.parse_args(argv)


async def run_all(run: Run, args: argparse.Namespace) -> tuple[list[Table], list[str]]:
    rate, seconds = (50, 5.0) if run.quick else (200, 20.0)
    wanted = set(NAMES) if args.only is None else {"baseline", args.only}
    meter = LoadMeter(run.broker_pid)
    base: Baseline = await run_baseline(run, rate, min(seconds, 10.0))
    tables, extra = [baseline_table(base)], []
    tables[-1].notes.append(load_note(meter.share()))
    if "forwarder" in wanted:
        results = []
        meter = LoadMeter(run.broker_pid)
        for workers in [int(w) for w in args.workers.split(",") if w]:
            results.append(await run_forwarder(run, workers=workers))
            console.print(f"forwarder: {workers} worker(s) {results[-1].rate:,.0f} series/s")
        tables.append(forwarder_table(results, base.transacted))
        tables[-1].notes.append(load_note(meter.share()))
        fwd = results[0]
        if args.profile or targets_missed(fwd, base.pass_rate):
            profiled = replace(run, series=max(2_000, run.series // 4))
            PROFILE.parent.mkdir(parents=True, exist_ok=True)
            PROFILE.unlink(missing_ok=True)
            console.print(f"bench: profiling the worker over {profiled.series} series")
            await run_forwarder(profiled, PROFILE)
            extra = findings(fwd, base, summarise(PROFILE), profiled.series)
    if "master-data" in wanted:
        meter = LoadMeter(run.broker_pid)
        documents = min(args.documents, 500) if run.quick else args.documents
        tables.append(await measure_master_data(run, documents))
        tables[-1].notes.append(load_note(meter.share()))
    if "latency" in wanted:
        meter = LoadMeter(run.broker_pid)
        lat = await run_latency(run, rate, seconds)
        tables.append(capacity_table(lat, base.produce_rate))
        tables.append(latency_table(lat, base.ack_ms, base.latencies_ms))
        tables[-1].notes.append(load_note(meter.share()))
    tables += await issue_15_pieces(run, wanted)
    return tables, extra


async def issue_15_pieces(run: Run, wanted: set[str]) -> list[Table]:
    """Polls (bench/queues.py), reads of one point and of contracts (bench/reads.py), intake
    per API process (bench/intake_capacity.py), each with its module's defaults."""
    from bench import intake_capacity, queues, reads

    pieces = [
        ("queues", queues.measure, argparse.Namespace(
            actors=None, per_actor=None, alone=None, concurrency=50, kinds=list(queues.KINDS))),
        ("reads", reads.measure, argparse.Namespace(
            parts=["points", "contracts"], requests=30, contracts=1_000_000, seconds=10.0)),
        ("intake", intake_capacity.measure, argparse.Namespace(posts=4000, profile=None)),
    ]
    tables: list[Table] = []
    for name, measure, namespace in pieces:
        if name in wanted:
            meter = LoadMeter(run.broker_pid)
            tables += await measure(run, namespace)
            tables[-1].notes.append(load_note(meter.share()))
    return tables


INTRO = (
    "Written by `make bench` (`python -m bench`) down to the next top-level heading; do not "
    "edit that part by hand, rerun instead (sections under later top-level headings are "
    "kept). Every straum figure stands beside a baseline of raw aiokafka clients measured in "
    "the same run, on the same broker and machine, with the same records. Broker, straum "
    "processes and the benchmark's own clients share the machine's CPUs.")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # coordinator retries are noise
    series = min(args.series, 2_000) if args.quick else args.series
    output = args.output or (ROOT / "bench" / "results" / "BENCHMARKS-quick.md" if args.quick
                             else ROOT / "docs" / "BENCHMARKS.md")
    started, clock = datetime.now(UTC), time.monotonic()
    meter = LoadMeter()
    with scratch_broker("bench", args.keep) as scratch:
        run = Run(scratch.bootstrap, scratch.broker_pid, scratch.root, series, args.quick)
        tables, extra = asyncio.run(run_all(run, args))
    load = meter.share()
    given = sys.argv[1:] if argv is None else argv
    command = "python -m bench " + " ".join(given) if given else "make bench"
    facts = run_facts(command, started, time.monotonic() - clock, scratch.kafka,
                      load_fact(load))
    body: list[Table | str] = [*tables, *(["\n".join(extra)] if extra else [])]
    write(output, Section("# Benchmarks", facts, INTRO, body))
    console.print(f"bench: wrote {output}")
    print("\n".join(t.markdown() for t in tables))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
