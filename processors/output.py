"""How processors write: every output durable before the input counts as done.

A batch's records are sent together and their delivery reports awaited; only then does the
agent return to Faust, which acks the input events and later commits their offsets. A send that
fails is retried with backoff (the idempotent producer keeps retries from duplicating), never
dropped: at-least-once, nothing lost. A record the processor cannot handle becomes a dead letter.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import KafkaError
from prometheus_client import Counter

from straum.logging import get_logger
from streams.app import app, catalogue, settings
from streams.serialisation import DEAD_LETTER, codec

log = get_logger(__name__)

DEAD_LETTERS = Counter(
    "straum_dead_letters_total", "Records sent to the dead-letter topic", ["processor"])
RECORDS_OUT = Counter("straum_records_produced_total", "Records produced by processors",
                      ["processor"])


@dataclass(frozen=True)
class Record:
    """One record to produce."""

    topic: str
    key: bytes | None
    value: bytes
    partition: int | None = None


async def produce_durably(records: list[Record], processor: str) -> None:
    """Send all records and wait until the broker has them all; retry until it does."""
    if not records:
        return
    delay = 0.2
    while True:
        try:
            futures = [
                await app.producer.send(r.topic, r.key, r.value, r.partition, None, None)
                for r in records
            ]
            await asyncio.gather(*futures)
            RECORDS_OUT.labels(processor).inc(len(records))
            return
        except KafkaError as exc:
            log.warning("produce failed; retrying the batch", processor=processor,
                        error=str(exc), records=len(records), retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


def dead_letter(processor: str, event: Any, exc: BaseException) -> Record:
    """The dead-letter record for an event whose handling raised ``exc``."""
    message = event.message
    DEAD_LETTERS.labels(processor).inc()
    log.error("record sent to dead-letter topic", processor=processor, topic=message.topic,
              partition=message.partition, offset=message.offset,
              error_type=type(exc).__name__, error=str(exc)[:500])
    value = codec(DEAD_LETTER).encode({
        "processor": processor,
        "topic": message.topic,
        "partition": message.partition,
        "offset": message.offset,
        "key": message.key,
        "value": message.value,
        "errorType": type(exc).__name__,
        "error": "".join(traceback.format_exception_only(exc)).strip()[:2000],
        "failedAt": datetime.now(UTC),
    })
    return Record(catalogue.dead_letters, message.key, value)


def now() -> datetime:
    """The processors' clock (one place, so tests and drills can move it)."""
    return datetime.fromtimestamp(time.time() + settings.clock_offset_seconds, UTC)
