"""A pool of group-less readers for short reads of one partition at a time.

The API reads actor queues on request: each read takes a reader, assigns it one queue
partition, seeks and fetches. Assigning a consumer a topic it does not track costs a metadata
round trip before the first fetch, so the pool hands out, when it can, the idle reader that
last read the same partition: an actor polling again, or acknowledging and polling, finds its
queue's reader as it left it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, TopicPartition


class ReaderPool:
    """Readers shared by concurrent requests; a request holds one for the length of a read."""

    def __init__(self, readers: Iterable[AIOKafkaConsumer]) -> None:
        self.readers = list(readers)
        self._idle = list(self.readers)  # least recently used first
        self._free = asyncio.Semaphore(len(self._idle))

    @asynccontextmanager
    async def take(self, tp: TopicPartition | None = None) -> AsyncIterator[AIOKafkaConsumer]:
        """An idle reader: the one assigned ``tp`` if there is one, else the least recently
        used. Waits while every reader is busy."""
        async with self._free:
            reader = next((r for r in self._idle if tp is not None and tp in r.assignment()),
                          self._idle[0])
            self._idle.remove(reader)
            try:
                yield reader
            finally:
                # an idle reader fetches nothing (else each would ask the broker for its
                # partition every fetch_max_wait_ms, for as long as it sits in the pool)
                reader.pause(*reader.assignment())
                self._idle.append(reader)

    async def start(self) -> None:
        for reader in self.readers:
            await reader.start()

    async def stop(self) -> None:
        for reader in self.readers:
            await reader.stop()

    def refresh_metadata(self) -> None:
        """Make every reader ask the cluster afresh who leads (after a read that got no answer:
        a reader would otherwise go on asking a dead node until its metadata's maximum age)."""
        for reader in self.readers:
            reader._client.force_metadata_update()  # no public way to refresh

