"""The intake service: one document in, one typed outcome out.

Every intake route (metering values, the master-data documents, their bulk forms, moving,
shared production) hands its document here as a :class:`Submission`: the structural problems
its route found, the topic and how to encode the records. The service takes the same steps
for each, in this order:

1. **validate**: any problem, and the outcome is ``invalid`` (nothing written);
2. **encode** the records (only a valid document costs its encoding);
3. **register the actor** with the document's role (durable before any of its records, so the
   queue writer always knows a recipient derived from them);
4. **de-duplicate** on (sender, messageId) across every API process (connectors/http/documents);
5. **produce** the records and wait until all in-sync replicas have them.

A ``202`` is only ever answered once every record is durable: a write not acknowledged within
``intake_write_timeout_seconds`` is the ``unavailable`` outcome (503, send again). The route
renders the outcome and counts it (connectors/http/intake_answers.py); nothing here knows HTTP
responses.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from connectors.actors import ActorRegistry
from connectors.http.documents import Document, DocumentLedger
from connectors.http.intake import master_data_record, series_problems, series_records
from connectors.http.values_body import ValuesIn
from schemas.settings import Settings
from streams.logging import get_logger
from streams.topics import TopicCatalogue

log = get_logger(__name__)
T = TypeVar("T")

Problems = list[dict[str, str]]
Record = tuple[bytes, bytes]
Records = list[Record]

ROLE_OF_DOCUMENT = {"metering-values": "grid_owner", "metering-points": "grid_owner",
                    "start-of-supply": "supplier", "master-data": "grid_owner",
                    "customer-information": "supplier", "third-party-access": "third_party",
                    "access-approval": "operator", "move-in": "supplier",
                    "move-out": "supplier", "shared-production": "grid_owner"}
"""The role a sender is registered with by the document it sends."""


class Result(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Refusal:
    """What a document's problems are called when it is refused (its problem type)."""

    code: str
    title: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one intake document (or of a bulk of them)."""

    document_type: str
    message_id: str
    result: Result
    records: int = 0
    #: invalid: the problems, each with its code and pointer, and what they are called
    problems: Problems = field(default_factory=list)
    refusal: Refusal | None = None
    #: unavailable: why the records are not known to be durable
    detail: str = ""
    #: a bulk: per document, its message id and whether it was accepted (False: duplicate)
    documents: list[tuple[str, bool]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Submission:
    """One document as its route checked it: the problems found, and how to encode it."""

    document_type: str
    sender: str
    message_id: str
    body: bytes  # as sent: its digest is kept with the accepted message id
    topic: str
    refusal: Refusal
    problems: Problems
    #: the records, once the document is known valid (a coroutine when it must look up
    #: something first, such as a grant's point)
    encode: Callable[[], Records | Awaitable[Records]]


@dataclass(frozen=True, slots=True)
class BulkSubmission:
    """Many documents of one type from one sender, checked as a whole."""

    document_type: str
    sender: str
    topic: str
    refusal: Refusal
    problems: Problems
    documents: Callable[[], Sequence[Document]]


class IntakeParts(Protocol):
    """The parts of the API process the service writes with (each a 503 until connected)."""

    settings: Settings
    catalogue: TopicCatalogue

    def ready_producer(self) -> AIOKafkaProducer: ...

    def ready_ledger(self) -> DocumentLedger: ...

    def ready_actors(self) -> ActorRegistry: ...


METERING_VALUES_REFUSAL = Refusal("metering_values.invalid",
                                  "The metering values are not valid")


async def send_all(producer: AIOKafkaProducer, topic: str, records: Records) -> None:
    """Produce and wait until every record is durable."""
    futures = [await producer.send(topic, value, key=key) for key, value in records]
    await asyncio.gather(*futures)


class IntakeService:
    """Validate, encode, register the actor, de-duplicate, produce: see the module."""

    def __init__(self, parts: IntakeParts) -> None:
        self.parts = parts

    def metering_values(self, document: ValuesIn, sender: str, body: bytes) -> Submission:
        """A metering-values document as a submission: its series' problems, and one record
        per series."""
        return Submission("metering-values", sender, document.message_id, body,
                          self.parts.catalogue.metering_values, METERING_VALUES_REFUSAL,
                          series_problems(document), lambda: series_records(document, sender))

    def master_data(self, *, document_type: str, sender: str, message_id: str,
                    metering_point_id: str, record_type: str, body: bytes, refusal: Refusal,
                    problems: Problems,
                    fields: dict[str, Any] | Callable[[], Awaitable[dict[str, Any]]]
                    ) -> Submission:
        """A master-data document (``record_type`` of MasterDataEvent's union) as a
        submission: one record keyed by its point, sent with the role its type implies.
        ``fields`` may be a coroutine function when they need a look-up (made only for a
        valid document)."""
        role = ROLE_OF_DOCUMENT[document_type]

        async def encode() -> Records:
            document = fields if isinstance(fields, dict) else await fields()
            return [master_data_record(message_id=message_id, sender=sender, sender_role=role,
                                       metering_point_id=metering_point_id,
                                       document_type=record_type, document=document)]

        return Submission(document_type, sender, message_id, body,
                          self.parts.catalogue.master_data, refusal, problems, encode)

    async def submit(self, submission: Submission) -> Outcome:
        """The outcome of one document (a 503 Problem if Kafka is not connected yet)."""
        s = submission
        if s.problems:
            return Outcome(s.document_type, s.message_id, Result.INVALID,
                           problems=s.problems, refusal=s.refusal)
        producer, ledger, actors = self._parts()
        encoded = s.encode()
        records = await encoded if inspect.isawaitable(encoded) else encoded
        role = ROLE_OF_DOCUMENT[s.document_type]

        async def write() -> bool:
            await actors.register(producer, s.sender, role)
            return await ledger.accept_once(s.sender, s.message_id, s.document_type, s.body,
                                            lambda: send_all(producer, s.topic, records))

        accepted = await self._durably(write(), s.document_type, s.sender)
        if accepted is None:
            return self._unavailable(s.document_type, s.message_id)
        result = Result.ACCEPTED if accepted else Result.DUPLICATE
        # accepted documents at debug: one line per document is most of the log at full
        # intake (a duplicate, rarer and worth seeing, at info)
        (log.debug if accepted else log.info)(
            "intake document", document_type=s.document_type, message_id=s.message_id,
            actor=s.sender, records=len(records), status=str(result))
        return Outcome(s.document_type, s.message_id, result, records=len(records))

    async def submit_all(self, bulk: BulkSubmission) -> Outcome:
        """The outcome of a bulk: every document written as if it had come alone, in one
        round of writes; accepted when at least one document was new."""
        if bulk.problems:
            return Outcome(bulk.document_type, "", Result.INVALID, problems=bulk.problems,
                           refusal=bulk.refusal)
        producer, ledger, actors = self._parts()
        documents = bulk.documents()
        role = ROLE_OF_DOCUMENT[bulk.document_type]

        async def write() -> list[bool]:
            await actors.register(producer, bulk.sender, role)
            return await ledger.accept_all_once(bulk.sender, bulk.topic, documents)

        written = await self._durably(write(), bulk.document_type, bulk.sender)
        if written is None:
            return self._unavailable(bulk.document_type, "")
        return Outcome(bulk.document_type, "",
                       Result.ACCEPTED if any(written) else Result.DUPLICATE,
                       records=sum(len(d.records) for d, new in zip(documents, written,
                                                                    strict=True) if new),
                       documents=[(d.message_id, new)
                                  for d, new in zip(documents, written, strict=True)])

    def _parts(self) -> tuple[AIOKafkaProducer, DocumentLedger, ActorRegistry]:
        parts = self.parts
        return parts.ready_producer(), parts.ready_ledger(), parts.ready_actors()

    async def _durably(self, write: Awaitable[T], document_type: str,
                       sender: str) -> T | None:
        """``write``'s result once Kafka has acknowledged it; None when it was not in time.

        A broker lost means leaders being elected or too few replicas in sync (the
        idempotent producer would retry for ever): then the outcome is ``unavailable``
        within the deadline, the document is not recorded as accepted, and a resend is
        processed (at most once, by content)."""
        try:
            return await asyncio.wait_for(write, self.parts.settings.intake_write_timeout_seconds)
        except (TimeoutError, KafkaError) as exc:
            log.warning("intake not durable; answered 503", document_type=document_type,
                        actor=sender, error_type=type(exc).__name__)
            return None

    def _unavailable(self, document_type: str, message_id: str) -> Outcome:
        timeout = self.parts.settings.intake_write_timeout_seconds
        return Outcome(document_type, message_id, Result.UNAVAILABLE, detail=(
            f"the records were not acknowledged by enough in-sync replicas within "
            f"{timeout:g} s"))
