"""``straum topics`` and ``straum dead-letters``: read any straum topic without writing code.

Records are read as the processors read them: committed only (``read_committed``), values
decoded by :mod:`streams.records.readable`. ``tail`` prints the last records of a topic, or
those from a time on, optionally only one key's, as lines for people or JSON Lines
(``--json``) for jq.
A dead letter is shown with its original record decoded; ``retry`` sends that record, or a
fixed version of it, back to the topic it came from, where the processors take it again.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.partitioner import murmur2

from schemas.settings import Settings
from streams.kafka import admin_client, reader, resolve_bootstrap, security_kwargs, wait_for_broker
from streams.records import dead_letter
from streams.records.readable import Decoded, decode_any, encode_readable, key_text, stem_of
from streams.topics import TopicCatalogue

#: The record type of each input topic, for a dead letter whose value cannot be read at all.
INPUT_TYPES = {"metering-values.intake": "metering_value_series",
               "master-data.intake": "master_data_event",
               "contract-commands": "contract_command"}


class TopicError(ValueError):
    """A topic, offset or value the command cannot use; the message says why."""


@dataclass(frozen=True)
class Shown:
    """One record as the commands show it."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime
    key: str | None
    headers: dict[str, str]
    decoded: Decoded

    def as_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset,
                "timestamp": self.timestamp.isoformat().replace("+00:00", "Z"),
                "key": self.key, "headers": self.headers, "type": self.decoded.type,
                "value": self.decoded.value}

    def as_line(self) -> str:
        moment = self.timestamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        value = json.dumps(self.decoded.value, ensure_ascii=False, separators=(",", ":"))
        return (f"{moment}  p{self.partition}@{self.offset}  key={self.key}  "
                f"{self.decoded.type.rsplit('.', 1)[-1]}  {value}")


def shown(record: Any) -> Shown:
    headers = {k: v.decode("utf-8", "replace") for k, v in (record.headers or ())}
    return Shown(record.topic, record.partition, record.offset,
                 datetime.fromtimestamp(record.timestamp / 1000, UTC), key_text(record.key),
                 headers, decode_any(record.value))


def _consumer(settings: Settings) -> AIOKafkaConsumer:
    consumer: AIOKafkaConsumer = reader(settings, "straum-topics-cli",
                                        max_partition_fetch_bytes=16 * 1024 * 1024)
    return consumer


async def _topics(consumer: AIOKafkaConsumer, prefix: str) -> list[str]:
    return sorted(t for t in await consumer.topics()
                  if t.startswith(f"{prefix}.") or t.startswith(f"{prefix}-"))


async def _partitions(settings: Settings, topics: list[str]) -> dict[str, list[int]]:
    """The partition numbers of each of ``topics``."""
    admin = admin_client(settings, "straum-topics-cli")
    await admin.start()
    try:
        described = await admin.describe_topics(topics) if topics else []
    finally:
        await admin.close()
    return {t["topic"]: sorted(p["partition"] for p in t["partitions"])
            for t in described if t["error_code"] == 0}


def resolve_topic(name: str, existing: Iterable[str], prefix: str) -> str:
    """``name`` as given, or with the topic prefix (``metering-values.intake`` is
    ``straum.metering-values.intake``)."""
    topics = set(existing)
    for candidate in (name, f"{prefix}.{name}", f"{prefix}-{name}"):
        if candidate in topics:
            return candidate
    close = sorted(t for t in topics if name in t)[:5]
    raise TopicError(f"no topic {name!r}" + (f"; did you mean {', '.join(close)}?"
                                               if close else "; see `straum topics list`"))


async def list_topics(settings: Settings) -> list[dict[str, Any]]:
    """Every straum topic: partitions, records kept (offset span) and purpose."""
    await wait_for_broker(settings, 30)
    catalogue = TopicCatalogue.from_settings(settings)
    purposes = {spec.name: spec.purpose for spec in catalogue.static_topics()}
    consumer = _consumer(settings)
    await consumer.start()
    try:
        rows = []
        topics = await _topics(consumer, settings.topic_prefix)
        partitions = await _partitions(settings, topics)
        for topic in topics:
            parts = [TopicPartition(topic, p) for p in partitions.get(topic, [])]
            begins = await consumer.beginning_offsets(parts)
            ends = await consumer.end_offsets(parts)
            queue = catalogue.parse_queue_topic(topic)
            rows.append({"topic": topic, "partitions": len(parts),
                         "records": sum(ends[tp] - begins[tp] for tp in parts),
                         "purpose": purposes.get(topic) or (
                             f"{queue[1].value} queue of {queue[0]}" if queue else "")})
        return rows
    finally:
        await consumer.stop()


async def read_topic(settings: Settings, name: str, since: datetime | None = None,
                     key: str | None = None, count: int | None = 10, follow: bool = False,
                     emit: Callable[[Shown], None] | None = None) -> list[Shown]:
    """The topic's records: the last ``count`` (of ``key`` only, when given), or every one
    from ``since`` on (at most ``count``); with ``follow``, then each new one as it comes
    (passed to ``emit``) until interrupted."""
    await wait_for_broker(settings, 30)
    consumer = _consumer(settings)
    await consumer.start()
    try:
        topic = resolve_topic(name, await consumer.topics(), settings.topic_prefix)
        partitions = (await _partitions(settings, [topic])).get(topic, [])
        if key is not None and len(partitions) > 1:
            # keyed topics use the default partitioner: only the key's partition holds it
            partitions = [(murmur2(key.encode()) & 0x7FFFFFFF) % len(partitions)]
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        begins = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        if since is not None:
            found = await consumer.offsets_for_times(
                {tp: int(since.timestamp() * 1000) for tp in tps})
            starts = {tp: found[tp].offset if found.get(tp) else ends[tp] for tp in tps}
        elif key is None and count is not None:
            starts = {tp: max(begins[tp], ends[tp] - count) for tp in tps}
        else:
            starts = dict(begins)
        for tp in tps:
            consumer.seek(tp, starts[tp])
        records: list[Shown] = []
        remaining = {tp for tp in tps if starts[tp] < ends[tp]}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, found_records in batch.items():
                for record in found_records:
                    if record.offset < ends[tp] and (key is None or
                                                     key_text(record.key) == key):
                        records.append(shown(record))
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        records.sort(key=lambda r: (r.timestamp, r.partition, r.offset))
        if count is not None:
            records = records[:count] if since is not None else records[-count:]
        if emit is not None:
            for record in records:
                emit(record)
            if follow:
                while True:
                    batch = await consumer.getmany(timeout_ms=1000)
                    for found_records in batch.values():
                        for record in found_records:
                            if key is None or key_text(record.key) == key:
                                emit(shown(record))
        return records
    finally:
        await consumer.stop()


# -- dead letters ---------------------------------------------------------------------------


def dead_letter_view(offset: int, value: bytes) -> dict[str, Any]:
    """A dead letter with its original record's value decoded (``original``)."""
    raw = dead_letter.decode(value)
    original = decode_any(raw["value"]) if raw["value"] is not None else None
    letter = {k: v for k, v in decode_any(value).value.items() if k != "value"}
    return {"deadLetterOffset": offset, **letter,
            "original": None if original is None else
            {"type": original.type, "value": original.value}}


async def _read_dead_letters(settings: Settings, count: int | None,
                             offset: int | None) -> list[tuple[int, bytes]]:
    """(offset, value) of the last ``count`` dead letters, or of the one at ``offset``."""
    catalogue = TopicCatalogue.from_settings(settings)
    await wait_for_broker(settings, 30)
    consumer = _consumer(settings)
    await consumer.start()
    try:
        tp = TopicPartition(catalogue.dead_letters, 0)
        if catalogue.dead_letters not in await consumer.topics():
            if offset is not None:
                raise TopicError("there are no dead letters")
            return []
        consumer.assign([tp])
        begin = (await consumer.beginning_offsets([tp]))[tp]
        end = (await consumer.end_offsets([tp]))[tp]
        if offset is not None:
            if not begin <= offset < end:
                raise TopicError(f"no dead letter at offset {offset} (they are {begin} to "
                                 f"{end - 1})" if end > begin else "there are no dead letters")
            start, stop = offset, offset + 1
        else:
            start, stop = max(begin, end - (count or end)), end
        consumer.seek(tp, start)
        out: list[tuple[int, bytes]] = []
        while start < stop and await consumer.position(tp) < stop:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            out += [(r.offset, r.value) for r in batch.get(tp, []) if start <= r.offset < stop]
        return out
    finally:
        await consumer.stop()


async def dead_letters(settings: Settings, count: int | None = 20,
                       offset: int | None = None) -> list[dict[str, Any]]:
    """The last ``count`` dead letters, or the one at ``offset``, oldest first."""
    return [dead_letter_view(o, v) for o, v in
            await _read_dead_letters(settings, count, offset)]


async def retry_dead_letter(settings: Settings, offset: int, fixed: Any = None,
                            record_type: str | None = None) -> tuple[str, int, int]:
    """Send dead letter ``offset``'s record back to its topic and partition: as it was, or
    ``fixed`` (the readable JSON of a record, or a whole ``show --json`` output with the
    record fixed in it) encoded as ``record_type`` (a schema file's stem; by default the
    original's type, or the input topic's). (topic, partition, offset) sent."""
    [(_, stored)] = await _read_dead_letters(settings, None, offset)
    letter = dead_letter_view(offset, stored)
    raw = dead_letter.decode(stored)
    topic, partition = raw["topic"], raw["partition"]
    if raw["offset"] < 0 or partition < 0:
        raise TopicError("this dead letter has no input record to retry (it was an output "
                         f"for {topic}); fix its cause and replay instead")
    if fixed is None:
        if raw["value"] is None:
            raise TopicError("the dead letter kept no value (it was too large): retry it "
                             "with --value FILE")
        value = raw["value"]
    else:
        readable = fixed
        if isinstance(readable, dict) and "original" in readable and "value" in (
                readable.get("original") or {}):
            readable = readable["original"]["value"]  # a whole `show --json` output
        stem = record_type or _stem_for(letter, topic, settings)
        value = encode_readable(stem, readable)
    producer = AIOKafkaProducer(bootstrap_servers=resolve_bootstrap(settings),
                                client_id="straum-dead-letter-retry", acks="all",
                                enable_idempotence=True, max_request_size=16 * 1024 * 1024,
                                **security_kwargs(settings))
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, value, key=raw["key"], partition=partition)
    finally:
        await producer.stop()
    return topic, sent.partition, sent.offset


def _stem_for(letter: dict[str, Any], topic: str, settings: Settings) -> str:
    original = letter.get("original") or {}
    if original.get("type") and (stem := stem_of(original["type"])) is not None:
        return stem
    suffix = topic.removeprefix(f"{settings.topic_prefix}.")
    if suffix in INPUT_TYPES:
        return INPUT_TYPES[suffix]
    raise TopicError(f"the record type of {topic} is not known: give --type (a file name "
                     "of schemas/avro without .avsc)")


def print_json_line(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)
