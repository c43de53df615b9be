"""The example market-actor client against a real straum: poll, store durably, acknowledge, and
de-duplicate redeliveries on messageId."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from connectors.market_client import MarketClient, run_poll_loop, store_message
from tests.helpers import (
    day_series,
    today,
    values_document,
)
from tests.integration.conftest import Straum, point_with_supplier

QUEUE = "metering-values"


def supplied_point_with_three_days(straum: Straum) -> tuple[str, list[str]]:
    """A supplier, and the transactionIds of three days of values sent for its point once
    they are all in its queue (so a poll loop that exits when idle cannot leave early)."""
    point, go, su, supplier = point_with_supplier(straum, today() - timedelta(days=5))

    transactions = []
    for days_ago in (4, 3, 2):
        series = day_series(point, today() - timedelta(days=days_ago))
        response = go.post("/v1/metering-values", json=values_document(series))
        assert response.status_code == 202, response.text
        transactions.append(series["transactionId"])
    wait_for_depth(su, QUEUE, 3)
    return supplier, transactions


def wait_for_depth(client: httpx.Client, queue: str, depth: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        response = client.get("/v1/queues")
        response.raise_for_status()
        seen = {q["queue"]: q["depth"] for q in response.json()["queues"]}.get(queue)
        if seen == depth:
            return
        time.sleep(0.3)
    raise AssertionError(f"{queue} has depth {seen}, not {depth}, after {timeout}s")


def stored(store_dir: Path) -> dict[str, dict[str, Any]]:
    """The stored messages by file name (without .json)."""
    return {path.stem: json.loads(path.read_text()) for path in store_dir.glob("*.json")}


def test_poll_loop_stores_each_message_once_then_nothing_more(straum: Straum,
                                                              tmp_path: Path) -> None:
    supplier, transactions = supplied_point_with_three_days(straum)
    token = straum.token(supplier, "supplier")
    inbox = tmp_path / "inbox"

    assert run_poll_loop(straum.base_url, token, QUEUE, inbox, stop_after=None,
                         idle_exit_seconds=3) == 3
    files = stored(inbox)
    assert len(files) == 3
    assert sorted(m["payload"]["transactionId"] for m in files.values()) == sorted(transactions)
    assert all(name == m["messageId"] for name, m in files.items())
    assert not list(inbox.glob(".*.tmp"))

    # Everything was acknowledged: a second run finds nothing new.
    assert run_poll_loop(straum.base_url, token, QUEUE, inbox, stop_after=None,
                         idle_exit_seconds=3) == 0
    assert stored(inbox) == files


def test_a_poll_delivered_twice_is_stored_once(straum: Straum, tmp_path: Path) -> None:
    supplier, transactions = supplied_point_with_three_days(straum)
    token = straum.token(supplier, "supplier")
    inbox = tmp_path / "inbox"
    inbox.mkdir()

    # An earlier run polled, stored the first message, and crashed before acknowledging.
    with MarketClient(straum.base_url, token) as client:
        first = client.poll(QUEUE, 100)
        assert first is not None
        assert len(first.messages) == 3
        assert store_message(inbox, first.messages[0])
        # Not acknowledged, so the same poll is delivered again, to the loop below.
        again = client.poll(QUEUE, 100)
        assert again == first

    assert run_poll_loop(straum.base_url, token, QUEUE, inbox, stop_after=None,
                         idle_exit_seconds=3) == 2
    files = stored(inbox)
    assert sorted(files) == sorted(m["messageId"] for m in first.messages)
    assert sorted(m["payload"]["transactionId"] for m in files.values()) == sorted(transactions)

    with MarketClient(straum.base_url, token) as client:
        # The loop acknowledged that very poll, and the queue is empty.
        assert client.ack(QUEUE, first.poll_id) == "already_acknowledged"
        assert client.poll(QUEUE, 100) is None


def test_stop_after_stops_once_enough_new_messages_are_stored(straum: Straum,
                                                              tmp_path: Path) -> None:
    supplier, _ = supplied_point_with_three_days(straum)
    token = straum.token(supplier, "supplier")
    inbox = tmp_path / "inbox"
    # One message per poll, so the loop stops after the first acknowledged poll.
    assert run_poll_loop(straum.base_url, token, QUEUE, inbox, stop_after=1,
                         idle_exit_seconds=30, max_per_poll=1) == 1
    assert len(stored(inbox)) == 1
    assert run_poll_loop(straum.base_url, token, QUEUE, inbox, stop_after=None,
                         idle_exit_seconds=3) == 2
    assert len(stored(inbox)) == 3
