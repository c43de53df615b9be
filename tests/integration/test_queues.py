"""Actor queues on the real broker: order across transactions, isolation, and an API process
killed while actors poll."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from connectors.broker.embedded import free_port
from domain.messages import Outbound, outbound_message_id
from streams.kafka import ensure_topics
from streams.records import queue_message
from streams.serialisation import ACTOR, codec
from streams.topics import Queue, TopicCatalogue
from tests.helpers import gln
from tests.integration.conftest import Straum


def ack_message(recipient: str, n: int, tag: str) -> Outbound:
    return Outbound(
        message_id=outbound_message_id(f"{tag}-{n}", recipient, "Acknowledgement"),
        recipient=recipient, queue="market-processes", document_type="Acknowledgement",
        payload_type="Acknowledgement",
        payload={"originalMessageId": f"{tag}-{n}", "originalDocumentType": "Test",
                 "status": "accepted", "reasons": []},
        created_at=datetime.now(UTC))


async def enqueue(straum: Straum, bootstrap: str, recipient: str, count: int, tag: str
                  ) -> list[str]:
    """Append ``count`` messages to ``recipient``'s queue as the processors do: in Kafka
    transactions (a few messages each, so the queue's offsets hold transaction markers), one
    of them aborted, which no poll may ever show."""
    catalogue = TopicCatalogue.from_settings(straum.settings)
    queue = catalogue.queue_spec(recipient, Queue.MARKET_PROCESSES)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await ensure_topics(admin, [queue])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"test-{tag}",
                                linger_ms=20)
    await producer.start()
    key = f"{recipient}|market-processes".encode()
    try:
        async with producer.transaction():
            await producer.send(catalogue.actors, codec(ACTOR).encode(
                {"roles": ["supplier"], "registeredAt": datetime.now(UTC)}),
                key=recipient.encode(), partition=0)
        await producer.begin_transaction()
        await producer.send(queue.name, b'{"messageId": "aborted"}', key=key, partition=0)
        await producer.abort_transaction()
        ids = []
        for first in range(0, count, 7):
            async with producer.transaction():
                for n in range(first, min(count, first + 7)):
                    message = ack_message(recipient, n, tag)
                    ids.append(message.message_id)
                    await producer.send(queue.name, queue_message.render(message), key=key,
                                        partition=0)
        return ids
    finally:
        await producer.stop()


def drain(client: httpx.Client, expected: int, timeout: float = 120.0, max_: int = 500
          ) -> list[str]:
    ids: list[str] = []
    deadline = time.monotonic() + timeout
    while len(ids) < expected and time.monotonic() < deadline:
        response = client.post("/v1/queues/market-processes/poll", params={"max": max_})
        if response.status_code == 204:
            time.sleep(0.2)
            continue
        body = response.json()
        ids.extend(m["messageId"] for m in body["messages"])
        assert client.post("/v1/queues/market-processes/ack",
                           json={"pollId": body["pollId"]}).status_code == 200
    return ids


def test_order_is_kept_across_ten_thousand_messages(straum: Straum,
                                                          kafka_bootstrap: str) -> None:
    actor = gln()
    sent = asyncio.run(enqueue(straum, kafka_bootstrap, actor, 10_000, "order"))
    client = straum.client(actor, "supplier")
    assert drain(client, len(sent)) == sent
    assert client.post("/v1/queues/market-processes/poll").status_code == 204
    overview = client.get("/v1/queues").json()["queues"]
    assert {q["queue"]: q["depth"] for q in overview} == {"metering-values": 0,
                                                          "market-processes": 0}


def test_two_actors_never_see_or_acknowledge_each_others_messages(
        straum: Straum, kafka_bootstrap: str) -> None:
    alice, bob = gln(), gln()
    alice_ids = asyncio.run(enqueue(straum, kafka_bootstrap, alice, 5, "alice"))
    bob_ids = asyncio.run(enqueue(straum, kafka_bootstrap, bob, 3, "bob"))
    a, b = straum.client(alice, "supplier"), straum.client(bob, "third_party")
    deadline = time.monotonic() + 30
    while (first := a.post("/v1/queues/market-processes/poll", params={"max": 5})
           ).status_code == 204 or len(first.json()["messages"]) < 5:
        assert time.monotonic() < deadline
        if first.status_code == 200:
            a.post("/v1/queues/market-processes/ack", json={"pollId": first.json()["pollId"]})
            alice_ids = alice_ids[len(first.json()["messages"]):]
        time.sleep(0.2)
    alice_poll = first.json()
    # Bob cannot acknowledge Alice's poll, and learns nothing about it.
    refused = b.post("/v1/queues/market-processes/ack", json={"pollId": alice_poll["pollId"]})
    assert refused.status_code == 404
    assert alice_poll["pollId"] not in refused.text
    # Alice's poll is still open, unchanged.
    assert a.post("/v1/queues/market-processes/poll", params={"max": 5}).json() == alice_poll
    assert [m["messageId"] for m in alice_poll["messages"]] == alice_ids
    assert drain(b, 3) == bob_ids


def test_api_killed_while_polling_loses_nothing(straum: Straum,
                                                      kafka_bootstrap: str) -> None:
    actor = gln()
    sent = asyncio.run(enqueue(straum, kafka_bootstrap, actor, 3000, "kill"))
    port = free_port()
    second = straum.start("api-killed", "api", "--port", str(port))
    headers = {"Authorization": f"Bearer {straum.token(actor, 'supplier')}"}
    doomed = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30)
    deadline = time.monotonic() + 60
    while True:
        try:
            if doomed.get("/readyz").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.3)
    # Wait until the queue holds everything, take one poll and leave it unacknowledged.
    survivor = straum.client(actor, "supplier")
    while survivor.get("/v1/queues").json()["queues"][1]["depth"] < len(sent):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    taken = doomed.post("/v1/queues/market-processes/poll", params={"max": 500}).json()
    # Then kill the API process in the middle of a large poll.
    in_flight = threading.Thread(target=lambda: _ignore_errors(
        lambda: doomed.post("/v1/queues/market-processes/poll", params={"max": 2000})))
    in_flight.start()
    time.sleep(0.05)
    second.send_signal(signal.SIGKILL)
    second.wait()
    straum.processes.pop("api-killed")
    in_flight.join()
    # The other API process hands out the open poll again, then everything else, in order.
    again = survivor.post("/v1/queues/market-processes/poll", params={"max": 500}).json()
    assert again["messages"][0]["messageId"] == taken["messages"][0]["messageId"]
    delivered = [m["messageId"] for m in again["messages"]]
    survivor.post("/v1/queues/market-processes/ack", json={"pollId": again["pollId"]})
    delivered += drain(survivor, len(sent) - len(delivered))
    assert delivered == sent


def _ignore_errors(call: Any) -> None:
    with contextlib.suppress(httpx.HTTPError):
        call()


def test_api_processes_racing_on_one_queue_agree(straum: Straum, kafka_bootstrap: str) -> None:
    """Two API processes on one port (``straum api --processes 2``) and four clients of one
    actor polling and acknowledging at once, each request on a new connection so the kernel
    spreads them: one pollId never stands for two sets of messages, no acknowledgement of a
    poll handed out is refused, and every message comes in order, none lost."""
    actor = gln()
    sent = asyncio.run(enqueue(straum, kafka_bootstrap, actor, 1500, "race"))
    port = free_port()
    straum.start_with_env("api-pair", {"STRAUM_API_PROCESSES": "2"}, "api", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    straum.wait_ready(base_url=base)
    headers = {"Authorization": f"Bearer {straum.token(actor, 'supplier')}"}
    polls: dict[str, list[str]] = {}
    refused: list[str] = []
    lock = threading.Lock()

    def call(path: str, **kwargs: Any) -> httpx.Response:
        """On a new connection; a 503 (the queue's process is still starting) is tried
        again, as a client does on Retry-After."""
        while True:
            with httpx.Client(base_url=base, headers=headers, timeout=30) as fresh:
                response = fresh.post(path, **kwargs)
            if response.status_code != 503:
                return response
            time.sleep(float(response.headers.get("Retry-After", "1")))

    def client() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            response = call("/v1/queues/market-processes/poll", params={"max": 100})
            if response.status_code == 204:
                return
            body = response.json()
            ids = [m["messageId"] for m in body["messages"]]
            with lock:
                assert polls.setdefault(body["pollId"], ids) == ids, "one pollId, two answers"
            ack = call("/v1/queues/market-processes/ack", json={"pollId": body["pollId"]})
            if ack.status_code != 200:
                with lock:
                    refused.append(f"{body['pollId']}: {ack.status_code} {ack.text}")

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    straum.stop("api-pair")
    assert refused == []
    delivered = [i for ids in polls.values() for i in ids]
    assert sorted(set(delivered)) == sorted(sent)
    assert sorted(polls.values(), key=lambda ids: sent.index(ids[0])) == [
        sent[i:i + 100] for i in range(0, len(sent), 100)]
