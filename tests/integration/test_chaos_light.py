"""Light chaos tests for ``make test``: the worker dies while about 100 series flow in, and is
started again; every series answered 202 reaches its supplier and its grid owner exactly once.

Two ways to die: ``kill -9`` at a moment the test does not control, and, deterministically, in
the middle of a transaction, after the batch's queue records and its state (the series marked
as forwarded) were sent and before the commit (``STRAUM_FAULT_EXIT_BEFORE_COMMIT``). The second
is the race of issue 21: a series marked as forwarded whose outputs never arrived.

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
from collections.abc import Callable
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


def test_a_worker_killed_mid_load_loses_nothing_and_repeats_nothing(
        kafka_bootstrap: str, session_dir: Path) -> None:
    straum = start_straum(kafka_bootstrap, session_dir / "chaos", partitions=3)
    try:
        run(straum, kill_mid_load)
    finally:
        straum.stop_all()


def test_a_worker_dying_between_its_outputs_and_the_commit_delivers_everything_once(
        kafka_bootstrap: str, session_dir: Path) -> None:
    straum = start_straum(kafka_bootstrap, session_dir / "chaos-commit", partitions=3)
    try:
        run(straum, die_before_a_commit)
    finally:
        straum.stop_all()


def kill_mid_load(straum: Straum, n: int, total: int) -> None:
    """kill -9 a third of the way in, start again two seconds later."""
    if n == total // 3:
        straum.processes["worker"].send_signal(signal.SIGKILL)
        straum.processes["worker"].wait()
        time.sleep(2)
        straum.start("worker", "worker")


def die_before_a_commit(straum: Straum, n: int, total: int) -> None:
    """Before the values, a worker that dies in its fourth transaction, with outputs and state
    sent and not committed; when it is gone, a normal worker again."""
    worker = straum.processes["worker"]
    if n == 0:
        straum.stop("worker")
        straum.start_with_env("worker", {"STRAUM_FAULT_EXIT_BEFORE_COMMIT": "4"}, "worker")
    elif worker.poll() is not None:
        assert worker.returncode == 137, f"worker exited with {worker.returncode}"
        straum.processes.pop("worker")
        straum.start("worker", "worker")
    if n == total:
        log = (straum.log_dir / "worker.log").read_text()
        assert "fault injection: exiting before commit" in log, "the fault never struck"


def run(straum: Straum, fault: Callable[[Straum, int, int], None]) -> None:
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
    for n, (owner, points, day) in enumerate(documents):
        fault(straum, n, len(documents))
        series = [series_for(p, day, population.seed) for p in points]
        status = post(owners[owner], {"messageId": str(uuid.uuid4()), "series": series})
        assert status == 202, f"document {n} answered {status}"
        for s, p in zip(series, points, strict=True):
            expected |= expected_deliveries(p, day, supply_start, s["transactionId"],
                                            len(s["points"]))
        time.sleep(0.08)
    fault(straum, len(documents), len(documents))
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
    assert verdict.duplicated == [], f"delivered twice: {verdict.duplicated[:3]}"
    assert verdict.delivered == verdict.expected == 200
    assert not [pair for pair in deliveries if pair not in expected], "unexpected deliveries"
