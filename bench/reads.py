"""``python -m bench.reads``: reads of one point and of contracts (issue 15).

Figures: the Norgespris comparison for one point over a year of quarter-hours (p99 < 200 ms,
and unchanged with ten times as much other intake in the point's partition); a history
request (BRS-NO-315) for the same year answered in under a second; contract reads by metering
point with 1,000,000 contracts (p99 < 20 ms, ≥ 1,000 reads/s).

Point reads. One worker and one API process. A household point (PT15M, NO1) with its grid
owner and a supplier since 1 Nov 2025 is written straight to the master-data intake topic (the
API would refuse a start of supply a year back; the worker runs with its clock set to that
day), and its 365 daily series (2025-11-01 – 2026-10-31, the DST days with 92 and 100 values:
35,040 values) to the metering-values intake; the worker forwards them and keeps them in its
per-point store. A year of PT15M NO1 prices is POSTed to /v1/prices. Then the grid owner asks
for the comparison and the supplier for the year's history, one request at a time; again after
ten other points of the same partition (its task, its store) have each had the same year of
values forwarded (ten times the point's intake). Beside them: a raw Kafka round trip (produce,
acks=all, to a consumer that reads it, read_committed) from the same run, and the pure
computation in this process (integer, and the Decimal reference it replaced).

Contracts. 1,000,000 Contract records are produced straight into the compacted contracts topic;
one API process loads them on the first contract request (timed, with its memory), then 10
connections read by metering point and by id for a while, with the lean HTTP client
(bench/http_load.py) and 50 operator identities (the per-actor rate limit stays out of the way).
Baselines: GET /healthz on the same API with the same client, and a raw aiokafka read of the
contracts topic.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from bench import http_load
from bench.common import Run, Table, console, num, percentile
from bench.fixtures import FIRST, LAST, contract_records, year_prices, year_series
from bench.forwarder import create_topics
from bench.intake import until_broker_ok
from bench.probe import Probe, produce
from bench.procs import Processes, cpu_snapshot, rss_kib
from bench.standalone import log_size, log_summary, main
from bench.wait import caught_up
from connectors.broker.embedded import free_port
from connectors.http.auth import issue_dev_token
from connectors.http.intake import (
    master_data_record,
    registration_document,
    start_of_supply_document,
)
from connectors.http.point_reads import grid_of
from connectors.http.price_book import AreaBook
from domain.comparison import compare_exact, tariffs_for
from domain.comparison_decimal import compare_decimal
from domain.prices import AreaPrice
from domain.series import HUB_TIMEZONE
from schemas.api import MeteringPointRegistrationIn, StartOfSupplyIn
from schemas.settings import Settings
from streams.kafka import admin_client, durable_producer, ensure_topics, reader
from streams.records import actor as actor_record
from streams.topics import TopicCatalogue, TopicSpec
from tests.helpers import gln, gsrn, register_point, start_of_supply

OTHERS = 10  # other points in the partition, each with the same year: ten times the intake
OPERATORS = 50


@dataclass
class Timed:
    label: str
    ms: list[float] = field(default_factory=list)
    first_ms: float = 0.0
    detail: str = ""


def same_partition(point: str, partitions: int, rng: random.Random, count: int) -> list[str]:
    """``count`` other points whose key maps to ``point``'s partition."""
    partitioner = DefaultPartitioner()
    everything = list(range(partitions))
    wanted = partitioner(point.encode(), everything, everything)
    found: list[str] = []
    while len(found) < count:
        other = gsrn(rng)
        if other != point and partitioner(other.encode(), everything, everything) == wanted:
            found.append(other)
    return found


def master_data(point: str, owner: str, supplier: str) -> list[tuple[bytes, bytes]]:
    """The point's registration and its supply from FIRST, as the API would write them."""
    registration = MeteringPointRegistrationIn.model_validate(
        register_point(point, "PT15M", date(2025, 1, 1)))
    supply = StartOfSupplyIn.model_validate(start_of_supply(point, FIRST))
    return [master_data_record(message_id=str(uuid.uuid4()), sender=owner,
                               sender_role="grid_owner", metering_point_id=point,
                               document_type="MeteringPointRegistration",
                               document=registration_document(registration)),
            master_data_record(message_id=str(uuid.uuid4()), sender=supplier,
                               sender_role="supplier", metering_point_id=point,
                               document_type="StartOfSupply",
                               document=start_of_supply_document(supply))]


def actor(roles: list[str]) -> bytes:
    return actor_record.encode(roles, datetime.now(UTC))


async def round_trips(settings: Settings, count: int) -> list[float]:
    """Raw Kafka: produce (acks=all) one record, until a read_committed consumer has it (ms)."""
    topic = f"{settings.topic_prefix}.baseline-roundtrip"
    admin = admin_client(settings, "bench-admin")
    await admin.start()
    try:
        await ensure_topics(admin, [TopicSpec(topic, 1, 1, 3_600_000)])
    finally:
        await admin.close()
    producer = durable_producer(settings, "bench-roundtrip")
    consumer: AIOKafkaConsumer = reader(settings, "bench-roundtrip", fetch_max_wait_ms=100)
    await producer.start()
    await consumer.start()
    tp = TopicPartition(topic, 0)
    try:
        consumer.assign([tp])
        await (await producer.send(topic, b"warm", partition=0))
        await consumer.seek_to_end(tp)
        await consumer.position(tp)
        out = []
        for _ in range(count):
            started = time.perf_counter()
            await (await producer.send(topic, b"x" * 100, partition=0))
            while not (await consumer.getmany(tp, timeout_ms=1000)).get(tp):
                pass
            out.append((time.perf_counter() - started) * 1000)
        return out
    finally:
        await producer.stop()
        await consumer.stop()


async def timed(client: httpx.AsyncClient, label: str, count: int, method: str, path: str,
                token: str, body: object = None, params: dict[str, str] | None = None,
                expect: int = 200) -> Timed:
    result = Timed(label)
    for i in range(count + 1):
        payload = dict(body, messageId=str(uuid.uuid4())) if isinstance(body, dict) else None
        started = time.perf_counter()
        response = await client.request(method, path, params=params, json=payload,
                                        headers={"Authorization": f"Bearer {token}"})
        took = (time.perf_counter() - started) * 1000
        if response.status_code != expect:
            raise RuntimeError(f"{label}: {response.status_code} {response.text[:300]}")
        if i == 0:
            result.first_ms = took
            answer = response.json()
            result.detail = (f"{answer['totals']['intervals']:,} intervals, complete "
                             f"{answer['complete']}" if "totals" in answer
                             else f"{answer['messages']:,} messages")
        else:
            result.ms.append(took)
    return result


def pure_figures(days: list[bytes], prices: list[dict[str, object]]) -> tuple[float, float]:
    """(integer, Decimal reference) ms for the year's comparison in this process."""
    book = AreaBook()
    for p in prices:
        book.put(AreaPrice("NO1", datetime.fromisoformat(str(p["start"])), "PT15M",
                           float(p["price"])))  # type: ignore[arg-type]
    tariffs = {y: tariffs_for(y) for y in (2025, 2026)}
    started = time.perf_counter()
    grid = grid_of(days, FIRST, LAST, "PT15M", None)
    exact = compare_exact(grid, book, "35", False, tariffs, FIRST, LAST, resolution="PT15M")
    integer_ms = (time.perf_counter() - started) * 1000
    values = [(datetime.fromtimestamp(grid.start_s + i * 900, UTC),
               grid.quantities[i] / 10**grid.scale, "measured")
              for i in range(len(grid.quantities))]
    started = time.perf_counter()
    reference = compare_decimal(values, {datetime.fromisoformat(str(p["start"])):
                                         float(p["price"])  # type: ignore[arg-type]
                                         for p in prices}, "35", False, tariffs, FIRST, LAST,
                                resolution="PT15M", price_resolution="PT15M")
    decimal_ms = (time.perf_counter() - started) * 1000
    assert reference == exact, "the integer comparison differs from the Decimal reference"
    return integer_ms, decimal_ms


async def point_reads(run: Run, args: argparse.Namespace) -> list[Table]:
    settings = run.settings("rd")
    catalogue = await create_topics(settings)
    rng = random.Random(15)
    owner, supplier, point = gln(rng), gln(rng), gsrn(rng)
    others = same_partition(point, settings.partitions, rng, OTHERS)
    await produce(settings, catalogue.actors, [(owner.encode(), actor(["grid_owner"])),
                                               (supplier.encode(), actor(["supplier"]))])
    # the worker's clock on the first day of supply, so the process takes the start of supply
    first_day = datetime.combine(FIRST, day_time(10), HUB_TIMEZONE)
    offset = int((first_day - datetime.now(UTC)).total_seconds())
    requests = 5 if run.quick else args.requests
    tables: list[Timed] = []
    with Processes(settings) as procs:
        async with Probe(settings) as probe:
            procs.start("worker", "worker", "--metrics-port", "0",
                        env={"STRAUM_CLOCK_OFFSET_SECONDS": str(offset)})
            port = free_port()
            procs.start("api", "api", "--port", str(port), "--processes", "1")
            base = f"http://127.0.0.1:{port}"
            go_token = issue_dev_token(settings, owner, ["grid_owner"])
            su_token = issue_dev_token(settings, supplier, ["supplier"])
            op_token = issue_dev_token(settings, OPERATORS_GLN, ["operator"])
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                await until_broker_ok(client, procs)
                await produce(settings, catalogue.master_data,
                              [r for p in [point, *others]
                               for r in master_data(p, owner, supplier)])
                await caught_up(probe, procs, catalogue.master_data, "worker: master data")
                records, _ = year_series(point, owner)
                await produce(settings, catalogue.metering_values, records)
                prices = year_prices()
                for i in range(0, len(prices), 5000):
                    response = await client.post("/v1/prices", json={"prices": prices[i:i + 5000]},
                                                 headers={"Authorization": f"Bearer {op_token}"})
                    response.raise_for_status()
                await caught_up(probe, procs, catalogue.metering_values, "worker: the year")
                comparison = ("GET", f"/v1/metering-points/{point}/norgespris-comparison")
                period = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
                history = {"meteringPointId": point,
                           "start": datetime.combine(FIRST, day_time(0), HUB_TIMEZONE).isoformat(),
                           "end": datetime.combine(LAST + timedelta(days=1), day_time(0),
                                                   HUB_TIMEZONE).isoformat()}
                worker = procs.running["worker"]
                before = cpu_snapshot({"worker": worker.pid})
                tables.append(await timed(client, "comparison, only this point's values",
                                          requests, *comparison, go_token, params=period))
                tables.append(await timed(client, "history request, only this point's values",
                                          requests, "POST", "/v1/requests/metering-values",
                                          su_token, history, expect=202))
                console.print(f"reads: {OTHERS} other points' years into the same partition")
                other_records = [r for p in others for r in year_series(p, owner)[0]]
                await produce(settings, catalogue.metering_values, other_records)
                await caught_up(probe, procs, catalogue.metering_values, "worker: ten more years")
                tables.append(await timed(client, f"comparison, after {OTHERS} other points' "
                                          "years in its partition", requests, *comparison,
                                          go_token, params=period))
                tables.append(await timed(client, f"history request, after {OTHERS} other "
                                          "points' years", requests, "POST",
                                          "/v1/requests/metering-values", su_token, history,
                                          expect=202))
                after = cpu_snapshot({"worker": worker.pid})
            days = await stored_days(settings, catalogue, point)
            rtt = await round_trips(settings, 30 if not run.quick else 10)
            problems = [*log_summary(procs.log("worker")), *log_summary(procs.log("api"))]
    integer_ms, decimal_ms = pure_figures(days, prices)
    table = Table("One point's values: the comparison and the history request over a year",
                  ["Request", "Requests", "First ms", "p50 ms", "p99 ms", "max ms", "Answer",
                   "Target", "Met"])
    for t in tables:
        target = 200.0 if t.label.startswith("comparison") else 1000.0
        p99 = percentile(t.ms, 99)
        table.rows.append([t.label, num(len(t.ms)), num(t.first_ms, 1),
                           num(percentile(t.ms, 50), 1), num(p99, 1), num(max(t.ms), 1),
                           t.detail, f"p99 < {target:,.0f} ms",
                           "yes" if p99 < target else "**no**"])
    table.rows.append(["raw Kafka round trip (produce acks=all → read_committed consumer)",
                       num(len(rtt)), "–", num(percentile(rtt, 50), 1),
                       num(percentile(rtt, 99), 1), num(max(rtt), 1), "baseline", "", ""])
    table.rows.append(["pure comparison in this process: integer (Decimal reference)", "1",
                       "–", f"{integer_ms:,.1f} ({decimal_ms:,.1f})", "", "", "identical",
                       "", ""])
    table.notes += [
        f"{len(days)} stored days of the point read back (35,040 PT15M values); prices "
        f"35,040 PT15M NO1. Worker CPU over the timed requests and the other intake: "
        f"{after['worker'] - before['worker']:.1f} s.",
        "Comparison: the API asks the point's task (request/reply over Kafka: "
        "point-requests → point-replies) for the days the caller may read, then computes in "
        "integers with its price book; history: the task writes the answer (365 messages, one "
        "per day) into the supplier's metering-values queue in the transaction of its reply, "
        "and the API answers 202 when the reply is read. Latency: request sent to whole "
        "answer read, httpx, one at a time, after the first (which starts the API's reply "
        "follower and, for the comparison, loads the prices).",
        f"The other intake: {OTHERS} points in the same partition (the same task and SQLite "
        f"file), {OTHERS * 365:,} more series forwarded and stored; the point's own read is "
        "a key range of its 365 days either way.",
        *[f"Log: {p}" for p in problems]]
    return [table]


OPERATORS_GLN = "7080005051286"


async def stored_days(settings: Settings, catalogue: TopicCatalogue, point: str
                      ) -> list[bytes]:
    """The point's days from the point-values changelog (what the task holds)."""
    from connectors.state_reader import read_changelog

    found = await read_changelog(settings, catalogue.point_values_changelog, lambda v: v)
    return [found[k] for k in sorted(found) if k.startswith(point + "|")]


async def raw_read(settings: Settings, topic: str, expected: int) -> float:
    consumer: AIOKafkaConsumer = reader(settings, "bench-raw-contracts",
                                        max_partition_fetch_bytes=8 * 1024 * 1024,
                                        fetch_max_bytes=32 * 1024 * 1024)
    await consumer.start()
    tp = TopicPartition(topic, 0)
    try:
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        started, seen = time.monotonic(), 0
        while seen < expected:
            batch = await consumer.getmany(tp, timeout_ms=1000, max_records=10_000)
            seen += len(batch.get(tp, []))
        return time.monotonic() - started
    finally:
        await consumer.stop()


async def contracts(run: Run, args: argparse.Namespace) -> list[Table]:
    count = 100_000 if run.quick else args.contracts
    seconds = 3.0 if run.quick else args.seconds
    settings = run.settings("ct")
    catalogue = await create_topics(settings)
    records, points, ids = contract_records(count)
    console.print(f"contracts: producing {count:,}")
    await produce(settings, catalogue.contracts, records)
    raw_s = await raw_read(settings, catalogue.contracts, count)
    rng = random.Random(7)
    operators = [gln(rng) for _ in range(OPERATORS)]
    tokens = [issue_dev_token(settings, o, ["operator"]) for o in operators]
    table = Table(f"Contract reads with {count:,} contracts, one API process",
                  ["Request", "Connections", "Reads", "Seconds", "Reads/s", "p50 ms", "p99 ms",
                   "Target", "Met"])
    with Processes(settings) as procs:
        port = free_port()
        procs.start("api", "api", "--port", str(port), "--processes", "1")
        api = procs.running["api"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=600) as c:
            await until_broker_ok(c, procs)
            log_from = log_size(procs.log("api"))
            rss_before = (rss_kib(api.pid) or 0) / 1024
            started = time.monotonic()
            first = await c.get("/v1/contracts", params={"filter[meteringPointId]": points[0]},
                                headers={"Authorization": f"Bearer {tokens[0]}"})
            load_s = time.monotonic() - started
            first.raise_for_status()
            rss_after = (rss_kib(api.pid) or 0) / 1024
        by_point = [http_load.request("GET", f"/v1/contracts?filter[meteringPointId]="
                                      f"{points[rng.randrange(count)]}", tokens[i % OPERATORS])
                    for i in range(20_000)]
        by_id = [http_load.request("GET", f"/v1/contracts/{ids[rng.randrange(count)]}",
                                   tokens[i % OPERATORS]) for i in range(20_000)]
        health = [http_load.request("GET", "/healthz", tokens[0])]
        found = 0

        def keep(status: int, body: bytes) -> bool:
            nonlocal found
            found += body.count(b'"type":"contract"')
            return False

        for label, reqs, goal in (("GET /healthz (baseline: the same server, no work)",
                                   health, None),
                                  ("GET /v1/contracts?filter[meteringPointId]=…", by_point,
                                   (20.0, 1000.0)),
                                  ("GET /v1/contracts/{id}", by_id, (20.0, 1000.0))):
            found = 0
            before = cpu_snapshot({"api": api.pid})
            got = await http_load.run("127.0.0.1", port, reqs, 10, keep=keep, until=seconds)
            after = cpu_snapshot({"api": api.pid})
            ok = got.statuses.get(200, 0)
            rate = got.count / got.seconds
            p99 = percentile(got.ms, 99)
            met = ("" if goal is None else
                   "yes" if p99 < goal[0] and rate >= goal[1] else "**no**")
            table.rows.append([label, "10", num(got.count), num(got.seconds, 1), num(rate),
                               num(percentile(got.ms, 50), 1), num(p99, 1),
                               "" if goal is None else "p99 < 20 ms, ≥ 1,000/s", met])
            table.notes.append(
                f"{label}: {ok:,} answered 200 of {got.count:,}"
                + (f", {found / max(ok, 1):.2f} contracts per answer" if goal else "")
                + f"; API CPU {(after['api'] - before['api']) / max(got.count, 1) * 1e6:,.0f} "
                  f"µs per read.")
        problems = log_summary(procs.log("api"), since=log_from)
    table.notes += [
        f"{count:,} Contract records produced straight into the compacted contracts topic; "
        f"raw aiokafka read of all of them (baseline): {raw_s:.1f} s "
        f"({count / raw_s:,.0f} records/s). The API loads the topic on the first contract "
        f"request: {load_s:.1f} s ({count / load_s:,.0f} contracts/s); its VmRSS "
        f"{rss_before:,.0f} MiB before, {rss_after:,.0f} MiB after: "
        f"{(rss_after - rss_before) * 1024 * 1024 / count:,.0f} bytes per contract.",
        f"Closed loop, 10 keep-alive connections for {seconds:.0f} s each, {OPERATORS} "
        "operator identities taking turns, random points or ids (operators see every "
        "contract; each point has one).",
        *[f"API log: {p}" for p in problems]]
    return [table]


async def measure(run: Run, args: argparse.Namespace) -> list[Table]:
    out: list[Table] = []
    if "points" in args.parts:
        out += await point_reads(run, args)
    if "contracts" in args.parts:
        out += await contracts(run, args)
    return out


def extend(p: argparse.ArgumentParser) -> None:
    p.add_argument("--parts", nargs="+", choices=("points", "contracts"),
                   default=["points", "contracts"])
    p.add_argument("--requests", type=int, default=30,
                   help="timed requests of each kind after the first (default 30)")
    p.add_argument("--contracts", type=int, default=1_000_000)
    p.add_argument("--seconds", type=float, default=10.0,
                   help="seconds of each contract read load (default 10)")


if __name__ == "__main__":
    raise SystemExit(main("reads", "Reads of one point and of contracts (issue 15)", __doc__,
                          measure, extend=extend))

