"""The stream engine on the real broker, with a counting processor that makes every fault show.

The processor keeps a count per key in a table and writes ``key:count`` for every record, so the
output topic (read ``read_committed``) tells at once whether a record was lost (a count is
missing), processed twice (a count repeats), or processed against a stale state after a hand-over
(the counts restart). Engines run in this process, as workers would; faults are real: a second
worker joining and leaving under load, a poison record, an output too large to write, a record
for an actor the hub does not know.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import REGISTRY

from connectors.broker.embedded import EmbeddedBroker, free_port
from schemas.settings import Settings
from streams.engine import Context, Incoming, Output, TableSpec, Topology
from streams.engine.runner import Engine
from streams.kafka import admin_client, ensure_topics
from streams.serialisation import DEAD_LETTER, codec
from streams.topics import TopicSpec

PARTITIONS = 3


@dataclass
class Counter:
    """Counts records per key; ``poison`` values raise, ``huge`` values make a huge output,
    ``stranger`` values go to an actor the hub does not know."""

    out: str
    counts: TableSpec[int]
    name: str = "counter"
    handled: list[tuple[int, int]] = field(default_factory=list)

    def handle(self, record: Incoming, ctx: Context) -> list[Output]:
        if record.value == b"poison":
            raise ValueError("this record cannot be processed")
        key = record.key or b""
        table = ctx.table(self.counts)
        count = (table.get(key) or 0) + 1
        table.put(key, count)
        value = key + b":" + str(count).encode()
        if record.value == b"huge":
            value += b"x" * (2 * 1024 * 1024)
        recipient = "7080000000000" if record.value == b"stranger" else None
        return [Output(self.out, key, value, None, recipient=recipient)]

    def reject(self, record: Incoming, reason: str, ctx: Context) -> list[Output]:
        return [Output(self.out, b"rejected", record.value or b"", None)]


@dataclass
class Rig:
    settings: Settings
    source: str
    out: str
    changelog: str
    dead_letters: str

    def topology(self) -> Topology:
        counts: TableSpec[int] = TableSpec("counts", self.changelog, lambda n: str(n).encode(),
                                           lambda raw: int(raw))
        return Topology(handlers={self.source: Counter(self.out, counts)}, tables=[counts])

    def engine(self, worker_id: str | None = None) -> Engine:
        settings = self.settings.model_copy(update={"worker_id": worker_id})

        async def unknown(glns: set[str]) -> set[str]:
            return {g for g in glns if g == "7080000000000"}

        return Engine(settings, self.topology(), group=settings.topic_prefix,
                      dead_letter_topic=self.dead_letters, unknown_recipients=unknown,
                      clock=lambda: datetime.now(UTC))


@pytest.fixture
async def rig(kafka_bootstrap: str, tmp_path: Path) -> Rig:
    return await make_rig(kafka_bootstrap, tmp_path)


async def make_rig(kafka_bootstrap: str, tmp_path: Path) -> Rig:
    prefix = f"e{uuid.uuid4().hex[:8]}"
    settings = Settings(kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path, topic_prefix=prefix,
                        partitions=PARTITIONS, worker_session_timeout_seconds=6.0)
    rig = Rig(settings, f"{prefix}.in", f"{prefix}.out", f"{prefix}-counts-changelog",
              f"{prefix}.dead-letters")
    admin = admin_client(settings)
    await admin.start()
    try:
        await ensure_topics(admin, [
            TopicSpec(rig.source, PARTITIONS, 1), TopicSpec(rig.out, 1, 1),
            TopicSpec(rig.changelog, PARTITIONS, 1, compacted=True),
            TopicSpec(rig.dead_letters, 1, 1)])
    finally:
        await admin.close()
    return rig


@contextlib.asynccontextmanager
async def running(engine: Engine) -> AsyncIterator[asyncio.Task[None]]:
    stopping = asyncio.Event()
    task = asyncio.create_task(engine.run(stopping))
    try:
        await asyncio.wait_for(engine.ready.wait(), 60)
        yield task
    finally:
        stopping.set()
        await asyncio.wait_for(task, 60)


async def send(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]],
               pace: float = 0.0) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        futures = []
        for n, (key, value) in enumerate(records):
            futures.append(await producer.send(topic, value, key=key))
            if pace and n % 50 == 49:
                await asyncio.sleep(pace)
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def committed_output(bootstrap: str, topic: str, expected: int,
                           wait_s: float = 90.0) -> list[tuple[bytes, bytes]]:
    """Every committed record of ``topic``, once ``expected`` of them are there."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        out: list[tuple[bytes, bytes]] = []
        deadline = asyncio.get_running_loop().time() + wait_s
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(tp, timeout_ms=500)
            out += [(r.key, r.value) for r in batch.get(tp, [])]
            if len(out) >= expected:
                await asyncio.sleep(1.0)  # anything beyond ``expected`` is a fault: catch it
                batch = await consumer.getmany(tp, timeout_ms=500)
                out += [(r.key, r.value) for r in batch.get(tp, [])]
                break
        return out
    finally:
        await consumer.stop()


def exactly_once(outputs: list[tuple[bytes, bytes]], per_key: dict[bytes, int]) -> None:
    """Per key, the counts 1..n in order, each once."""
    seen: dict[bytes, list[int]] = defaultdict(list)
    for key, value in outputs:
        seen[key].append(int(value.split(b":", 1)[1][:12].rstrip(b"x")))
    for key, n in per_key.items():
        assert seen[key] == list(range(1, n + 1)), f"{key!r}: {seen[key][:20]}..."
    assert set(seen) == set(per_key)


def restarts() -> float:
    return sum(REGISTRY.get_sample_value("straum_engine_task_restarts_total", {"reason": r})
               or 0.0 for r in ("fenced", "fenced_while_away"))


def workload(keys: int, per_key: int) -> list[tuple[bytes, bytes]]:
    return [(f"k{k}".encode(), b"v") for _ in range(per_key) for k in range(keys)]


async def test_every_record_counted_once_across_workers_joining_and_leaving(
        rig: Rig, kafka_bootstrap: str) -> None:
    """Load runs while a second worker joins (partitions move to it, restored from the
    changelog) and the first leaves (they move back): no count lost, none twice, none reset."""
    records = workload(keys=60, per_key=50)
    first, second = rig.engine("w1"), rig.engine("w2")
    async with running(first):
        load = asyncio.create_task(send(kafka_bootstrap, rig.source, records, pace=0.02))
        await asyncio.sleep(2)
        async with running(second):
            await asyncio.sleep(4)
            assert first.tasks and second.tasks, "the partitions were not shared"
            assert not set(first.tasks) & set(second.tasks)
        await load
        outputs = await committed_output(kafka_bootstrap, rig.out, len(records))
    exactly_once(outputs, {key: 50 for key, _ in records[:60]})


async def test_a_restarted_worker_restores_its_state_and_goes_on(
        rig: Rig, kafka_bootstrap: str) -> None:
    records = workload(keys=20, per_key=10)
    async with running(rig.engine("w1")):
        await send(kafka_bootstrap, rig.source, records)
        await committed_output(kafka_bootstrap, rig.out, len(records))
    async with running(rig.engine("w1")) as _:
        await send(kafka_bootstrap, rig.source, records)
        outputs = await committed_output(kafka_bootstrap, rig.out, 2 * len(records))
    exactly_once(outputs, {key: 20 for key, _ in records[:20]})


async def test_poison_records_go_to_dead_letters_and_the_stream_goes_on(
        rig: Rig, kafka_bootstrap: str) -> None:
    records = [(b"a", b"v"), (b"a", b"poison"), (b"a", b"v"), (b"a", b"huge"), (b"a", b"v"),
               (b"a", b"stranger"), (b"a", b"v")]
    async with running(rig.engine()):
        await send(kafka_bootstrap, rig.source, records)
        # counted: v, v, v, v (a poison or huge record's state change is undone); the
        # stranger's message is counted but goes to the dead letters instead of the output
        outputs = await committed_output(kafka_bootstrap, rig.out, 6)
    assert [v for k, v in outputs if k == b"a"] == [b"a:1", b"a:2", b"a:3", b"a:5"]
    assert sorted(v for k, v in outputs if k == b"rejected") == [b"huge", b"poison"]
    letters = [codec(DEAD_LETTER).decode(v)
               for _, v in await committed_output(kafka_bootstrap, rig.dead_letters, 3)]
    assert sorted(letter["errorType"] for letter in letters) == [
        "RecordTooLargeError", "UnknownRecipient", "ValueError"]
    assert {letter["processor"] for letter in letters} == {"counter", "queue-writer"}


async def test_a_broker_restart_mid_load_loses_nothing_and_repeats_nothing(
        tmp_path: Path) -> None:
    """A broker of its own, stopped and started again on the same ports while the worker
    commits batches: transactions in flight are aborted and retried, none half-applied."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    broker = EmbeddedBroker(tmp_path / "kafka", settings.kafka_cache_dir, settings.kafka_version,
                            port=free_port(), controller_port=free_port(), heap="512m")
    bootstrap = (await asyncio.to_thread(broker.start, 120)).bootstrap
    try:
        rig = await make_rig(bootstrap, tmp_path)
        records = workload(keys=30, per_key=40)
        async with running(rig.engine("w1")):
            load = asyncio.create_task(send(bootstrap, rig.source, records[:600], pace=0.4))
            await asyncio.sleep(2)
            await asyncio.to_thread(broker.stop)
            await asyncio.sleep(1)
            await asyncio.to_thread(broker.start, 120)
            await load  # its producer waited for the broker, as the API's does
            await send(bootstrap, rig.source, records[600:])
            outputs = await committed_output(bootstrap, rig.out, len(records), wait_s=180)
        exactly_once(outputs, {key: 40 for key, _ in records[:30]})
    finally:
        await asyncio.to_thread(broker.stop)


async def test_a_task_fenced_while_its_partition_stays_assigned_starts_afresh(
        rig: Rig, kafka_bootstrap: str) -> None:
    """Another producer takes a task's transactional id (as the broker does when it aborts a
    transaction that outlived its timeout): the task's next commit is refused; the task, whose
    partition is still assigned here, starts afresh from the changelogs and goes on, and no
    count is lost or repeated."""
    records = workload(keys=12, per_key=30)
    before = restarts()
    async with running(rig.engine("w1")) as _:
        await send(kafka_bootstrap, rig.source, records[:120])
        await committed_output(kafka_bootstrap, rig.out, 120)
        for partition in range(PARTITIONS):
            intruder = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap,
                                        transactional_id=f"{rig.settings.topic_prefix}-task-"
                                                         f"{partition}")
            await intruder.start()  # fences the task's producer
            await intruder.stop()
        await send(kafka_bootstrap, rig.source, records[120:])
        outputs = await committed_output(kafka_bootstrap, rig.out, len(records))
    exactly_once(outputs, {key: 30 for key, _ in records[:12]})
    assert restarts() >= before + 1
