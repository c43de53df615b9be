"""The engine's consumer side: group membership, tasks per partition, the batch loop.

One consumer per worker reads every input topic. The topics are co-partitioned (same count,
same key), and the range assignor gives a worker the same partition numbers of each, so
partition *p* of all of them is one task. Records of a task's topics are merged in timestamp
order (each partition's own order kept) and committed in transactions by the task.

Rebalances are eager: every partition is revoked, then the new assignment arrives. A task whose
partition comes back keeps its tables and its producer, and is sought to the offsets it
committed itself (an offset fetch right after a commit may still show the older one); a new
task fences the previous owner first (which completes or aborts that owner's last
transaction), and only then restores its tables and reads the committed offsets.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import defaultdict
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from prometheus_client import Counter, Gauge

from schemas.settings import Settings
from streams.engine.model import Incoming, Output, Topology
from streams.engine.offsets import Verdict, admit
from streams.engine.state import Table
from streams.engine.task import Clock, PartitionTask, TaskFenced, UnknownRecipients
from streams.kafka import admin_client, ensure_topics, reader, transactional_producer
from streams.logging import get_logger

log = get_logger(__name__)

TASKS = Gauge("straum_engine_tasks", "Partition tasks this worker runs")
REWINDS = Counter("straum_consumer_rewinds_total",
                  "Partitions sought back to their next offset because a fetch skipped records",
                  ["topic", "reason"])
TASK_RESTARTS = Counter("straum_engine_task_restarts_total",
                        "Tasks started afresh because another producer fenced theirs",
                        ["reason"])
GAPS_ACCEPTED = Counter("straum_consumer_offset_gaps_accepted_total",
                        "Offset holes accepted as real (records deleted before they were "
                        "processed) after repeated fetches", ["topic"])
RESTORE_BATCH = 50_000


class TopicMaker:
    """Creates topics that outputs name for creation (actor queues) on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.known: set[str] = set()
        self._admin: AIOKafkaAdminClient | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._admin = admin_client(self.settings, "straum-worker-topics")
        await self._admin.start()
        self.known = set(await self._admin.list_topics())

    async def stop(self) -> None:
        if self._admin is not None:
            await self._admin.close()

    async def ensure(self, outputs: Sequence[Output]) -> None:
        specs = {o.create.name: o.create for o in outputs
                 if o.create is not None and o.create.name not in self.known}
        if not specs:
            return
        async with self._lock:
            missing = [s for name, s in specs.items() if name not in self.known]
            if not missing or self._admin is None:
                return
            created = await ensure_topics(self._admin, missing)
            for name in created:
                log.info("queue created", topic=name)
            await self._leaders_known(created)
            self.known.update(s.name for s in missing)

    async def _leaders_known(self, topics: list[str], within_s: float = 10.0) -> None:
        """Wait until new topics have a leader: the first transactional write to a topic
        whose leader is not elected yet fails the whole batch and sends it round again."""
        assert self._admin is not None
        deadline = asyncio.get_running_loop().time() + within_s
        pending = list(topics)
        while pending and asyncio.get_running_loop().time() < deadline:
            described = await self._admin.describe_topics(pending)
            pending = [t["topic"] for t in described
                       if t["error_code"] != 0 or not t["partitions"]
                       or any(p["leader"] < 0 for p in t["partitions"])]
            if pending:
                await asyncio.sleep(0.05)


class Engine:
    """Runs a topology's tasks for the partitions this worker is assigned."""

    def __init__(self, settings: Settings, topology: Topology, group: str,
                 dead_letter_topic: str, unknown_recipients: UnknownRecipients,
                 clock: Clock) -> None:
        self.settings = settings
        self.topology = topology
        self.group = group
        self.dead_letter_topic = dead_letter_topic
        self.unknown_recipients = unknown_recipients
        self.clock = clock
        self.tasks: dict[int, PartitionTask] = {}
        self.next_offsets: dict[TopicPartition, int] = {}
        self.topics = TopicMaker(settings)
        self._lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self.generation = 0  # moves on every seek of assigned partitions: older fetches are stale
        self.rebalances = 0  # moves on every revocation and assignment
        self.holes_seen: dict[TopicPartition, int] = {}
        self._revivals: set[asyncio.Task[None]] = set()
        self.ready = asyncio.Event()

    # Lifecycle --------------------------------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        await self.topics.start()
        consumer = reader(
            self.settings, f"straum-worker-{self.settings.worker_id or 'dynamic'}",
            group_id=self.group, group_instance_id=self.settings.worker_id,
            partition_assignment_strategy=(RangePartitionAssignor,),
            session_timeout_ms=int(self.settings.worker_session_timeout_seconds * 1000),
            heartbeat_interval_ms=1000, max_poll_interval_ms=300_000,
            max_partition_fetch_bytes=4 * 1024 * 1024, fetch_max_bytes=32 * 1024 * 1024,
            fetch_max_wait_ms=20)
        self._consumer = consumer
        consumer.subscribe(self.topology.input_topics, listener=_Listener(self))
        await consumer.start()
        log.info("engine started", group=self.group, topics=self.topology.input_topics,
                 worker_id=self.settings.worker_id)
        try:
            while not stopping.is_set():
                generation = self.generation
                fetched = await consumer.getmany(timeout_ms=100,
                                                 max_records=self.settings.worker_batch_records)
                async with self._lock:
                    if generation == self.generation:
                        await self._process(fetched)
                    else:  # fetched across a rebalance: read them again from the next offset
                        self._refetch(consumer, fetched)
                    self._revivals = {t for t in self._revivals if not t.done()}
                    for task in list(self.tasks.values()):
                        await self._guard(task, task.fire_timers())
        finally:
            async with self._lock:
                for task in self.tasks.values():
                    await task.stop()
                self.tasks.clear()
                TASKS.set(0)
            await consumer.stop()
            await self.topics.stop()

    def _refetch(self, consumer: AIOKafkaConsumer,
                 fetched: dict[TopicPartition, list[Any]]) -> None:
        for tp, records in fetched.items():
            if records and tp in self.next_offsets and tp.partition in self.tasks:
                consumer.seek(tp, self.next_offsets[tp])

    async def _process(self, fetched: dict[TopicPartition, list[Any]]) -> None:
        by_partition: dict[int, list[list[Incoming]]] = defaultdict(list)
        for tp, records in fetched.items():
            if tp.partition not in self.tasks:  # fenced or not ours: leave it unread
                continue
            expected = self.next_offsets.get(tp, 0)
            admission = admit(expected, [r.offset for r in records],
                              self.holes_seen.get(tp, 0),
                              contiguous=tp.topic not in self.topology.transactional_inputs)
            if admission.stale:  # never again what a committed batch covered
                log.warning("records below the committed offset skipped", topic=tp.topic,
                            partition=tp.partition, skipped=admission.stale,
                            next_offset=expected)
            if admission.verdict is Verdict.REFETCH:
                self.holes_seen[tp] = self.holes_seen.get(tp, 0) + 1
                REWINDS.labels(tp.topic, "offset_gap").inc()
                log.warning("consumer.rewind", topic=tp.topic, partition=tp.partition,
                            next_offset=expected, fetched_from=records[admission.first].offset)
                if self._consumer is not None:
                    self._consumer.seek(tp, expected)
                continue
            if admission.verdict is Verdict.ACCEPT_GAP:
                GAPS_ACCEPTED.labels(tp.topic).inc()
                log.error("offset gap accepted: records were deleted before processing",
                          topic=tp.topic, partition=tp.partition, next_offset=expected,
                          first_offset=records[admission.first].offset)
            self.holes_seen.pop(tp, None)
            fresh = records[admission.first:]
            if fresh:
                by_partition[tp.partition].append([_incoming(r) for r in fresh])
        jobs = []
        for partition, lists in by_partition.items():
            merged = list(heapq.merge(*lists, key=self._order)) if len(lists) > 1 else lists[0]
            jobs.append(self._guard(self.tasks[partition], self._run(partition, merged)))
        if jobs:
            await asyncio.gather(*jobs)

    async def _run(self, partition: int, records: list[Incoming]) -> None:
        await self.tasks[partition].process(records)
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            self.next_offsets[tp] = max(self.next_offsets.get(tp, 0), record.offset + 1)

    def _order(self, record: Incoming) -> tuple[int, int]:
        return record.timestamp_ms, self.topology.priority.get(record.topic, 0)

    async def _guard(self, task: PartitionTask, job: Awaitable[None]) -> None:
        """A fenced task stops; its partitions wait for the rebalance that must follow."""
        try:
            await job
        except TaskFenced as exc:
            log.warning("task fenced; dropping it", partition=task.partition, error=str(exc))
            await self._drop(task.partition)
            self._revivals.add(asyncio.create_task(self._revive(task.partition,
                                                                self.rebalances)))

    async def _drop(self, partition: int) -> None:
        task = self.tasks.pop(partition, None)
        TASKS.set(len(self.tasks))
        if task is not None:
            await task.stop()
        if self._consumer is not None:
            mine = [tp for tp in self._consumer.assignment() if tp.partition == partition]
            self._consumer.pause(*mine)
        for tp in [tp for tp in self.next_offsets if tp.partition == partition]:
            del self.next_offsets[tp]

    # Rebalancing ------------------------------------------------------------------------------

    async def revoked(self, revoked: Iterable[TopicPartition]) -> None:
        """Wait for the batch in flight: every offset handed out is committed or aborted."""
        self.generation += 1
        self.rebalances += 1
        async with self._lock:
            log.info("partitions revoked", partitions=sorted({tp.partition for tp in revoked}))

    async def assigned(self, assigned: Iterable[TopicPartition]) -> None:
        """Start the tasks of the new assignment and seek their partitions.

        A task kept from before is kept only if its producer still owns its partition: a
        worker that was out of the group (frozen, cut off) may get a partition back that
        another worker held meanwhile, and fenced; its tables are stale then, so the task
        starts afresh, restored from the changelogs.
        """
        consumer = self._consumer
        assert consumer is not None
        tps = sorted(assigned)
        partitions = {tp.partition for tp in tps}
        self.generation += 1
        self.rebalances += 1
        async with self._lock:
            for partition in sorted(set(self.tasks) - partitions):
                await self._drop(partition)
            for partition in sorted(set(self.tasks) & partitions):
                mine = {tp: self.next_offsets[tp] for tp in tps
                        if tp.partition == partition and tp in self.next_offsets}
                if not await self.tasks[partition].still_owns(mine):
                    log.warning("kept task was fenced meanwhile; starting it afresh",
                                partition=partition)
                    TASK_RESTARTS.labels("fenced_while_away").inc()
                    await self._drop(partition)
            fresh = sorted(partitions - set(self.tasks))
            await asyncio.gather(*(self._start_task(p) for p in fresh))
            TASKS.set(len(self.tasks))
            await self._seek(consumer, tps, set(fresh))
            # whatever a fetch returned while the partitions were being sought is stale
            self.generation += 1
            log.info("partitions assigned", partitions=sorted(partitions), new=fresh)
            self.ready.set()

    async def _seek(self, consumer: AIOKafkaConsumer, tps: list[TopicPartition],
                    fresh: set[int]) -> None:
        """Kept tasks go on from the offsets they committed themselves (an offset fetch right
        after a commit may still show an older one); new ones from the group's committed
        offsets, read after their producer fenced the previous owner."""
        for tp in tps:
            if tp.partition not in self.tasks:
                continue
            offset = self.next_offsets.get(tp) if tp.partition not in fresh else None
            if offset is None:
                offset = await consumer.committed(tp)
            if offset is None:
                offset = (await consumer.beginning_offsets([tp]))[tp]
            consumer.seek(tp, offset)
            self.next_offsets[tp] = offset
        consumer.resume(*tps)

    async def _revive(self, partition: int, rebalances: int) -> None:
        """A task fenced while its partition is still assigned here (the broker aborted its
        transaction after the transaction timeout, e.g. while the broker was away) starts
        afresh, unless a rebalance moves the partition first."""
        await asyncio.sleep(2 * self.settings.worker_session_timeout_seconds / 10)
        consumer = self._consumer
        if consumer is None:
            return
        async with self._lock:
            mine = [tp for tp in consumer.assignment() if tp.partition == partition]
            if rebalances != self.rebalances or not mine or partition in self.tasks:
                return
            log.info("restarting a fenced task whose partition is still assigned here",
                     partition=partition)
            TASK_RESTARTS.labels("fenced").inc()
            await self._start_task(partition)
            TASKS.set(len(self.tasks))
            await self._seek(consumer, sorted(mine), {partition})
            self.generation += 1

    async def _start_task(self, partition: int) -> None:
        transactional_id = f"{self.group}-task-{partition}"

        def make_producer() -> Any:
            return transactional_producer(self.settings, transactional_id)

        def make_reader() -> AIOKafkaConsumer:
            return reader(self.settings, f"straum-worker-lookups-{partition}",
                          fetch_max_wait_ms=10)

        task = PartitionTask(partition, self.topology, self.settings, self.group,
                             self.dead_letter_topic, make_producer(), self.topics.ensure,
                             self.unknown_recipients, self.clock, make_producer, make_reader)
        restorer = reader(self.settings, f"straum-worker-restore-{partition}",
                          max_partition_fetch_bytes=8 * 1024 * 1024,
                          fetch_max_bytes=32 * 1024 * 1024, fetch_max_wait_ms=50)
        await restorer.start()
        try:
            await task.start(lambda topic, p, table: restore(restorer, topic, p, table))
        finally:
            await restorer.stop()
        self.tasks[partition] = task


async def restore(restorer: AIOKafkaConsumer, topic: str, partition: int,
                  table: Table[Any]) -> int:
    """Read one changelog partition from its start to its last committed record.

    ``end_offsets`` of a read_committed consumer is the last stable offset; the consumer's
    position moves past transaction markers, so it reaches that offset exactly.
    """
    tp = TopicPartition(topic, partition)
    end = (await restorer.end_offsets([tp]))[tp]
    begin = table.restore_from((await restorer.beginning_offsets([tp]))[tp], end)
    if end <= begin:
        table.restored(end)
        return 0
    restorer.assign([tp])
    restorer.seek(tp, begin)
    count = 0
    while await restorer.position(tp) < end:
        batch = await restorer.getmany(tp, timeout_ms=200, max_records=RESTORE_BATCH)
        records = batch.get(tp, [])
        for record in records:
            if record.offset >= end:
                break
            table.restore(record.key, record.value)
            count += 1
        if records and count % 500_000 < len(records):
            log.info("restoring", topic=topic, partition=partition, records=count,
                     of_about=end - begin)
    table.restored(end)
    return count


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self.engine.revoked(revoked)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self.engine.assigned(assigned)


def _incoming(record: Any) -> Incoming:
    headers = tuple((k, bytes(v)) for k, v in record.headers) if record.headers else ()
    return Incoming(record.topic, record.partition, record.offset, record.key, record.value,
                    record.timestamp, headers)

