"""Kafka clients configured one way for every process: where the broker is, safe producers,
security settings passed through, and idempotent topic creation."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    InvalidProducerEpoch,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    TopicAlreadyExistsError,
    UnknownProducerId,
)
from aiokafka.structs import RecordMetadata

from schemas.settings import Settings
from streams.logging import get_logger
from streams.topics import TopicSpec

log = get_logger(__name__)


def resolve_bootstrap(settings: Settings) -> str:
    """The configured cluster, else the embedded cluster or broker recorded in the data
    directory."""
    if settings.kafka_bootstrap:
        return settings.kafka_bootstrap
    try:
        nodes = json.loads((settings.data_dir / "broker" / "cluster.json").read_text())["nodes"]
        return ",".join(f"127.0.0.1:{n['port']}" for n in nodes)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    info = settings.data_dir / "broker" / "broker.json"
    try:
        return f"127.0.0.1:{json.loads(info.read_text())['port']}"
    except (OSError, ValueError, KeyError):
        return f"127.0.0.1:{settings.kafka_port}"


def security_kwargs(settings: Settings) -> dict[str, Any]:
    """TLS/SASL options for aiokafka clients, straight from the settings."""
    kwargs: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_sasl_mechanism:
        kwargs["sasl_mechanism"] = settings.kafka_sasl_mechanism
        kwargs["sasl_plain_username"] = settings.kafka_sasl_username
        kwargs["sasl_plain_password"] = settings.kafka_sasl_password
    if "SSL" in settings.kafka_security_protocol:
        from aiokafka.helpers import create_ssl_context

        kwargs["ssl_context"] = create_ssl_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        )
    return kwargs


def durable_producer(settings: Settings, client_id: str, **extra: Any) -> AIOKafkaProducer:
    """A producer that loses nothing: acks from all in-sync replicas, idempotent retries."""
    options: dict[str, Any] = {
        "bootstrap_servers": resolve_bootstrap(settings),
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "max_request_size": 8 * 1024 * 1024,
        "compression_type": None,
        **security_kwargs(settings),
    }
    options.update(extra)
    return AIOKafkaProducer(**options)


PRODUCER_BROKEN = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch,
                   ProducerFenced)
"""Errors after which an aiokafka producer never sends again: its sender task has ended and
every later send raises the same error (a broker restarted mid-batch can answer a retried
batch with OutOfOrderSequenceNumber, for example)."""


class RenewingProducer:
    """A long-lived durable producer (the API's) that replaces its client when the client is
    broken for good, instead of failing every later request until the process restarts.

    The request whose write met the error still fails (the API answers 503, the caller sends
    again); the next write goes through a fresh client with a new producer id. Idempotence
    holds per client, and every write straum makes through it is keyed and safe to repeat
    (queue positions, the intake ledger, intake records de-duplicated by the forwarder)."""

    def __init__(self, make: Callable[[], AIOKafkaProducer]) -> None:
        self._make = make
        self._client = make()
        self._renewing: asyncio.Task[None] | None = None
        self.renewals = 0

    async def start(self) -> None:
        await self._client.start()

    async def stop(self) -> None:
        if self._renewing is not None:
            with contextlib.suppress(Exception):
                await self._renewing
        await self._client.stop()

    def partitions_for(self, topic: str) -> set[int]:
        partitions: set[int] = self._client.partitions_for(topic)
        return partitions

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                   partition: int | None = None, timestamp_ms: int | None = None,
                   headers: list[tuple[str, bytes]] | None = None,
                   ) -> asyncio.Future[RecordMetadata]:
        client = self._client
        try:
            future: asyncio.Future[RecordMetadata] = await client.send(
                topic, value=value, key=key, partition=partition, timestamp_ms=timestamp_ms,
                headers=headers)
        except PRODUCER_BROKEN:
            self._renew(client)
            raise
        future.add_done_callback(lambda done: self._check(client, done))
        return future

    async def send_and_wait(self, topic: str, value: bytes | None = None,
                            key: bytes | None = None, partition: int | None = None,
                            timestamp_ms: int | None = None,
                            headers: list[tuple[str, bytes]] | None = None) -> RecordMetadata:
        return await (await self.send(topic, value, key, partition, timestamp_ms, headers))

    def _check(self, client: AIOKafkaProducer, done: asyncio.Future[RecordMetadata]) -> None:
        if not done.cancelled() and isinstance(done.exception(), PRODUCER_BROKEN):
            self._renew(client)

    def _renew(self, broken: AIOKafkaProducer) -> None:
        """Replace ``broken`` once, however many writes report it."""
        if broken is not self._client or (self._renewing is not None
                                          and not self._renewing.done()):
            return
        self._renewing = asyncio.get_running_loop().create_task(self._replace(broken))

    async def _replace(self, broken: AIOKafkaProducer) -> None:
        fresh = self._make()
        try:
            await fresh.start()
        except Exception:  # the broker is still away: the next failed write tries again
            with contextlib.suppress(Exception):
                await fresh.stop()
            return
        self._client = fresh
        self.renewals += 1
        log.warning("producer renewed after a write it could not recover from",
                    renewals=self.renewals)
        with contextlib.suppress(Exception):
            await broken.stop()


Producer = AIOKafkaProducer | RenewingProducer
"""What a durable write needs: ``send``, ``send_and_wait``, ``partitions_for``."""


def transactional_producer(settings: Settings, transactional_id: str,
                           **extra: Any) -> AIOKafkaProducer:
    """A producer whose writes become visible all at once or never (Kafka transactions).

    Starting it fences any earlier producer with the same ``transactional_id`` and aborts that
    one's open transaction: a restarted or replacing worker never sees half of a dead one's
    batch. The timeout bounds how long a crashed worker's open transaction can hold back
    ``read_committed`` readers when nobody takes its id over.
    """
    options: dict[str, Any] = {
        "bootstrap_servers": resolve_bootstrap(settings),
        "client_id": transactional_id,
        "transactional_id": transactional_id,
        "transaction_timeout_ms": int(settings.transaction_timeout_seconds * 1000),
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 2,
        "max_batch_size": 1024 * 1024,
        "max_request_size": settings.max_record_bytes + 64 * 1024,
        **security_kwargs(settings),
    }
    options.update(extra)
    return AIOKafkaProducer(**options)


def track_topics(producer: AIOKafkaProducer, topics: Iterable[str]) -> None:
    """Keep ``topics`` in the producer's metadata for good.

    aiokafka's client starts with metadata of every topic, but once it is asked about a topic
    it did not know (an actor's new queue), it refreshes only the topics it was asked about,
    and the others drop out of its metadata: a batch for them then waits for a leader it
    never learns until the request timeout (40 s) fails the transaction. On a cluster that
    happens whenever a transaction's first write to a new queue waits for the partition to be
    added to the transaction. Naming every topic the producer writes keeps them all.
    """
    client = producer.client
    for topic in topics:
        client.add_topic(topic)  # a no-op once tracked; else refreshes in the background


def reader(settings: Settings, client_id: str, **extra: Any) -> AIOKafkaConsumer:
    """A consumer that sees only committed data (``read_committed``) and commits nothing
    itself; pass ``group_id`` for group membership. Everything straum's processors write is
    transactional, so every reader of it must be this kind."""
    options: dict[str, Any] = {
        "bootstrap_servers": resolve_bootstrap(settings),
        "client_id": client_id,
        "group_id": None,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        **security_kwargs(settings),
    }
    options.update(extra)
    return AIOKafkaConsumer(**options)


def admin_client(settings: Settings, client_id: str = "straum-admin") -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=resolve_bootstrap(settings), client_id=client_id,
        **security_kwargs(settings),
    )


async def ensure_topics(admin: AIOKafkaAdminClient, specs: Iterable[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet; return the names created. Idempotent."""
    existing = set(await admin.list_topics())
    missing = [s for s in specs if s.name not in existing]
    if not missing:
        return []
    new = [NewTopic(s.name, s.partitions, s.replication, topic_configs=s.config())
           for s in missing]
    try:
        response = await admin.create_topics(new)
    except TopicAlreadyExistsError:
        return []
    created = []
    for name, code, *_ in getattr(response, "topic_errors", []) or []:
        if code in (0, 36):  # 36: created concurrently by another process
            created.append(name)
        else:
            raise RuntimeError(f"creating topic {name} failed with Kafka error code {code}")
    return created


async def wait_for_broker(settings: Settings, deadline_s: float = 60.0) -> None:
    """Return once the cluster answers a metadata request; TimeoutError otherwise."""
    deadline = asyncio.get_running_loop().time() + deadline_s
    last: Exception | None = None
    while asyncio.get_running_loop().time() < deadline:
        admin = admin_client(settings, "straum-probe")
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception as exc:  # any connection failure: try again until the deadline
            last = exc
            await asyncio.sleep(0.5)
        finally:
            await admin.close()
    raise TimeoutError(f"Kafka at {resolve_bootstrap(settings)} did not answer: {last}")


#: A read of a known offset range waits for records in steps this long, and gives up after this
#: many steps that brought nothing (5 s): short steps, because a range that ends in transaction
#: markers yields no record at all, and a read that waited 500 ms for one made every poll of a
#: drained queue take half a second.
READ_STEP_MS = 20
READ_PATIENCE_STEPS = 250


def seek_one(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
    """Point ``consumer`` at ``offset`` of ``tp`` and nothing else. A reader that already holds
    exactly ``tp`` keeps its assignment (a new one would refresh metadata first); the seek
    drops whatever it had fetched ahead."""
    if consumer.assignment() != {tp}:
        consumer.assign([tp])
    consumer.resume(tp)
    consumer.seek(tp, offset)


async def log_bounds(consumer: AIOKafkaConsumer, tp: TopicPartition) -> tuple[int, int]:
    """The first offset of ``tp`` and its end (the last stable offset, for a read_committed
    consumer), asked together.

    ``consumer`` must be one that is never assigned: its metadata then keeps every topic it
    was asked about, and a bound costs one round trip. An assigned consumer tracks only its
    assignment's topics, so asking it about another topic fails with StaleMetadata inside
    aiokafka, which retries after ``retry_backoff_ms`` (100 ms per poll, measured)."""
    await consumer._client.add_topic(tp.topic)  # tracked from now on; no public way
    start, end = await asyncio.gather(consumer.beginning_offsets([tp]),
                                      consumer.end_offsets([tp]))
    return start[tp], end[tp]


async def count_records(consumer: AIOKafkaConsumer, tp: TopicPartition, start: int, end: int,
                        limit: int) -> int | None:
    """How many committed records lie in offsets [start, end) of ``tp``, read one by one (a
    transactional topic's offsets include markers); None when the span exceeds ``limit``."""
    if end - start > limit:
        return None
    if end <= start:
        return 0
    seek_one(consumer, tp, start)
    count = 0
    idle = 0
    while idle < READ_PATIENCE_STEPS and await consumer.position(tp) < end:
        batch = await consumer.getmany(tp, timeout_ms=READ_STEP_MS, max_records=10_000)
        records = batch.get(tp, [])
        idle = 0 if records else idle + 1
        count += sum(1 for r in records if r.offset < end)
    return count


async def partitions_of(admin: AIOKafkaAdminClient, topic: str) -> list[int]:
    """The partition numbers of ``topic`` (empty when it does not exist)."""
    described = await admin.describe_topics([topic])
    return sorted(p["partition"] for t in described if t["error_code"] == 0
                  for p in t["partitions"])
