"""Actor queues over Kafka for the API: poll and acknowledge without a consumer per request.

Each queue is a single-partition topic; its position (acknowledged offset and open poll) is a
record in the compacted ``queue-positions`` topic, which every API process loads at start and
tails, so all of them agree and a restart loses nothing. Records are read through a small pool
of group-less consumers, each assigned to one queue partition for the length of one read.
The decisions themselves are in :mod:`domain.queue_positions`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaTimeoutError
from prometheus_client import Counter

from connectors.compacted import CompactedView
from domain.queue_positions import (
    AckResult,
    NewPoll,
    QueuePosition,
    RepeatPoll,
    acknowledge,
    decide_poll,
    depth,
    open_poll,
)
from schemas.settings import Settings
from streams.kafka import (
    READ_PATIENCE_STEPS,
    READ_STEP_MS,
    count_records,
    log_bounds,
    reader,
    seek_one,
)
from streams.logging import get_logger
from streams.reader_pool import ReaderPool
from streams.records import queue_message, queue_position
from streams.topics import Queue, TopicCatalogue

log = get_logger(__name__)

POLLS = Counter("straum_queue_polls_total", "Polls answered", ["actor", "queue", "result"])
ACKS = Counter("straum_queue_acks_total", "Acknowledgements", ["actor", "queue", "result"])
REDELIVERIES = Counter("straum_queue_redeliveries_total",
                       "Messages handed out again by a repeated poll", ["actor", "queue"])

POLL_CACHE_SIZE = 256
#: Bytes a queue read fetches at a time: about a full poll of metering values (500 × 4.4 KB).
#: A read takes at most one poll's records, and a larger fetch moved and parsed the rest of the
#: queue for nothing (a 500-message poll of a 2,500-message queue: 27 ms with 16 MiB, 17 ms
#: with 1–4 MiB). A record larger than this is still fetched whole.
POLL_FETCH_BYTES = 2 * 1024 * 1024
#: Pooled queue readers per API process. A poll holds one through its broker round trips
#: (offsets, fetch), so with 4 the 50th concurrent actor waited behind 12 polls each (bench.queues:
#: 2,400 → 10,000 messages/s through poll+ack, p99 4.7 s → 0.6 s, one API process).
READERS = 32


def _key(actor: str, queue: Queue) -> str:
    return f"{actor}|{queue.value}"


def _plain(value: Any) -> Any:
    """JSON-ready: times as RFC 3339 text, nested records and lists alike."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def message_json(record: dict[str, Any]) -> dict[str, Any]:
    """The contract's view of a QueueMessage stored as Avro (queue records written before
    queue topics held the message's JSON), points as the intake sends them."""
    _, payload = record["payload"]
    payload = dict(payload)
    points = None
    if "quantities" in payload:
        points = [{"quantity": q, "quality": k} for q, k in
                  zip(payload.pop("quantities"), payload.pop("qualities"), strict=True)]
    payload = _plain(payload)
    if points is not None:
        payload["points"] = points
    return {"messageId": record["messageId"], "documentType": record["documentType"],
            "createdAt": record["createdAt"].isoformat(), "replayed": record["replayed"],
            "payload": payload}


def stored_message(value: bytes) -> bytes:
    """A queue record's value as the JSON the poll answer lists: stored as it is, or an older
    Avro record turned into it."""
    if value[:2] == b"\xc3\x01":
        return orjson.dumps(message_json(queue_message.decode_avro(value)))
    return value


def poll_answer(poll_id: str, messages: list[bytes]) -> bytes:
    """The poll's JSON body, joined around the stored messages."""
    return b'{"pollId":"' + poll_id.encode() + b'","messages":[' + b",".join(messages) + b"]}"


#: Up to this many unacknowledged offsets, a queue's depth is counted record by record (the
#: offsets of a queue topic include one transaction marker per transaction that wrote to it);
#: beyond it, the offset span is reported, an upper bound.
EXACT_DEPTH_SPAN = 2000


#: A poll or an acknowledgement the cluster has not answered in this time is answered 503 with
#: Retry-After: during a broker outage the client's defaults would otherwise hold it for its
#: whole request timeout (40 s per request), longer than an actor's HTTP client waits.
ANSWER_WITHIN_S = 20.0


@asynccontextmanager
async def _answer_in_time(what: str) -> AsyncIterator[None]:
    try:
        async with asyncio.timeout(ANSWER_WITHIN_S):
            yield
    except TimeoutError as exc:
        raise KafkaTimeoutError(f"the cluster did not answer the {what} within "
                                f"{ANSWER_WITHIN_S:.0f} s") from exc


class QueueStore:
    """Poll, acknowledge and inspect actor queues kept in Kafka."""

    def __init__(self, settings: Settings, catalogue: TopicCatalogue,
                 producer: AIOKafkaProducer) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.producer = producer
        self.positions: dict[str, QueuePosition] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._polls: OrderedDict[str, list[bytes]] = OrderedDict()
        self._empty_until: dict[str, tuple[int, int]] = {}
        self._readers = ReaderPool(self._consumer(f"straum-api-queue-reader-{i}")
                                   for i in range(READERS))
        self._bounds_reader = self._consumer("straum-api-queue-bounds")
        self._known_topics: set[str] = set()
        self._topics_checked = 0.0
        self._positions: CompactedView[QueuePosition] | None = None

    def _consumer(self, client_id: str) -> AIOKafkaConsumer:
        return reader(self.settings, client_id, fetch_max_bytes=32 * 1024 * 1024,
                      # reads of a known range: answer at once, never wait 500 ms
                      fetch_max_wait_ms=10, max_partition_fetch_bytes=POLL_FETCH_BYTES)

    async def start(self) -> None:
        await self._bounds_reader.start()
        await self._readers.start()
        self._positions = CompactedView(self.settings, self.catalogue.queue_positions,
                                        queue_position.decode, skip=self._busy)
        await self._positions.start()
        self.positions = self._positions.values

    def _busy(self, key: str) -> bool:
        lock = self._locks.get(key)
        return lock is not None and lock.locked()

    async def stop(self) -> None:
        if self._positions:
            await self._positions.stop()
        await self._readers.stop()
        await self._bounds_reader.stop()

    async def _write_position(self, key: str, position: QueuePosition) -> None:
        """Durably record a queue's position before answering the actor."""
        value = queue_position.encode(position, datetime.now(UTC))
        sent = await self.producer.send(self.catalogue.queue_positions, value,
                                        key=key.encode(), partition=0)
        # shielded: a poll given up on still lets its write land (then the next poll hands the
        # same range out again, or an acknowledgement repeated finds it already taken)
        written = await asyncio.shield(sent)
        assert self._positions is not None
        self._positions.wrote(key, position, written.offset)

    async def _topic_exists(self, topic: str) -> bool:
        if topic in self._known_topics:
            return True
        if time.monotonic() - self._topics_checked > 0.5:
            self._known_topics = set(await self._bounds_reader.topics())
            self._topics_checked = time.monotonic()
        return topic in self._known_topics

    async def _offsets(self, tp: TopicPartition) -> tuple[int, int]:
        """The queue's log start and its end: by a reader that is never assigned, whose
        metadata keeps every queue topic (one round trip, not a metadata refresh per poll)."""
        return await log_bounds(self._bounds_reader, tp)

    async def _read(self, tp: TopicPartition, start: int, end: int,
                    max_records: int | None = None, whole: bool = False
                    ) -> tuple[list[Any], int]:
        """Committed records at offsets [start, end) of one queue partition, at most
        ``max_records`` of them, and the offset after them. Offsets are not contiguous
        (transaction markers take some): when the read reaches ``end``, the offset after is
        ``end``, so a poll that takes everything leaves no marker behind it.

        A read that gets nothing for a while (its partition's leader just died and the
        reader still asks it) raises KafkaTimeoutError, answered 503 with Retry-After: it
        must never pass for "only transaction markers here", which would skip the range's
        messages for good; with ``whole``, stopping anywhere short of the end raises too (a
        repeated poll hands out exactly what its first answer held)."""
        limit = end - start if max_records is None else max_records
        async with self._readers.take(tp) as consumer:
            seek_one(consumer, tp, start)
            out: list[Any] = []
            idle = 0
            while (len(out) < limit and idle < READ_PATIENCE_STEPS
                   and await consumer.position(tp) < end):
                batch = await consumer.getmany(tp, timeout_ms=READ_STEP_MS,
                                               max_records=limit - len(out))
                fetched = batch.get(tp, [])
                idle = 0 if fetched else idle + 1
                out.extend(r for r in fetched if r.offset < end)
            position = await consumer.position(tp)
            if position < end and len(out) < limit and (whole or not out):
                # the next reads ask the cluster afresh who leads (else each reader would go
                # on asking the dead node until its metadata's maximum age, minutes)
                self._readers.refresh_metadata()
                self._bounds_reader._client.force_metadata_update()
                raise KafkaTimeoutError(f"{tp.topic} could not be read from offset "
                                        f"{start} (its leader does not answer)")
            after = min(position, end)
            return out, after if out else max(after, start)

    async def _count(self, tp: TopicPartition, start: int, end: int) -> int | None:
        async with self._readers.take(tp) as consumer:
            return await count_records(consumer, tp, start, end, EXACT_DEPTH_SPAN)

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def poll(self, actor: str, queue: Queue, max_messages: int
                   ) -> tuple[str, list[bytes]] | None:
        """(pollId, the messages' stored JSON), or None when the queue has nothing to deliver.
        KafkaTimeoutError (answered 503 with Retry-After) when the cluster does not answer
        within ``ANSWER_WITHIN_S``."""
        async with _answer_in_time("poll"):
            return await self._poll(actor, queue, max_messages)

    async def _poll(self, actor: str, queue: Queue, max_messages: int
                    ) -> tuple[str, list[bytes]] | None:
        topic = self.catalogue.queue_topic(actor, queue)
        key = _key(actor, queue)
        if not await self._topic_exists(topic):
            POLLS.labels(actor, queue.value, "empty").inc()
            return None
        tp = TopicPartition(topic, 0)
        async with self._lock(key):
            position = self.positions.get(key, QueuePosition())
            log_start, log_end = await self._offsets(tp)
            acked_at, empty_until = self._empty_until.get(key, (-1, 0))
            if acked_at == position.acked_offset:
                log_start = max(log_start, empty_until)
            decision = decide_poll(position, log_start, log_end, max_messages)
            if isinstance(decision, RepeatPoll):
                messages = self._polls.get(decision.poll_id) or [
                    stored_message(r.value)
                    for r in (await self._read(tp, decision.start, decision.end,
                                               whole=True))[0]]
                self._remember(decision.poll_id, messages)
                POLLS.labels(actor, queue.value, "repeat").inc()
                REDELIVERIES.labels(actor, queue.value).inc(len(messages))
                return decision.poll_id, messages
            if isinstance(decision, NewPoll):
                records, after = await self._read(tp, decision.start, decision.end,
                                                  max_messages)
                if records:
                    messages = [stored_message(r.value) for r in records]
                    poll_id = str(uuid.uuid4())
                    await self._write_position(key, open_poll(
                        position, poll_id, decision.start, after))
                    self._remember(poll_id, messages)
                    POLLS.labels(actor, queue.value, "new").inc()
                    return poll_id, messages
                # only transaction markers after the acknowledged offset
                self._empty_until[key] = (position.acked_offset, log_end)
            POLLS.labels(actor, queue.value, "empty").inc()
            return None

    def _remember(self, poll_id: str, messages: list[bytes]) -> None:
        self._polls[poll_id] = messages
        self._polls.move_to_end(poll_id)
        while len(self._polls) > POLL_CACHE_SIZE:
            self._polls.popitem(last=False)

    async def ack(self, actor: str, queue: Queue, poll_id: str) -> AckResult:
        key = _key(actor, queue)
        async with _answer_in_time("acknowledgement"), self._lock(key):
            position = self.positions.get(key, QueuePosition())
            new_position, result = acknowledge(position, poll_id)
            if result == "acknowledged":
                await self._write_position(key, new_position)
                self._polls.pop(poll_id, None)
            ACKS.labels(actor, queue.value, result).inc()
            return result

    async def status(self, actor: str) -> list[dict[str, Any]]:
        """Depth and age of the oldest unacknowledged message of each of the actor's queues."""
        out = []
        for queue in Queue:
            topic = self.catalogue.queue_topic(actor, queue)
            position = self.positions.get(_key(actor, queue), QueuePosition())
            queue_depth, age = 0, None
            if await self._topic_exists(topic):
                tp = TopicPartition(topic, 0)
                log_start, log_end = await self._offsets(tp)
                queue_depth = depth(position, log_start, log_end)
                if queue_depth:
                    first = max(position.acked_offset, log_start)
                    records, _ = await self._read(tp, first, log_end, 1)
                    counted = await self._count(tp, first, log_end)
                    queue_depth = queue_depth if counted is None else counted
                    if records:
                        age = max(0.0, time.time() - records[0].timestamp / 1000)
            out.append({"queue": queue.value, "depth": queue_depth,
                        "oldestUnacknowledgedAgeSeconds": age,
                        "pendingPollId": position.poll_id})
        return out
