"""What the API process holds while it runs, and how it connects to Kafka."""

from __future__ import annotations

import asyncio
import pathlib
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from fastapi import Request
from fastapi.responses import JSONResponse
from prometheus_client import Counter, Histogram

from connectors.actors import ActorRegistry
from connectors.http.auth import Caller, TokenVerifier
from connectors.http.documents import DocumentLedger
from connectors.http.intake import send_all
from connectors.http.ops import OpsView
from connectors.http.problems import Problem
from connectors.http.queues import QueueStore
from connectors.http.ratelimit import RateLimiter
from schemas.api import (
    Accepted,
)
from straum.logging import get_logger
from straum.settings import Settings
from streams.kafka import admin_client, durable_producer, ensure_topics, wait_for_broker
from streams.topics import TopicCatalogue

log = get_logger(__name__)

INTAKE = Counter("straum_intake_documents_total", "Intake documents", ["document", "result"])
INTAKE_SERIES = Counter("straum_intake_series_total", "Series accepted at intake")
OPS_PAGE = pathlib.Path(__file__).resolve().parent / "static" / "ops.html"
ROLE_OF_DOCUMENT = {"metering-values": "grid_owner", "metering-points": "grid_owner",
                    "start-of-supply": "supplier", "master-data": "grid_owner",
                    "customer-information": "supplier", "third-party-access": "third_party",
                    "access-approval": "operator", "move-in": "supplier",
                    "move-out": "supplier", "shared-production": "grid_owner"}
INTAKE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A message id this sender already used: nothing is processed twice",
          "model": Accepted},
    400: {"description": "Structural problems, each with a code and a JSON pointer"},
    413: {"description": "Body over the size limit"},
}
REQUEST_SECONDS = Histogram("straum_http_request_duration_seconds", "HTTP request time",
                            ["route", "method"])


@dataclass
class Services:
    """What the API holds while it runs; Kafka parts appear once the broker answers."""

    settings: Settings
    catalogue: TopicCatalogue
    verifier: TokenVerifier
    producer: AIOKafkaProducer | None = None
    queues: QueueStore | None = None
    ledger: DocumentLedger | None = None
    actors: ActorRegistry | None = None
    ops: OpsView | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    processors_seen: float = 0.0
    rate_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0, 1))

    def kafka(self) -> tuple[AIOKafkaProducer, QueueStore, DocumentLedger]:
        if (self.producer is None or self.queues is None or self.ledger is None
                or not self.ready.is_set()):
            raise Problem(503, "broker.unavailable", "The message broker is not reachable yet",
                          headers={"Retry-After": "2"})
        return self.producer, self.queues, self.ledger

    async def intake(self, request: Request, who: Caller, document_type: str, message_id: str,
                     topic: str, records: list[tuple[bytes, bytes]]) -> JSONResponse:
        """Write an intake document's records durably, once per (sender, messageId)."""
        producer, _, ledger = self.kafka()
        assert self.actors is not None
        await self.actors.register(producer, who.party, ROLE_OF_DOCUMENT[document_type])
        body = await request.body()
        accepted = await ledger.accept_once(who.party, message_id, document_type, body,
                                            lambda: send_all(producer, topic, records))
        status = "accepted" if accepted else "duplicate"
        INTAKE.labels(document_type, status).inc()
        log.info("intake document", document_type=document_type, message_id=message_id,
                 actor=who.party, records=len(records), status=status)
        return JSONResponse({"messageId": message_id, "status": status},
                            status_code=202 if accepted else 200)


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
            producer = durable_producer(settings, "straum-api")
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

