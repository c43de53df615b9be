"""A compacted topic seen as a dictionary: loaded at start, then kept up to date.

Shared state of the API processes (queue positions, intake document ids) lives in compacted
topics; every process reads the topic from the beginning once and follows it, so all processes
converge on the same view and a restart loses nothing.
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


class CompactedView(Generic[V]):
    """``key -> value`` of one single-partition compacted topic."""

    def __init__(self, settings: Settings, topic: str, decode: Callable[[bytes], V],
                 skip: Callable[[str], bool] = lambda _: False,
                 on_change: Callable[[str, V | None, V | None], None] | None = None,
                 keep: bool = True) -> None:
        self.settings = settings
        self.topic = topic
        self.decode = decode
        self.skip = skip  # keys this process is writing right now keep their local value
        # told (key, old, new) of every change, so a reader can keep indexes beside the view
        self.on_change = on_change
        self.keep = keep  # False: values only go to on_change (a reader with its own index)
        self.values: dict[str, V] = {}
        # Offsets of this process's own writes per key: the tail must never put back an
        # older record over a value this process has already moved on from.
        self._written: dict[str, int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.loaded = asyncio.Event()

    async def start(self) -> None:
        """Load the whole topic, then follow it in the background."""
        consumer = AIOKafkaConsumer(isolation_level="read_committed",
            bootstrap_servers=resolve_bootstrap(self.settings), group_id=None,
            enable_auto_commit=False, auto_offset_reset="earliest",
            client_id=f"straum-view-{self.topic}", **security_kwargs(self.settings))
        await consumer.start()
        tp = TopicPartition(self.topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        self._consumer = consumer
        end = (await consumer.end_offsets([tp]))[tp]
        while (await consumer.position(tp)) < end:
            self._apply(await consumer.getmany(tp, timeout_ms=1000), tp, initial=True)

        self.loaded.set()
        self._task = asyncio.create_task(self._follow(tp))

    def _apply(self, batch: dict[TopicPartition, list[object]], tp: TopicPartition,
               initial: bool) -> None:
        for record in batch.get(tp, []):
            key = record.key.decode() if record.key else ""  # type: ignore[attr-defined]
            value = record.value  # type: ignore[attr-defined]
            if not initial and self.skip(key):
                continue
            if record.offset < self._written.get(key, -1):  # type: ignore[attr-defined]
                continue
            self.put(key, None if value is None else self.decode(value))

    def put(self, key: str, value: V | None) -> None:
        """Set (None: remove) one key's value, as read from the topic or written locally."""
        old = self.values.pop(key, None) if value is None else self.values.get(key)
        if value is not None and self.keep:
            self.values[key] = value
        if self.on_change is not None:
            self.on_change(key, old, value)

    def wrote(self, key: str, value: V, offset: int) -> None:
        """This process wrote ``value`` for ``key`` at ``offset`` (durably): hold it, and let
        the tail replace it only with a later record."""
        self.values[key] = value
        self._written[key] = max(offset, self._written.get(key, -1))

    async def _follow(self, tp: TopicPartition) -> None:
        assert self._consumer is not None
        while True:
            try:
                self._apply(await self._consumer.getmany(tp, timeout_ms=1000), tp, False)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep following; the broker may be back soon
                log.warning("following a compacted topic failed", topic=self.topic,
                            error=str(exc))
                await asyncio.sleep(1)

    async def caught_up(self, deadline_s: float = 10.0) -> bool:
        """Wait until everything written to the topic before this call has been read."""
        await asyncio.wait_for(self.loaded.wait(), deadline_s)
        assert self._consumer is not None
        tp = TopicPartition(self.topic, 0)
        end = (await self._consumer.end_offsets([tp]))[tp]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + deadline_s
        while loop.time() < deadline:
            if await self._consumer.position(tp) >= end:
                return True
            await asyncio.sleep(0.02)
        return False

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        if self._consumer:
            await self._consumer.stop()
