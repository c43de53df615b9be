"""``python -m bench.queues``: actors draining their queues through one API process.

The issue asks: with 200 actors and 1 million queued messages, messages per second delivered
through poll + ack by 50 concurrent actors, p50 and p99 poll latency (target: p99 under 50 ms
for 500-message polls), and the API process's memory, beside a raw aiokafka read of the same
messages in the same run. A million does not fit in five minutes on this machine: the run is
scaled down (``--actors``, ``--per-actor``) and the report says so.

For each kind of message (``--kinds``):

- ``metering-values``: a supplier's NotifyValidatedDataForBillingEnergy, 96 PT15M values, as
  the forwarder writes it (about 4.4 KB of JSON);
- ``market-processes``: an Acknowledgement (about 0.4 KB), as for every intake document;

the actors' queue topics (``<prefix>.queue.<GLN>.<queue>``, one partition each, as
``catalogue.queue_spec`` lays them out) are filled straight from a transactional producer with
the message JSON the worker stores (``streams.records.queue_message.render``), ``TXN_RECORDS``
records per transaction, so that only the API is measured (no worker runs) and the offsets hold
commit markers as the worker's do. Then:

1. baseline: one raw aiokafka consumer reads every one of those topic-partitions from start to
   end (no group, read_committed, the API's fetch sizes);
2. one ``straum api`` process starts; 50 asyncio loops, each an actor at a time (its own
   token), poll (``max=500``) and acknowledge until the actor's poll answers 204, then take
   the next actor, until all are drained. Poll latency is request to whole answer read. The
   API's VmRSS is sampled every 0.5 s, its CPU read from /proc; both are summed over the
   ``straum api`` process and any process below it (bench/procs.py: a supervisor would
   otherwise show its own idle figures, not those of the server it runs).

The actors do not parse the JSON answers (they find the pollId and count ``"messageId":``
keys), so that the benchmark's own CPU stays small beside the API's on two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.common import Run, Table, console, num, percentile, progress
from bench.intake import start_api, until_broker_ok
from bench.procs import Processes, RssSampler, cpu_snapshot, rss_kib
from bench.standalone import log_size, log_summary, main
from connectors.http.auth import issue_dev_token
from connectors.http.queues import READERS
from domain.forwarding import NOTIFY_VALUES
from domain.messages import Outbound, acknowledgement
from schemas.settings import Settings
from streams.kafka import admin_client, ensure_topics, transactional_producer
from streams.records import queue_message
from streams.topics import Queue, TopicCatalogue
from tests.helpers import gln, gsrn

MAX = 500
KINDS = ("metering-values", "market-processes")
POLL_ID = re.compile(rb'"pollId":"([0-9a-f-]{36})"')
MESSAGE_KEY = b'"messageId":'
TXN_RECORDS = 50  # records per loader transaction: a commit marker after each


def record(kind: str, actor: str, n: int, point: str, now: datetime) -> Outbound:
    """One queue message as the processors write it."""
    if kind == "metering-values":
        start = (now - timedelta(days=1 + n % 13)).replace(minute=0, second=0, microsecond=0)
        return Outbound(
            message_id=str(uuid.uuid4()), recipient=actor, queue=kind,
            document_type=NOTIFY_VALUES, payload_type=NOTIFY_VALUES, created_at=now,
            payload={"transactionId": str(uuid.uuid4()), "originalMessageId": str(uuid.uuid4()),
                     "meteringPointId": point, "start": start, "end": start + timedelta(days=1),
                     "resolution": "PT15M", "unit": "kWh", "registeredAt": now,
                     "recipientRole": "supplier", "version": 1, "correction": False,
                     "quantities": [round(0.25 + ((n + i) % 97) / 1000, 3) for i in range(96)],
                     "qualities": ["measured"] * 96})
    return acknowledgement(original_message_id=str(uuid.uuid4()),
                           original_document_type="MeteringPoint", sender=actor, reasons=[],
                           created_at=now, metering_point_id=point)


@dataclass
class Loaded:
    kind: str
    topics: list[str]
    messages: int
    bytes: int
    encode_s: float
    produce_s: float


async def load(settings: Settings, catalogue: TopicCatalogue, kind: str, actors: list[str],
               per_actor: int) -> Loaded:
    """Create every actor's queue topic and fill it with ``per_actor`` messages."""
    queue = Queue(kind)
    specs = [catalogue.queue_spec(a, queue) for a in actors]
    admin = admin_client(settings, "bench-queues-admin")
    await admin.start()
    try:
        await ensure_topics(admin, specs)
    finally:
        await admin.close()
    rng = random.Random(7)
    points = [gsrn(rng) for _ in range(50)]
    encode = queue_message.render
    now = datetime.now(UTC)
    producer = transactional_producer(settings, f"{settings.topic_prefix}-bench-loader",
                                      linger_ms=20)
    await producer.start()
    total_bytes = 0
    encode_s = 0.0
    try:
        started = time.monotonic()
        with progress() as bar:
            task = bar.add_task(f"load {kind} queues", total=len(actors) * per_actor)
            for spec, actor in zip(specs, actors, strict=True):
                t0 = time.perf_counter()
                values = [encode(record(kind, actor, n, points[n % len(points)], now))
                          for n in range(per_actor)]
                encode_s += time.perf_counter() - t0
                key = f"{actor}|{kind}".encode()
                for first in range(0, len(values), TXN_RECORDS):
                    async with producer.transaction():
                        futures = [await producer.send(spec.name, v, key=key, partition=0,
                                                       headers=list(queue_message.HEADERS))
                                   for v in values[first:first + TXN_RECORDS]]
                        await asyncio.gather(*futures)
                total_bytes += sum(len(v) for v in values)
                bar.advance(task, per_actor)
        produce_s = time.monotonic() - started - encode_s
    finally:
        await producer.stop()
    return Loaded(kind, [s.name for s in specs], len(actors) * per_actor, total_bytes,
                  encode_s, produce_s)


async def raw_read(run: Run, topics: list[str], expected: int) -> float:
    """Seconds for one group-less consumer to read every record of ``topics``."""
    consumer = AIOKafkaConsumer(isolation_level="read_committed",
                                bootstrap_servers=run.bootstrap, group_id=None,
                                enable_auto_commit=False, client_id="bench-queues-raw",
                                fetch_max_bytes=32 * 1024 * 1024,
                                max_partition_fetch_bytes=16 * 1024 * 1024)
    await consumer.start()
    try:
        tps = [TopicPartition(t, 0) for t in topics]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        done = 0
        started = time.monotonic()
        with progress() as bar:
            task = bar.add_task("baseline: raw aiokafka read", total=expected)
            while done < expected:
                batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
                done += sum(len(rs) for rs in batch.values())
                bar.update(task, completed=done)
                if time.monotonic() - started > 300:
                    raise TimeoutError(f"raw read got {done} of {expected} in 300 s")
        return time.monotonic() - started
    finally:
        await consumer.stop()


@dataclass
class Drained:
    messages: int = 0
    polls: int = 0
    empty_polls: int = 0
    repeats: int = 0
    errors: list[str] = field(default_factory=list)
    full_ms: list[float] = field(default_factory=list)  # polls answered with MAX messages
    poll_ms: list[float] = field(default_factory=list)  # every poll that returned messages
    ack_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0


async def drain(base_url: str, tokens: dict[str, str], kind: str, concurrency: int,
                expected: int) -> Drained:
    """``concurrency`` actor loops poll and acknowledge every actor's queue until empty."""
    out = Drained()
    waiting: asyncio.Queue[str] = asyncio.Queue()
    for actor in tokens:
        waiting.put_nowait(actor)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    seen_polls: set[str] = set()

    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        with progress() as bar:
            task = bar.add_task(f"API: {kind} polled and acknowledged", total=expected)

            async def actor_loop() -> None:
                while not waiting.empty():
                    actor = waiting.get_nowait()
                    headers = {"Authorization": f"Bearer {tokens[actor]}"}
                    while True:
                        t0 = time.perf_counter()
                        response = await client.post(f"/v1/queues/{kind}/poll",
                                                     params={"max": MAX}, headers=headers)
                        body = response.content
                        ms = (time.perf_counter() - t0) * 1000
                        out.polls += 1
                        if response.status_code == 204:
                            out.empty_polls += 1
                            break
                        if response.status_code != 200:
                            out.errors.append(f"poll {response.status_code}: {body[:200]!r}")
                            await asyncio.sleep(1)
                            continue
                        match = POLL_ID.search(body[:200])
                        if match is None:
                            out.errors.append(f"no pollId in {body[:200]!r}")
                            break
                        poll_id = match.group(1).decode()
                        count = body.count(MESSAGE_KEY)
                        if poll_id in seen_polls:
                            out.repeats += 1
                        seen_polls.add(poll_id)
                        out.poll_ms.append(ms)
                        if count == MAX:
                            out.full_ms.append(ms)
                        t1 = time.perf_counter()
                        ack = await client.post(f"/v1/queues/{kind}/ack",
                                                json={"pollId": poll_id}, headers=headers)
                        out.ack_ms.append((time.perf_counter() - t1) * 1000)
                        if ack.status_code != 200:
                            out.errors.append(f"ack {ack.status_code}: {ack.text[:200]}")
                            continue
                        out.messages += count
                        bar.update(task, completed=out.messages)

            started = time.monotonic()
            await asyncio.gather(*(actor_loop() for _ in range(concurrency)))
            out.seconds = time.monotonic() - started
    return out


@dataclass
class KindResult:
    loaded: Loaded
    raw_s: float
    api_ready_s: float
    alone: Drained  # one actor at a time: service time without queueing
    drained: Drained  # ``concurrency`` actors at a time
    rss_idle_mib: float
    rss_peak_mib: float
    rss_end_mib: float
    cpu: dict[str, float]
    problems: list[str]


async def one_kind(run: Run, kind: str, actors: list[str], per_actor: int,
                   concurrency: int, alone: int) -> KindResult:
    settings = run.settings(f"q{kind[:2]}")
    catalogue = TopicCatalogue.from_settings(settings)
    loaded = await load(settings, catalogue, kind, actors, per_actor)
    console.print(f"queues: {loaded.messages:,} {kind} messages "
                  f"({loaded.bytes / loaded.messages:,.0f} bytes each) in {len(actors)} queues")
    raw_s = await raw_read(run, loaded.topics, loaded.messages)
    with Processes(settings) as procs:
        base_url = start_api(procs)
        api = procs.running["api"]
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            # No worker runs, so /readyz stays 503 ("processors not assigned"): wait for the
            # API's own Kafka clients (queues, positions) instead.
            await until_broker_ok(client, procs, 60)
        api_ready_s = time.monotonic() - procs.started_at["api"]
        tokens = {a: issue_dev_token(settings, a, ["supplier"]) for a in actors}
        first = {a: tokens[a] for a in actors[:alone]}
        rest = {a: tokens[a] for a in actors[alone:]}
        single = await drain(base_url, first, kind, 1, alone * per_actor)
        log_from = log_size(procs.log("api"))
        rss_idle = (rss_kib(api.pid) or 0) / 1024
        pids = {"api": api.pid, "broker": run.broker_pid}
        before = cpu_snapshot(pids)
        async with RssSampler(api.pid) as rss:
            drained = await drain(base_url, rest, kind, concurrency, len(rest) * per_actor)
        after = cpu_snapshot(pids)
        procs.check()
        problems = log_summary(procs.log("api"), since=log_from)
    return KindResult(loaded, raw_s, api_ready_s, single, drained, rss_idle, rss.peak_mib,
                      rss.last_mib, {k: after[k] - before[k] for k in before}, problems)


def tables(results: list[KindResult], actors: int, per_actor: int, concurrency: int,
           alone: int, quick: bool, costs: dict[str, float]) -> list[Table]:
    main_table = Table(
        f"Actor queues: {concurrency} concurrent actors drain {actors - alone} queues through "
        "one API process (poll max 500 + ack)",
        ["Messages", "Delivered", "Seconds", "Messages/s", "Raw aiokafka read msgs/s",
         "straum ÷ raw", "Full-poll p50 ms", "Full-poll p99 ms", "Target p99", "Met",
         "API RSS idle → peak MiB"])
    notes = main_table.notes
    for r in results:
        d, lo = r.drained, r.loaded
        rate, raw_rate = d.messages / d.seconds, lo.messages / r.raw_s
        p99 = percentile(d.full_ms, 99)
        main_table.rows.append([
            f"{lo.kind} ({lo.bytes / lo.messages:,.0f} B JSON)", num(d.messages),
            num(d.seconds, 1), num(rate), num(raw_rate), f"{rate / raw_rate:.1%}",
            num(percentile(d.full_ms, 50), 1), num(p99, 1), "< 50 ms",
            "**no**" if not p99 < 50 else "yes",
            f"{r.rss_idle_mib:,.0f} → {r.rss_peak_mib:,.0f}"])
    for r in results:
        d, lo = r.alone, r.loaded
        p99 = percentile(d.full_ms, 99)
        main_table.rows.append([
            f"{lo.kind}, one actor at a time ({alone} actors)", num(d.messages),
            num(d.seconds, 1), num(d.messages / max(d.seconds, 1e-9)), "", "",
            num(percentile(d.full_ms, 50), 1), num(p99, 1), "< 50 ms",
            "**no**" if not p99 < 50 else "yes", ""])
    scale = ("--quick smoke run: " if quick else "") + (
        f"{actors} actors × {per_actor:,} messages = {actors * per_actor:,} per kind, not the "
        "issue's 1,000,000: a million 96-point notifications is about 1.9 GB of queue records "
        "and, at the rates below, takes longer than this benchmark's five-minute budget on "
        "this 2-CPU machine. The figures are rates and per-poll latencies, which do not depend "
        "on the total as long as every queue holds at least one full poll.")
    notes.append(scale)
    notes.append(
        f"Rows 'one actor at a time': the first {alone} actors drained by a single loop before "
        "the concurrent run, so each poll has the API to itself: its latency is the service "
        "time of a poll; in the concurrent rows it includes waiting for the other actors' "
        "polls on the API's one event loop.")
    for r in results:
        d, lo, c = r.drained, r.loaded, r.cpu
        span = d.seconds or 1e-9
        delivered = d.messages + r.alone.messages
        notes.append(
            f"{lo.kind}: {delivered:,} of {lo.messages:,} messages delivered and acknowledged "
            f"({'all' if delivered == lo.messages else '**not all**'}); concurrent run: "
            f"{d.polls:,} polls ({len(d.full_ms):,} full, {d.empty_polls} empty = one per actor "
            f"at the end, {d.repeats} repeated pollIds), {len(d.errors)} errors"
            + (f" (first: {d.errors[0]})" if d.errors else "") + ". "
            f"Every poll with messages: p50 {num(percentile(d.poll_ms, 50), 1)} ms, p99 "
            f"{num(percentile(d.poll_ms, 99), 1)} ms, max "
            f"{num(max(d.poll_ms, default=float('nan')), 1)} ms; ack p50 "
            f"{num(percentile(d.ack_ms, 50), 1)} ms, p99 {num(percentile(d.ack_ms, 99), 1)} ms "
            f"(alone: ack p50 {num(percentile(r.alone.ack_ms, 50), 1)} ms).")
        notes.append(
            f"{lo.kind}: CPU during the concurrent run ({span:.1f} s): API "
            f"{c['api']:.1f} s ({c['api'] / span:.0%} of one core), broker "
            f"{c['broker']:.1f} s ({c['broker'] / span:.0%}), benchmark's actors "
            f"{c['bench']:.1f} s ({c['bench'] / span:.0%}); machine busy "
            f"{c['machine'] / span / 2:.0%} of its 2 CPUs. API CPU per message: "
            f"{c['api'] / max(d.messages, 1) * 1e6:,.0f} µs. API memory (VmRSS, sampled every "
            f"0.5 s): {r.rss_idle_mib:,.0f} MiB before the concurrent run, peak "
            f"{r.rss_peak_mib:,.0f} MiB, {r.rss_end_mib:,.0f} MiB at the end; API start to "
            f"broker-ready {r.api_ready_s:.1f} s.")
        notes.append(
            f"{lo.kind}: loading (not timed against anything): {lo.bytes / 1e6:,.0f} MB, "
            f"rendered in {lo.encode_s:.1f} s and produced (transactions of {TXN_RECORDS} "
            f"records) in {lo.produce_s:.1f} s straight into the queue topics; baseline raw "
            f"read of all {lo.messages:,}: {r.raw_s:.2f} s ({lo.bytes / 1e6 / r.raw_s:,.0f} MB/s).")
        for line in r.problems:
            notes.append(f"{lo.kind}: warnings/errors the API logged during the concurrent run: "
                         f"`{line}`")
    for r in results:
        d, c = r.drained, r.cpu
        total = costs[r.loaded.kind]
        notes.append(
            f"What limits {r.loaded.kind}: the API process, one Python event loop, at "
            f"{c['api'] / (d.seconds or 1e-9):.0%} of a core, spending "
            f"{c['api'] / max(d.messages, 1) * 1e6:,.0f} µs of CPU per message delivered; "
            f"taking the stored JSON into the answer alone is {total:,.0f} µs (table below), so "
            f"a full poll needs ~{total * MAX / 1000:,.0f} ms of CPU for it before any Kafka "
            "read or HTTP"
            + (", and the 50 ms target is out of reach for one poll at a time"
               if total * MAX / 1000 >= 50 else "")
            + f". With {concurrency} actors every poll also queues behind the others (one "
            f"event loop, {READERS} pooled queue readers, a durable position write per poll "
            f"and per ack): the slowest poll waited {num(max(d.poll_ms, default=0) / 1000, 1)} s"
            + (" (an actor client with a 30 s timeout would have given up)"
               if max(d.poll_ms, default=0) > 30_000 else "")
            + ". The raw read does nothing with the records.")
    notes.append(
        "Baseline: one AIOKafkaConsumer without a group assigned to all the queue "
        "topic-partitions, reading from the beginning to the end (getmany up to 10,000 "
        "records), read_committed, with the API's fetch sizes. The API joins each record's "
        "stored JSON into the poll answer (``stored_message``, ``poll_answer``) and writes "
        "the queue position durably (acks=all) on every poll and every ack.")
    return [main_table]


def cost_table() -> tuple[Table, dict[str, float]]:
    """Per-message CPU of what the API does to a stored record for a poll answer (the stored
    JSON joined as it is), measured in this process, beside what it did for the Avro records
    queue topics held before (decode, ``message_json``, JSON rendering); and the sum of the
    current path per kind (µs)."""
    from connectors.http.queues import message_json, poll_answer, stored_message

    table = Table("Where a poll's time goes: per-message CPU in one Python process",
                  ["Message", "Stored JSON joined µs", "500-message poll ms",
                   "Older Avro record: decode + message_json + JSON µs", "500-message poll ms"])
    now = datetime.now(UTC)
    costs: dict[str, float] = {}
    for kind in KINDS:
        messages = [record(kind, "7080005051286", n, "707057500000000018", now)
                    for n in range(1000)]
        stored = [queue_message.render(m) for m in messages]
        older = [queue_message.encode_avro(m) for m in messages]
        t0 = time.perf_counter()
        poll_answer("x", [stored_message(v) for v in stored])
        t1 = time.perf_counter()
        poll_answer("x", [orjson.dumps(message_json(queue_message.decode_avro(v))) for v in older])
        t2 = time.perf_counter()
        now_us, then_us = ((t1 - t0) / len(stored) * 1e6, (t2 - t1) / len(older) * 1e6)
        costs[kind] = now_us
        table.rows.append([kind, num(now_us, 1), num(now_us * MAX / 1000, 2), num(then_us),
                           num(then_us * MAX / 1000, 1)])
    table.notes.append(
        "Measured on 1,000 records in the benchmark process with the API's own functions "
        "(`connectors.http.queues.stored_message`, `poll_answer`, and `message_json` for the "
        "older Avro records, which the API still reads), outside the API: the floor of a "
        "poll's answer time before any Kafka read, HTTP or contention with other requests on "
        "the API's single event loop.")
    return table, costs


async def measure(run: Run, args: argparse.Namespace) -> list[Table]:
    actors_n = args.actors or (30 if run.quick else 200)
    per_actor = args.per_actor or 500
    alone = args.alone if args.alone is not None else (5 if run.quick else 10)
    concurrency = min(args.concurrency, actors_n - alone)
    rng = random.Random(11)
    actors: list[str] = []
    while len(actors) < actors_n:
        candidate = gln(rng)
        if candidate not in actors:
            actors.append(candidate)
    results = []
    for kind in args.kinds:
        results.append(await one_kind(run, kind, actors, per_actor, concurrency, alone))
    cost, costs = cost_table()
    return [*tables(results, actors_n, per_actor, concurrency, alone, run.quick, costs), cost]


def extend(p: argparse.ArgumentParser) -> None:
    p.add_argument("--actors", type=int, help="actors (queues) per kind (default 200; "
                                              "quick 30)")
    p.add_argument("--per-actor", type=int, help="messages queued per actor (default 500)")
    p.add_argument("--alone", type=int,
                   help="actors drained one at a time first (default 10; quick 5)")
    p.add_argument("--concurrency", type=int, default=50, help="concurrent actors (50)")
    p.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS),
                   help="message kinds to run (default both)")


if __name__ == "__main__":
    raise SystemExit(main("queues", "Actor queues: poll and acknowledge through the API",
                          __doc__, measure, extend=extend))
