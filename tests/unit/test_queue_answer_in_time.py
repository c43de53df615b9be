"""A poll or acknowledgement the cluster does not answer becomes a KafkaError (503), in time."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaTimeoutError

from connectors.http import queues


async def test_an_unanswered_poll_is_given_up_as_a_broker_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queues, "ANSWER_WITHIN_S", 0.01)
    with pytest.raises(KafkaTimeoutError, match="did not answer the poll"):
        async with queues._answer_in_time("poll"):
            await asyncio.Event().wait()  # a broker that never answers


async def test_an_answered_poll_passes_through_untouched() -> None:
    async with queues._answer_in_time("poll"):
        answer = await asyncio.sleep(0, result="answered")
    assert answer == "answered"
