"""Intake de-duplication on (sender, messageId), shared by every API process.

An accepted document's id is written to a compacted topic after its records are durable; every
API process follows that topic, so a resend to any of them is answered ``duplicate`` and nothing
is processed twice. Should a process die between the two writes, the resend is accepted again and
the processors' content de-duplication keeps it from being forwarded twice.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from connectors.compacted import CompactedView
from schemas.settings import Settings
from streams.records import intake_document
from streams.topics import TopicCatalogue

LOCK_STRIPES = 256


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Document:
    """One document of a bulk intake: its id, type, the bytes it was sent as, its records."""

    message_id: str
    document_type: str
    body: bytes
    records: list[tuple[bytes, bytes]]


class DocumentLedger:
    """Which (sender, messageId) pairs were accepted, within the de-duplication window."""

    def __init__(self, settings: Settings, catalogue: TopicCatalogue,
                 producer: AIOKafkaProducer) -> None:
        self.topic = catalogue.intake_documents
        self.producer = producer
        self._view = CompactedView(settings, self.topic, intake_document.decode)
        # Striped locks: the same id never runs twice at once, memory stays bounded.
        self._locks = [asyncio.Lock() for _ in range(LOCK_STRIPES)]

    async def start(self) -> None:
        await self._view.start()

    async def stop(self) -> None:
        await self._view.stop()

    async def accept_once(self, sender: str, message_id: str, document_type: str, body: bytes,
                          write: Callable[[], Awaitable[None]]) -> bool:
        """Run ``write`` unless this sender's message id was accepted before; True if run."""
        key = f"{sender}|{message_id}"
        async with self._locks[hash(key) % LOCK_STRIPES]:
            if key in self._view.values:
                return False
            await write()
            value = intake_document.encode({
                "documentType": document_type, "digest": digest(body),
                "receivedAt": datetime.now(UTC)})
            await (await self.producer.send(self.topic, value, key=key.encode(), partition=0))
            self._view.values[key] = intake_document.decode(value)
            return True

    async def accept_all_once(self, sender: str, topic: str, documents: Sequence[Document]
                              ) -> list[bool]:
        """Write the records of every document not accepted before, then mark them accepted:
        one round of writes for the whole bulk, in the same order as one by one (records
        durable first, so a crash between the two can only accept a document again, never
        lose one). True per document written."""
        keys = [f"{sender}|{d.message_id}" for d in documents]
        stripes = sorted({hash(k) % LOCK_STRIPES for k in keys})
        async with AsyncExitStack() as stack:
            for stripe in stripes:  # always in the same order: no two bulks deadlock
                await stack.enter_async_context(self._locks[stripe])
            seen: set[str] = set()
            fresh = []
            for key in keys:
                fresh.append(key not in self._view.values and key not in seen)
                seen.add(key)
            records = [r for d, new in zip(documents, fresh, strict=True) if new
                       for r in d.records]
            futures = [await self.producer.send(topic, value, key=key) for key, value in records]
            await asyncio.gather(*futures)
            encode = intake_document.encode
            now = datetime.now(UTC)
            marks = [(key, encode({"documentType": d.document_type, "digest": digest(d.body),
                                   "receivedAt": now}))
                     for key, d, new in zip(keys, documents, fresh, strict=True) if new]
            futures = [await self.producer.send(self.topic, value, key=key.encode(), partition=0)
                       for key, value in marks]
            await asyncio.gather(*futures)
            decode = intake_document.decode
            for key, value in marks:
                self._view.values[key] = decode(value)
        return fresh
