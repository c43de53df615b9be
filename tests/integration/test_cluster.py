"""Three brokers on one machine: every topic kept three times, a broker killed under load, a
node whose disk is lost rejoining; nothing lost, nothing delivered twice.

The session's three-node cluster (``kafka_cluster``: the code of ``STRAUM_KAFKA_NODES=3``) runs
a worker, an API and a monitor. One scenario, run once for the module, sends metering values
while ``kill -9`` takes the node that leads a supplier's queue with messages waiting in it
(polls meet the dead leader before the controller fences it), polls all the way through,
watches the monitor's alert and the /ops page in a real browser, then starts the node again;
the tests below each check one thing it saw. Figures at scale (three kills, a rolling restart,
a wiped node, a controller lost) come from ``make chaos NODES=3``.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from bench.chaos import Pair, Verdict, expected_deliveries, judge, master_data_processed
from connectors.broker.cluster import EmbeddedCluster
from connectors.http.queues import READERS, QueueStore
from connectors.ops.observer import read_replication
from connectors.simulator import (
    DevClients,
    MeteringPointPlan,
    oslo_today,
    plan_population,
    register,
    series_for,
)
from domain.replication import ReplicationState
from schemas.settings import Settings
from streams.kafka import durable_producer
from streams.topics import Queue, TopicCatalogue
from tests.helpers import gln
from tests.integration.conftest import Straum, start_straum

QUEUE = "metering-values"
OPERATOR = "7080005051286"
MONITOR = {"STRAUM_MONITOR_INTERVAL_SECONDS": "1", "STRAUM_HEARTBEAT_INTERVAL_SECONDS": "2",
           "STRAUM_HEARTBEAT_STALE_SECONDS": "8", "STRAUM_MONITOR_STARTUP_GRACE_SECONDS": "5"}
PARTITIONS = 3


def replication(bootstrap: str) -> ReplicationState:
    return asyncio.run(read_replication(Settings(kafka_bootstrap=bootstrap)))


def wait_until(predicate: Any, timeout: float, what: str) -> float:
    """Poll ``predicate`` until it holds; when it did (monotonic seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def fully_replicated(bootstrap: str) -> bool:
    state = replication(bootstrap)
    return state.brokers == 3 and state.healthy


@pytest.fixture(scope="module")
def on_cluster(kafka_cluster: EmbeddedCluster, session_dir: Path) -> Iterator[Straum]:
    """Worker, API and monitor on the three nodes, every topic with three replicas."""
    straum = start_straum(kafka_cluster.bootstrap, session_dir / "cluster",
                          partitions=PARTITIONS,
                          extra_env={"STRAUM_REPLICATION_FACTOR": "3", **MONITOR}, monitor=True)
    try:
        yield straum
    finally:
        straum.stop_all()


@dataclass
class Outage:
    """What the scenario saw, for the tests to judge."""

    killed: int = 0
    killed_at: float = 0.0
    back_at: float = 0.0
    intake: list[tuple[float, int, str | None]] = field(default_factory=list)
    answers: list[list[int]] = field(default_factory=list)  # per document, in order
    polls: list[tuple[float, int, int]] = field(default_factory=list)  # at, status, messages
    alert_fired_at: float | None = None
    alert_resolved_at: float | None = None
    replicated_at: float | None = None
    page: str = ""
    verdict: Verdict = field(default_factory=Verdict)
    unexpected: list[Pair] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # transaction ids
    pids_before: dict[str, int] = field(default_factory=dict)


def send(client: httpx.Client, body: dict[str, Any], seen: Outage) -> None:
    """POST a values document as a careful sender does: after a 503, the same document again
    once Retry-After has passed, until it is accepted."""
    content = json.dumps(body).encode()
    deadline = time.monotonic() + 120
    seen.answers.append([])
    while time.monotonic() < deadline:
        response = client.post("/v1/metering-values", content=content,
                               headers={"Content-Type": "application/json"})
        seen.intake.append((time.monotonic(), response.status_code,
                            response.headers.get("Retry-After")))
        seen.answers[-1].append(response.status_code)
        if response.status_code in (200, 202):
            return
        assert response.status_code == 503, f"intake answered {response.status_code}: " \
                                             f"{response.text[:300]}"
        time.sleep(float(response.headers.get("Retry-After") or 1))
    raise AssertionError("a document was never accepted")


class Poller:
    """Every recipient's queue polled and acknowledged in a loop, each answer recorded."""

    def __init__(self, clients: dict[str, httpx.Client], seen: Outage) -> None:
        self.clients = clients
        self.seen = seen
        self.deliveries: dict[Pair, list[str]] = {}
        self.stop = threading.Event()
        self.running = threading.Event()
        self.running.set()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            if not self.running.wait(0.2):
                continue
            got = 0
            for party, client in self.clients.items():
                got += self.once(party, client)
            if not got:
                self.stop.wait(0.3)

    def once(self, party: str, client: httpx.Client) -> int:
        try:
            response = client.post(f"/v1/queues/{QUEUE}/poll", params={"max": 500})
        except httpx.TransportError:
            self.seen.polls.append((time.monotonic(), 0, 0))
            return 0
        if response.status_code != 200:
            self.seen.polls.append((time.monotonic(), response.status_code, 0))
            return 0
        body = response.json()
        for message in body["messages"]:
            self.deliveries.setdefault((message["payload"]["transactionId"], party),
                                       []).append(message["messageId"])
        self.seen.polls.append((time.monotonic(), 200, len(body["messages"])))
        try:
            ack = client.post(f"/v1/queues/{QUEUE}/ack", json={"pollId": body["pollId"]})
            self.seen.polls.append((time.monotonic(), ack.status_code, 0))
        except httpx.TransportError:
            self.seen.polls.append((time.monotonic(), 0, 0))
        return len(body["messages"])


def firing(straum: Straum, name: str) -> bool:
    alerts = straum.client(OPERATOR, "operator").get("/v1/ops/alerts").json()["alerts"]
    return any(a["name"] == name and a["state"] == "firing" for a in alerts)


def resolved(straum: Straum, name: str) -> bool:
    alerts = straum.client(OPERATOR, "operator").get("/v1/ops/alerts").json()["alerts"]
    mine = [a for a in alerts if a["name"] == name]
    return bool(mine) and all(a["state"] == "resolved" for a in mine)


def ops_page(straum: Straum, directory: Path) -> str:
    """/ops as headless Chromium renders it (as test_monitoring's page test does)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is needed: make test installs Debian's chromium package"
    token = straum.token(OPERATOR, "operator")
    return subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={directory / 'chromium'}",
         "--virtual-time-budget=6000", "--dump-dom", f"{straum.base_url}/ops#token={token}"],
        capture_output=True, text=True, timeout=90, check=True).stdout


def leader_of(bootstrap: str, topic: str) -> int:
    state = asyncio.run(_describe(bootstrap, topic))
    return int(next(p["leader"] for p in state if p["partition"] == 0))


def waiting(client: httpx.Client) -> int:
    """Messages waiting in the caller's metering-values queue."""
    queues = client.get("/v1/queues").json()["queues"]
    return int(next(q["depth"] for q in queues if q["queue"] == QUEUE))


async def _describe(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
        return list(described[0]["partitions"])
    finally:
        await admin.close()


@pytest.fixture(scope="module")
def outage(on_cluster: Straum, kafka_cluster: EmbeddedCluster,
           tmp_path_factory: pytest.TempPathFactory) -> Outage:
    """The scenario: values sent and polled throughout; the intake leader killed after a
    third, started again once the monitor has raised its alert and /ops was looked at."""
    straum, seen = on_cluster, Outage()
    bootstrap = kafka_cluster.bootstrap
    seen.pids_before = {name: p.pid for name, p in straum.processes.items()}
    population = plan_population(random.randrange(10**9), 10, 2, 3, third_parties=0)
    today = oslo_today()
    supply_start = today - timedelta(days=12)

    async def register_all() -> None:
        async with DevClients(straum.base_url, straum.settings) as clients:
            done = await register(population, clients, supply_start=supply_start,
                                  concurrency=8, settle_timeout=60, quiet=True)
        assert done.errors == done.rejected == 0 and done.settled, (
            done.error_samples + done.rejection_samples)
        await master_data_processed(bootstrap, 60, straum.settings.topic_prefix, PARTITIONS)

    asyncio.run(register_all())
    owners = {g: straum.client(g, "grid_owner") for g in population.grid_owners}
    documents: list[tuple[str, list[MeteringPointPlan], date]] = [
        (owner, points[i:i + 2], today - timedelta(days=d))
        for d in range(10, 0, -1) for owner, points in population.points_of_grid_owner().items()
        for i in range(0, len(points), 2)]
    recipients = [(s, "supplier") for s in population.suppliers] + [
        (g, "grid_owner") for g in population.grid_owners]
    poller = Poller({party: straum.client(party, role) for party, role in recipients}, seen)
    poller.thread.start()
    expected: dict[Pair, str] = {}

    def send_documents(part: list[tuple[str, list[MeteringPointPlan], date]]) -> None:
        for owner, points, day in part:
            series = [series_for(p, day, population.seed) for p in points]
            send(owners[owner], {"messageId": str(uuid.uuid4()), "series": series}, seen)
            for s, p in zip(series, points, strict=True):
                seen.sent.append(s["transactionId"])
                expected.update(expected_deliveries(p, day, supply_start, s["transactionId"],
                                                    len(s["points"])))

    third = len(documents) // 3
    try:
        send_documents(documents[:third - 3])
        # Polls must meet the dead node while it still leads: with messages waiting in a
        # queue it leads, polls stopped meanwhile and started again right after the kill.
        poller.running.clear()
        send_documents(documents[third - 3:third])
        supplier = documents[third - 1][1][0].supplier
        wait_until(lambda: waiting(poller.clients[supplier]) > 0, 60, "messages waiting")
        seen.killed = leader_of(
            bootstrap, f"{straum.settings.topic_prefix}.queue.{supplier}.{QUEUE}")
        kafka_cluster.kill_node(seen.killed)
        seen.killed_at = time.monotonic()
        poller.running.set()
        send_documents(documents[third:2 * third])
        seen.alert_fired_at = wait_until(lambda: firing(straum, "UnderReplicatedPartitions"),
                                         90, "the under-replication alert")
        seen.page = ops_page(straum, tmp_path_factory.mktemp("ops-page"))
        kafka_cluster.launch_node(seen.killed, detach=False)
        kafka_cluster.node(seen.killed).wait_ready(120)
        seen.back_at = time.monotonic()
        send_documents(documents[2 * third:])
        seen.replicated_at = wait_until(lambda: fully_replicated(bootstrap), 120,
                                        "every partition fully replicated again")
        seen.alert_resolved_at = wait_until(
            lambda: resolved(straum, "UnderReplicatedPartitions"), 60, "the alert to resolve")
        wait_until(lambda: all(pair in poller.deliveries for pair in expected), 90,
                   "every series delivered")
        time.sleep(1)  # a late second delivery is counted too
    finally:
        poller.stop.set()
        poller.thread.join()
        if kafka_cluster.node(seen.killed).read_info() is None and seen.killed:
            kafka_cluster.launch_node(seen.killed, detach=False)
            kafka_cluster.node(seen.killed).wait_ready(120)
    for party, client in poller.clients.items():
        poller.once(party, client)
    seen.verdict = judge(expected, poller.deliveries)
    seen.unexpected = [pair for pair in poller.deliveries if pair not in expected]
    return seen


def test_every_topic_is_kept_three_times_and_needs_two_in_sync(
        on_cluster: Straum, kafka_cluster: EmbeddedCluster) -> None:
    """straum's topics and Kafka's own (consumer offsets, transaction state) alike."""

    async def look() -> tuple[dict[str, set[int]], dict[str, str]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_cluster.bootstrap)
        await admin.start()
        try:
            topics = await admin.describe_topics()
            copies = {t["topic"]: {len(p["replicas"]) for p in t["partitions"]} for t in topics}
            mine = [t for t in copies if t.startswith(on_cluster.settings.topic_prefix)
                    or t in ("__consumer_offsets", "__transaction_state")]
            answers = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, t) for t in mine])
            min_isr = {}
            for answer in answers:
                for resource in answer.resources:
                    name, entries = resource[3], resource[4]
                    min_isr[name] = next(e[1] for e in entries
                                         if e[0] == "min.insync.replicas")
            return {t: copies[t] for t in mine}, min_isr
        finally:
            await admin.close()

    copies, min_isr = asyncio.run(look())
    assert {"__consumer_offsets", "__transaction_state",
            f"{on_cluster.settings.topic_prefix}.metering-values.intake"} <= set(copies)
    assert len(copies) > 15
    assert {t: c for t, c in copies.items() if c != {3}} == {}
    assert {t: v for t, v in min_isr.items() if v != "2"} == {}


def test_intake_while_a_broker_is_down_is_durable_or_503_with_retry_after(
        outage: Outage) -> None:
    # A document is answered 503 until it is accepted: 202, or 200 when a write that had
    # not been acknowledged in time completed after all (it is durable, and not written again)
    for answers in outage.answers:
        *before, last = answers
        assert set(before) <= {503} and last in (202, 200), answers
        assert last == 202 or before, answers
    assert all(retry for _, status, retry in outage.intake if status == 503)
    during = [s for at, s, _ in outage.intake if outage.killed_at <= at <= outage.back_at]
    assert 202 in during, "nothing was accepted while one broker was down"
    assert len(outage.sent) == 100


def test_polls_keep_working_while_a_broker_is_down(outage: Outage) -> None:
    during = [(s, n) for at, s, n in outage.polls if outage.killed_at <= at <= outage.back_at]
    assert {s for s, _ in during} <= {200, 204, 503}, during
    assert sum(n for s, n in during if s == 200) > 0, "no message was polled during the outage"


def test_a_broker_killed_under_load_loses_nothing_and_delivers_nothing_twice(
        outage: Outage) -> None:
    verdict = outage.verdict
    assert verdict.lost == [], f"{len(verdict.lost)} of {verdict.expected} lost"
    assert verdict.wrong_id == [] and verdict.duplicated == []
    assert verdict.delivered == verdict.expected == 200
    assert outage.unexpected == []


def test_worker_and_monitor_carried_on_without_a_restart(outage: Outage,
                                                         on_cluster: Straum) -> None:
    for name in ("worker", "monitor", "api"):
        process = on_cluster.processes[name]
        assert process.poll() is None and process.pid == outage.pids_before[name], name
    lag = on_cluster.client(OPERATOR, "operator").get("/v1/ops/lag").json()
    assert not lag["stale"] and lag["replication"]["brokers"] == 3


def test_the_under_replication_alert_fires_within_a_minute_and_resolves(
        outage: Outage) -> None:
    assert outage.alert_fired_at is not None and outage.alert_resolved_at is not None
    assert outage.alert_fired_at - outage.killed_at <= 60
    assert outage.replicated_at is not None
    assert outage.alert_resolved_at >= outage.replicated_at >= outage.back_at


def test_the_ops_page_shows_the_lost_broker_in_a_real_browser(outage: Outage) -> None:
    page = outage.page

    def shown(element_id: str) -> str:
        match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', page)
        assert match, f"#{element_id} not on the page"
        return match.group(1)

    assert shown("kafka-brokers") == "2"
    assert int(shown("under-replicated").replace(",", "")) > 0
    assert shown("offline-partitions") == "0"
    alerts = page.split('id="alerts"')[1].split("</tbody>")[0]
    assert re.search(r'<td class="warning">firing</td><td>UnderReplicatedPartitions</td>', alerts)
    replicas = page.split('id="replicas"')[1].split("</tbody>")[0]
    assert "__consumer_offsets" in replicas or "intake" in replicas
    assert "Cannot read" not in shown("error")


def test_a_wiped_node_rejoins_and_the_cluster_keeps_every_record(
        outage: Outage, on_cluster: Straum, kafka_cluster: EmbeddedCluster) -> None:
    """A node's disk lost: formatted anew, it fetches every replica from the others and is
    back in sync everywhere; then another node may go and every record is still there."""
    bootstrap = kafka_cluster.bootstrap
    victim = 3 if outage.killed != 3 else 2
    other = next(n for n in (1, 2, 3) if n not in (victim, outage.killed))
    node = kafka_cluster.node(victim)
    kafka_cluster.kill_node(victim)  # the machine lost, with its disk
    kafka_cluster.wipe_node(victim)
    assert not node.log_dir.exists()
    kafka_cluster.launch_node(victim, detach=False)
    node.wait_ready(120)
    wait_until(lambda: fully_replicated(bootstrap), 120, "the wiped node back in sync")
    state = replication(bootstrap)
    assert state.partitions > 50 and not state.under_replicated

    settings = Settings(_env_file=None, kafka_bootstrap=bootstrap,
                        topic_prefix=on_cluster.settings.topic_prefix, replication_factor=3)
    actor = gln()
    asyncio.run(waiting_queue(settings, actor, leader=other, followers=[victim, outage.killed]))
    loop = asyncio.new_event_loop()  # the store's clients live on it across the steps
    store = loop.run_until_complete(open_store(settings))
    loop.run_until_complete(every_reader_reads(store, actor))
    store.lose_leader = lambda: kafka_cluster.kill_node(other)
    try:
        # The leader dies between a poll's offset lookup and its read (as in the first
        # cluster chaos run). The poll answers the five messages once a new leader serves
        # them, or 503 (a KafkaError here) until then; never an empty or short answer,
        # which skipped the messages for good.
        answers = loop.run_until_complete(poll_through_the_loss(store, actor))
        assert kafka_cluster.node(other).read_info() is None, "the leader was not lost"
        assert answers[-1] == 5, answers
        assert all(a == "unavailable" for a in answers[:-1]), answers
        topic = f"{on_cluster.settings.topic_prefix}.metering-values.intake"
        found = asyncio.run(transaction_ids(bootstrap, topic))
        assert set(outage.sent) <= found
    finally:
        loop.run_until_complete(close_store(store))
        loop.close()
        kafka_cluster.launch_node(other, detach=False)
        kafka_cluster.node(other).wait_ready(120)
    wait_until(lambda: fully_replicated(bootstrap), 120, "every node back in sync")


async def waiting_queue(settings: Settings, actor: str, leader: int, followers: list[int]
                        ) -> None:
    """An actor's queue led by ``leader`` with five messages waiting in it."""
    catalogue = TopicCatalogue.from_settings(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    producer = durable_producer(settings, "test-queue-writer")
    await producer.start()
    try:
        topic = catalogue.queue_topic(actor, Queue.METERING_VALUES)
        await admin.create_topics([NewTopic(topic, -1, -1, replica_assignments={
            0: [leader, *followers]}, topic_configs={"min.insync.replicas": "2"})])
        for n in range(5):
            await producer.send_and_wait(topic, json.dumps({"n": n}).encode(), partition=0)
    finally:
        await producer.stop()
        await admin.close()


class LeaderLostMidPoll(QueueStore):
    """The API's queue store, with the queue's leader lost right after a poll looked up the
    queue's offsets (once): the moment the first cluster chaos run hit by chance."""

    lose_leader: Callable[[], None] | None = None

    async def _offsets(self, tp: TopicPartition) -> tuple[int, int]:
        found = await super()._offsets(tp)
        if self.lose_leader is not None:
            self.lose_leader()
            self.lose_leader = None
        return found


async def open_store(settings: Settings) -> LeaderLostMidPoll:
    """A queue store as the API holds one: its readers' metadata taken now."""
    producer = durable_producer(settings, "test-queue-store")
    await producer.start()
    store = LeaderLostMidPoll(settings, TopicCatalogue.from_settings(settings), producer)
    await store.start()
    return store


async def every_reader_reads(store: QueueStore, actor: str) -> None:
    """Each of the store's pooled readers reads the queue once (from its leader), as they do
    when polls come often: then none of them asks the cluster again who leads it."""
    tp = TopicPartition(store.catalogue.queue_topic(actor, Queue.METERING_VALUES), 0)
    for _ in range(READERS):
        records, _ = await store._read(tp, 0, 5, 1)
        assert len(records) == 1


async def close_store(store: QueueStore) -> None:
    await store.stop()
    await store.producer.stop()


async def poll_through_the_loss(store: QueueStore, actor: str) -> list[Any]:
    """Poll until the messages come: 'unavailable' for each poll answered 503."""
    answers: list[Any] = []
    for _ in range(12):
        try:
            polled = await store.poll(actor, Queue.METERING_VALUES, 100)
        except KafkaError:
            answers.append("unavailable")
            await asyncio.sleep(1)
            continue
        answers.append(0 if polled is None else len(polled[1]))
        break
    return answers


async def transaction_ids(bootstrap: str, topic: str) -> set[str]:
    """Every series' transaction id in the metering-values intake, read committed."""
    from streams.serialisation import METERING_VALUE_SERIES, codec

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                isolation_level="read_committed", auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        found: set[str] = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(
                [await consumer.position(tp) < ends[tp] for tp in tps]):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    if dict(record.headers or ()).get("straum-kind") == b"heartbeat":
                        continue
                    found.add(codec(METERING_VALUE_SERIES).decode(record.value)["transactionId"])
        return found
    finally:
        await consumer.stop()


def test_a_data_directory_of_the_other_kind_is_refused(tmp_path: Path) -> None:
    """One node where a cluster ran (or the reverse) says what to do instead of starting."""
    from connectors.broker.cluster import embedded_kafka
    from connectors.broker.embedded import BrokerError

    settings = Settings(_env_file=None)
    home = tmp_path / "broker"
    home.mkdir()
    (home / "cluster.json").write_text(json.dumps(
        {"cluster_id": "x", "nodes": [{"node_id": i, "port": 1, "controller_port": 2}
                                      for i in (1, 2, 3)]}))
    with pytest.raises(BrokerError, match="STRAUM_KAFKA_NODES=3"):
        embedded_kafka(tmp_path, settings.kafka_cache_dir, settings.kafka_version, 1, 0, 0,
                       "512m", "384m")
    (home / "cluster.json").unlink()
    (home / "kraft-data").mkdir()
    (home / "kraft-data" / "meta.properties").write_text("cluster.id=x\n")
    cluster = embedded_kafka(tmp_path, settings.kafka_cache_dir, settings.kafka_version, 3, 0,
                             0, "512m", "384m")
    assert isinstance(cluster, EmbeddedCluster)
    with pytest.raises(BrokerError, match="single-node broker"):
        cluster.start()
