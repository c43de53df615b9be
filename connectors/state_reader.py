"""Reading the hub's metering-point state straight from the table's changelog topic, for
reports and migrations that look at every point (the workers keep the same state in memory)."""

from __future__ import annotations

from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from connectors.kafka import admin_client, partitions_of, resolve_bootstrap, security_kwargs
from domain.metering_point import MeteringPoint, from_record
from straum.settings import Settings
from streams.serialisation import METERING_POINT_STATE, codec
from streams.topics import TopicCatalogue


async def read_points(settings: Settings,
                      progress: Callable[[int, int], None] | None = None
                      ) -> dict[str, MeteringPoint]:
    """Every metering point's latest state, by id; ``progress(read, total)`` as it goes."""
    topic = TopicCatalogue.from_settings(settings).metering_point_changelog
    consumer = AIOKafkaConsumer(bootstrap_servers=resolve_bootstrap(settings), group_id=None,
                                enable_auto_commit=False, client_id="straum-state-reader",
                                **security_kwargs(settings))
    admin = admin_client(settings, "straum-state-reader")
    await admin.start()
    try:
        partitions = await partitions_of(admin, topic)
    finally:
        await admin.close()
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            return {}
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        begins = await consumer.beginning_offsets(tps)
        total = sum(ends[tp] - begins[tp] for tp in tps)
        points: dict[str, MeteringPoint] = {}
        decode = codec(METERING_POINT_STATE).decode
        read = 0
        pending = {tp for tp in tps if ends[tp] > begins[tp]}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000, max_records=5000)
            for records in batch.values():
                for record in records:
                    read += 1
                    key = record.key.decode()
                    if record.value is None:
                        points.pop(key, None)
                    else:
                        points[key] = from_record(decode(record.value))
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
            if progress:
                progress(read, total)
        return points
    finally:
        await consumer.stop()
