"""The worker process: the Faust app with every processor, after the topics exist."""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import start_http_server

from connectors.kafka import admin_client, ensure_topics, wait_for_broker
from straum.logging import configure_logging, get_logger
from straum.settings import Settings
from streams.topics import TopicCatalogue


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
        get_logger(__name__).info("topics created", topics=created)


def run_worker(settings: Settings, metrics_port: int | None) -> None:
    """Run the stream processors until stopped (SIGTERM/SIGINT stop Faust cleanly)."""
    configure_logging("worker", settings.log_level)
    asyncio.run(prepare(settings))
    if metrics_port:
        start_http_server(metrics_port, addr=settings.metrics_host)
    from faust import Worker

    import processors  # noqa: F401  registers the agents on the app
    from streams.app import app

    app.conf.loghandlers = list(logging.getLogger().handlers)
    worker = Worker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False,
                    override_logging=False)
    get_logger(__name__).info("worker starting", bootstrap=app.conf.broker[0].host)
    worker.execute_from_commandline()
