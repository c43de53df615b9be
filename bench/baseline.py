"""Raw aiokafka on the same broker: the floor every straum figure is set beside.

a. produce: N real ~1 KB MeteringValueSeries records (acks=all, idempotent) to 6 partitions,
   as the API writes intake;
b. consume → transact → produce: the I/O of straum's worker without its decoding and routing.
   One group consumer reads the records (the worker's fetch settings, batches of up to the
   worker's ``worker_batch_records``); per input partition a transactional producer of its own
   (as a worker's partition task) writes, for every input record, the same number of records
   of the same sizes as the worker does (two metering-values queue records and one
   acknowledgement) to the same kind of topics (single-partition queue topics), grouped into
   one record batch per topic, then ``send_offsets_to_transaction`` and commits: one
   transaction per partition per batch, the partitions' transactions concurrently;
c. produce → consume latency of single records at a fixed rate (read_committed).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from bench.common import PARTITIONS, Run, Table, console, num, percentile, progress
from bench.fixtures import Market, make_market, series_value
from domain.forwarding import NOTIFY_VALUES
from domain.messages import METERING_VALUES, Outbound, acknowledgement, outbound_message_id
from schemas.settings import Settings
from streams.kafka import (
    admin_client,
    durable_producer,
    ensure_topics,
    reader,
    transactional_producer,
)
from streams.records import queue_message
from streams.records import series as intake_series
from streams.topics import Queue, TopicCatalogue, TopicSpec

#: Records per input series the worker writes: the sender's acknowledgement, the supplier's
#: and the grid owner's notification.
FAN_OUT = 3


@dataclass(frozen=True)
class Shape:
    """What the raw loop writes per input: record sizes and how many queue topics."""

    sizes: tuple[int, ...]  # bytes of each output record of one input, in order
    kinds: tuple[str, ...]  # the queue of each output ("metering-values", "market-processes")
    topics: dict[str, int]  # queue → number of single-partition topics of that queue

    @property
    def per_input(self) -> int:
        return len(self.sizes)


def series_outputs(value: bytes) -> list[bytes]:
    """The three queue records straum writes for one intake series, rendered by the same
    functions (acknowledgement, notification payload, queue JSON): their sizes are the
    baseline's record sizes."""
    series = intake_series.decode(value)
    now = datetime.now(UTC)
    ack = acknowledgement(original_message_id=series["messageId"],
                          original_document_type=NOTIFY_VALUES, sender=series["sender"],
                          reasons=[], created_at=now,
                          metering_point_id=series["meteringPointId"],
                          transaction_id=series["transactionId"])
    notes = [Outbound(
        message_id=outbound_message_id(series["transactionId"], recipient, NOTIFY_VALUES,
                                       f"{role}:0-96"),
        recipient=recipient, queue=METERING_VALUES, document_type=NOTIFY_VALUES,
        payload_type=NOTIFY_VALUES,
        payload={"transactionId": series["transactionId"],
                 "originalMessageId": series["messageId"],
                 "meteringPointId": series["meteringPointId"], "start": series["start"],
                 "end": series["end"], "resolution": series["resolution"],
                 "unit": series["unit"], "registeredAt": series["receivedAt"],
                 "recipientRole": role, "version": 1, "correction": False,
                 "quantities": series["quantities"], "qualities": series["qualities"]},
        created_at=now) for recipient, role in ((series["sender"], "grid_owner"),
                                                ("7080000000000", "supplier"))]
    return [queue_message.render(m) for m in [ack, *notes]]


def series_shape(market: Market, value: bytes) -> Shape:
    """The forwarder's outputs: an acknowledgement to the grid owner's market-processes queue,
    notifications to the supplier's and the grid owner's metering-values queues."""
    ack, owner, supplier = (len(v) for v in series_outputs(value))
    owners = len({p.grid_owner for p in market.all_points})
    return Shape((ack, owner, supplier),
                 ("market-processes", "metering-values", "metering-values"),
                 {"market-processes": owners,
                  "metering-values": owners + len(market.suppliers)})


@dataclass(frozen=True)
class Transacted:
    """One run of the raw consume → transact → produce loop."""

    inputs: int
    outputs: int
    seconds: float
    transactions: int
    batch_records: int
    shape: Shape
    cpu_s: float = float("nan")  # this process's CPU over the timed loop (the raw client's)

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds


@dataclass(frozen=True)
class Baseline:
    record_bytes: int
    produced: int
    produce_s: float
    transacted: Transacted
    ack_ms: list[float]
    latencies_ms: list[float]
    rate: int

    @property
    def produce_rate(self) -> float:
        return self.produced / self.produce_s

    @property
    def pass_rate(self) -> float:
        """Inputs per second through the raw transactional loop."""
        return self.transacted.rate


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


async def create_queue_topics(settings: Settings, shape: Shape
                              ) -> dict[str, list[tuple[str, bytes]]]:
    """Single-partition topics laid out as actors' queues (``catalogue.queue_spec``): per
    queue, (topic, record key) of each."""
    catalogue = TopicCatalogue.from_settings(settings)
    names: dict[str, list[tuple[str, bytes]]] = {}
    specs = []
    for kind, count in shape.topics.items():
        actors = [f"7090{i:09d}" for i in range(count)]
        specs += [catalogue.queue_spec(a, Queue(kind)) for a in actors]
        names[kind] = [(catalogue.queue_topic(a, Queue(kind)), f"{a}|{kind}".encode())
                       for a in actors]
    admin = admin_client(settings, "bench-baseline-queues")
    await admin.start()
    try:
        await ensure_topics(admin, specs)
    finally:
        await admin.close()
    return names


async def warm_up(producer: AIOKafkaProducer, topics: list[tuple[str, bytes]]) -> None:
    """One transaction writing an empty record to each topic."""
    async with producer.transaction():
        futures = [await producer.send(topic, b"", key=key, partition=0)
                   for topic, key in topics]
        await asyncio.gather(*futures)


class _Assigned(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if assigned:
            self.event.set()


async def transact_through(settings: Settings, source: str, partitions: int, shape: Shape,
                           count: int, label: str = "baseline: consume → transact → produce"
                           ) -> Transacted:
    """The worker's I/O in raw aiokafka: seconds from the first batch read until ``count``
    inputs are committed (their outputs and offsets, in transactions)."""
    topics = await create_queue_topics(settings, shape)
    values = [bytes(size) for size in shape.sizes]
    batch_records = settings.worker_batch_records
    group = f"{settings.topic_prefix}-raw"
    consumer = reader(settings, "bench-raw-consumer", group_id=group,
                      session_timeout_ms=int(settings.worker_session_timeout_seconds * 1000),
                      heartbeat_interval_ms=1000, max_partition_fetch_bytes=4 * 1024 * 1024,
                      fetch_max_bytes=32 * 1024 * 1024, fetch_max_wait_ms=20)
    producers = {p: transactional_producer(settings, f"{group}-task-{p}")
                 for p in range(partitions)}
    await asyncio.gather(*(p.start() for p in producers.values()))
    # untimed: every producer learns every queue topic's metadata and has written to it in a
    # transaction once, as the worker's producers have after the benchmark's warm-up series
    await asyncio.gather(*(warm_up(p, [t for names in topics.values() for t in names])
                           for p in producers.values()))
    listener = _Assigned()
    consumer.subscribe([source], listener=listener)
    await consumer.start()
    outputs = transactions = 0

    async def transact(producer: AIOKafkaProducer, records: Sequence[Any]) -> None:
        nonlocal outputs, transactions
        by_topic: dict[tuple[str, bytes], list[bytes]] = defaultdict(list)
        for record in records:
            # spread over the topics without decoding anything; the two notifications of an
            # input go to two different topics, as a supplier's and a grid owner's do
            slot = (record.offset + 31 * record.partition) * shape.per_input
            for j, (kind, value) in enumerate(zip(shape.kinds, values, strict=True)):
                names = topics[kind]
                by_topic[names[(slot + j) % len(names)]].append(value)
        await producer.begin_transaction()
        futures = []
        for (topic, key), batch_values in by_topic.items():
            batch = producer.create_batch()
            for value in batch_values:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    futures.append(await producer.send_batch(batch, topic, partition=0))
                    batch = producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
            futures.append(await producer.send_batch(batch, topic, partition=0))
        last = records[-1]
        await producer.send_offsets_to_transaction(
            {TopicPartition(last.topic, last.partition): last.offset + 1}, group)
        await asyncio.gather(*futures)
        await producer.commit_transaction()
        outputs += len(records) * shape.per_input
        transactions += 1

    try:
        await asyncio.wait_for(listener.event.wait(), timeout=60)
        done, started, cpu0 = 0, 0.0, 0.0
        deadline = time.monotonic() + 600
        with progress() as bar:
            task = bar.add_task(label, total=count)
            while done < count and time.monotonic() < deadline:
                fetched = await consumer.getmany(timeout_ms=100, max_records=batch_records)
                if not fetched:
                    continue
                if not started:
                    started, cpu0 = time.monotonic(), time.process_time()
                await asyncio.gather(*(transact(producers[tp.partition], records)
                                       for tp, records in fetched.items() if records))
                done += sum(len(rs) for rs in fetched.values())
                bar.update(task, completed=done)
        if done < count:
            raise TimeoutError(f"{label}: {done} of {count} inputs in 600 s")
        return Transacted(done, outputs, time.monotonic() - started, transactions,
                          batch_records, shape, time.process_time() - cpu0)
    finally:
        await consumer.stop()
        await asyncio.gather(*(p.stop() for p in producers.values()),
                             return_exceptions=True)


async def produce_consume_latency(settings: Settings, topic: str, value: bytes, rate: int,
                                  seconds: float) -> tuple[list[float], list[float]]:
    """Milliseconds from send() to acknowledgement and to a consumer's getmany(), for
    single records sent at ``rate``/s."""
    consumer = reader(settings, "bench-latency-consumer")
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
        reading = asyncio.create_task(read())
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
        await asyncio.wait_for(reading, timeout=30)
        return ([(acked[k] - sent[k]) * 1000 for k in sent],
                [(seen[k] - sent[k]) * 1000 for k in sent])
    finally:
        await producer.stop()
        await consumer.stop()


async def create_plain_topics(settings: Settings, names: list[str], partitions: int) -> None:
    admin = admin_client(settings, "bench-baseline")
    await admin.start()
    try:
        await ensure_topics(admin, [TopicSpec(n, partitions, 1, -1) for n in names])
    finally:
        await admin.close()


def baseline_records(series: int, seed: int = 1) -> tuple[Market, bytes,
                                                           list[tuple[bytes, bytes]]]:
    """``series`` copies of one real series record, keyed by the points of a market like the
    forwarder benchmark's."""
    market = make_market(series, grid_owners=10, suppliers=20, seed=seed)
    value = series_value(market.points[0], market.days[0])
    keys = [p.point_id.encode() for p in market.points]
    return market, value, [(keys[i % len(keys)], value) for i in range(series)]


async def raw_rate(run: Run, name: str, series: int, partitions: int) -> Transacted:
    """The raw transactional loop alone on fresh topics with ``partitions`` partitions."""
    settings = run.settings(name).model_copy(update={"partitions": partitions})
    source = f"{settings.topic_prefix}.source"
    await create_plain_topics(settings, [source], partitions)
    market, value, records = baseline_records(series)
    await produce_all(settings, source, records)
    return await transact_through(settings, source, partitions, series_shape(market, value),
                                  series)


async def run_baseline(run: Run, rate: int, seconds: float) -> Baseline:
    settings = run.settings("base")
    names = [f"{settings.topic_prefix}.{n}" for n in ("source", "latency")]
    await create_plain_topics(settings, names, PARTITIONS)
    market, value, records = baseline_records(run.series)
    console.print(f"baseline: {run.series} records of {len(value)} bytes")
    produce_s = await produce_all(settings, names[0], records)
    transacted = await transact_through(settings, names[0], PARTITIONS,
                                        series_shape(market, value), run.series)
    console.print(f"baseline: produce → consume latency at {rate}/s for {seconds:.0f} s")
    acks, latencies = await produce_consume_latency(settings, names[1], value, rate, seconds)
    return Baseline(len(value), run.series, produce_s, transacted, acks, latencies, rate)


def transacted_row(label: str, t: Transacted) -> list[str]:
    mb = sum(t.shape.sizes) / t.shape.per_input / 1e6
    return [label, num(t.inputs), num(t.seconds, 2), num(t.rate),
            f"{num(t.outputs / t.seconds)} out ({num(t.outputs / t.seconds * mb, 1)} MB/s)"]


def transacted_note(t: Transacted) -> str:
    topics = ", ".join(f"{n} {kind}" for kind, n in t.shape.topics.items())
    return (f"consume → transact → produce: one group consumer (read_committed, the worker's "
            f"fetch settings, getmany up to {num(t.batch_records)} records), one "
            f"transactional producer per input partition; per input record "
            f"{t.shape.per_input} records of {' + '.join(map(str, t.shape.sizes))} bytes "
            f"(the sizes of straum's acknowledgement and two notifications for the same "
            f"series, rendered by straum's own functions) to single-partition queue topics "
            f"({topics}), one record batch per topic, then send_offsets_to_transaction and "
            f"commit: {num(t.transactions)} transactions for {num(t.inputs)} inputs. No "
            f"decoding, routing or state. CPU of the raw client over the loop: "
            f"{t.cpu_s / t.inputs * 1000:.3f} ms per input (progress bar included).")


def baseline_table(b: Baseline) -> Table:
    mb = b.record_bytes / 1e6
    table = Table("Baseline: raw aiokafka on the same broker",
                  ["Measure", "Inputs", "Seconds", "Inputs/s", "Records written/s"])
    table.rows.append(["produce (acks=all, idempotent, linger 5 ms)", num(b.produced),
                       num(b.produce_s, 2), num(b.produce_rate),
                       f"{num(b.produce_rate)} ({num(b.produce_rate * mb, 1)} MB/s)"])
    table.rows.append(transacted_row("consume → transact → produce, 3 queue records per "
                                     "input (the worker's I/O)", b.transacted))
    table.notes.append(
        f"Inputs are one real 96-point MeteringValueSeries, Avro single-object encoded "
        f"({b.record_bytes} bytes), keyed by metering point ids as in the forwarder "
        f"benchmark, {PARTITIONS} partitions.")
    table.notes.append(transacted_note(b.transacted))
    for what, lat in (("acknowledged", b.ack_ms), ("consumed (read_committed)",
                                                   b.latencies_ms)):
        table.notes.append(
            f"Single records sent at {b.rate}/s, send → {what}: p50 "
            f"{num(percentile(lat, 50), 1)} ms, p99 {num(percentile(lat, 99), 1)} ms, "
            f"max {num(max(lat, default=float('nan')), 1)} ms ({len(lat)} records).")
    return table

