"""Intake de-duplication on (sender, messageId), shared by every API process.

An accepted document's id is written to a compacted topic after its records are durable; every
API process follows that topic, so a resend to any of them is answered ``duplicate`` and nothing
is processed twice. Should a process die between the two writes, the resend is accepted again and
the processors' content de-duplication keeps it from being forwarded twice.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from connectors.compacted import CompactedView
from straum.settings import Settings
from streams.serialisation import INTAKE_DOCUMENT, codec
from streams.topics import TopicCatalogue

LOCK_STRIPES = 256


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class DocumentLedger:
    """Which (sender, messageId) pairs were accepted, within the de-duplication window."""

    def __init__(self, settings: Settings, catalogue: TopicCatalogue,
                 producer: AIOKafkaProducer) -> None:
        self.topic = catalogue.intake_documents
        self.producer = producer
        self._view = CompactedView(settings, self.topic, codec(INTAKE_DOCUMENT).decode)
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
            value = codec(INTAKE_DOCUMENT).encode({
                "documentType": document_type, "digest": digest(body),
                "receivedAt": datetime.now(UTC)})
            await (await self.producer.send(self.topic, value, key=key.encode(), partition=0))
            self._view.values[key] = codec(INTAKE_DOCUMENT).decode(value)
            return True
