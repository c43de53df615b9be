"""The queue writer: appends every outbound message to its recipient's queue topic.

Outbound records are keyed ``<recipient GLN>|<queue>``; one outbound partition holds all of a
queue's messages, in the order the processors produced them, and this agent appends them to the
single-partition queue topic in that order. Queue topics are created on first use.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from connectors.actors import ActorRegistry
from connectors.kafka import admin_client, ensure_topics
from domain.identifiers import IdentifierError, validate_gln
from processors.heartbeats import arrive, is_outbound_heartbeat
from processors.output import Record, dead_letter, now, produce_durably
from straum.logging import get_logger
from streams.app import app, catalogue, outbound_topic, settings
from streams.topics import Queue

log = get_logger(__name__)
PROCESSOR = "queue-writer"


class UnknownRecipient(ValueError):
    """An outbound message whose key names no valid actor and queue."""


class QueueTopics:
    """Queue topics known to exist; creates the missing ones through the admin API."""

    def __init__(self) -> None:
        self.known: set[str] = set()
        self._admin: AIOKafkaAdminClient | None = None
        self._lock = asyncio.Lock()

    async def ensure(self, queues: set[tuple[str, Queue]]) -> None:
        missing = [q for q in queues if catalogue.queue_topic(*q) not in self.known]
        if not missing:
            return
        async with self._lock:
            if self._admin is None:
                self._admin = admin_client(settings, "straum-queue-writer")
                await self._admin.start()
            created = await ensure_topics(self._admin,
                                          [catalogue.queue_spec(*q) for q in missing])
            for name in created:
                log.info("queue created", topic=name)
            self.known.update(catalogue.queue_topic(*q) for q in missing)


queue_topics = QueueTopics()
actors = ActorRegistry(settings, catalogue)


@app.task
async def load_actors() -> None:
    """Load the actor registry when the worker starts."""
    await actors.start()


def destination(key: bytes | None) -> tuple[str, Queue]:
    """(recipient, queue) from an outbound key; UnknownRecipient if it names none."""
    try:
        recipient, queue = (key or b"").decode().split("|")
        return validate_gln(recipient), Queue(queue)
    except (ValueError, IdentifierError) as exc:
        raise UnknownRecipient(f"outbound key {key!r} names no actor queue: {exc}") from exc


@app.agent(outbound_topic, name="queue-writer")
async def write_queues(stream: Any) -> None:
    async for events in stream.take_events(1000, within=0.05):
        records: list[Record] = []
        wanted: set[tuple[str, Queue]] = set()
        moment = now()
        for event in events:
            if is_outbound_heartbeat(event.message.key):
                try:
                    records.append(arrive(event, moment))
                except Exception as exc:  # a broken heartbeat is a dead letter like any record
                    records.append(dead_letter(PROCESSOR, event, exc))
                continue
            try:
                actor, queue = destination(event.message.key)
                if not await actors.knows(actor):
                    raise UnknownRecipient(f"the hub does not know actor {actor}")
            except UnknownRecipient as exc:
                records.append(dead_letter(PROCESSOR, event, exc))
                continue
            wanted.add((actor, queue))
            records.append(Record(catalogue.queue_topic(actor, queue), event.message.key,
                                  event.message.value, 0))
        await queue_topics.ensure(wanted)
        await produce_durably(records, PROCESSOR)
