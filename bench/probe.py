"""Reading the broker from outside: committed offsets, log ends, group state, timestamps."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas.settings import Settings
from streams.kafka import admin_client, durable_producer


class Probe:
    """An admin client and a group-less consumer (async context manager)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.admin: AIOKafkaAdminClient = admin_client(settings, "bench-probe")
        self.consumer = AIOKafkaConsumer(isolation_level="read_committed",
                                         bootstrap_servers=settings.kafka_bootstrap,
                                         client_id="bench-probe", enable_auto_commit=False)
        self._partitions: dict[str, list[TopicPartition]] = {}

    async def __aenter__(self) -> Probe:
        await self.admin.start()
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None
                        ) -> None:
        await self.consumer.stop()
        await self.admin.close()

    async def partitions(self, topic: str) -> list[TopicPartition]:
        if topic not in self._partitions:
            for _ in range(50):
                [described] = await self.admin.describe_topics([topic])
                found = sorted(p["partition"] for p in described["partitions"])
                if found and described["error_code"] == 0:
                    break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"topic {topic} has no partitions")
            self._partitions[topic] = [TopicPartition(topic, p) for p in found]
        return self._partitions[topic]

    async def end(self, topics: Iterable[str]) -> int:
        """Sum of the log-end offsets of every partition of ``topics``."""
        tps = [tp for t in topics for tp in await self.partitions(t)]
        ends: dict[Any, int] = await self.consumer.end_offsets(tps) if tps else {}
        return sum(ends.values())

    async def lag(self, group: str, topic: str) -> tuple[int, int]:
        """(committed, log end), summed over the topic's partitions; no commit counts 0."""
        tps = await self.partitions(topic)
        committed = await self.admin.list_consumer_group_offsets(group, partitions=tps)
        ends = await self.consumer.end_offsets(tps)
        done = sum(max(committed[tp].offset, 0) for tp in tps if tp in committed)
        return done, sum(ends.values())

    async def topics(self, prefix: str) -> list[str]:
        return sorted(t for t in await self.admin.list_topics() if t.startswith(prefix))



async def produce(settings: Settings, topic: str, records: list[tuple[bytes, bytes]],
                  client_id: str = "bench-loader") -> None:
    """Write ``records`` durably (acks=all, idempotent), as fast as the client goes."""
    producer: AIOKafkaProducer = durable_producer(settings, client_id)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
