"""Scale-out on one broker: two workers and two API processes share 12 partitions; when one
worker is killed the other takes over its partitions with their state, and nothing is lost."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from connectors.broker.embedded import free_port
from domain.series import HUB_TIMEZONE
from streams.kafka import admin_client
from tests.helpers import (
    day_series,
    drain,
    gln,
    gsrn,
    register_point,
    start_of_supply,
    values_document,
)
from tests.integration.conftest import Straum, start_straum


@pytest.fixture(scope="module")
def cluster(kafka_bootstrap: str, session_dir: Path) -> Iterator[tuple[Straum, str]]:
    straum = start_straum(kafka_bootstrap, session_dir / "scale", partitions=12)
    second_api = free_port()
    straum.start("worker-2", "worker")
    straum.start("api-2", "api", "--port", str(second_api))
    straum.wait_ready(base_url=f"http://127.0.0.1:{second_api}")
    try:
        yield straum, f"http://127.0.0.1:{second_api}"
    finally:
        straum.stop_all()


async def members(straum: Straum) -> int:
    admin = admin_client(straum.settings, "scale-test")
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([straum.settings.topic_prefix])
        group = response.groups[0]
        return len(group[5]) if group[2] == "Stable" else 0
    finally:
        await admin.close()


def wait_for_members(straum: Straum, count: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while asyncio.run(members(straum)) != count:
        assert time.monotonic() < deadline, f"the group never had {count} stable members"
        time.sleep(1)


def test_a_killed_worker_hands_its_partitions_and_state_to_the_other(
        cluster: tuple[Straum, str]) -> None:
    straum, other_api = cluster
    wait_for_members(straum, 2)
    today = datetime.now(HUB_TIMEZONE).date()
    owner, supplier_id = gln(), gln()
    go = straum.client(owner, "grid_owner")
    supplier = straum.client(supplier_id, "supplier")
    # The second API process takes half of the traffic.
    go2 = httpx.Client(base_url=other_api, headers=dict(go.headers), timeout=30)
    points = [gsrn() for _ in range(24)]  # spread over the 12 partitions
    for i, point in enumerate(points):
        client = go if i % 2 else go2
        assert client.post("/v1/metering-points", json=register_point(point)).status_code == 202
    for point in points:
        assert supplier.post("/v1/start-of-supply",
                             json=start_of_supply(point, today - timedelta(days=3))
                             ).status_code == 202
    # Confirmations come in the order the partitions are processed, not the order sent.
    confirmed: set[str] = set()
    deadline = time.monotonic() + 90
    while confirmed != set(points):
        assert time.monotonic() < deadline, f"{len(confirmed)} of {len(points)} confirmed"
        confirmed |= {m["payload"]["meteringPointId"]
                      for m in drain(supplier, "market-processes", settle=1)
                      if m["documentType"] == "ConfirmStartOfSupply"}
    before = [day_series(p, today - timedelta(days=2)) for p in points]
    assert go.post("/v1/metering-values", json=values_document(*before)).status_code == 202
    first = drain(supplier, "metering-values")
    assert len(first) == len(points)
    first_ids = {m["messageId"] for m in first}

    doomed = straum.processes.pop("worker-2")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    wait_for_members(straum, 1)

    # Every point's state survived: series for all 24 points are routed to their supplier.
    after = [day_series(p, today - timedelta(days=1)) for p in points]
    assert go2.post("/v1/metering-values", json=values_document(*after)).status_code == 202
    delivered = drain(supplier, "metering-values", settle=5)
    ids_of: dict[str, set[str]] = {}
    for message in delivered:
        ids_of.setdefault(message["payload"]["transactionId"], set()).add(message["messageId"])
    assert set(ids_of) >= {s["transactionId"] for s in after}  # nothing lost
    assert all(len(ids) == 1 for ids in ids_of.values())  # a repeat keeps its message id
    # At least once: the killed worker's last uncommitted work is done again; anything it had
    # already delivered comes again under the same message id, for the supplier to de-duplicate.
    repeated = {i for tx, ids in ids_of.items() for i in ids
                if tx not in {s["transactionId"] for s in after}}
    assert repeated <= first_ids
