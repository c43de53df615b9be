"""Answers to this process's requests, read from a replies topic by correlation id.

Request/reply over Kafka: the API writes a request keyed by metering point, the point's task
answers on a single-partition replies topic in its transaction (read_committed), and the
process that asked picks its answer out by correlation id. The topic is followed from its end
(answers to earlier processes' requests are of no use), and only answers someone waits for are
kept, so a process holds nothing for other processes' requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.settings import Settings
from streams.kafka import resolve_bootstrap, security_kwargs
from streams.logging import get_logger

log = get_logger(__name__)
V = TypeVar("V")


class Replies(Generic[V]):
    """Waits for answers on one single-partition topic."""

    def __init__(self, settings: Settings, topic: str, decode: Callable[[bytes], V]) -> None:
        self.settings = settings
        self.topic = topic
        self.decode = decode
        self._waiting: dict[str, asyncio.Future[V]] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = asyncio.Lock()

    async def start(self) -> None:
        """Follow the topic from its end (idempotent)."""
        async with self._started:
            if self._consumer is not None:
                return
            consumer = AIOKafkaConsumer(
                isolation_level="read_committed", bootstrap_servers=resolve_bootstrap(
                    self.settings), group_id=None, enable_auto_commit=False,
                client_id=f"straum-replies-{self.topic}",
                # a committed answer wakes the fetch; the wait only bounds an idle one
                fetch_max_wait_ms=20, max_partition_fetch_bytes=8 * 1024 * 1024,
                **security_kwargs(self.settings))
            await consumer.start()
            tp = TopicPartition(self.topic, 0)
            consumer.assign([tp])
            await consumer.seek_to_end(tp)
            await consumer.position(tp)  # resolved now: nothing sent after this is missed
            self._consumer = consumer
            self._task = asyncio.create_task(self._follow(tp))

    def expect(self, correlation_id: str) -> asyncio.Future[V]:
        """Register before sending the request, so its answer cannot pass unseen."""
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._waiting[correlation_id] = future
        return future

    async def wait(self, correlation_id: str, future: asyncio.Future[V], timeout_s: float
                   ) -> V | None:
        """The answer, or None when none came within ``timeout_s``."""
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            return None
        finally:
            self._waiting.pop(correlation_id, None)

    async def _follow(self, tp: TopicPartition) -> None:
        assert self._consumer is not None
        while True:
            try:
                batch = await self._consumer.getmany(tp, timeout_ms=1000)
                for record in batch.get(tp, []):
                    key = record.key.decode() if record.key else ""
                    future = self._waiting.get(key)
                    if future is not None and not future.done() and record.value is not None:
                        try:
                            future.set_result(self.decode(record.value))
                        except Exception as exc:  # an undecodable answer fails its request
                            future.set_exception(exc)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep following; the broker may be back soon
                log.warning("following a replies topic failed", topic=self.topic,
                            error=str(exc))
                await asyncio.sleep(1)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        if self._consumer:
            await self._consumer.stop()
