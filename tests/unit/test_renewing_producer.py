"""The API's producer replaces a client that can never send again (its sender task ended with
OutOfOrderSequenceNumber after a broker restart, say) instead of answering 503 to every write
until the process restarts. A stand-in client: the real failure needs a broker to misbehave."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, OutOfOrderSequenceNumber

from streams.kafka import RenewingProducer


class Client:
    """Records what was sent; ``broken`` makes every send fail as a dead sender task does."""

    def __init__(self, broken: BaseException | None = None, fail_future: bool = False) -> None:
        self.broken, self.fail_future = broken, fail_future
        self.sent: list[tuple[str, bytes | None]] = []
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, topic: str, value: bytes | None = None, **_: Any) -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if self.broken is not None and not self.fail_future:
            raise self.broken
        if self.broken is not None:
            future.set_exception(self.broken)
        else:
            self.sent.append((topic, value))
            future.set_result(f"{topic}@{len(self.sent) - 1}")
        return future


def producer_over(*clients: Client) -> tuple[RenewingProducer, list[Client]]:
    made: list[Client] = []
    queue = list(clients)

    def make() -> Any:
        made.append(queue.pop(0))
        return made[-1]

    return RenewingProducer(make), made


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_client_broken_for_good_is_replaced_and_the_next_write_goes_through() -> None:
    producer, made = producer_over(Client(OutOfOrderSequenceNumber()), Client())
    await producer.start()
    with pytest.raises(OutOfOrderSequenceNumber):  # this request fails: the caller gets 503
        await producer.send_and_wait("positions", b"a")
    await settle()
    assert await producer.send_and_wait("positions", b"b") == "positions@0"
    assert made[1].sent == [("positions", b"b")]
    assert made[0].stopped and made[1].started and producer.renewals == 1


async def test_a_write_whose_delivery_reports_the_fault_renews_the_client_too() -> None:
    producer, made = producer_over(Client(OutOfOrderSequenceNumber(), fail_future=True),
                                   Client())
    await producer.start()
    with pytest.raises(OutOfOrderSequenceNumber):
        await producer.send_and_wait("positions", b"a")
    await settle()
    assert await producer.send_and_wait("positions", b"b") == "positions@0"
    assert made[1].sent == [("positions", b"b")] and producer.renewals == 1


async def test_many_writes_failing_at_once_replace_the_client_once() -> None:
    producer, made = producer_over(Client(OutOfOrderSequenceNumber()), Client(), Client())
    await producer.start()
    results = await asyncio.gather(*(producer.send_and_wait("q", b"x") for _ in range(5)),
                                   return_exceptions=True)
    assert all(isinstance(r, OutOfOrderSequenceNumber) for r in results)
    await settle()
    assert len(made) == 2 and producer.renewals == 1


async def test_a_passing_fault_keeps_the_client() -> None:
    """A lost connection is retried by the client itself; nothing is replaced."""
    producer, made = producer_over(Client(KafkaConnectionError()), Client())
    await producer.start()
    with pytest.raises(KafkaConnectionError):
        await producer.send_and_wait("q", b"x")
    await settle()
    assert len(made) == 1 and producer.renewals == 0
