"""``python -m bench.intake_capacity``: HTTP intake of one API process.

Issue 15's figures: ``POST /v1/metering-values`` at ≥ 3,000 series/s in 10-series documents
and ≥ 1,000 single-series POSTs/s, per API process.

One ``straum api`` process (``STRAUM_API_PROCESSES=1``) against the run's broker, no worker (the
intake answers 202 once the series are durable in the intake topic; what the worker does with
them is measured by the forwarder benchmark). Every document is new (its own messageId and
transactionIds), 96 PT15M values per series, one grid owner's token. The load comes from
``bench/http_load.py``: ready-made request bytes on keep-alive connections (closed loop: each
connection sends its next document when the last is answered), so the client's CPU stays small.
Baseline: raw aiokafka produce (acks=all, idempotent) of the same intake records, as the API's
producer writes them, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx
import orjson

from bench import http_load
from bench.common import Run, Table, console, num, percentile
from bench.forwarder import create_topics
from bench.intake import until_broker_ok
from bench.procs import Processes, cpu_snapshot
from bench.standalone import log_size, log_summary, main
from connectors.broker.embedded import free_port
from connectors.http.auth import issue_dev_token
from connectors.http.intake import series_records
from connectors.http.values_body import fast_document, taken
from schemas.settings import Settings
from streams.kafka import admin_client, durable_producer, ensure_topics
from streams.topics import TopicSpec
from tests.helpers import day_series, gln, gsrn

CONNECTIONS = 32
ACTORS = 64  # grid owners sending: each stays well under the per-actor rate limit
TARGETS = {1: ("≥ 1,000 POST/s", 1000.0, "posts"), 10: ("≥ 3,000 series/s", 3000.0, "series")}


def documents(count: int, per: int, rng: random.Random) -> list[bytes]:
    """New documents of ``per`` 96-value series each."""
    day = date(2026, 3, 2)
    out = []
    for n in range(count):
        series = [day_series(gsrn(rng), day + timedelta(days=(n * per + i) % 300), "PT15M")
                  for i in range(per)]
        out.append(orjson.dumps({"messageId": str(uuid.uuid4()), "series": series}))
    return out


async def baseline(settings: Settings, docs: list[bytes], owner: str) -> tuple[int, float]:
    """Raw produce of the same intake records (records, seconds), the producer warmed up."""
    records = [r for d in docs for r in series_records(
        taken(fast_document(orjson.loads(d))), owner)]
    topic = f"{settings.topic_prefix}.baseline-intake"
    admin = admin_client(settings, "bench-admin")
    await admin.start()
    try:
        await ensure_topics(admin, [TopicSpec(topic, settings.partitions, 1, -1)])
    finally:
        await admin.close()
    producer = durable_producer(settings, "bench-intake-baseline")
    await producer.start()
    try:
        await (await producer.send(topic, records[0][1], key=records[0][0]))
        started = time.monotonic()
        futures = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*futures)
        return len(records), time.monotonic() - started
    finally:
        await producer.stop()


async def measure(run: Run, args: argparse.Namespace) -> list[Table]:
    settings = run.settings("ic")
    await create_topics(settings)
    rng = random.Random(15)
    owners = [gln(rng) for _ in range(ACTORS)]
    owner = owners[0]
    tokens = [issue_dev_token(settings, o, ["grid_owner"]) for o in owners]
    singles, tens = (600, 120) if run.quick else (args.posts, args.posts // 5)
    console.print(f"intake: preparing {singles} single-series and {tens} 10-series documents")
    phases = {1: documents(singles, 1, rng), 10: documents(tens, 10, rng)}
    base = {per: await baseline(settings, docs[: max(1, len(docs) // 2)], owner)
            for per, docs in phases.items()}
    table = Table("HTTP intake of one API process: POST /v1/metering-values",
                  ["Series per POST", "POSTs", "Seconds", "POST/s", "Series/s", "p50 ms",
                   "p99 ms", "API CPU per series µs", "Baseline records/s", "Target", "Met"])
    with Processes(settings) as procs:
        host, port = "127.0.0.1", free_port()
        python = ([sys.executable, "-m", "cProfile", "-o", str(args.profile)]
                  if args.profile else None)
        procs.start("api", "api", "--port", str(port), "--processes", "1", python=python)
        base_url = f"http://{host}:{port}"
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            await until_broker_ok(client, procs, 60)
        api = procs.running["api"]
        log_from = log_size(procs.log("api"))
        requests = {per: [http_load.request("POST", "/v1/metering-values",
                                            tokens[i % ACTORS], d)
                          for i, d in enumerate(docs)] for per, docs in phases.items()}
        warm = documents(2 * ACTORS, 1, rng)  # every actor registered, every token verified
        await http_load.run(host, port, [http_load.request("POST", "/v1/metering-values",
                                                           tokens[i % ACTORS], d)
                                         for i, d in enumerate(warm)], 4)
        for per, reqs in requests.items():
            before = cpu_snapshot({"api": api.pid, "broker": run.broker_pid})
            got = await http_load.run(host, port, reqs, CONNECTIONS)
            after = cpu_snapshot({"api": api.pid, "broker": run.broker_pid})
            accepted = got.statuses.get(202, 0)
            series = accepted * per
            records, took = base[per]
            label, goal, unit = TARGETS[per]
            achieved = accepted / got.seconds if unit == "posts" else series / got.seconds
            table.rows.append([
                str(per), num(got.count), num(got.seconds, 2), num(accepted / got.seconds),
                num(series / got.seconds), num(percentile(got.ms, 50), 1),
                num(percentile(got.ms, 99), 1),
                num((after["api"] - before["api"]) / max(series, 1) * 1e6),
                num(records / took), label, "yes" if achieved >= goal else "**no**"])
            others = {s: n for s, n in got.statuses.items() if s != 202}
            api_s = after["api"] - before["api"]
            table.notes.append(
                f"{per} per POST: {accepted:,} answered 202"
                f"{f', others {others}' if others else ''}; CPU in the window "
                f"({got.seconds:.1f} s): API {api_s:.1f} s ({api_s / got.seconds:.0%} "
                f"of one core), broker {after['broker'] - before['broker']:.1f} s, benchmark "
                f"{after['bench'] - before['bench']:.1f} s; machine busy "
                f"{(after['machine'] - before['machine']) / got.seconds / 2:.0%} of 2 CPUs.")
        problems = log_summary(procs.log("api"), since=log_from)
    table.notes += [
        f"One API process (STRAUM_API_PROCESSES=1), no worker; {CONNECTIONS} keep-alive "
        f"connections, closed loop, {ACTORS} grid owners taking turns (each under the "
        "per-actor rate limit), each document new (messageId, transactionIds), 96 PT15M "
        "values per series; a 202 means the series are durable (acks=all) in the intake topic "
        "and the messageId in the duplicate ledger.",
        "Baseline: raw aiokafka produce (acks=all, idempotent) of half as many of the same "
        "intake records (the API's own encoding), in this run.",
        *[f"API log: {p}" for p in problems]]
    return [table]


def extend(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", type=Path, help="run the API under cProfile, into this file")
    p.add_argument("--posts", type=int, default=4000,
                   help="single-series POSTs (10-series documents: a fifth as many)")


if __name__ == "__main__":
    raise SystemExit(main("intake_capacity", "HTTP intake per API process (issue 15)",
                          __doc__, measure, extend=extend))
