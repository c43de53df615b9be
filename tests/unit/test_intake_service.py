"""The HTTP intake service as a sender sees it, without a broker: the API application on a
small recording stand-in for its Kafka producer (the compacted views are never started).

A valid document becomes one record per series on the intake topic, keyed by metering point,
whose bytes read back (streams/records) as what was sent; the sender is registered with its
role first and the document is marked accepted after its records. The same document again
from the same sender is a ``duplicate`` and produces nothing; a bad document is problem
details with each problem's code and pointer and produces nothing; records the brokers did
not acknowledge are a 503 and the document may be sent again. The service itself
(connectors/http/intake_service.py) says each of these as a typed outcome, which the route
renders; views started on first use are stopped with the app (connectors/http/views.py).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError

from connectors.actors import ActorRegistry
from connectors.http.app import create_app
from connectors.http.auth import issue_dev_token
from connectors.http.documents import DocumentLedger
from connectors.http.intake_service import Result
from connectors.http.queues import QueueStore
from connectors.http.services import Services
from connectors.http.values_body import fast_document
from connectors.http.views import LazyViews
from schemas.settings import Settings
from streams.records import actor, intake_document, master_data
from streams.records import series as intake_series
from tests.helpers import day_series, values_document
from tests.unit.builders import POINT_ID, gln

GRID_OWNER = gln("708000000001")
OTHER_GRID_OWNER = gln("708000000004")
SECOND_POINT = "707057500000000025"


@dataclass
class Sent:
    topic: str
    key: bytes | None
    value: bytes


@dataclass
class RecordingProducer:
    """Stands in for the API's producer: keeps what is sent, in order. A write to a topic in
    ``failing`` ends in a Kafka timeout, as when its partition has too few replicas in sync."""

    sent: list[Sent] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)

    async def send(self, topic: str, value: bytes, key: bytes | None = None,
                   partition: int | None = None) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if topic in self.failing:
            done.set_exception(KafkaTimeoutError())
        else:
            self.sent.append(Sent(topic, key, value))
            done.set_result(None)
        return done

    def to(self, topic: str) -> list[Sent]:
        return [s for s in self.sent if s.topic == topic]


@dataclass
class Api:
    client: httpx.AsyncClient
    services: Services
    producer: RecordingProducer

    async def post(self, path: str, document: dict[str, Any], party: str = GRID_OWNER,
                   role: str = "grid_owner") -> httpx.Response:
        token = issue_dev_token(self.services.settings, party, [role])
        return await self.client.post(path, content=orjson.dumps(document), headers={
            "authorization": f"Bearer {token}", "content-type": "application/json"})


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings)  # its lifespan (which connects to Kafka) is never run
    services: Services = app.state.services
    producer = RecordingProducer()
    kafka = cast(AIOKafkaProducer, producer)
    services.producer = kafka
    services.queues = QueueStore(settings, services.catalogue, kafka)
    services.ledger = DocumentLedger(settings, services.catalogue, kafka)
    services.actors = ActorRegistry(settings, services.catalogue)
    services.ready.set()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://straum.test") as client:
        yield Api(client, services, producer)


def as_instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_a_values_document_becomes_one_record_per_series_keyed_by_point(
        api: Api) -> None:
    document = values_document(day_series(POINT_ID, date(2026, 3, 2)),
                               day_series(SECOND_POINT, date(2026, 3, 2), "PT15M"))
    answer = await api.post("/v1/metering-values", document)
    assert answer.status_code == 202
    assert answer.json() == {"messageId": document["messageId"], "status": "accepted"}

    catalogue = api.services.catalogue
    records = api.producer.to(catalogue.metering_values)
    assert [r.key for r in records] == [POINT_ID.encode(), SECOND_POINT.encode()]
    for record, sent in zip(records, document["series"], strict=True):
        series = intake_series.decode(record.value)
        assert series["messageId"] == document["messageId"]
        assert series["sender"] == GRID_OWNER
        assert series["meteringPointId"] == sent["meteringPointId"]
        assert series["transactionId"] == sent["transactionId"]
        assert series["start"] == as_instant(sent["start"])
        assert series["end"] == as_instant(sent["end"])
        assert series["resolution"] == sent["resolution"]
        assert series["unit"] == "kWh"
        assert series["quantities"] == [p["quantity"] for p in sent["points"]]
        assert series["qualities"] == [p["quality"] for p in sent["points"]]

    # the sender is known with its role before its records; the document is marked accepted
    # only after them, under (sender, messageId), with the body's digest
    assert [s.topic for s in api.producer.sent] == [
        catalogue.actors, catalogue.metering_values, catalogue.metering_values,
        catalogue.intake_documents]
    registration = api.producer.sent[0]
    assert registration.key == GRID_OWNER.encode()
    assert actor.decode_roles(registration.value) == {"grid_owner"}
    mark = api.producer.sent[-1]
    assert mark.key == f"{GRID_OWNER}|{document['messageId']}".encode()
    accepted = intake_document.decode(mark.value)
    assert accepted["documentType"] == "metering-values"
    assert accepted["digest"] == hashlib.sha256(orjson.dumps(document)).hexdigest()


async def test_the_same_document_again_is_a_duplicate_and_produces_nothing(api: Api) -> None:
    document = values_document(day_series(POINT_ID, date(2026, 3, 2)))
    assert (await api.post("/v1/metering-values", document)).status_code == 202
    written = len(api.producer.sent)

    again = await api.post("/v1/metering-values", document)
    assert again.status_code == 200
    assert again.json() == {"messageId": document["messageId"], "status": "duplicate"}
    assert len(api.producer.sent) == written

    # the id is the sender's own: another grid owner may use it
    other = await api.post("/v1/metering-values", document, party=OTHER_GRID_OWNER)
    assert (other.status_code, other.json()["status"]) == (202, "accepted")
    assert [r.key for r in api.producer.to(api.services.catalogue.metering_values)] == [
        POINT_ID.encode(), POINT_ID.encode()]


async def test_a_bad_document_is_problem_details_with_codes_and_pointers(api: Api) -> None:
    good = day_series(POINT_ID, date(2026, 3, 2))
    bad_point = day_series("707057500000000019", date(2026, 3, 2))  # wrong check digit
    twice = {**day_series(SECOND_POINT, date(2026, 3, 3)),
             "transactionId": good["transactionId"]}
    document = values_document(good, bad_point, twice)
    answer = await api.post("/v1/metering-values", document)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert (problem["status"], problem["code"]) == (400, "metering_values.invalid")
    assert [(p["code"], p["pointer"]) for p in problem["problems"]] == [
        ("gsrn.check_digit", "/series/1/meteringPointId"),
        ("series.duplicate_transaction", "/series/2/transactionId")]
    assert api.producer.sent == []

    # nothing was recorded: the corrected document, under the same id, is accepted
    document["series"] = [good]
    assert (await api.post("/v1/metering-values", document)).status_code == 202


async def test_records_the_brokers_did_not_acknowledge_are_a_503_and_may_be_sent_again(
        api: Api) -> None:
    catalogue = api.services.catalogue
    document = values_document(day_series(POINT_ID, date(2026, 3, 2)))
    api.producer.failing = {catalogue.metering_values}
    answer = await api.post("/v1/metering-values", document)
    assert answer.status_code == 503
    assert answer.json()["code"] == "broker.unavailable"
    assert answer.headers["retry-after"] == "5"
    assert api.producer.to(catalogue.intake_documents) == []  # not marked accepted

    api.producer.failing = set()
    again = await api.post("/v1/metering-values", document)
    assert (again.status_code, again.json()["status"]) == (202, "accepted")
    assert len(api.producer.to(catalogue.metering_values)) == 1


async def test_a_master_data_change_becomes_one_record_keyed_by_its_point(api: Api) -> None:
    document = {"messageId": "1b0e6b5e-8a8f-4f4e-9d3c-2f8b8d4c6a10",
                "meteringPointId": POINT_ID, "effectiveFrom": "2026-04-01",
                "consumptionCode": "36"}
    answer = await api.post("/v1/master-data", document)
    assert answer.status_code == 202
    [record] = api.producer.to(api.services.catalogue.master_data)
    assert record.key == POINT_ID.encode()
    event = master_data.decode(record.value)
    assert (event["messageId"], event["sender"], event["senderRole"]) == (
        document["messageId"], GRID_OWNER, "grid_owner")
    assert master_data.document_kind(event) == "ChangeOfCharacteristics"
    fields = event["document"][1]
    assert fields["effectiveFrom"] == date(2026, 4, 1)
    assert fields["consumptionCode"] == "36" and fields["priceArea"] is None


async def test_the_service_says_how_each_document_ended_as_a_typed_outcome(api: Api) -> None:
    intake, catalogue = api.services.intake, api.services.catalogue
    document = values_document(day_series(POINT_ID, date(2026, 3, 2)),
                               day_series(SECOND_POINT, date(2026, 3, 2)))
    values = fast_document(document)
    assert values is not None
    body = orjson.dumps(document)

    accepted = await intake.submit(intake.metering_values(values, GRID_OWNER, body))
    assert (accepted.result, accepted.message_id, accepted.records) == (
        Result.ACCEPTED, document["messageId"], 2)
    assert len(api.producer.to(catalogue.metering_values)) == 2

    again = await intake.submit(intake.metering_values(values, GRID_OWNER, body))
    assert again.result is Result.DUPLICATE
    assert len(api.producer.to(catalogue.metering_values)) == 2

    bad = fast_document(values_document(day_series("707057500000000019", date(2026, 3, 2))))
    assert bad is not None
    invalid = await intake.submit(intake.metering_values(bad, GRID_OWNER, b"{}"))
    assert invalid.result is Result.INVALID
    assert invalid.refusal is not None and invalid.refusal.code == "metering_values.invalid"
    assert [(p["code"], p["pointer"]) for p in invalid.problems] == [
        ("gsrn.check_digit", "/series/0/meteringPointId")]
    assert len(api.producer.to(catalogue.metering_values)) == 2

    api.producer.failing = {catalogue.metering_values}
    fresh = fast_document(values_document(day_series(POINT_ID, date(2026, 3, 3))))
    assert fresh is not None
    unavailable = await intake.submit(intake.metering_values(fresh, GRID_OWNER, b"{}"))
    assert unavailable.result is Result.UNAVAILABLE
    assert "in-sync replicas" in unavailable.detail
    assert api.producer.to(catalogue.intake_documents)[-1].key == (
        f"{GRID_OWNER}|{document['messageId']}".encode())  # the failed one is not marked


async def test_a_bulk_is_written_as_its_documents_and_answers_each(api: Api) -> None:
    def registration(message_id: str, point: str) -> dict[str, Any]:
        return {"messageId": message_id, "meteringPointId": point, "gridArea": "10YNO-1--------2",
                "priceArea": "NO1", "type": "consumption", "resolution": "PT1H",
                "validFrom": "2026-04-01"}

    first = "1b0e6b5e-8a8f-4f4e-9d3c-2f8b8d4c6a11"
    answer = await api.post("/v1/metering-points/bulk",
                            {"documents": [registration(first, POINT_ID)]})
    assert answer.status_code == 202, answer.text
    second = "1b0e6b5e-8a8f-4f4e-9d3c-2f8b8d4c6a12"
    answer = await api.post("/v1/metering-points/bulk", {"documents": [
        registration(first, POINT_ID), registration(second, SECOND_POINT)]})
    assert answer.status_code == 202
    assert [d["status"] for d in answer.json()["documents"]] == ["duplicate", "accepted"]
    records = api.producer.to(api.services.catalogue.master_data)
    assert [r.key for r in records] == [POINT_ID.encode(), SECOND_POINT.encode()]

    bad = await api.post("/v1/metering-points/bulk", {"documents": [
        registration("1b0e6b5e-8a8f-4f4e-9d3c-2f8b8d4c6a13", "707057500000000019")]})
    assert bad.status_code == 400
    assert [p["pointer"] for p in bad.json()["problems"]] == ["/documents/0/meteringPointId"]


@dataclass
class CountedView:
    """Stands in for a CompactedView: counts its starts and stops."""

    fail: bool = False
    starts: int = 0
    stops: int = 0

    async def start(self) -> None:
        self.starts += 1
        await asyncio.sleep(0)
        if self.fail:
            raise KafkaTimeoutError()

    async def stop(self) -> None:
        self.stops += 1


async def test_views_start_once_on_first_use_and_stop_with_the_app() -> None:
    views = LazyViews()
    made: list[CountedView] = []

    def make(fail: bool = False) -> Any:
        made.append(CountedView(fail))
        return made[-1]

    first, second = await asyncio.gather(views.get("a", make), views.get("a", make))
    assert first is second and len(made) == 1 and made[0].starts == 1

    with pytest.raises(KafkaTimeoutError):
        await views.get("b", lambda: make(fail=True))
    retried = await views.get("b", make)  # a failed start is tried again
    assert retried is made[-1] and retried.starts == 1

    await views.stop()
    assert [v.stops for v in made] == [1, 0, 1]
