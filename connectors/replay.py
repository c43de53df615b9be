"""Running replays against Kafka: find the stored intake by time, plan, send at a bounded rate,
checkpoint, resume; and re-deliver an actor's queue from a time by moving its position back.

Replayed notifications are appended to the actors' queue topics like live ones (the same JSON,
marked ``replayed``); live traffic keeps flowing beside them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from connectors.actors import ActorRegistry
from connectors.compacted import CompactedView
from connectors.state_reader import read_points, read_series_histories
from domain.messages import Outbound
from domain.metering_point import MeteringPoint
from domain.queue_positions import QueuePosition
from domain.replay import ReplayPlan, ReplayScope, first_delivery_version, replay_messages
from domain.versions import SeriesVersion
from schemas.settings import Settings
from streams.kafka import (
    RenewingProducer,
    admin_client,
    count_records,
    durable_producer,
    ensure_topics,
    partitions_of,
    resolve_bootstrap,
    security_kwargs,
)
from streams.records import queue_message, queue_position, replay_job
from streams.records import series as intake_series
from streams.records.replay_job import Job
from streams.topics import Queue, TopicCatalogue

HEARTBEAT_HEADER = ("straum-kind", b"heartbeat")


class ReplayError(ValueError):
    """A replay that cannot run as asked, with a sentence saying exactly why."""


class RateLimiter:
    """At most ``rate`` series per second on average (0: unbounded)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.started = time.monotonic()
        self.count = 0

    async def take(self, n: int) -> None:
        self.count += n
        if self.rate > 0:
            ahead = self.count / self.rate - (time.monotonic() - self.started)
            if ahead > 0:
                await asyncio.sleep(ahead)


@dataclass
class State:
    points: dict[str, MeteringPoint]
    histories: dict[str, list[SeriesVersion]]


#: Re-deliveries up to this many offsets count their messages exactly; beyond, the offset span
#: (which includes transaction markers) is reported.
REDELIVERY_COUNT_LIMIT = 200_000


class Replayer:
    """Plans and runs replays; one instance per CLI run or API process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.catalogue = TopicCatalogue.from_settings(settings)
        self.jobs = CompactedView(settings, self.catalogue.replays, replay_job.decode)
        self.producer: RenewingProducer | None = None
        self._queues: set[str] = set()

    async def start(self) -> None:
        await self.jobs.start()
        self.producer = RenewingProducer(
            lambda: durable_producer(self.settings, "straum-replay"))
        await self.producer.start()

    async def stop(self) -> None:
        await self.jobs.stop()
        if self.producer:
            await self.producer.stop()

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(isolation_level="read_committed",
                                bootstrap_servers=resolve_bootstrap(self.settings),
                                group_id=None, enable_auto_commit=False,
                                client_id="straum-replay", max_partition_fetch_bytes=8 << 20,
                                **security_kwargs(self.settings))

    async def save(self, job: Job) -> None:
        assert self.producer is not None
        await self.producer.send_and_wait(self.catalogue.replays,
                                          replay_job.encode(job),
                                          key=job.id.encode(), partition=0)
        self.jobs.values[job.id] = job

    def conflicting(self, scope: ReplayScope) -> Job | None:
        """An unfinished replay whose scope overlaps (a second one would send twice)."""
        return next((j for j in self.jobs.values.values() if j.kind == "metering-values"
                     and j.status in ("running", "stopped") and j.scope.overlaps(scope)), None)

    async def check(self, scope: ReplayScope) -> None:
        """Refuse scopes that name unknown points or actors, or overlap another replay."""
        if problems := scope.problems():
            raise ReplayError("; ".join(problems))
        if (other := self.conflicting(scope)) is not None:
            raise ReplayError(f"replay {other.id} ({other.status}) covers an overlapping scope: "
                              f"resume or finish it first (straum replay resume {other.id})")
        if scope.recipients:
            actors = ActorRegistry(self.settings, self.catalogue)
            await actors.start()
            try:
                unknown = [r for r in sorted(scope.recipients) if not await actors.knows(r)]
            finally:
                await actors.stop()
            if unknown:
                raise ReplayError(f"unknown actors: {', '.join(unknown)}")

    async def load_state(self, scope: ReplayScope) -> State:
        points = await read_points(self.settings)
        if scope.points and (missing := sorted(scope.points - points.keys())):
            raise ReplayError(f"unknown metering points: {', '.join(missing)}")
        return State(points, await read_series_histories(self.settings))

    async def locate(self, scope: ReplayScope) -> dict[int, tuple[int, int]]:
        """Per intake partition: the first offset at the window's start, and today's end.

        Refuses a window that begins before the oldest intake still stored (retention)."""
        topic = self.catalogue.metering_values
        admin = admin_client(self.settings, "straum-replay")
        await admin.start()
        try:
            tps = [TopicPartition(topic, p) for p in await partitions_of(admin, topic)]
        finally:
            await admin.close()
        consumer = self._consumer()
        await consumer.start()
        try:
            begins = await consumer.beginning_offsets(tps)
            ends = await consumer.end_offsets(tps)
            found = await consumer.offsets_for_times(
                {tp: int(scope.start.timestamp() * 1000) for tp in tps})
            oldest: datetime | None = None
            for tp in tps:
                if begins[tp] > 0 and begins[tp] < ends[tp]:
                    consumer.assign([tp])
                    consumer.seek(tp, begins[tp])
                    batch = await consumer.getmany(tp, timeout_ms=2000, max_records=1)
                    for record in batch.get(tp, []):
                        at = datetime.fromtimestamp(record.timestamp / 1000, UTC)
                        oldest = at if oldest is None else min(oldest, at)
            if oldest is not None and oldest > scope.start:
                raise ReplayError(
                    f"intake from {scope.start.isoformat()} to {oldest.isoformat()} is no "
                    "longer stored (retention): it cannot be replayed; replay from "
                    f"{oldest.isoformat()} instead")
            return {tp.partition: (found[tp].offset if found.get(tp) else ends[tp], ends[tp])
                    for tp in tps}
        finally:
            await consumer.stop()

    async def stored_series(self, positions: dict[int, tuple[int, int]]
                            ) -> AsyncIterator[tuple[int, int, intake_series.Series]]:
        """(partition, offset, series) of the stored intake from each position to its end."""
        work = [(p, start, end) for p, (start, end) in sorted(positions.items()) if start < end]
        if not work:
            # Nothing to read: no consumer. (aiokafka's stop() right after start(), with no
            # await between, raises CancelledError: an empty replay answered 500.)
            return
        consumer = self._consumer()
        await consumer.start()
        decode = intake_series.decode
        try:
            for partition, start, end in work:
                tp = TopicPartition(self.catalogue.metering_values, partition)
                consumer.assign([tp])
                consumer.seek(tp, start)
                while await consumer.position(tp) < end:
                    batch = await consumer.getmany(tp, timeout_ms=2000, max_records=500)
                    for record in batch.get(tp, []):
                        if record.offset >= end:
                            break
                        if HEARTBEAT_HEADER in (record.headers or ()):
                            continue
                        try:
                            series = decode(record.value)
                        except ValueError:
                            continue  # a dead letter the first time; not replayed
                        yield partition, record.offset, series
        finally:
            await consumer.stop()

    def messages_for(self, state: State, scope: ReplayScope, series: Mapping[str, Any],
                     now: datetime) -> list[Outbound] | None:
        """What one stored series is sent again as; None when it is outside the scope or was
        never forwarded (rejected, or a duplicate)."""
        point = state.points.get(series["meteringPointId"])
        if not scope.covers(series, point):
            return None
        version = first_delivery_version(state.histories.get(series["meteringPointId"], []),
                                         series["transactionId"])
        if version is None:
            return None
        return replay_messages(point, series, version, scope, now)

    async def plan(self, scope: ReplayScope) -> tuple[ReplayPlan, dict[int, tuple[int, int]],
                                                      State]:
        """The dry run: how many series and messages, for whom. Sends nothing."""
        await self.check(scope)
        state = await self.load_state(scope)
        positions = await self.locate(scope)
        plan = ReplayPlan()
        now = datetime.now(UTC)
        async for _, _, series in self.stored_series(positions):
            messages = self.messages_for(state, scope, series, now)
            if messages is not None:
                plan.add(messages)
        return plan, positions, state

    async def run(self, job: Job, state: State,
                  progress: Callable[[Job], None] | None = None,
                  should_stop: Callable[[], bool] = lambda: False, batch: int = 200) -> Job:
        """Send what the job covers from its checkpoint on; checkpoint after every batch."""
        assert self.producer is not None
        limiter = RateLimiter(job.rate)
        pending: list[Any] = []
        last: dict[int, int] = {}
        series_in_batch = 0

        async def flush() -> None:
            nonlocal series_in_batch
            await asyncio.gather(*pending)
            pending.clear()
            for partition, offset in last.items():
                job.positions[partition] = (offset + 1, job.positions[partition][1])
            job.sent_series += series_in_batch
            series_in_batch = 0
            await self.save(job)
            if progress:
                progress(job)

        try:
            async for partition, offset, series in self.stored_series(dict(job.positions)):
                messages = self.messages_for(state, job.scope, series, datetime.now(UTC))
                last[partition] = offset
                if messages:
                    await limiter.take(1)
                    series_in_batch += 1
                    job.sent_messages += len(messages)
                    await self.ensure_queues(messages)
                    for m in messages:
                        pending.append(await self.producer.send(
                            self.catalogue.queue_topic(m.recipient, Queue(m.queue)),
                            queue_message.render(m), key=f"{m.recipient}|{m.queue}".encode(),
                            partition=0, headers=list(queue_message.HEADERS)))
                if series_in_batch >= batch or len(pending) >= batch * 4:
                    await flush()
                if should_stop():
                    await flush()
                    job.status = "stopped"
                    await self.save(job)
                    return job
            await flush()
            job.status = "done"
            await self.save(job)
            return job
        except BaseException:
            job.status = "stopped"
            await asyncio.shield(self.save(job))
            raise

    async def ensure_queues(self, messages: list[Outbound]) -> None:
        """Create the recipients' queue topics a replay is the first to write to."""
        wanted = {self.catalogue.queue_topic(m.recipient, Queue(m.queue)):
                  self.catalogue.queue_spec(m.recipient, Queue(m.queue)) for m in messages}
        missing = [spec for name, spec in wanted.items() if name not in self._queues]
        if not missing:
            return
        admin = admin_client(self.settings, "straum-replay-queues")
        await admin.start()
        try:
            await ensure_topics(admin, missing)
            self._queues.update(await admin.list_topics())
        finally:
            await admin.close()

    def new_job(self, scope: ReplayScope, operator: str, rate: float,
                positions: dict[int, tuple[int, int]], plan: ReplayPlan) -> Job:
        return Job(str(uuid.uuid4()), "metering-values", operator, scope, "running", rate,
                   positions, plan.series, plan.messages)

    async def redeliver(self, actor: str, queue: Queue, since: datetime, operator: str) -> Job:
        """Move an actor's acknowledged position back to ``since``: nothing is copied."""
        topic = self.catalogue.queue_topic(actor, queue)
        tp = TopicPartition(topic, 0)
        consumer = self._consumer()
        await consumer.start()
        try:
            if topic not in await consumer.topics():
                raise ReplayError(f"actor {actor} has no {queue.value} queue")
            found = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000)})
            end = (await consumer.end_offsets([tp]))[tp]
            begin = (await consumer.beginning_offsets([tp]))[tp]
            offset = found[tp].offset if found.get(tp) else end
            counted = await count_records(consumer, tp, offset, end, REDELIVERY_COUNT_LIMIT)
        finally:
            await consumer.stop()
        messages = end - offset if counted is None else counted
        note = ""
        if offset == begin and begin > 0:
            note = "messages before the queue's retention are gone; re-delivering what is kept"
        assert self.producer is not None
        position = QueuePosition(acked_offset=offset)
        await self.producer.send_and_wait(
            self.catalogue.queue_positions, queue_position.encode(position, datetime.now(UTC)),
            key=f"{actor}|{queue.value}".encode(), partition=0)
        scope = ReplayScope(since, datetime.now(UTC), "intake-time", recipients=frozenset({actor}))
        job = Job(str(uuid.uuid4()), "queue", operator, scope, "done",
                  positions={0: (offset, end)}, planned_messages=messages,
                  sent_messages=messages, note=note or f"{queue.value} from offset {offset}")
        await self.save(job)
        return job
