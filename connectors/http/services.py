"""What the API process holds while it runs, and how it connects to Kafka."""

from __future__ import annotations

import asyncio
import pathlib
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka.errors import KafkaError
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
from domain.problem_codes import Code
from schemas.api import (
    Accepted,
)
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
T = TypeVar("T")

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
    503: {"description": "Not accepted: the brokers could not make the records durable in "
                         "time (a broker lost, too few in-sync replicas); send the same "
                         "document again after Retry-After seconds"},
}
#: Seconds a sender is asked to wait after a 503: about one leader election.
RETRY_AFTER_S = 5


def not_durable(detail: str) -> Problem:
    """The answer when intake's records are not known to be durable: 503, never 202."""
    return Problem(503, Code.BROKER_UNAVAILABLE, "The message broker cannot take the document "
                   "now", detail, headers={"Retry-After": str(RETRY_AFTER_S)})
REQUEST_SECONDS = Histogram("straum_http_request_duration_seconds", "HTTP request time",
                            ["route", "method"])


@dataclass
class Services:
    """What the API holds while it runs; Kafka parts appear once the broker answers."""

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

    def kafka(self) -> tuple[RenewingProducer, QueueStore, DocumentLedger]:
        if (self.producer is None or self.queues is None or self.ledger is None
                or not self.ready.is_set()):
            raise Problem(503, Code.BROKER_UNAVAILABLE, "The message broker is not reachable yet",
                          headers={"Retry-After": "2"})
        return self.producer, self.queues, self.ledger

    async def durably(self, write: Awaitable[T], document_type: str, sender: str) -> T:
        """``write``'s result once Kafka has acknowledged it, or 503 with Retry-After.

        A 202 only once every record is acknowledged by the in-sync replicas (acks=all,
        min.insync.replicas 2 on a cluster). A broker lost means leaders being elected or too
        few replicas in sync (the idempotent producer would retry for ever): then the answer
        is 503 within the deadline, the document is not recorded as accepted, and a resend is
        processed (at most once, by content)."""
        try:
            return await asyncio.wait_for(write, self.settings.intake_write_timeout_seconds)
        except (TimeoutError, KafkaError) as exc:
            INTAKE.labels(document_type, "unavailable").inc()
            log.warning("intake not durable; answered 503", document_type=document_type,
                        actor=sender, error_type=type(exc).__name__)
            raise not_durable(
                f"the records were not acknowledged by enough in-sync replicas within "
                f"{self.settings.intake_write_timeout_seconds:g} s") from exc

    async def intake(self, request: Request, who: Caller, document_type: str, message_id: str,
                     topic: str, records: list[tuple[bytes, bytes]]) -> JSONResponse:
        """Write an intake document's records durably, once per (sender, messageId)."""
        producer, _, ledger = self.kafka()
        assert self.actors is not None
        body = await request.body()
        actors = self.actors
        role = ROLE_OF_DOCUMENT[document_type]

        async def write() -> bool:
            await actors.register(producer, who.party, role)
            return await ledger.accept_once(who.party, message_id, document_type, body,
                                            lambda: send_all(producer, topic, records))

        accepted = await self.durably(write(), document_type, who.party)
        status = "accepted" if accepted else "duplicate"
        INTAKE.labels(document_type, status).inc()
        # accepted documents at debug: one line per document is most of the log at full
        # intake (a duplicate, rarer and worth seeing, at info)
        (log.debug if accepted else log.info)(
            "intake document", document_type=document_type, message_id=message_id,
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

