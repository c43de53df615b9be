"""The market actors the hub knows, shared through a compacted topic.

The API registers an authenticated caller (with its role) before accepting its first
document; the queue writer refuses messages for anyone not registered. Because registration is
durable before the document is, a recipient derived from hub state is always known by the time
its message reaches the queue writer: a miss means a bug or a corrupt record, and is a dead
letter with an alert.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from connectors.compacted import CompactedView
from schemas.settings import Settings
from streams.logging import get_logger
from streams.records import actor
from streams.topics import TopicCatalogue

log = get_logger(__name__)


class ActorRegistry:
    def __init__(self, settings: Settings, catalogue: TopicCatalogue) -> None:
        self.topic = catalogue.actors
        self._view = CompactedView(settings, self.topic, actor.decode_roles)

    async def start(self) -> None:
        await self._view.start()

    async def stop(self) -> None:
        await self._view.stop()

    def roles(self, gln: str) -> frozenset[str]:
        return self._view.values.get(gln, frozenset())

    async def register(self, producer: AIOKafkaProducer, gln: str, role: str) -> None:
        """Make ``gln`` known with ``role`` (durably); a no-op when it already is."""
        known = self.roles(gln)
        if role in known:
            return
        roles = sorted(known | {role})
        value = actor.encode(roles, datetime.now(UTC))
        await (await producer.send(self.topic, value, key=gln.encode(), partition=0))
        self._view.values[gln] = frozenset(roles)

    async def knows(self, gln: str) -> bool:
        """Whether ``gln`` is registered, after catching up with every registration so far.

        A registration is durable before the document that made the message, so a view that
        lags must catch up, never give a false 'unknown': it waits, however long it takes.
        """
        while gln not in self._view.values:
            try:
                if await self._view.caught_up(deadline_s=10.0):
                    break
            except TimeoutError:
                pass
            log.warning("actor registry is catching up; the queue writer waits", actor=gln)
        return gln in self._view.values
