"""``python -m bench.chaos``: prove that nothing is lost while processes fail.

One embedded Kafka broker (free ports, a scratch directory, 1 GiB heap), two straum workers
(``--workers``; each with a stable STRAUM_WORKER_ID, so a restarted worker rejoins as the same
static group member and gets its partitions back at once) and two API processes run on this
machine. A simulated market (``connectors.simulator``: a planned
population, registered through the API) sends metering values continuously at a bounded rate,
half of the documents to each API process (there is no load balancer: a document whose API
does not answer is sent again to the other one, which is safe because intake de-duplicates on
the sender's ``messageId``). Meanwhile faults are injected, one at a time:

- ``kill -9`` of a worker, five times, each restarted a few seconds later;
- a broker restart (SIGTERM, then started again on the same data directory and ports);
- a worker frozen with SIGSTOP for 20 s (longer than its session: its partitions move to the
  other worker, which fences its producers), then SIGCONT;
- ``kill -9`` of one API process while requests to it are in flight (restarted 10 s later).

Every recipient's ``metering-values`` queue is drained all along (poll, record, acknowledge)
through the API process that is never killed. At the end, every series answered ``202`` must
have reached each expected recipient (the supplier of the day and the grid owner, from the
population plan) exactly once, with the expected ``messageId``: 0 lost and 0 delivered twice.
The queue topics themselves are read back as well (read_committed), to tell a message the
worker committed twice from one the poll path handed out twice. Lost, duplicated and recovery
times (the longest any input partition sat still after a fault; target ≤ 15 s after a worker
kill) are written to ``docs/RELIABILITY.md`` (between the chaos markers only).

Everything runs on loopback; every process started here is stopped on the way out, whatever
happens. The whole run is bounded (``--budget``, 14 minutes by default).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka.partitioner import DefaultPartitioner

from bench.common import Table
from bench.report import Section, embedded_kafka, run_facts, write
from connectors.broker.embedded import EmbeddedBroker, free_port
from connectors.http.auth import issue_dev_token
from connectors.simulator import (
    DevClients,
    MeteringPointPlan,
    Pacer,
    Population,
    oslo_today,
    plan_population,
    register,
    series_for,
)
from domain.forwarding import NOTIFY_VALUES
from domain.messages import outbound_message_id
from schemas.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "RELIABILITY.md"
BEGIN = "<!-- chaos:begin (written by python -m bench.chaos; do not edit by hand) -->"
END = "<!-- chaos:end -->"
NEW_REPORT = "# Reliability\n\n"  # docs/RELIABILITY.md, should it not exist
QUEUE = "metering-values"
CHAOS_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/straum/bench/chaos")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
PARTITIONS = 6
RECOVERY_TARGET_S = 15.0
PARTITIONER = DefaultPartitioner()


def partition_of(point: str, partitions: int = PARTITIONS) -> int:
    """The intake partition of a point's series (the API keys them by point, default
    partitioner): the task that processes them."""
    every = list(range(partitions))
    return int(PARTITIONER(point.encode(), every, every))


def say(message: str) -> None:
    print(f"chaos: {message}", file=sys.stderr, flush=True)


# -- what must arrive, and the verdict ---------------------------------------------------------

Pair = tuple[str, str]  # (transactionId, recipient GLN)


def expected_deliveries(point: MeteringPointPlan, day: date, supply_start: date,
                        transaction_id: str, count: int) -> dict[Pair, str]:
    """(transaction, recipient) -> the message id straum must use, for one series of one
    Norwegian day: the day's supplier (supply started on ``supply_start``) and the grid owner.
    Third parties get nothing: the simulator grants no access."""
    out = {(transaction_id, point.grid_owner): outbound_message_id(
        transaction_id, point.grid_owner, NOTIFY_VALUES, f"grid_owner:0-{count}")}
    if day >= supply_start:
        out[(transaction_id, point.supplier)] = outbound_message_id(
            transaction_id, point.supplier, NOTIFY_VALUES, f"supplier:0-{count}")
    return out


@dataclass
class Verdict:
    """Deliveries compared with what was expected."""

    expected: int = 0
    delivered: int = 0
    lost: list[Pair] = field(default_factory=list)
    duplicated: list[tuple[str, str, int]] = field(default_factory=list)  # (recipient, id, n)
    wrong_id: list[tuple[Pair, list[str]]] = field(default_factory=list)

    @property
    def duplicate_deliveries(self) -> int:
        return sum(n - 1 for _, _, n in self.duplicated)


def judge(expected: dict[Pair, str], deliveries: dict[Pair, list[str]]) -> Verdict:
    """Every expected pair delivered at least once; more than once only with the same id."""
    verdict = Verdict(expected=len(expected))
    for pair, want in expected.items():
        got = deliveries.get(pair, [])
        if not got:
            verdict.lost.append(pair)
            continue
        verdict.delivered += 1
        if set(got) != {want}:
            verdict.wrong_id.append((pair, sorted(set(got))))
        elif len(got) > 1:
            verdict.duplicated.append((pair[1], want, len(got)))
    return verdict


# -- bookkeeping --------------------------------------------------------------------------------

@dataclass
class Sent:
    """One series as the load generator sent it."""

    transaction_id: str
    point: MeteringPointPlan
    day: date
    count: int
    sent_at: float  # epoch s, first try
    expect: dict[Pair, str]  # what must arrive, and under which message id
    outcome: str = "pending"  # accepted (202), earlier (200: an earlier try got through), error


@dataclass
class Fault:
    kind: str
    label: str
    injected_at: float = 0.0  # epoch s
    lifted_at: float = 0.0  # the fault condition ended (process restarted, SIGCONT, ...)
    note: str = ""
    skipped: bool = False


@dataclass
class State:
    """What the harness saw: sent series, deliveries, faults, client-side errors."""

    supply_start: date
    started: float = field(default_factory=time.time)
    sent: dict[str, Sent] = field(default_factory=dict)
    deliveries: dict[Pair, list[str]] = field(default_factory=lambda: defaultdict(list))
    # (registered, created, intake partition) of every delivered series
    timings: list[tuple[float, float, int]] = field(default_factory=list)
    seen_polls: set[str] = field(default_factory=set)
    repeated_polls: int = 0
    faults: list[Fault] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)  # every HTTP answer seen
    failovers: int = 0  # documents answered by the other API after a connection error
    in_flight: list[int] = field(default_factory=lambda: [0, 0])
    unexpected_documents: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    exits: list[str] = field(default_factory=list)  # processes that exited unasked

    def expected(self, sent: list[Sent] | None = None) -> dict[Pair, str]:
        out: dict[Pair, str] = {}
        for s in self.sent.values() if sent is None else sent:
            out |= s.expect
        return out

    def missing(self) -> int:
        """Pairs of accepted series not delivered yet."""
        return sum(1 for s in self.sent.values() if s.outcome in ("accepted", "earlier")
                   for pair in s.expect if pair not in self.deliveries)

    def resumed(self, fault: Fault, stall: float = 1.0) -> float | None:
        """When the last input partition the fault stalled resumed: per partition, the
        longest pause of at least ``stall`` seconds between consecutive processing moments
        (the worker's createdAt of delivered messages) that spans the injection or begins
        before 5 s after the fault was lifted; the latest end of those. None: no partition
        paused that long."""
        by_partition: dict[int, set[float]] = defaultdict(set)
        for _, created, partition in self.timings:
            by_partition[partition].add(created)
        until = max(fault.injected_at, fault.lifted_at) + 5
        ends = []
        for moments in by_partition.values():
            ordered = sorted(moments)
            longest, end = 0.0, None
            for before, after in itertools.pairwise(ordered):
                if after <= fault.injected_at or before > until:
                    continue
                if after - before >= stall and after - before > longest:
                    longest, end = after - before, after
            if end is not None:
                ends.append(end)
        return max(ends) if ends else None

    def processed_after(self, moment: float) -> float | None:
        """When the first series accepted after ``moment`` was processed (epoch s)."""
        created = [c for r, c, _ in self.timings if r >= moment]
        return min(created) if created else None

    def stalled(self, moment: float, until: float = float("inf")) -> list[int]:
        """Intake partitions that were sent series between ``moment`` and ``until`` (answered
        202) of which none has been delivered yet: partitions that have not resumed."""
        sent = {partition_of(s.point.gsrn) for s in self.sent.values()
                if moment <= s.sent_at < until and s.outcome == "accepted" and s.expect}
        done = {p for r, _, p in self.timings if moment <= r}
        return sorted(sent - done)


# -- processes ---------------------------------------------------------------------------------

class Cluster:
    """The broker and straum's processes of this run; ``close`` stops every one of them."""

    def __init__(self, root: Path, heap: str = "1g", workers: int = 2) -> None:
        base = Settings(_env_file=None)
        self.workers = [f"worker-{i}" for i in range(workers)]
        self.root = root
        self.kafka_version = base.kafka_version
        self.broker = EmbeddedBroker(root / "kafka", base.kafka_cache_dir, base.kafka_version,
                                     port=0, controller_port=0, heap=heap)
        self.data_dir = root / "straum"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.expected_down: set[str] = set()  # killed on purpose, until restarted
        self.api_ports = [free_port(), free_port()]
        self.bootstrap = ""
        self.settings: Settings | None = None
        self.env: dict[str, str] = {}

    def start_broker(self) -> float:
        began = time.monotonic()
        info = self.broker.start(timeout=120)
        # Pin the ports picked on the first start, so a restart comes back on the same ones.
        self.broker.port, self.broker.controller_port = info.port, info.controller_port
        self.bootstrap = info.bootstrap
        return time.monotonic() - began

    def configure(self) -> Settings:
        self.settings = Settings(_env_file=None, kafka_bootstrap=self.bootstrap,
                                 data_dir=self.data_dir, topic_prefix="chaos",
                                 partitions=PARTITIONS)
        self.env = dict(os.environ)
        self.env.update({
            "STRAUM_KAFKA_BOOTSTRAP": self.bootstrap,
            "STRAUM_DATA_DIR": str(self.data_dir),
            "STRAUM_TOPIC_PREFIX": "chaos",
            "STRAUM_PARTITIONS": str(PARTITIONS),
            "STRAUM_HTTP_HOST": "127.0.0.1",
            "STRAUM_METRICS_HOST": "127.0.0.1",
            "STRAUM_WORKER_METRICS_PORT": "0",
            "STRAUM_MONITOR_METRICS_PORT": "0",
            "STRAUM_LOG_LEVEL": "INFO",
        })
        return self.settings

    def log(self, name: str) -> Path:
        return self.data_dir / f"{name}.log"

    def mark(self, name: str, text: str) -> None:
        """A line in a process's log, so faults can be found next to what they caused."""
        with self.log(name).open("a") as fh:
            fh.write(json.dumps({"chaos": text, "at": datetime.now(UTC).isoformat()}) + "\n")

    def start(self, name: str, *args: str, env: dict[str, str] | None = None
              ) -> subprocess.Popen[bytes]:
        with self.log(name).open("ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "straum", *args],
                                       env={**self.env, **(env or {})},
                                       stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        self.processes[name] = process
        return process

    def start_worker(self, name: str) -> None:
        """A worker under its stable name: STRAUM_WORKER_ID makes it a static group member."""
        self.start(name, "worker", env={"STRAUM_WORKER_ID": f"chaos-{name}"})

    def start_straum(self) -> None:
        """Every worker and both API processes."""
        for name in self.workers:
            self.start_worker(name)
        self.start_api(0)
        self.start_api(1)

    def describe(self) -> str:
        return f"{len(self.workers)} worker(s) and two API processes"

    def start_api(self, index: int) -> None:
        self.start(f"api-{index}", "api", "--host", "127.0.0.1",
                   "--port", str(self.api_ports[index]))

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.api_ports[index]}"

    def signal(self, name: str, sig: signal.Signals) -> int:
        process = self.processes[name]
        os.kill(process.pid, sig)
        if sig == signal.SIGKILL:
            process.wait()
        return process.pid

    def restart(self, name: str) -> None:
        if name.startswith("worker"):
            self.start_worker(name)
        else:
            self.start_api(int(name.split("-")[1]))

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {self.log(name)}")

    def close(self) -> None:
        """Stop every process started here (SIGCONT first: a frozen one cannot stop)."""
        for process in list(self.processes.values())[::-1]:
            if process.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)
                process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        self.broker.stop()


def wait_ready(urls: list[str], cluster: Cluster, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending:
        cluster.check_alive()
        for url in list(pending):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    pending.remove(url)
        if time.monotonic() > deadline:
            raise TimeoutError(f"not ready within {timeout:.0f}s: {pending}")
        time.sleep(0.5)


# -- HTTP with fail-over ---------------------------------------------------------------------

class Apis:
    """The two API processes; a request goes to the preferred one and, on connection errors,
    to the other. 429/5xx are retried with backoff until ``deadline_s``."""

    def __init__(self, urls: list[str], settings: Settings, state: State) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        self.clients = [httpx.AsyncClient(base_url=u, limits=limits,
                                          timeout=httpx.Timeout(30.0, connect=3.0))
                        for u in urls]
        self.settings = settings
        self.state = state
        self._tokens: dict[tuple[str, str], str] = {}

    def headers(self, party: str, role: str) -> dict[str, str]:
        key = (party, role)
        if key not in self._tokens:
            self._tokens[key] = issue_dev_token(self.settings, party, [role], 24 * 3600)
        return {"Authorization": f"Bearer {self._tokens[key]}"}

    async def post(self, preferred: int, path: str, party: str, role: str, *,
                   content: bytes | None = None, body: Any = None,
                   params: dict[str, Any] | None = None, deadline_s: float = 180.0,
                   ) -> tuple[httpx.Response | None, bool]:
        """(last response or None, whether it came from the other API after a failure)."""
        headers = self.headers(party, role)
        if content is not None:
            headers["Content-Type"] = "application/json"
        index, delay, switched = preferred, 0.25, False
        deadline = time.monotonic() + deadline_s
        response: httpx.Response | None = None
        while True:
            used = index
            self.state.in_flight[used] += 1
            try:
                response = await self.clients[used].post(path, content=content, json=body,
                                                         params=params, headers=headers)
            except httpx.TransportError as exc:
                self.state.statuses[type(exc).__name__] += 1
                index, switched, response = 1 - used, True, None
                wait = 0.05 if delay <= 0.25 else delay
            else:
                self.state.statuses[str(response.status_code)] += 1
                if response.status_code not in RETRY_STATUSES:
                    return response, switched and used != preferred
                wait = delay
                with contextlib.suppress(ValueError):
                    wait = max(wait, float(response.headers.get("Retry-After", "0")))
                if response.status_code >= 500:
                    index = 1 - used
            finally:
                self.state.in_flight[used] -= 1
            if time.monotonic() + wait > deadline:
                return response, switched
            await asyncio.sleep(min(wait, 5.0))
            delay = min(delay * 2, 5.0)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


# -- load -------------------------------------------------------------------------------------

def documents(population: Population, days: list[date], batch: int
              ) -> Iterator[tuple[int, str, list[MeteringPointPlan], date]]:
    """(version, owner, points, day) forever: every day of every point, then every day again as
    the next version (a correction), grid owners taking turns."""
    per_owner = population.points_of_grid_owner()
    version = 1
    while True:
        for day in days:
            chunks = [(owner, points[i:i + batch]) for owner, points in per_owner.items()
                      for i in range(0, len(points), batch)]
            chunks.sort(key=lambda c: (c[1][0].gsrn[-3:], c[0]))  # interleave the owners
            for owner, points in chunks:
                yield version, owner, points, day
        version += 1


async def send_load(apis: Apis, population: Population, days: list[date], state: State,
                    stop: asyncio.Event, rate: float, batch: int, concurrency: int,
                    run_id: str) -> None:
    pacer = Pacer(rate)
    jobs = documents(population, days, batch)
    counter = [0]
    sent_contents: dict[tuple[str, date], set[int]] = defaultdict(set)  # hashes of values

    def distinct(series: dict[str, Any], day: date) -> dict[str, Any]:
        """The hub rightly drops values identical to ones already sent for the period as a
        duplicate, and the simulator's corrections can repeat (a short run of small estimated
        values has few rounded outcomes; a solar point's night values are all 0.001): raise
        one value by 0.001 kWh until this version's values are new for the point and day."""
        seen = sent_contents[(series["meteringPointId"], day)]
        first = series["points"][0]
        while (content := hash(tuple((p["quantity"], p["quality"])
                                     for p in series["points"]))) in seen:
            first["quantity"] = round(first["quantity"] + 0.001, 3)
        seen.add(content)
        return series

    async def one(version: int, owner: str, points: list[MeteringPointPlan], day: date
                  ) -> None:
        counter[0] += 1
        preferred = counter[0] % 2
        series = [distinct(series_for(p, day, population.seed, version), day) for p in points]
        message_id = str(uuid.uuid5(CHAOS_NS, f"{run_id}|{version}|{day}|{owner}|"
                                              f"{points[0].gsrn}"))
        await pacer.take(len(points))
        now = time.time()
        entries = [Sent(s["transactionId"], p, day, len(s["points"]), now,
                        expected_deliveries(p, day, state.supply_start, s["transactionId"],
                                            len(s["points"])))
                   for s, p in zip(series, points, strict=True)]
        for entry in entries:
            state.sent[entry.transaction_id] = entry
        content = json.dumps({"messageId": message_id, "series": series}).encode()
        response, failed_over = await apis.post(preferred, "/v1/metering-values", owner,
                                                "grid_owner", content=content)
        outcome = "error"
        if response is not None and response.status_code == 202:
            outcome = "accepted"
        elif response is not None and response.status_code == 200:
            outcome = "earlier"
        elif len(state.error_samples) < 10:
            state.error_samples.append(
                f"{message_id}: {response.status_code if response else 'no answer'} "
                f"{response.text[:200] if response else ''}")
        if failed_over and outcome != "error":
            state.failovers += 1
        for entry in entries:
            entry.outcome = outcome

    async def worker() -> None:
        for job in jobs:
            if stop.is_set():
                return
            await one(*job)

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def drain(apis: Apis, party: str, role: str, state: State, stop: asyncio.Event) -> None:
    """Poll, record and acknowledge one recipient's metering-values queue until ``stop``."""
    path = f"/v1/queues/{QUEUE}"
    while not stop.is_set():
        response, _ = await apis.post(1, f"{path}/poll", party, role, params={"max": 1000},
                                      deadline_s=30)
        if response is None or response.status_code != 200:
            await asyncio.sleep(0.5)
            continue
        answer = response.json()
        poll_id = answer["pollId"]
        if poll_id in state.seen_polls:
            state.repeated_polls += 1  # the same poll again: its acknowledgement was lost
        else:
            state.seen_polls.add(poll_id)
            for message in answer["messages"]:
                payload = message["payload"]
                if message["documentType"] != NOTIFY_VALUES:
                    state.unexpected_documents[message["documentType"]] += 1
                    continue
                state.deliveries[(payload["transactionId"], party)].append(message["messageId"])
                state.timings.append((_epoch(payload["registeredAt"]),
                                      _epoch(message["createdAt"]),
                                      partition_of(payload["meteringPointId"])))
        await apis.post(1, f"{path}/ack", party, role, body={"pollId": poll_id}, deadline_s=30)


# -- faults -----------------------------------------------------------------------------------

FAULTS = {
    "worker-kill": "kill -9 {name}, restart after {down:.0f} s",
    "broker-restart": "broker restart (SIGTERM, start on same data dir and ports)",
    "worker-freeze": "{name} SIGSTOP {down:.0f} s, then SIGCONT",
    "api-kill": "kill -9 API process with {inflight} requests in flight, restart after 10 s",
}


async def inject(kind: str, cluster: Cluster, state: State, rng: random.Random,
                 freeze: float) -> Fault:
    fault = Fault(kind, kind)
    state.faults.append(fault)
    target = rng.choice(cluster.workers)
    if kind == "worker-kill":
        fault.injected_at = time.time()
        cluster.expected_down.add(target)
        cluster.signal(target, signal.SIGKILL)
        cluster.mark(target, "killed with SIGKILL by bench.chaos")
        down = rng.uniform(2.0, 5.0)
        await asyncio.sleep(down)
        cluster.start_worker(target)
        cluster.expected_down.discard(target)
        fault.lifted_at = time.time()
        fault.label = FAULTS[kind].format(name=target,
                                          down=fault.lifted_at - fault.injected_at)
    elif kind == "worker-freeze":
        fault.injected_at = time.time()
        cluster.signal(target, signal.SIGSTOP)
        await asyncio.sleep(freeze)
        cluster.signal(target, signal.SIGCONT)
        fault.lifted_at = time.time()
        cluster.mark(target, f"was frozen (SIGSTOP) for {freeze:.0f} s by bench.chaos")
        fault.label = FAULTS[kind].format(name=target,
                                          down=fault.lifted_at - fault.injected_at)
    elif kind == "broker-restart":
        fault.injected_at = time.time()
        stopping = time.monotonic()
        await asyncio.to_thread(cluster.broker.stop)
        stopped_in = time.monotonic() - stopping
        await asyncio.to_thread(cluster.broker.start, 120)
        fault.lifted_at = time.time()
        fault.note = (f"SIGTERM → exited in {stopped_in:.1f} s; down "
                      f"{fault.lifted_at - fault.injected_at:.1f} s until the port answered")
        fault.label = FAULTS[kind]
    elif kind == "api-kill":
        for i in range(5000):  # up to ~10 s for a moment with requests in flight to it
            if state.in_flight[0] >= (3 if i < 2500 else 1):
                break
            await asyncio.sleep(0.002)
        inflight = state.in_flight[0]
        fault.injected_at = time.time()
        cluster.expected_down.add("api-0")
        cluster.signal("api-0", signal.SIGKILL)
        cluster.mark("api-0", f"killed with SIGKILL with {inflight} requests in flight")
        failovers = state.failovers
        await asyncio.sleep(10)
        cluster.start_api(0)
        cluster.expected_down.discard("api-0")
        fault.lifted_at = time.time()
        fault.label = FAULTS[kind].format(inflight=inflight)
        fault.note = f"documents answered by the other API after a connection error: " \
                     f"{state.failovers - failovers} within 10 s"
    else:
        raise ValueError(kind)
    return fault


async def wait_recovered(fault: Fault, state: State, within: float) -> None:
    """Until every intake partition processes series sent after the fault was lifted."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        lifted = max(fault.injected_at, fault.lifted_at)
        if state.processed_after(lifted) is not None and not state.stalled(lifted + 1):
            return
        await asyncio.sleep(0.5)


async def scheduled(plan: list[str], state: State, rng: random.Random, load_until: float,
                    room: float, baseline: tuple[float, float],
                    skipped: Callable[[str], Fault] = lambda kind: Fault(kind, kind)
                    ) -> AsyncIterator[tuple[int, str]]:
    """The faults of ``plan`` one at a time, (index, kind), after ``baseline`` seconds (at
    random in that range) of load without a fault; a fault that would leave less than
    ``room`` seconds of load after its start is skipped (``skipped`` makes its record)."""
    await asyncio.sleep(rng.uniform(*baseline))
    for i, kind in enumerate(plan):
        if time.monotonic() + room > load_until:
            fault = skipped(kind)
            fault.skipped, fault.note = True, "skipped: out of time budget"
            state.faults.append(fault)
            continue
        say(f"fault {i + 1}/{len(plan)}: {kind}")
        yield i, kind


async def run_faults(plan: list[str], cluster: Cluster, state: State, rng: random.Random,
                     freeze: float, load_until: float) -> None:
    async for i, kind in scheduled(plan, state, rng, load_until, 40, (15, 25)):
        fault = await inject(kind, cluster, state, rng, freeze)
        # Wait until a series accepted after the fault was processed, then a calm moment.
        room = max(75.0, (load_until - time.monotonic()) / (len(plan) - i))
        await wait_recovered(fault, state, min(150.0, room))
        stalled = state.stalled(max(fault.injected_at, fault.lifted_at) + 1)
        resumed = state.resumed(fault)
        say(f"  {fault.label} (so far): " + (
            f"partitions {stalled} have not resumed" if stalled
            else f"every partition resumed after {resumed - fault.injected_at:.1f} s"
            if resumed else "no partition stalled ≥ 1 s"))
        await asyncio.sleep(rng.uniform(5, 12))


async def watchdog(cluster: Cluster, state: State) -> None:
    """A straum process that exits by itself is a finding: note it and start it again."""
    while True:
        await asyncio.sleep(1.0)
        for name, process in list(cluster.processes.items()):
            if name in cluster.expected_down or process.poll() is None:
                continue
            tail = cluster.log(name).read_text(errors="replace").splitlines()[-3:]
            state.exits.append(f"{name} exited by itself with code {process.returncode} at "
                               f"T+{time.time() - state.started:.0f} s; last lines: "
                               + " | ".join(line[:300] for line in tail))
            say(state.exits[-1])
            cluster.mark(name, "exited by itself; restarted by bench.chaos")
            cluster.restart(name)


# -- the run ----------------------------------------------------------------------------------

@dataclass
class Options:
    points: int
    grid_owners: int
    suppliers: int
    rate: float
    batch: int
    concurrency: int
    worker_kills: int
    freeze: float
    budget: float
    seed: int
    keep: bool
    output: Path
    faults: list[str] | None = None  # an explicit plan instead of the shuffled default
    workers: int = 2


@dataclass
class Market:
    """The simulated market of a chaos run, registered and processed, and its load's state."""

    settings: Settings
    urls: list[str]
    population: Population
    days: list[date]
    state: State
    registration_s: float


async def open_market(cluster: Cluster, options: Options, began: float,
                      ready: Callable[[], None] | None = None) -> Market:
    """straum's processes started and ready (then ``ready`` called), the population
    registered through the API and every master-data document processed, so that no value is
    sent for a point (or a supply) the hub does not know yet."""
    settings = cluster.configure()
    cluster.start_straum()
    urls = [cluster.url(0), cluster.url(1)]
    await asyncio.to_thread(wait_ready, urls, cluster)
    if ready is not None:
        ready()
    say(f"{cluster.describe()} ready ({time.monotonic() - began:.0f} s)")
    population = plan_population(options.seed, options.points, options.grid_owners,
                                 options.suppliers, third_parties=0)
    today = oslo_today()
    supply_start = today - timedelta(days=13)
    days = [supply_start + timedelta(days=i) for i in range((today - supply_start).days)]
    async with DevClients(urls[1], settings) as clients:
        registered = await register(population, clients, supply_start=supply_start,
                                    concurrency=16, settle_timeout=150, quiet=True)
    if registered.errors or registered.rejected or not registered.settled:
        raise RuntimeError(f"registration failed: {registered.errors} errors, "
                           f"{registered.rejected} rejected by the hub, settled "
                           f"{registered.settled}: {registered.error_samples[:3]} "
                           f"{registered.rejection_samples[:3]}")
    # The simulator's settle check counts queue depths, which other messages also raise: wait
    # until the processors have committed every master-data document.
    await master_data_processed(cluster.bootstrap, within=120)
    say(f"{population.describe()} registered ({time.monotonic() - began:.0f} s)")
    return Market(settings, urls, population, days, State(supply_start), registered.seconds)


async def under_load(market: Market, apis: Apis, options: Options, faults: Awaitable[None],
                     load_until: float, deadline: float) -> tuple[float, float]:
    """Load sent and every recipient's queue drained while ``faults`` run, then until the hub
    has delivered everything it will (or the budget ends); (load started, load stopped),
    epoch seconds."""
    state, population = market.state, market.population
    stop_load, stop_drain = asyncio.Event(), asyncio.Event()
    load_started = time.time()
    drainers = [asyncio.create_task(drain(apis, party, role, state, stop_drain))
                for party, role in [(s, "supplier") for s in population.suppliers]
                + [(g, "grid_owner") for g in population.grid_owners]]
    load = asyncio.create_task(send_load(apis, population, market.days, state, stop_load,
                                         options.rate, options.batch, options.concurrency,
                                         uuid.uuid4().hex))
    try:
        await faults
        await asyncio.sleep(min(15.0, max(0.0, load_until - time.monotonic())))
    finally:
        stop_load.set()
        await load
    load_stopped = time.time()
    say(f"load stopped after {load_stopped - load_started:.0f} s: {len(state.sent)} series; "
        f"waiting for the hub to deliver everything")
    last, last_change = state.missing(), time.monotonic()
    while last and time.monotonic() < deadline - 45 and time.monotonic() - last_change < 60:
        await asyncio.sleep(2)
        missing = state.missing()
        if missing != last:
            last, last_change = missing, time.monotonic()
    await asyncio.sleep(3)  # late duplicates
    stop_drain.set()
    await asyncio.gather(*drainers)
    return load_started, load_stopped


async def chaos(cluster: Cluster, options: Options, began: float) -> dict[str, Any]:
    market = await open_market(cluster, options, began)
    state, rng = market.state, random.Random(options.seed)
    apis = Apis(market.urls, market.settings, state)
    plan = ["worker-kill"] * options.worker_kills + ["broker-restart", "worker-freeze",
                                                     "api-kill"]
    rng.shuffle(plan)
    if options.faults is not None:
        plan = options.faults
    deadline = began + options.budget
    load_until = deadline - 150  # room to settle, drain and stop everything
    guard = asyncio.create_task(watchdog(cluster, state))
    load_started, load_stopped = await under_load(
        market, apis, options, run_faults(plan, cluster, state, rng, options.freeze, load_until),
        load_until, deadline)
    guard.cancel()
    await apis.aclose()
    return {"state": state, "population": market.population, "days": market.days,
            "load_started": load_started, "load_stopped": load_stopped,
            "registration_s": market.registration_s}


async def master_data_processed(bootstrap: str, within: float, prefix: str = "chaos",
                                partitions: int = PARTITIONS) -> None:
    """Wait until the processors' committed offsets (consumer group ``prefix``) reach the end
    of the master-data intake topic."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(isolation_level="read_committed",
                                bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        tps = [TopicPartition(f"{prefix}.master-data.intake", p) for p in range(partitions)]
        for _ in range(int(within)):
            ends = await consumer.end_offsets(tps)
            committed = await admin.list_consumer_group_offsets(prefix, partitions=tps)
            done = {tp: max(0, committed[tp].offset) if tp in committed else 0 for tp in tps}
            if all(done[tp] >= ends[tp] for tp in tps):
                return
            await asyncio.sleep(1)
        raise RuntimeError(f"master data not processed within {within:.0f} s")
    finally:
        await consumer.stop()
        await admin.close()


async def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every record of ``topic`` (all partitions), from the beginning to the current end."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(isolation_level="read_committed",
                                bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = (await consumer._client.fetch_all_metadata()).partitions_for_topic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions or ())]
        if not tps:
            return []
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        out: list[Any] = []
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=2000)
            if not batch:
                break
            for tp, records in batch.items():
                out.extend(r for r in records if r.offset < ends[tp])
            for tp in list(pending):  # positions move past commit markers too
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return out
    finally:
        await consumer.stop()


async def locate(cluster: Cluster, lost: list[Pair]) -> dict[str, list[str]]:
    """Where each lost (transaction, recipient) stopped: never in the intake topic, in intake
    but never committed to the recipient's queue topic, or in the queue topic (then the
    poll/ack path lost it)."""
    from streams.records import queue_message
    from streams.records import series as intake_series

    wanted = set(lost)
    txs = {tx for tx, _ in wanted}
    intake: dict[str, str] = {}
    decode = intake_series.decode
    for r in await read_topic(cluster.bootstrap, "chaos.metering-values.intake"):
        if any(k == "straum-kind" for k, _ in r.headers or ()):
            continue
        with contextlib.suppress(Exception):
            tx = decode(r.value)["transactionId"]
            if tx in txs:
                intake.setdefault(tx, f"intake p{r.partition}@{r.offset}")
    queued: dict[Pair, str] = {}
    for recipient in {r for _, r in wanted}:
        topic = f"chaos.queue.{recipient}.{QUEUE}"
        for r in await read_topic(cluster.bootstrap, topic):
            with contextlib.suppress(Exception):
                message = queue_message.parse(r.value)
                pair = (message["payload"].get("transactionId", ""), recipient)
                if pair in wanted:
                    queued.setdefault(pair, f"{topic} @{r.offset}")
    out: dict[str, list[str]] = defaultdict(list)
    for pair in lost:
        tx, recipient = pair
        if pair in queued:
            out["in the queue topic, never polled"].append(f"`{tx}` → {recipient}: {queued[pair]}")
        elif tx in intake:
            out["in intake, never committed to the queue"].append(
                f"`{tx}` → {recipient}: {intake[tx]}")
        else:
            out["not in intake"].append(f"`{tx}` → {recipient}")
    return out


@dataclass
class Stored:
    """The metering-values queue topics read back at the end (read_committed)."""

    records: int = 0
    repeated: list[tuple[str, str, int]] = field(default_factory=list)  # (topic, id, copies)

    @property
    def extra_copies(self) -> int:
        return sum(n - 1 for _, _, n in self.repeated)


async def stored_copies(cluster: Cluster, recipients: list[str]) -> Stored:
    """Every committed record of the recipients' metering-values queue topics: a message id
    found more than once was committed twice by the processors (not handed out twice by a
    poll)."""
    from bench.tally import message_id

    out = Stored()
    for recipient in recipients:
        topic = f"chaos.queue.{recipient}.{QUEUE}"
        ids: Counter[str] = Counter(message_id(r.value)
                                    for r in await read_topic(cluster.bootstrap, topic))
        out.records += sum(ids.values())
        out.repeated += [(topic, mid, n) for mid, n in ids.items() if n > 1]
    return out


async def dead_letters(cluster: Cluster) -> int:
    """Committed records in the run's dead-letter topic (counted: the processors write it in
    transactions, so its offsets include commit markers)."""
    return len(await read_topic(cluster.bootstrap, "chaos.dead-letters"))


def log_findings(cluster: Cluster) -> dict[str, Counter[str]]:
    """Error lines and tracebacks of every straum process, counted by kind (digits folded)."""
    out: dict[str, Counter[str]] = {}
    for path in sorted(cluster.data_dir.glob("*.log")):
        kinds: Counter[str] = Counter()
        for line in path.read_text(errors="replace").splitlines():
            low = line.lower()
            if not ('"level": "error"' in low or '"level": "critical"' in low
                    or "traceback" in low or "crashed" in low):
                continue
            try:
                event = str(json.loads(line).get("event", line))
            except ValueError:
                event = line
            kinds[re.sub(r"\d+", "N", event.splitlines()[0])[:110]] += 1
        if kinds:
            out[path.name] = kinds
    return out


# -- the report -------------------------------------------------------------------------------

def windows(state: State) -> list[tuple[str, Fault | None, float, float]]:
    """(label, fault, from, to): the baseline before the first fault, then each fault's time
    until the next one; a series belongs to the window in which it was first sent."""
    injected = [f for f in state.faults if not f.skipped]
    edges = [state.started] + [f.injected_at for f in injected] + [float("inf")]
    out: list[tuple[str, Fault | None, float, float]] = [("baseline (no fault)", None,
                                                         edges[0], edges[1])]
    for i, fault in enumerate(injected):
        out.append((fault.label, fault, edges[i + 1], edges[i + 2]))
    return out


def render(result: dict[str, Any], cluster: Cluster, options: Options, command: str,
           started: datetime, elapsed: float, letters: int, logs: dict[str, Counter[str]]
           ) -> Section:
    """The chaos section of docs/RELIABILITY.md: the verdict, and a table of what each fault
    did."""
    state: State = result["state"]
    population: Population = result["population"]
    base = cluster.settings or Settings(_env_file=None)
    t0 = result["load_started"]
    rows: list[list[str]] = []
    samples: list[str] = []
    stored: Stored = result["stored"]
    kills_met: list[bool] = []
    for label, fault, lo, hi in windows(state):
        sent = [s for s in state.sent.values() if lo <= s.sent_at < hi]
        accepted = [s for s in sent if s.outcome == "accepted"]
        verdict = judge(state.expected(accepted), state.deliveries)
        samples += [f"`{mid}` ({n}× to {who})" for who, mid, n in verdict.duplicated[:3]]
        recovery = "–"
        lasted = "–"
        at = "–"
        if fault is not None:
            at = f"T+{fault.injected_at - t0:.0f} s"
            lasted = f"{fault.lifted_at - fault.injected_at:.1f}"
            resumed = state.resumed(fault)
            never = state.stalled(max(fault.injected_at, fault.lifted_at) + 1, hi)
            recovery = (f"{resumed - fault.injected_at:.1f}" if resumed is not None
                        else "no stall ≥ 1 s" if state.processed_after(fault.injected_at)
                        else "**none seen**")
            if never:
                recovery = f"**never** (partition{'s' if len(never) > 1 else ''} " \
                    f"{', '.join(map(str, never))})"
                resumed = None
            if fault.kind == "worker-kill":
                if never:
                    ok = False
                elif resumed is None:
                    ok = state.processed_after(fault.injected_at) is not None
                else:
                    ok = resumed - fault.injected_at <= RECOVERY_TARGET_S
                kills_met.append(ok)
                recovery += " (≤ 15 s: " + ("yes)" if ok else "**no**)")
        rows.append([label, at, lasted, f"{len(sent):,}", f"{len(accepted):,}",
                     str(len(verdict.lost)), str(len(verdict.duplicated)), recovery])
    accepted_all = [s for s in state.sent.values() if s.outcome == "accepted"]
    earlier = [s for s in state.sent.values() if s.outcome == "earlier"]
    errors = [s for s in state.sent.values() if s.outcome not in ("accepted", "earlier")]
    total = judge(state.expected(accepted_all), state.deliveries)
    earlier_verdict = judge(state.expected(earlier), state.deliveries)
    expected_all = state.expected(accepted_all + earlier)
    extra = sum(1 for pair in state.deliveries if pair not in expected_all)
    rows.append(["**all**", "", "", f"{len(state.sent):,}", f"{len(accepted_all):,}",
                 f"**{len(total.lost)}**", str(len(total.duplicated)), ""])
    skipped = [f for f in state.faults if f.skipped]
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(state.statuses.items()))
    five_xx = sum(v for k, v in state.statuses.items() if k.isdigit() and int(k) >= 500)
    facts = run_facts(
        command, started, elapsed, embedded_kafka(cluster.kafka_version),
        ("straum", f"{len(cluster.workers)} worker(s) (static members, STRAUM_WORKER_ID), "
                   f"2 API processes, {PARTITIONS} partitions, no monitor; worker "
                   f"session timeout {base.worker_session_timeout_seconds:g} s, "
                   f"transaction timeout {base.transaction_timeout_seconds:g} s, "
                   f"batches of up to {base.worker_batch_records:,} records"),
        ("Load average (1 min) at start / end", result["load"] + " / "
         + f"{os.getloadavg()[0]:.2f} (other processes on the machine count too)"),
        ("Seed", str(options.seed)))
    clean = not total.lost and not total.duplicated and not stored.repeated \
        and not total.wrong_id
    verdict_text = (
        f"**Lost: {len(total.lost)}. Delivered twice: {len(total.duplicated)}.** "
        f"Of {total.expected:,} expected deliveries of {len(accepted_all):,} series "
        f"answered 202 ({len(state.sent):,} series sent in "
        f"{result['load_stopped'] - t0:.0f} s at ≤ {options.rate:g} series/s), "
        f"{len(total.lost)} never arrived and {len(total.duplicated)} arrived more than "
        f"once ({total.duplicate_deliveries} extra copies"
        f"{'' if not total.wrong_id else f'; {len(total.wrong_id)} under another id'}). "
        f"In the queue topics (read back at the end, read_committed): "
        f"{stored.records:,} records, {len(stored.repeated)} message ids committed more "
        f"than once ({stored.extra_copies} extra copies). Worker kills recovered within "
        f"{RECOVERY_TARGET_S:g} s: {sum(kills_met)} of {len(kills_met)}. "
        + ("**Verdict: 0 lost and 0 delivered twice.**" if clean else
           "**Verdict: not clean** (target: 0 lost and 0 delivered twice)."))
    notes = [
        f"Population: {population.describe()}; supply started {state.supply_start} for every "
        f"point; values for the {len(result['days'])} days from {result['days'][0]} to "
        f"{result['days'][-1]}, then the same days again as corrections (a new transaction "
        f"and new values each time: version 2, 3, …; where the simulator's correction repeats "
        f"values already sent for the point and day, one value is raised by 0.001 kWh until "
        f"they are new, since the hub rightly drops identical values as a duplicate), "
        f"{options.batch} series per document, "
        f"up to {options.concurrency} documents in flight, half of them to each API process; "
        "a document whose API does not answer is sent again to the other one.",
        "Expected deliveries: each series to the supplier of its day and to the grid owner "
        "(from the population plan), each with the message id straum must give it "
        "(UUIDv5 of transaction, recipient, document type and part).",
        "Every recipient's metering-values queue was drained throughout (poll up to 1,000, "
        "record, acknowledge) through the API process that is never killed. A poll answered "
        "again with an already seen pollId (its acknowledgement was lost) is not counted "
        f"again; such polls: {state.repeated_polls}.",
        "A series belongs to the window in which it was first sent: from a fault's injection "
        "to the next fault's. Lost: expected (transaction, recipient) pairs of series answered "
        "202 that never reached the recipient's queue. Duplicated: pairs delivered more than "
        "once through polls (every copy with the expected messageId unless said otherwise); "
        "the queue-topic count tells whether a repeat was committed twice by the workers or "
        "handed out twice by the poll path.",
        "Recovery: from the fault's injection until the last input partition it stalled was "
        "processing again. Per intake partition (a series' partition follows from its point: "
        "the API keys intake by point), the longest pause of at least 1 s between consecutive "
        "processing moments (the worker's createdAt of the messages delivered) that spans the "
        "injection or begins up to 5 s after the fault was lifted; the latest end of those. "
        "'no stall ≥ 1 s' when no partition paused that long. Target after a worker kill: "
        f"≤ {RECOVERY_TARGET_S:g} s, the down time before the restart included. 'Fault lasted': "
        "from injection until the process was started again / SIGCONT / the broker's port "
        "answered. Series sent during the stall wait at intake and are processed when it ends.",
        f"Answered 200 (an earlier try of the same document had got through, e.g. to the killed "
        f"API): {len(earlier)} series; of their deliveries {len(earlier_verdict.lost)} lost. "
        f"Not answered 2xx at all: {len(errors)} series. Deliveries of series never answered "
        f"2xx: {extra}.",
        f"HTTP answers and connection errors seen by the load generator and the drainers: "
        f"{statuses}. 5xx answers: {five_xx} (the API answers 503 while the broker is away).",
        f"Dead letters written by the processors: {letters}.",
    ]
    if samples:
        notes.append("A few duplicated message ids: " + ", ".join(samples[:6]) + ".")
    for fault in state.faults:
        if fault.note and not fault.skipped:
            notes.append(f"{fault.label}: {fault.note}.")
    if skipped:
        notes.append("Faults skipped for the time budget: "
                     + ", ".join(f.kind for f in skipped) + ".")
    notes += [f"Unexpected: {line}" for line in state.exits]
    if state.error_samples:
        notes.append("Documents not answered 2xx, first few: "
                     + "; ".join(state.error_samples[:3]))
    if total.lost:
        notes.append("First lost pairs (transaction, recipient): "
                     + ", ".join(f"`{t}` → {r}" for t, r in total.lost[:5]) + ".")
    for where, found in result.get("located", {}).items():
        notes.append(f"Lost, {where} (read back from the topics): {len(found)}, e.g. "
                     + "; ".join(found[:3]) + ".")
    if total.wrong_id:
        notes.append("Pairs delivered under another message id: "
                     + ", ".join(f"`{p[0]}` → {p[1]}: {ids}" for p, ids in total.wrong_id[:3]))
    if not logs:
        notes.append("Error lines or tracebacks in the processes' logs: none.")
    for name, kinds in logs.items():
        top = "; ".join(f"{n:,}× `{kind}`" for kind, n in kinds.most_common(3))
        notes.append(f"Error lines in {name}: {sum(kinds.values()):,}, most of them: {top}.")
    table = Table("", ["Fault", "Injected at", "Fault lasted s", "Series sent", "Answered 202",
                       "Lost", "Duplicated", "Recovery s"], rows, notes)
    return Section("## Chaos: nothing lost while processes fail", facts,
                   body=[verdict_text, table], markers=(BEGIN, END))


# -- main -------------------------------------------------------------------------------------

def nodes_asked(argv: list[str]) -> int:
    """``--nodes N`` (cluster mode, bench/chaos_cluster.py), 1 when absent."""
    for i, arg in enumerate(argv):
        if arg.startswith("--nodes="):
            return int(arg.split("=", 1)[1])
        if arg == "--nodes" and i + 1 < len(argv):
            return int(argv[i + 1])
    return 1


def _raise_exit(signum: int, _: Any) -> None:
    raise SystemExit(128 + signum)


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--grid-owners", type=int, default=6)
    parser.add_argument("--suppliers", type=int, default=10)
    parser.add_argument("--rate", type=float, default=100.0, help="series per second")
    parser.add_argument("--batch", type=int, default=10, help="series per document")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--worker-kills", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes (static members: STRAUM_WORKER_ID)")
    parser.add_argument("--freeze", type=float, default=20.0, help="SIGSTOP seconds")
    parser.add_argument("--budget", type=float, default=14 * 60.0,
                        help="seconds for the whole run (default 840)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--output", type=Path, default=REPORT)
    parser.add_argument("--nodes", type=int, default=1,
                        help="Kafka nodes; 3 runs the cluster mode (bench/chaos_cluster.py)")
    parser.add_argument("--faults", default=None,
                        help="comma-separated plan instead of the default, e.g. "
                             "worker-kill,broker-restart (kinds: " + ", ".join(FAULTS) + ")")
    a = parser.parse_args(argv)
    faults = None if a.faults is None else [f for f in a.faults.split(",") if f]
    if faults is not None and not set(faults) <= set(FAULTS):
        parser.error(f"unknown fault in --faults; kinds: {', '.join(FAULTS)}")
    if a.workers < 1:
        parser.error("--workers must be at least 1")
    if not 1 <= a.rate <= 500 or a.budget > 15 * 60 or a.points > 5000:
        parser.error("bounded on purpose: --rate 1..500, --budget ≤ 900, --points ≤ 5000")
    return Options(a.points, a.grid_owners, a.suppliers, a.rate, a.batch, a.concurrency,
                   a.worker_kills, a.freeze, a.budget,
                   a.seed if a.seed is not None else random.randrange(10**6), a.keep,
                   a.output, faults, a.workers)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if nodes_asked(args) > 1:  # cluster mode: brokers fail instead of straum's processes
        from bench.chaos_cluster import main as cluster_main

        return cluster_main(args)
    options = parse(args)
    for chatty in ("httpx", "httpcore", "aiokafka"):
        logging.getLogger(chatty).setLevel(logging.ERROR)
    signal.signal(signal.SIGTERM, _raise_exit)
    command = ".venv/bin/python -m bench.chaos" + (
        " " + " ".join(sys.argv[1:]) if argv is None and sys.argv[1:] else "")
    started = datetime.now(UTC)
    began = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="straum-chaos-"))
    load_at_start = f"{os.getloadavg()[0]:.2f}"
    cluster = Cluster(root, workers=options.workers)
    failed = True
    lost = -1
    try:
        say(f"scratch in {root}; starting Kafka {cluster.kafka_version} (seed {options.seed})")
        cluster.start_broker()
        say(f"broker ready at {cluster.bootstrap}")
        result = asyncio.run(chaos(cluster, options, began))
        result["load"] = load_at_start
        letters = asyncio.run(dead_letters(cluster))
        logs = log_findings(cluster)
        state = result["state"]
        lost_pairs = judge(state.expected([s for s in state.sent.values()
                                           if s.outcome in ("accepted", "earlier")]),
                           state.deliveries).lost
        result["located"] = asyncio.run(locate(cluster, lost_pairs)) if lost_pairs else {}
        population = result["population"]
        result["stored"] = asyncio.run(stored_copies(
            cluster, sorted(set(population.suppliers) | set(population.grid_owners))))
        elapsed = time.monotonic() - began
        write(options.output, render(result, cluster, options, command, started, elapsed,
                                     letters, logs), new_file=NEW_REPORT)
        verdict = judge(state.expected([s for s in state.sent.values()
                                        if s.outcome == "accepted"]), state.deliveries)
        twice = len(verdict.duplicated) + len(result["stored"].repeated) + len(verdict.wrong_id)
        lost = len(verdict.lost) + twice  # the run fails on either
        say(f"wrote {options.output}: lost {len(verdict.lost)}, delivered twice "
            f"{len(verdict.duplicated)}, committed twice {len(result['stored'].repeated)}; "
            f"logs in {cluster.data_dir}")
        for name, kinds in logs.items():
            say(f"{name}: {sum(kinds.values())} error lines; {kinds.most_common(3)}")
        failed = False
    finally:
        cluster.close()
        keep = options.keep or failed or lost != 0
        if keep:
            say(f"scratch kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
