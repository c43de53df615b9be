"""One partition's task: restore its tables, then process batches in Kafka transactions.

A batch's outputs, its tables' changelog records and its input offsets are committed in one
transaction by a producer whose transactional id belongs to the partition, so:

* a worker killed mid-batch leaves an open transaction that the next owner's producer fences
  and aborts: nothing of the batch is visible, and the batch is processed again, once;
* a record marked as forwarded in a table has its outputs committed with the mark, or neither;
* a failing batch is aborted and retried; a record that fails on its own (too large, cannot be
  written) is found by splitting the batch and goes to the dead-letter topic, so it cannot
  stall its partition.
"""

from __future__ import annotations

import asyncio
import os
import time
import traceback
from collections import Counter as Tally
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    CorruptRecordException,
    InvalidProducerEpoch,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    ProducerFenced,
    RecordTooLargeError,
)
from prometheus_client import Counter, Histogram

from schemas.settings import Settings
from streams.engine.model import Context, Incoming, Output, Topology
from streams.engine.state import Table, TableSpec
from streams.engine.store import DiskTable
from streams.kafka import track_topics
from streams.logging import get_logger
from streams.records import dead_letter

log = get_logger(__name__)

TRANSACTIONS = Counter("straum_engine_transactions_total", "Transactions ended by tasks",
                       ["result"])
RECORDS = Counter("straum_engine_records_total", "Input records processed (committed)",
                  ["topic"])
OUTPUTS = Counter("straum_records_produced_total", "Records produced by processors",
                  ["processor"])
DEAD_LETTERS = Counter("straum_dead_letters_total", "Records sent to the dead-letter topic",
                       ["processor"])
BATCH_SECONDS = Histogram("straum_engine_batch_seconds",
                          "From a batch's first record handled to its transaction committed",
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
RESTORE_SECONDS = Histogram("straum_engine_restore_seconds",
                            "Time to restore one task's tables on assignment",
                            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300))

#: Errors that belong to one record rather than to the broker or the network: a batch failing
#: with one of these is split until the record is found, instead of retried as it is.
RECORD_ERRORS = (MessageSizeTooLargeError, RecordTooLargeError, CorruptRecordException)
#: Errors after which this producer may not write for the partition any more.
FENCED = (ProducerFenced, InvalidProducerEpoch)

Clock = Callable[[], datetime]
#: Returns the recipients among ``glns`` the hub does not know (after catching up).
UnknownRecipients = Callable[[set[str]], Awaitable[set[str]]]
#: Creates the topics named by outputs' ``create`` that do not exist yet.
EnsureTopics = Callable[[Sequence[Output]], Awaitable[None]]


class TaskFenced(RuntimeError):
    """Another producer owns this partition now: the task must stop."""


class PartitionTask:
    """Partition ``partition`` of every input topic and table, owned by this worker."""

    def __init__(self, partition: int, topology: Topology, settings: Settings, group: str,
                 dead_letter_topic: str, producer: AIOKafkaProducer,
                 ensure_topics: EnsureTopics, unknown_recipients: UnknownRecipients,
                 clock: Clock, make_producer: Callable[[], AIOKafkaProducer],
                 make_reader: Callable[[], AIOKafkaConsumer]) -> None:
        self.partition = partition
        self.topology = topology
        self.settings = settings
        self.group = group
        self.dead_letter_topic = dead_letter_topic
        self.producer = producer
        self.ensure_topics = ensure_topics
        self.unknown_recipients = unknown_recipients
        self.clock = clock
        self.make_producer = make_producer
        self.make_reader = make_reader
        self._lookup_reader: AIOKafkaConsumer | None = None
        self.tables: dict[str, Table[Any]] = {
            spec.name: _table(spec, settings, group, partition) for spec in topology.tables}
        self.timers_due: dict[str, float] = {t.name: time.monotonic() + t.interval_s
                                             for t in topology.timers}

    # Start and stop -------------------------------------------------------------------------

    async def start(self, read_changelog: Callable[[str, int, Table[Any]], Awaitable[int]]
                    ) -> None:
        """Fence the previous owner (its open transaction is aborted), then restore."""
        await self.producer.start()
        began = time.monotonic()
        counts = {}
        for name, table in self.tables.items():
            counts[name] = await read_changelog(table.spec.changelog, self.partition, table)
        took = time.monotonic() - began
        RESTORE_SECONDS.observe(took)
        log.info("task restored", partition=self.partition, records=counts,
                 keys={n: len(t) for n, t in self.tables.items()}, seconds=round(took, 3))

    async def still_owns(self, offsets: dict[TopicPartition, int]) -> bool:
        """Whether this task's producer still owns the partition: an empty transaction that
        commits the offsets it has is refused if another producer fenced it meanwhile."""
        try:
            await self.producer.begin_transaction()
            if offsets:
                await self.producer.send_offsets_to_transaction(offsets, self.group)
            await self.producer.commit_transaction()
            return True
        except Exception as exc:  # fenced, or the transaction state is broken: start afresh
            log.info("task no longer owns its partition", partition=self.partition,
                     error_type=type(exc).__name__)
            return False

    async def stop(self) -> None:
        for table in self.tables.values():
            table.close()
        if self._lookup_reader is not None:
            await self._lookup_reader.stop()
        try:
            await asyncio.wait_for(self.producer.stop(), timeout=10)
        except Exception as exc:  # stopping is best effort; the next owner fences anyway
            log.warning("task producer did not stop cleanly", partition=self.partition,
                        error=str(exc))

    # Processing -----------------------------------------------------------------------------

    async def process(self, records: Sequence[Incoming]) -> None:
        """Process ``records`` (this partition's, in order) and commit them, exactly once."""
        if records:
            await self._commit_all(list(records))

    async def fire_timers(self) -> None:
        """Run the timers that are due, each in its own transaction (no input offsets)."""
        for timer in self.topology.timers:
            if time.monotonic() < self.timers_due[timer.name]:
                continue
            self.timers_due[timer.name] = time.monotonic() + timer.interval_s
            while True:
                ctx = self._context()
                try:
                    outputs = timer.fire(ctx)
                except Exception as exc:  # a failing timer must not stop the task
                    self._end_record(keep=False)
                    log.error("timer failed", timer=timer.name, partition=self.partition,
                              error=str(exc))
                    break
                self._end_record(keep=True)
                if not outputs and not any(t.changes() for t in self.tables.values()):
                    self._end_batch(keep=False)
                    break
                if await self._transact(outputs, {}):
                    break
                await asyncio.sleep(0.5)

    async def _commit_all(self, records: list[Incoming]) -> None:
        """Commit ``records``; on failure retry, and split the batch around a bad record."""
        delay = 0.2
        while True:
            began = time.monotonic()
            ctx = self._context()
            outputs = self._handle(records, ctx)
            try:
                outputs += await self._follow_lookups(ctx)
            except KafkaError as exc:  # an earlier record not readable now: all again later
                self._end_batch(keep=False)
                log.warning("earlier record not readable; retrying the batch",
                            partition=self.partition, error=str(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            error = await self._try_transact(outputs, _offsets(records))
            if error is None:
                BATCH_SECONDS.observe(time.monotonic() - began)
                for topic, count in Tally(r.topic for r in records).items():
                    RECORDS.labels(topic).inc(count)
                return
            if isinstance(error, RECORD_ERRORS):
                if len(records) > 1:
                    half = len(records) // 2
                    log.warning("batch failed on a record; splitting it", partition=self.partition,
                                records=len(records), error=str(error))
                    await self._commit_all(records[:half])
                    await self._commit_all(records[half:])
                    return
                await self._commit_dead_letter(records[0], error)
                return
            log.warning("transaction failed; retrying the batch", partition=self.partition,
                        records=len(records), error_type=type(error).__name__,
                        error=str(error), retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _commit_dead_letter(self, record: Incoming, error: BaseException) -> None:
        """One record that cannot be written: its dead letter and the sender's rejection."""
        delay = 0.2
        while True:
            ctx = self._context()
            handler = self.topology.handlers[record.topic]
            outputs = [self.dead_letter(handler.name, record, error)]
            try:
                outputs += handler.reject(record, _reason(error), ctx)
                self._end_record(keep=True)
            except Exception as exc:  # no rejection possible: the dead letter still goes
                self._end_record(keep=False)
                log.warning("no rejection for a dead-lettered record", error=str(exc))
            failure = await self._try_transact(outputs, _offsets([record]))
            if failure is None:
                return
            if isinstance(failure, RECORD_ERRORS):  # even the rejection cannot be written
                outputs = outputs[:1]
                failure = await self._try_transact(
                    [self.dead_letter(handler.name, record, error, with_value=False)],
                    _offsets([record]))
                if failure is None:
                    return
            log.warning("dead letter not written; retrying", partition=self.partition,
                        error=str(failure), retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _context(self) -> Context:
        return Context(now=self.clock(), partition=self.partition, tables=self.tables)

    def _handle(self, records: list[Incoming], ctx: Context) -> list[Output]:
        """Every record's outputs; a record whose handler raises becomes a dead letter."""
        outputs: list[Output] = []
        produced_by: dict[str, int] = defaultdict(int)
        for record in records:
            handler = self.topology.handlers[record.topic]
            try:
                produced = handler.handle(record, ctx)
            except Exception as exc:  # one record must never stop the stream
                self._end_record(keep=False)
                outputs.append(self.dead_letter(handler.name, record, exc))
                try:
                    outputs += handler.reject(record, _reason(exc), ctx)
                    self._end_record(keep=True)
                except Exception:  # undecodable: nobody to tell
                    self._end_record(keep=False)
                continue
            too_large = next((o for o in produced if len(o.value or b"") + len(o.key or b"")
                              > self.settings.max_record_bytes), None)
            if too_large is not None:
                self._end_record(keep=False)
                error = RecordTooLargeError(f"an output for {too_large.topic} is "
                                            f"{len(too_large.value or b'')} bytes")
                outputs.append(self.dead_letter(handler.name, record, error))
                outputs += handler.reject(record, _reason(error), ctx)
                self._end_record(keep=True)
                continue
            self._end_record(keep=True)
            produced_by[handler.name] += len(produced)
            outputs.extend(produced)
        for name, count in produced_by.items():
            OUTPUTS.labels(name).inc(count)
        return outputs

    async def _follow_lookups(self, ctx: Context) -> list[Output]:
        """Earlier records the batch's processors asked for, read and handed back to them."""
        outputs: list[Output] = []
        while ctx.lookups:
            lookup = ctx.lookups.pop(0)
            record = await self._read_earlier(lookup.topic, lookup.offset)
            try:
                outputs += lookup.then(record, ctx)
                self._end_record(keep=True)
            except Exception as exc:  # the batch goes on; the failure is logged and alerted
                self._end_record(keep=False)
                log.error("follow-up of an earlier record failed", topic=lookup.topic,
                          partition=self.partition, offset=lookup.offset, error=str(exc))
                if record is not None:
                    outputs.append(self.dead_letter("follow-up", record, exc))
        return outputs

    async def _read_earlier(self, topic: str, offset: int) -> Incoming | None:
        if self._lookup_reader is None:
            self._lookup_reader = self.make_reader()
            await self._lookup_reader.start()
        tp = TopicPartition(topic, self.partition)
        reader = self._lookup_reader
        reader.assign([tp])
        reader.seek(tp, offset)
        for _ in range(10):
            batch = await reader.getmany(tp, timeout_ms=500, max_records=1)
            for r in batch.get(tp, []):
                if r.offset == offset:
                    return Incoming(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp,
                                    tuple((k, bytes(v)) for k, v in r.headers or ()))
                return None  # it is gone (compaction, retention)
        # Nothing came: the partition's leader may have just died. That is no answer, not
        # "gone": the batch fails and is tried again (the reader asks afresh who leads).
        reader._client.force_metadata_update()  # no public way to refresh
        raise KafkaTimeoutError(f"{topic}[{self.partition}] offset {offset} could not be read")

    def _end_record(self, keep: bool) -> None:
        for table in self.tables.values():
            table.end_record(keep)

    def _end_batch(self, keep: bool, changelog_offsets: dict[str, int] | None = None) -> None:
        for name, table in self.tables.items():
            table.end_batch(keep, (changelog_offsets or {}).get(name))

    async def _try_transact(self, outputs: list[Output], offsets: dict[TopicPartition, int]
                            ) -> BaseException | None:
        try:
            await self._transact(outputs, offsets, raise_errors=True)
        except FENCED as exc:
            raise TaskFenced(str(exc)) from exc
        except (TimeoutError, KafkaError, OSError) as exc:
            return exc
        return None

    async def _transact(self, outputs: list[Output], offsets: dict[TopicPartition, int],
                        raise_errors: bool = False) -> bool:
        """One transaction: outputs, the tables' changes, the input offsets. Undone on error."""
        try:
            outputs = await self._admit(outputs)
            await self.ensure_topics(outputs)
            await self.producer.begin_transaction()
            futures = await self._send(outputs)
            changelogs: dict[str, list[asyncio.Future[Any]]] = {}
            for name, table in self.tables.items():
                changelogs[name] = await self._send([
                    Output(table.spec.changelog, key, value, self.partition)
                    for key, value in table.changes().items()])
                futures += changelogs[name]
            if offsets:
                await self.producer.send_offsets_to_transaction(offsets, self.group)
            await asyncio.gather(*futures)
            self._maybe_exit_before_commit()
            await self.producer.commit_transaction()
        except BaseException as exc:
            TRANSACTIONS.labels("aborted").inc()
            self._end_batch(keep=False)
            if isinstance(exc, FENCED):
                raise
            await self._reset_producer()
            if raise_errors or isinstance(exc, asyncio.CancelledError):
                raise
            log.warning("transaction failed", partition=self.partition, error=str(exc))
            return False
        TRANSACTIONS.labels("committed").inc()
        self._end_batch(keep=True, changelog_offsets={
            name: min(f.result().offset for f in sent) for name, sent in changelogs.items()
            if sent})
        return True

    async def _admit(self, outputs: list[Output]) -> list[Output]:
        """Outputs for actors the hub does not know become dead letters (and an alert)."""
        recipients = {o.recipient for o in outputs if o.recipient is not None}
        if not recipients:
            return outputs
        unknown = await self.unknown_recipients(recipients)
        if not unknown:
            return outputs
        admitted = []
        for output in outputs:
            if output.recipient in unknown:
                admitted.append(self._unknown_recipient(output))
            else:
                admitted.append(output)
        return admitted

    def _unknown_recipient(self, output: Output) -> Output:
        DEAD_LETTERS.labels("queue-writer").inc()
        log.error("message for an actor the hub does not know", actor=output.recipient,
                  topic=output.topic)
        value = dead_letter.encode({
            "processor": "queue-writer", "topic": output.topic, "partition": 0, "offset": -1,
            "key": output.key, "value": output.value, "errorType": "UnknownRecipient",
            "error": f"the hub does not know actor {output.recipient}",
            "failedAt": datetime.now(UTC)})
        return Output(self.dead_letter_topic, output.key, value, 0)

    async def _send(self, outputs: Sequence[Output]) -> list[asyncio.Future[Any]]:
        """Send outputs grouped into one record batch per topic partition."""
        groups: dict[tuple[str, int | None], list[Output]] = defaultdict(list)
        for output in outputs:
            groups[(output.topic, output.partition)].append(output)
        track_topics(self.producer, {topic for topic, _ in groups})
        futures: list[asyncio.Future[Any]] = []
        for (topic, partition), group in groups.items():
            if partition is None:
                for output in group:
                    futures.append(await self.producer.send(
                        topic, output.value, key=output.key,
                        headers=list(output.headers) or None))
                continue
            batch = self.producer.create_batch()
            for output in group:
                if batch.append(key=output.key, value=output.value, timestamp=None,
                                headers=list(output.headers)) is None:
                    futures.append(await self.producer.send_batch(batch, topic,
                                                                  partition=partition))
                    batch = self.producer.create_batch()
                    if batch.append(key=output.key, value=output.value, timestamp=None,
                                    headers=list(output.headers)) is None:
                        raise MessageSizeTooLargeError(f"a record for {topic} is too large")
            if batch.record_count():
                futures.append(await self.producer.send_batch(batch, topic,
                                                              partition=partition))
        return futures

    async def _reset_producer(self) -> None:
        """A new producer with the same transactional id: aborts whatever was left open."""
        old = self.producer
        try:
            await asyncio.wait_for(old.stop(), timeout=5)
        except Exception as exc:  # it is being replaced; its state does not matter
            log.debug("old producer did not stop cleanly", error=str(exc))
        delay = 0.5
        while True:
            producer = self.make_producer()
            try:
                await producer.start()
            except FENCED:
                raise
            except Exception as exc:  # the broker is away: wait for it, the stream waits too
                log.warning("task producer cannot start; retrying", partition=self.partition,
                            error=str(exc), retry_in_s=delay)
                try:
                    await asyncio.wait_for(producer.stop(), timeout=5)
                except Exception as stop_exc:  # never started: nothing to stop
                    log.debug("failed producer did not stop", error=str(stop_exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.producer = producer
            return

    def _maybe_exit_before_commit(self) -> None:
        """Drills and tests: die like ``kill -9`` with the outputs sent and not committed."""
        n = self.settings.fault_exit_before_commit
        if n <= 0:
            return
        global _transactions_seen
        _transactions_seen += 1
        if _transactions_seen >= n:
            log.warning("fault injection: exiting before commit", partition=self.partition,
                        transaction=_transactions_seen)
            os._exit(137)

    def dead_letter(self, processor: str, record: Incoming, exc: BaseException,
                    with_value: bool = True) -> Output:
        DEAD_LETTERS.labels(processor).inc()
        log.error("record sent to dead-letter topic", processor=processor, topic=record.topic,
                  partition=record.partition, offset=record.offset,
                  error_type=type(exc).__name__, error=str(exc)[:500])
        value = dead_letter.encode({
            "processor": processor, "topic": record.topic, "partition": record.partition,
            "offset": record.offset, "key": record.key,
            "value": record.value if with_value else None,
            "errorType": type(exc).__name__,
            "error": "".join(traceback.format_exception_only(exc)).strip()[:2000],
            "failedAt": datetime.now(UTC)})
        return Output(self.dead_letter_topic, record.key, value, 0)


_transactions_seen = 0


def _table(spec: TableSpec[Any], settings: Settings, group: str, partition: int
           ) -> Table[Any]:
    """A table in memory, or on disk (an SQLite file per task) when its spec says so. The
    file outlives the task when the worker has a stable id (``STRAUM_WORKER_ID``): the next
    task of the partition on this machine restores from its checkpoint."""
    if not spec.on_disk:
        return Table(spec, settings.max_record_bytes)
    owner = settings.worker_id or f"pid-{os.getpid()}"
    path = (settings.data_dir / "state" / group / owner
            / f"{spec.changelog}-{partition}.sqlite")
    return DiskTable(spec, settings.max_record_bytes, path,  # type: ignore[return-value]
                     keep_file=settings.worker_id is not None)


def _offsets(records: Sequence[Incoming]) -> dict[TopicPartition, int]:
    """The next offset to read of each input partition the records came from."""
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
    return offsets


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
