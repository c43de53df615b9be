"""A light chaos test for ``make test``: the worker is killed with SIGKILL while about 100
series flow in, and started again; every series answered 202 still reaches its supplier and
its grid owner, and a series that comes twice comes with the same message id.

The heavy version (five kills, a broker restart, a frozen worker, a killed API process) is
``python -m bench.chaos``; this test shares its verdict (``bench.chaos.judge``).
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx

from bench.chaos import Pair, expected_deliveries, judge, master_data_processed
from connectors.simulator import (
    DevClients,
    MeteringPointPlan,
    oslo_today,
    plan_population,
    register,
    series_for,
)
from tests.integration.conftest import Straum, start_straum

# The killed worker's group membership lingers until its session times out (Faust's default
# is 60 s) before the restarted worker gets the partitions; a shorter session keeps this test
# short. What is tested, that nothing is lost, does not depend on it.
QUICK_REJOIN = {"BROKER_SESSION_TIMEOUT": "10", "BROKER_HEARTBEAT_INTERVAL": "1",
                "BROKER_REBALANCE_TIMEOUT": "10"}
QUEUE = "metering-values"


def post(client: httpx.Client, body: dict[str, object]) -> int:
    """POST a values document, retrying connection errors and 5xx (same messageId: safe)."""
    content = json.dumps(body).encode()
    for _ in range(20):
        try:
            response = client.post("/v1/metering-values", content=content,
                                   headers={"Content-Type": "application/json"})
        except httpx.TransportError:
            time.sleep(0.5)
            continue
        if response.status_code < 500 and response.status_code != 429:
            return response.status_code
        time.sleep(0.5)
    return 0


def drain_once(client: httpx.Client, party: str,
               deliveries: dict[Pair, list[str]]) -> int:
    """One poll of ``party``'s queue, recorded and acknowledged; the number of messages."""
    response = client.post(f"/v1/queues/{QUEUE}/poll", params={"max": 500})
    if response.status_code == 204:
        return 0
    response.raise_for_status()
    body = response.json()
    for message in body["messages"]:
        deliveries.setdefault((message["payload"]["transactionId"], party), []).append(
            message["messageId"])
    client.post(f"/v1/queues/{QUEUE}/ack", json={"pollId": body["pollId"]}).raise_for_status()
    return len(body["messages"])


def test_a_worker_killed_mid_load_loses_nothing(kafka_bootstrap: str,
                                                session_dir: Path) -> None:
    straum = start_straum(kafka_bootstrap, session_dir / "chaos", partitions=3,
                          extra_env=QUICK_REJOIN)
    try:
        run(straum)
    finally:
        for name in list(straum.processes):
            straum.stop(name)


def run(straum: Straum) -> None:
    population = plan_population(random.randrange(10**9), 10, 2, 3, third_parties=0)
    today = oslo_today()
    supply_start = today - timedelta(days=12)
    days = [today - timedelta(days=d) for d in range(10, 0, -1)]  # 10 points × 10 days

    async def register_all() -> None:
        async with DevClients(straum.base_url, straum.settings) as clients:
            done = await register(population, clients, supply_start=supply_start,
                                  concurrency=8, settle_timeout=60, quiet=True)
        assert done.errors == done.rejected == 0 and done.settled, (
            done.error_samples + done.rejection_samples)
        # Every registration and start of supply processed before the first value is sent.
        await master_data_processed(straum.settings.kafka_bootstrap or "", 60,
                                    straum.settings.topic_prefix, 3)

    asyncio.run(register_all())
    owners = {g: straum.client(g, "grid_owner") for g in population.grid_owners}
    documents: list[tuple[str, list[MeteringPointPlan], date]] = [
        (owner, points[i:i + 2], day)
        for day in days for owner, points in population.points_of_grid_owner().items()
        for i in range(0, len(points), 2)]

    expected: dict[Pair, str] = {}
    killed_at = len(documents) // 3
    for n, (owner, points, day) in enumerate(documents):
        if n == killed_at:  # kill -9 mid-load, start again two seconds later
            straum.processes["worker"].send_signal(signal.SIGKILL)
            straum.processes["worker"].wait()
            time.sleep(2)
            straum.start("worker", "worker")
        series = [series_for(p, day, population.seed) for p in points]
        status = post(owners[owner], {"messageId": str(uuid.uuid4()), "series": series})
        assert status == 202, f"document {n} answered {status}"
        for s, p in zip(series, points, strict=True):
            expected |= expected_deliveries(p, day, supply_start, s["transactionId"],
                                            len(s["points"]))
        time.sleep(0.08)
    assert len({tx for tx, _ in expected}) == 100

    recipients = [(s, "supplier") for s in population.suppliers] + [
        (g, "grid_owner") for g in population.grid_owners]
    clients = {party: straum.client(party, role) for party, role in recipients}
    deliveries: dict[Pair, list[str]] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = sum(drain_once(client, party, deliveries) for party, client in clients.items())
        if not got and all(pair in deliveries for pair in expected):
            break
        if not got:
            time.sleep(0.5)
    time.sleep(1)  # late redeliveries are counted too
    for party, client in clients.items():
        drain_once(client, party, deliveries)

    verdict = judge(expected, deliveries)
    assert verdict.lost == [], (f"{len(verdict.lost)} of {verdict.expected} deliveries lost, "
                                f"e.g. {verdict.lost[:3]}; see {straum.log_dir}/worker.log")
    assert verdict.wrong_id == [], f"duplicates under another message id: {verdict.wrong_id}"
    assert verdict.delivered == verdict.expected == 200
    assert not [pair for pair in deliveries if pair not in expected], "unexpected deliveries"
