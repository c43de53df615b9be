"""Reading the broker for the monitor: offsets, record timestamps, heartbeats, queues, and the
replica state of every partition (leaders, in-sync replicas) from the cluster's metadata.

Everything here asks Kafka, never the processors, so a dead or frozen worker is seen as such.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    GroupCoordinatorNotAvailableError,
    GroupIdNotFound,
    KafkaConnectionError,
    NodeNotReadyError,
    RequestTimedOutError,
)

from connectors.compacted import CompactedView
from domain.queue_positions import QueuePosition, depth
from domain.replication import NO_LEADER, PartitionReplicas, ReplicationState, judge
from schemas.settings import Settings
from streams.kafka import resolve_bootstrap, security_kwargs
from streams.logging import get_logger
from streams.records import heartbeat, queue_position
from streams.topics import TopicCatalogue

log = get_logger(__name__)
T = TypeVar("T")
HEARTBEAT_HEADERS = [("straum-kind", b"heartbeat")]
#: A node that died is dropped from the admin client's view of the cluster within this long.
METADATA_MAX_AGE_MS = 5000
#: The admin client picks a node at random; one that just died fails the request.
NODE_GONE = (KafkaConnectionError, NodeNotReadyError, RequestTimedOutError)


@dataclass(frozen=True)
class Offsets:
    committed: dict[TopicPartition, int | None]
    log_end: dict[TopicPartition, int]


def replication_of(cluster: dict[str, Any], topics: list[dict[str, Any]]) -> ReplicationState:
    """The replica state in a metadata answer (``describe_cluster``, ``describe_topics``)."""
    partitions = []
    for topic in topics:
        if topic["error_code"] not in (0, 5):  # 5: a leader is not available
            continue
        for p in topic["partitions"]:
            leader = p["leader"] if p["error_code"] != 5 else NO_LEADER
            partitions.append(PartitionReplicas(
                topic["topic"], p["partition"], leader if leader >= 0 else NO_LEADER,
                tuple(p["replicas"]), tuple(p["isr"])))
    return judge(len(cluster["brokers"]), partitions)


async def read_replication(settings: Settings) -> ReplicationState:
    """One look at the cluster's replicas with a fresh admin client (its metadata names only
    the brokers alive now): for drills, tests and the chaos harness."""
    admin = AIOKafkaAdminClient(bootstrap_servers=resolve_bootstrap(settings),
                                client_id="straum-replication", **security_kwargs(settings))
    await admin.start()
    try:
        return replication_of(await admin.describe_cluster(), await admin.describe_topics())
    finally:
        await admin.close()


class BrokerObserver:
    """The monitor's Kafka clients and what it asks them."""

    def __init__(self, settings: Settings, catalogue: TopicCatalogue) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.admin = AIOKafkaAdminClient(
            bootstrap_servers=resolve_bootstrap(settings), client_id="straum-monitor",
            metadata_max_age_ms=METADATA_MAX_AGE_MS, **security_kwargs(settings))
        self.consumer = self._consumer("straum-monitor-offsets")
        self.reader = self._consumer("straum-monitor-reader")
        self.producer = AIOKafkaProducer(
            bootstrap_servers=resolve_bootstrap(settings), client_id="straum-monitor",
            acks="all", enable_idempotence=True, **security_kwargs(settings))
        self.positions = CompactedView(settings, catalogue.queue_positions,
                                       queue_position.decode)
        self.heartbeat_sent: dict[tuple[str, int], float] = {}
        self.heartbeat_back: dict[tuple[str, int], float] = {}
        self._beats_task: asyncio.Task[None] | None = None

    def _consumer(self, client_id: str) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(isolation_level="read_committed",
                                bootstrap_servers=resolve_bootstrap(self.settings),
                                client_id=client_id, group_id=None, enable_auto_commit=False,
                                **security_kwargs(self.settings))

    async def start(self) -> None:
        await self.admin.start()
        await self.consumer.start()
        await self.reader.start()
        await self.producer.start()
        await self.positions.start()
        self._beats_task = asyncio.create_task(self._follow_heartbeats())

    async def stop(self) -> None:
        if self._beats_task:
            self._beats_task.cancel()
        await self.positions.stop()
        for client in (self.producer, self.reader, self.consumer):
            await client.stop()
        await self.admin.close()

    async def send_heartbeats(self) -> None:
        """One heartbeat into every partition of every input topic."""
        futures = []
        now = datetime.now(UTC)
        for topic in self.catalogue.input_topics:
            partitions = await self.producer.partitions_for(topic)
            for partition in sorted(partitions):
                value = heartbeat.encode({"sourceTopic": topic, "partition": partition,
                                          "sentAt": now, "processedAt": None,
                                          "queuedAt": None})
                futures.append(await self.producer.send(
                    topic, value, key=b"straum-heartbeat", partition=partition,
                    headers=HEARTBEAT_HEADERS))
                self.heartbeat_sent.setdefault((topic, partition), time.time())
        await asyncio.gather(*futures)

    async def _follow_heartbeats(self) -> None:
        """Track the newest heartbeat that came through, per input partition."""
        consumer = self._consumer("straum-monitor-heartbeats")
        await consumer.start()
        try:
            tp = TopicPartition(self.catalogue.heartbeats, 0)
            consumer.assign([tp])
            since = int((time.time() - 300) * 1000)
            found = await consumer.offsets_for_times({tp: since})
            if found.get(tp) is not None:
                consumer.seek(tp, found[tp].offset)
            else:
                await consumer.seek_to_end(tp)
            while True:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                for record in batch.get(tp, []):
                    beat = heartbeat.decode(record.value)
                    key = (beat["sourceTopic"], beat["partition"])
                    sent = beat["sentAt"].timestamp()
                    self.heartbeat_back[key] = max(self.heartbeat_back.get(key, 0.0), sent)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # restart following after a broker hiccup
            log.warning("following heartbeats failed", error=str(exc))
            await asyncio.sleep(1)
            self._beats_task = asyncio.create_task(self._follow_heartbeats())
        finally:
            await consumer.stop()

    async def offsets(self, group: str, topics: Iterable[str]) -> Offsets:
        """Committed offsets of ``group`` and log-end offsets of every partition of ``topics``."""
        tps = []
        for topic in topics:
            for partition in sorted(await self.producer.partitions_for(topic)):
                tps.append(TopicPartition(topic, partition))
        try:
            committed_raw = await self._admin_call(
                lambda: self.admin.list_consumer_group_offsets(group))
        except (GroupCoordinatorNotAvailableError, GroupIdNotFound):
            committed_raw = {}  # the processors have not joined yet: nothing committed
        committed = {tp: (committed_raw[tp].offset if tp in committed_raw
                          and committed_raw[tp].offset >= 0 else None) for tp in tps}
        log_end = await self.consumer.end_offsets(tps) if tps else {}
        return Offsets(committed, dict(log_end))

    async def _admin_call(self, call: Callable[[], Awaitable[T]], attempts: int = 3) -> T:
        """``call``, again on fresh metadata when the node it went to is gone: a broker lost
        is not the cluster lost."""
        for attempt in range(attempts):
            try:
                return await call()
            except NODE_GONE:
                if attempt == attempts - 1:
                    raise
                await self.admin._client.force_metadata_update()  # no public way to refresh
        raise AssertionError("unreachable")

    async def replication(self) -> ReplicationState:
        """Leader, replicas and in-sync replicas of every partition of every topic in the
        cluster (straum's and Kafka's internal ones), and how many brokers are alive."""
        cluster = await self._admin_call(self.admin.describe_cluster)
        topics = await self._admin_call(self.admin.describe_topics)
        return replication_of(cluster, topics)

    async def timestamp_at(self, tp: TopicPartition, offset: int) -> float | None:
        """The timestamp (epoch s) of the record at ``offset``, or None if there is none."""
        self.reader.assign([tp])
        self.reader.seek(tp, offset)
        batch = await self.reader.getmany(tp, timeout_ms=500, max_records=1)
        records = batch.get(tp, [])
        return records[0].timestamp / 1000 if records else None

    async def last_timestamp(self, tp: TopicPartition) -> float | None:
        end = (await self.consumer.end_offsets([tp]))[tp]
        begin = (await self.consumer.beginning_offsets([tp]))[tp]
        return await self.timestamp_at(tp, end - 1) if end > begin else None

    async def queue_depths(self, limit_ages: int = 200
                           ) -> list[tuple[str, str, int, float | None]]:
        """(actor, queue, depth, oldest unread age s) of every actor queue."""
        topics = await self.consumer.topics()
        queues = [(t, parsed) for t in sorted(topics)
                  if (parsed := self.catalogue.parse_queue_topic(t)) is not None]
        if not queues:
            return []
        tps = [TopicPartition(t, 0) for t, _ in queues]
        ends = await self.consumer.end_offsets(tps)
        begins = await self.consumer.beginning_offsets(tps)
        out: list[tuple[str, str, int, float | None]] = []
        now = time.time()
        for (_, (actor, queue)), tp in zip(queues, tps, strict=True):
            position = self.positions.values.get(f"{actor}|{queue.value}", QueuePosition())
            queue_depth = depth(position, begins[tp], ends[tp])
            age = None
            if queue_depth and limit_ages > 0:
                limit_ages -= 1
                ts = await self.timestamp_at(tp, max(position.acked_offset, begins[tp]))
                age = None if ts is None else max(0.0, now - ts)
            out.append((actor, queue.value, queue_depth, age))
        return out
