"""What the API process holds while it runs, and how it connects to Kafka."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prometheus_client import Histogram

from connectors.actors import ActorRegistry
from connectors.http.auth import TokenVerifier
from connectors.http.documents import DocumentLedger
from connectors.http.intake_service import IntakeService
from connectors.http.ops import OpsView
from connectors.http.problems import Problem
from connectors.http.queues import QueueStore
from connectors.http.ratelimit import RateLimiter
from connectors.http.views import LazyViews
from domain.problem_codes import Code
from schemas.settings import Settings
from streams.kafka import (
    RenewingProducer,
    admin_client,
    durable_producer,
    ensure_topics,
    wait_for_broker,
)
from streams.logging import get_logger
from streams.topics import TopicCatalogue

log = get_logger(__name__)
P = TypeVar("P")

#: Seconds a sender is asked to wait after a 503: about one leader election.
RETRY_AFTER_S = 5


def not_durable(detail: str) -> Problem:
    """The answer when intake's records are not known to be durable: 503, never 202."""
    return Problem(503, Code.BROKER_UNAVAILABLE, "The message broker cannot take the document "
                   "now", detail, headers={"Retry-After": str(RETRY_AFTER_S)})
REQUEST_SECONDS = Histogram("straum_http_request_duration_seconds", "HTTP request time",
                            ["route", "method"])


def not_connected() -> Problem:
    """The answer while the API has not reached Kafka yet (after a start, a broker lost)."""
    return Problem(503, Code.BROKER_UNAVAILABLE, "The message broker is not reachable yet",
                   headers={"Retry-After": "2"})


@dataclass
class Services:
    """What the API holds while it runs; Kafka parts appear once the broker answers.

    Each part is asked for on its own (``ready_producer()``, ``ready_ledger()``, ...; the
    route dependencies of connectors/http/deps.py), a 503 until the process is connected.
    Views only some routes need are started on first use and stopped with the app
    (``views``)."""

    settings: Settings
    catalogue: TopicCatalogue
    verifier: TokenVerifier
    producer: RenewingProducer | None = None
    queues: QueueStore | None = None
    ledger: DocumentLedger | None = None
    actors: ActorRegistry | None = None
    ops: OpsView | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    processors_seen: float = 0.0
    rate_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0, 1))
    views: LazyViews = field(default_factory=LazyViews)
    intake: IntakeService = field(init=False)

    def __post_init__(self) -> None:
        self.intake = IntakeService(self)

    def _ready(self, part: P | None) -> P:
        if part is None or not self.ready.is_set():
            raise not_connected()
        return part

    def ready_producer(self) -> RenewingProducer:
        return self._ready(self.producer)

    def ready_queues(self) -> QueueStore:
        return self._ready(self.queues)

    def ready_ledger(self) -> DocumentLedger:
        return self._ready(self.ledger)

    def ready_actors(self) -> ActorRegistry:
        return self._ready(self.actors)

    def ready_ops(self) -> OpsView:
        return self._ready(self.ops)

    async def stop(self) -> None:
        """Stop every part started, the producer last (the others may still write)."""
        await self.views.stop()
        for part in (self.queues, self.ledger, self.actors, self.ops):
            if part is not None:
                await part.stop()


async def _connect(services: Services) -> None:
    settings = services.settings
    while True:
        try:
            await wait_for_broker(settings, deadline_s=30)
            admin = admin_client(settings, "straum-api-admin")
            await admin.start()
            try:
                await ensure_topics(admin, services.catalogue.static_topics())
            finally:
                await admin.close()
            # no linger: a request waits for its own write; under load records batch anyway
            # while the previous batch of a partition is in flight
            producer = RenewingProducer(
                lambda: durable_producer(settings, "straum-api", linger_ms=0))
            await producer.start()
            queues = QueueStore(settings, services.catalogue, producer)
            await queues.start()
            ledger = DocumentLedger(settings, services.catalogue, producer)
            await ledger.start()
            actors = ActorRegistry(settings, services.catalogue)
            await actors.start()
            services.actors = actors
            ops = OpsView(settings, services.catalogue)
            await ops.start()
            services.ops = ops
            services.producer, services.queues, services.ledger = producer, queues, ledger
            services.ready.set()
            log.info("api connected to kafka")
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # broker down: keep trying; /readyz says 503 meanwhile
            log.warning("api cannot reach kafka yet", error=str(exc))
            await asyncio.sleep(2)


def _jsonable(value: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(value)


async def _processors_assigned(services: Services) -> bool:
    """True when the stream processors' consumer group has members (cached for 5 s)."""
    if time.monotonic() - services.processors_seen < 5:
        return True
    admin = admin_client(services.settings, "straum-api-readyz")
    try:
        await admin.start()
        described = await admin.describe_consumer_groups([services.settings.topic_prefix])
        for response in described:
            for group in response.groups:
                state, members = group[2], group[5]
                if state == "Stable" and members:
                    services.processors_seen = time.monotonic()
                    return True
        return False
    except Exception:  # an unreachable broker means not ready, never a crash
        return False
    finally:
        await admin.close()

