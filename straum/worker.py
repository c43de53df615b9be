"""The worker process: straum's stream engine running every processor, after the topics exist."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime

from prometheus_client import start_http_server

from connectors.actors import ActorRegistry
from connectors.reference_data import ReferenceData
from processors.topology import topology
from schemas.settings import Settings
from streams.engine.runner import Engine
from streams.kafka import admin_client, ensure_topics, wait_for_broker
from streams.logging import configure_logging, get_logger
from streams.topics import TopicCatalogue

log = get_logger(__name__)


async def prepare(settings: Settings) -> None:
    """Wait for the broker and create the static topics (idempotent)."""
    await wait_for_broker(settings, deadline_s=120)
    admin = admin_client(settings, "straum-worker-admin")
    await admin.start()
    try:
        created = await ensure_topics(admin, TopicCatalogue.from_settings(settings)
                                      .static_topics())
    finally:
        await admin.close()
    if created:
        log.info("topics created", topics=created)


async def serve(settings: Settings) -> None:
    """Run the engine until SIGTERM or SIGINT; the batch in flight commits or aborts first."""
    await prepare(settings)
    catalogue = TopicCatalogue.from_settings(settings)
    actors = ActorRegistry(settings, catalogue)
    reference = ReferenceData(settings)
    await actors.start()
    await reference.start()

    async def unknown_recipients(glns: set[str]) -> set[str]:
        return {gln for gln in glns if not await actors.knows(gln)}

    def clock() -> datetime:
        return datetime.fromtimestamp(time.time() + settings.clock_offset_seconds, UTC)

    engine = Engine(settings, topology(settings, catalogue, reference.industry_codes),
                    group=settings.topic_prefix, dead_letter_topic=catalogue.dead_letters,
                    unknown_recipients=unknown_recipients, clock=clock)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await engine.run(stopping)
    finally:
        await reference.stop()
        await actors.stop()
        log.info("worker stopped")


def run_worker(settings: Settings, metrics_port: int | None) -> None:
    """Run the stream processors until stopped."""
    configure_logging("worker", settings.log_level)
    if metrics_port:
        start_http_server(metrics_port, addr=settings.metrics_host)
    log.info("worker starting", worker_id=settings.worker_id)
    asyncio.run(serve(settings))
