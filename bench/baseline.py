"""Raw aiokafka on the same broker: the floor every straum figure is set beside.

a. produce: N real ~1 KB MeteringValueSeries records (acks=all, idempotent) to 6 partitions;
b. consume-then-produce: a consumer group reads them and writes each to another topic, committing
   after every batch is acknowledged (getmany, send all, await all, commit), as straum's
   forwarder does; c. produce → consume latency of single records at a fixed rate.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.common import PARTITIONS, Run, Table, console, num, percentile, progress
from bench.fixtures import make_market, series_value
from straum.settings import Settings
from streams.kafka import admin_client, durable_producer, ensure_topics
from streams.topics import TopicSpec

BATCH = 500  # records per getmany, as the forwarder's take_events(500)
QUEUE_TOPICS, QUEUE_BATCH = 60, 1000  # as the forwarder benchmark's queues and queue writer


@dataclass(frozen=True)
class Baseline:
    record_bytes: int
    produced: int
    produce_s: float
    passed: int
    pass_s: float
    fanned: int
    fan_s: float
    ack_ms: list[float]
    latencies_ms: list[float]
    rate: int

    @property
    def produce_rate(self) -> float:
        return self.produced / self.produce_s

    @property
    def pass_rate(self) -> float:
        return self.passed / self.pass_s

    @property
    def fan_rate(self) -> float:
        return self.fanned / self.fan_s


async def produce_all(settings: Settings, topic: str, records: list[tuple[bytes, bytes]]
                      ) -> float:
    """Seconds from the first send until every record is acknowledged."""
    producer = durable_producer(settings, "bench-baseline-producer")
    await producer.start()
    try:
        with progress() as bar:
            task = bar.add_task("baseline: produce", total=len(records))
            started = time.monotonic()
            futures = []
            for i, (key, value) in enumerate(records, 1):
                futures.append(await producer.send(topic, value, key=key))
                if i % 1000 == 0:
                    bar.update(task, completed=i)
            await asyncio.gather(*futures)
            elapsed = time.monotonic() - started
            bar.update(task, completed=len(records))
        return elapsed
    finally:
        await producer.stop()


async def fan_out(settings: Settings, topics: list[str], value: bytes, count: int) -> float:
    """Seconds to write ``count`` records round-robin to single-partition ``topics`` in
    batches of ``QUEUE_BATCH``, each acknowledged in full before the next (the queue
    writer's pattern)."""
    producer = durable_producer(settings, "bench-fan-out")
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(t, value, key=b"q", partition=0)
                               for t in topics])  # metadata of every topic, untimed
        with progress() as bar:
            task = bar.add_task("baseline: fan-out to queue topics", total=count)
            started = time.monotonic()
            for first in range(0, count, QUEUE_BATCH):
                futures = [await producer.send(topics[i % len(topics)], value, key=b"q",
                                               partition=0)
                           for i in range(first, min(first + QUEUE_BATCH, count))]
                await asyncio.gather(*futures)
                bar.update(task, completed=first + len(futures))
            return time.monotonic() - started
    finally:
        await producer.stop()


async def pass_through(settings: Settings, source: str, target: str, count: int) -> float:
    """Seconds from the first batch read until ``count`` records are written and committed."""
    consumer = AIOKafkaConsumer(source, bootstrap_servers=settings.kafka_bootstrap,
                                group_id=f"{settings.topic_prefix}-passthrough",
                                client_id="bench-passthrough", enable_auto_commit=False,
                                auto_offset_reset="earliest")
    producer = durable_producer(settings, "bench-passthrough")
    await consumer.start()
    await producer.start()
    try:
        done, started = 0, 0.0
        deadline = time.monotonic() + 300
        with progress() as bar:
            task = bar.add_task("baseline: consume-then-produce", total=count)
            while done < count and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=1000, max_records=BATCH)
                records = [r for rs in batch.values() for r in rs]
                if not records:
                    continue
                started = started or time.monotonic()
                futures = [await producer.send(target, r.value, key=r.key) for r in records]
                await asyncio.gather(*futures)
                await consumer.commit()
                done += len(records)
                bar.update(task, completed=done)
        if done < count:
            raise TimeoutError(f"pass-through moved {done} of {count} records in 300 s")
        return time.monotonic() - started
    finally:
        await producer.stop()
        await consumer.stop()


async def produce_consume_latency(settings: Settings, topic: str, value: bytes, rate: int,
                                  seconds: float) -> tuple[list[float], list[float]]:
    """Milliseconds from send() to acknowledgement and to a consumer's getmany(), for
    single records sent at ``rate``/s."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap,
                                client_id="bench-latency-consumer", enable_auto_commit=False)
    producer = durable_producer(settings, "bench-latency-producer")
    await consumer.start()
    await producer.start()
    sent: dict[bytes, float] = {}
    seen: dict[bytes, float] = {}
    acked: dict[bytes, float] = {}
    total = int(rate * seconds)

    async def read() -> None:
        while len(seen) < total:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.monotonic()
            for records in batch.values():
                for r in records:
                    seen.setdefault(r.key, now)

    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)
        reader = asyncio.create_task(read())
        futures = []
        started = time.monotonic()
        for i in range(total):
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            key = f"{i:08d}".encode()
            sent[key] = time.monotonic()
            future = await producer.send(topic, value, key=key)
            future.add_done_callback(lambda _, k=key: acked.setdefault(k, time.monotonic()))
            futures.append(future)
        await asyncio.gather(*futures)
        await asyncio.wait_for(reader, timeout=30)
        return ([(acked[k] - sent[k]) * 1000 for k in sent],
                [(seen[k] - sent[k]) * 1000 for k in sent])
    finally:
        await producer.stop()
        await consumer.stop()


async def run_baseline(run: Run, rate: int, seconds: float) -> Baseline:
    settings = run.settings("base")
    names = [f"{settings.topic_prefix}.{n}" for n in ("source", "target", "latency")]
    queues = [f"{settings.topic_prefix}.queue{i}" for i in range(QUEUE_TOPICS)]
    admin = admin_client(settings, "bench-baseline")
    await admin.start()
    try:
        await ensure_topics(admin, [TopicSpec(n, PARTITIONS, 1, -1) for n in names]
                            + [TopicSpec(q, 1, 1, -1) for q in queues])
    finally:
        await admin.close()
    market = make_market(run.series, grid_owners=10, suppliers=20, seed=1)
    value = series_value(market.points[0], market.days[0])
    keys = [p.point_id.encode() for p in market.points]
    records = [(keys[i % len(keys)], value) for i in range(run.series)]
    console.print(f"baseline: {run.series} records of {len(value)} bytes")
    produce_s = await produce_all(settings, names[0], records)
    pass_s = await pass_through(settings, names[0], names[1], run.series)
    fan_s = await fan_out(settings, queues, value, run.series)
    console.print(f"baseline: produce → consume latency at {rate}/s for {seconds:.0f} s")
    acks, latencies = await produce_consume_latency(settings, names[2], value, rate, seconds)
    return Baseline(len(value), run.series, produce_s, run.series, pass_s, run.series, fan_s,
                    acks, latencies, rate)


def baseline_table(b: Baseline) -> Table:
    mb = b.record_bytes / 1e6
    table = Table("Baseline: raw aiokafka on the same broker",
                  ["Measure", "Records", "Seconds", "Records/s", "MB/s"])
    table.rows.append(["produce (acks=all, idempotent, linger 5 ms)", num(b.produced),
                       num(b.produce_s, 2), num(b.produce_rate), num(b.produce_rate * mb, 1)])
    table.rows.append(["consume-then-produce (getmany 500, send all, await all, commit)",
                       num(b.passed), num(b.pass_s, 2), num(b.pass_rate),
                       num(b.pass_rate * mb, 1)])
    table.rows.append([f"fan-out produce to {QUEUE_TOPICS} single-partition topics (batches "
                       f"of {num(QUEUE_BATCH)}, each awaited in full)", num(b.fanned),
                       num(b.fan_s, 2), num(b.fan_rate), num(b.fan_rate * mb, 1)])
    table.notes.append(
        f"Records are one real 96-point MeteringValueSeries, Avro single-object encoded "
        f"({b.record_bytes} bytes), keyed by metering point ids as in the forwarder "
        f"benchmark, {PARTITIONS} partitions.")
    for what, lat in (("acknowledged", b.ack_ms), ("consumed", b.latencies_ms)):
        table.notes.append(
            f"Single records sent at {b.rate}/s, send → {what}: p50 "
            f"{num(percentile(lat, 50), 1)} ms, p99 {num(percentile(lat, 99), 1)} ms, "
            f"max {num(max(lat, default=float('nan')), 1)} ms ({len(lat)} records).")
    return table
