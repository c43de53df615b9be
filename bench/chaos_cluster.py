"""``python -m bench.chaos --nodes 3``: nothing lost while Kafka brokers fail.

The cluster mode of ``bench.chaos``: a three-node KRaft cluster on this machine (each node
broker and controller, replication 3, ``min.insync.replicas`` 2 for every topic, the internal
ones included; ``connectors.broker.cluster``), two straum workers, two API processes and a
monitor at its production settings. The same simulated market as ``bench.chaos`` sends
metering values continuously and every recipient's queue is drained all along, while brokers
fail, one fault at a time:

- ``node-kill``: ``kill -9`` of a node under load (three times, the intake leader of a
  partition each time); it is started again once the monitor's under-replication alert fired;
- ``rolling-restart``: every node in turn stopped (SIGTERM) and started again, the next one
  only once every partition is fully replicated;
- ``node-wipe``: ``kill -9`` of a node, its data directory deleted (a lost disk), started again:
  formatted anew with the cluster's id, it fetches every replica from the others;
- ``controller-kill``: ``kill -9`` of the node leading the controller quorum.

Per fault: series sent and answered 202, lost and delivered twice (the verdict of
``bench.chaos``), intake's 503 answers (count and the window from the first to the last), the
time until every partition has a live leader and until every partition is fully replicated
again, and when the monitor's ``UnderReplicatedPartitions`` alert fired and resolved. Written
to ``docs/RELIABILITY.md`` between the chaos-cluster markers only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from bench.chaos import (
    NEW_REPORT,
    PARTITIONS,
    REPORT,
    Apis,
    Cluster,
    Fault,
    Options,
    State,
    _raise_exit,
    dead_letters,
    judge,
    log_findings,
    open_market,
    say,
    scheduled,
    stored_copies,
    under_load,
    wait_recovered,
)
from bench.common import Table
from bench.report import Section, run_facts, write
from connectors.broker.cluster import EmbeddedCluster, quorum_leader
from schemas.settings import Settings

BEGIN = ("<!-- chaos-cluster:begin (written by python -m bench.chaos --nodes 3; "
         "do not edit by hand) -->")
END = "<!-- chaos-cluster:end -->"
FAULTS = {
    "node-kill": "kill -9 of node {node} (leader of intake partition {partition})",
    "rolling-restart": "rolling restart of nodes 1, 2, 3 (SIGTERM, start, fully replicated)",
    "node-wipe": "node {node} killed, its data directory deleted, started again",
    "controller-kill": "kill -9 of node {node}, the controller quorum's leader",
}
PLAN = ["node-kill", "node-kill", "node-kill", "rolling-restart", "node-wipe",
        "controller-kill"]
ALERT = "UnderReplicatedPartitions"
ALERT_WAIT_S = 75.0  # a node stays down until the alert fired, at most this long


@dataclass
class NodeFault(Fault):
    """A broker fault and what followed it (epoch seconds; 0: not seen)."""

    nodes: list[int] = field(default_factory=list)
    led_at: float = 0.0  # every partition had a live leader again
    replicated_at: float = 0.0  # every partition fully replicated again
    alert_fired_at: float = 0.0
    alert_resolved_at: float = 0.0


@dataclass
class Sample:
    at: float
    brokers: int
    leaders: dict[tuple[str, int], int]  # partition -> leader (-1: none)
    under_replicated: int


class NodeCluster(Cluster):
    """``bench.chaos``'s processes on a three-node cluster, with a monitor."""

    def __init__(self, root: Path, nodes: int, heap: str, workers: int) -> None:
        super().__init__(root, heap=heap, workers=workers)
        base = Settings(_env_file=None)
        self.kafka = EmbeddedCluster(root / "kafka-cluster", base.kafka_cache_dir,
                                     base.kafka_version, nodes, heap)
        self.heap = heap
        self.samples: list[Sample] = []
        self.http: list[tuple[float, str, int]] = []  # (epoch, path, status) of intake

    def start_broker(self) -> float:
        began = time.monotonic()
        self.bootstrap = self.kafka.start(timeout=180).bootstrap
        return time.monotonic() - began

    def configure(self) -> Settings:
        settings = super().configure()
        self.env["STRAUM_REPLICATION_FACTOR"] = str(self.kafka.replication)
        self.settings = settings.model_copy(update={"replication_factor":
                                                    self.kafka.replication})
        return self.settings

    def start_straum(self) -> None:
        super().start_straum()
        self.start("monitor", "monitor")

    def describe(self) -> str:
        return f"{len(self.workers)} worker(s), two API processes and a monitor"

    def restart(self, name: str) -> None:
        if name == "monitor":
            self.start("monitor", "monitor")
        else:
            super().restart(name)

    def close(self) -> None:
        super().close()
        self.kafka.stop()

    # -- what the cluster looks like -----------------------------------------------------------

    async def sample(self, attempts: int = 3) -> Sample:
        """Leaders and replicas now, from a fresh admin client; it asks a node at random,
        and one that just died (not fenced yet) fails the request: then another try."""
        for attempt in range(attempts):
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap,
                                        client_id="chaos-replication", request_timeout_ms=5000)
            try:
                await admin.start()
                cluster = await admin.describe_cluster()
                topics = await admin.describe_topics()
                break
            except KafkaError:
                if attempt == attempts - 1:
                    raise
            finally:
                await admin.close()
        leaders, under = {}, 0
        for topic in topics:
            for p in topic["partitions"]:
                leaders[(topic["topic"], p["partition"])] = (
                    p["leader"] if p["error_code"] == 0 else -1)
                under += len(p["isr"]) < len(p["replicas"])
        return Sample(time.time(), len(cluster["brokers"]), leaders, under)

    async def watch(self) -> None:
        """The cluster's leaders and replicas once a second, all run long."""
        while True:
            try:
                self.samples.append(await self.sample())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a missed sample is only a gap
                say(f"  (replica sample failed: {type(exc).__name__})")
            await asyncio.sleep(1.0)

    def led_since(self, dead: set[int], after: float) -> float:
        """The first sample after ``after`` in which no partition is led by a dead node or
        by nobody; 0 when none was."""
        for s in self.samples:
            if s.at >= after and not any(leader in dead or leader < 0
                                         for leader in s.leaders.values()):
                return s.at
        return 0.0

    def intake_leader(self, partition: int) -> int:
        latest = self.samples[-1] if self.samples else None
        leader = latest.leaders.get(("chaos.metering-values.intake", partition), -1) \
            if latest else -1
        return leader if leader > 0 else 1

    def alert_events(self) -> list[tuple[str, float]]:
        """(state, since) of every UnderReplicatedPartitions event the monitor logged."""
        out: list[tuple[str, float]] = []
        path = self.log("monitor")
        if not path.exists():
            return out
        for line in path.read_text(errors="replace").splitlines():
            if f'"{ALERT}"' not in line:
                continue
            try:
                alert = json.loads(line)["alert"]
            except (ValueError, KeyError, TypeError):
                continue
            if alert.get("name") == ALERT:
                since = datetime.fromisoformat(alert["since"]).timestamp()
                out.append((alert["state"], since))
        return out

    def alert_after(self, state: str, moment: float) -> float:
        return min((t for s, t in self.alert_events() if s == state and t >= moment),
                   default=0.0)


def alert_seen(cluster: NodeCluster, state: str, moment: float) -> Callable[[], bool]:
    return lambda: cluster.alert_after(state, moment) > 0


async def until(predicate: Callable[[], bool], within: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


async def fully_replicated(cluster: NodeCluster, since: float, within: float = 240.0
                           ) -> float:
    """When every partition was first seen fully replicated with every node alive after
    ``since`` (epoch s), 0 if not within ``within``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with_all = [s for s in cluster.samples[-5:] if s.at >= since
                    and s.brokers == cluster.kafka.count and s.under_replicated == 0]
        if with_all:
            return with_all[0].at
        await asyncio.sleep(0.5)
    return 0.0


async def node_down_and_back(cluster: NodeCluster, fault: NodeFault, node: int,
                             wipe: bool = False) -> None:
    """kill -9 ``node``, until the alert fired (bounded), wiped if asked, started again."""
    fault.injected_at = time.time()
    await asyncio.to_thread(cluster.kafka.kill_node, node)
    await until(alert_seen(cluster, "firing", fault.injected_at), ALERT_WAIT_S)
    if wipe:
        await asyncio.to_thread(cluster.kafka.wipe_node, node)
    await asyncio.to_thread(cluster.kafka.launch_node, node)
    await asyncio.to_thread(cluster.kafka.node(node).wait_ready, 180)
    fault.lifted_at = time.time()


async def inject(kind: str, cluster: NodeCluster, state: State, rng: random.Random,
                 round_: int) -> NodeFault:
    fault = NodeFault(kind, kind)
    state.faults.append(fault)
    if kind == "node-kill":
        partition = round_ % PARTITIONS
        node = cluster.intake_leader(partition)
        fault.nodes = [node]
        fault.label = FAULTS[kind].format(node=node, partition=partition)
        await node_down_and_back(cluster, fault, node)
    elif kind == "node-wipe":
        node = rng.choice(range(1, cluster.kafka.count + 1))
        fault.nodes = [node]
        fault.label = FAULTS[kind].format(node=node)
        await node_down_and_back(cluster, fault, node, wipe=True)
    elif kind == "controller-kill":
        node = quorum_leader(cluster.kafka) or 1
        fault.nodes = [node]
        fault.label = FAULTS[kind].format(node=node)
        await node_down_and_back(cluster, fault, node)
    elif kind == "rolling-restart":
        fault.label = FAULTS[kind]
        fault.injected_at = time.time()
        steps = []
        for node in range(1, cluster.kafka.count + 1):
            fault.nodes.append(node)
            began = time.monotonic()
            await asyncio.to_thread(cluster.kafka.node(node).stop)
            stopped = time.monotonic() - began
            await asyncio.to_thread(cluster.kafka.launch_node, node)
            await asyncio.to_thread(cluster.kafka.node(node).wait_ready, 180)
            ready = time.monotonic() - began
            back = time.time()
            await fully_replicated(cluster, back)
            steps.append(f"node {node}: stopped in {stopped:.1f} s, answering after "
                         f"{ready:.1f} s, fully replicated {time.time() - back:.1f} s later")
        fault.lifted_at = time.time()
        fault.note = "; ".join(steps)
    else:
        raise ValueError(kind)
    fault.replicated_at = await fully_replicated(cluster, fault.lifted_at)
    return fault


async def run_faults(plan: list[str], cluster: NodeCluster, state: State, rng: random.Random,
                     load_until: float) -> None:
    async for i, kind in scheduled(plan, state, rng, load_until, 90, (15, 20),
                                   lambda kind: NodeFault(kind, kind)):
        fault = await inject(kind, cluster, state, rng, i)
        await wait_recovered(fault, state, 90)
        # the alert resolves 15 s after the replicas are back: let it, so that the next
        # fault's alert is its own
        await until(alert_seen(cluster, "resolved", fault.injected_at), 60)
        say(f"  {fault.label}: back after {fault.lifted_at - fault.injected_at:.0f} s, fully "
            f"replicated {max(0.0, fault.replicated_at - fault.lifted_at):.0f} s later")
        await asyncio.sleep(rng.uniform(5, 10))


async def chaos(cluster: NodeCluster, options: Options, began: float) -> dict[str, Any]:
    watcher: asyncio.Task[None] | None = None

    def watch() -> None:  # once the processes are ready: replica samples all along
        nonlocal watcher
        watcher = asyncio.create_task(cluster.watch())

    market = await open_market(cluster, options, began, ready=watch)
    state, rng = market.state, random.Random(options.seed)
    apis = Apis(market.urls, market.settings, state)

    async def record(response: httpx.Response) -> None:
        if response.request.url.path == "/v1/metering-values":
            cluster.http.append((time.time(), response.request.url.path,
                                 response.status_code))

    for client in apis.clients:
        client.event_hooks["response"].append(record)
    plan = options.faults if options.faults is not None else list(PLAN)
    deadline = began + options.budget
    load_until = deadline - 150
    load_started, load_stopped = await under_load(
        market, apis, options, run_faults(plan, cluster, state, rng, load_until), load_until,
        deadline)
    # the last fault's alert resolves 15 s after the replicas are back: wait for it
    last_fault = next((f for f in reversed(state.faults) if not f.skipped), None)
    if last_fault is not None:
        await until(alert_seen(cluster, "resolved", last_fault.injected_at), 60)
    if watcher is not None:
        watcher.cancel()
    await apis.aclose()
    for fault in state.faults:
        if isinstance(fault, NodeFault) and not fault.skipped:
            fault.led_at = cluster.led_since(set(fault.nodes), fault.injected_at) \
                if fault.kind != "rolling-restart" else 0.0
            fault.alert_fired_at = cluster.alert_after("firing", fault.injected_at)
            fault.alert_resolved_at = cluster.alert_after("resolved", fault.injected_at)
    return {"state": state, "population": market.population, "days": market.days,
            "load_started": load_started, "load_stopped": load_stopped}


def _after(moment: float, base: float) -> str:
    return f"{moment - base:.1f}" if moment > 0 else "–"


def render(result: dict[str, Any], cluster: NodeCluster, options: Options, command: str,
           started: datetime, elapsed: float, letters: int, logs: dict[str, Any]
           ) -> Section:
    """The cluster-mode section of docs/RELIABILITY.md: the verdict, and per broker fault what
    it did to intake, leadership, replication and the monitor's alert."""
    state: State = result["state"]
    t0 = result["load_started"]
    faults = [f for f in state.faults if isinstance(f, NodeFault) and not f.skipped]
    edges = [state.started] + [f.injected_at for f in faults] + [float("inf")]
    rows: list[list[str]] = []
    for i, fault in enumerate([None, *faults]):
        lo, hi = edges[i], edges[i + 1]
        sent = [s for s in state.sent.values() if lo <= s.sent_at < hi]
        accepted = [s for s in sent if s.outcome == "accepted"]
        verdict = judge(state.expected(accepted), state.deliveries)
        unavailable = [t for t, _, status in cluster.http if lo <= t < hi and status == 503]
        window = f"{max(unavailable) - min(unavailable):.1f}" if unavailable else "–"
        if fault is None:
            rows.append(["baseline (no fault)", "–", "–", f"{len(sent):,}",
                         f"{len(accepted):,}", str(len(verdict.lost)),
                         str(len(verdict.duplicated)), str(len(unavailable)), window, "–", "–",
                         "–", "–"])
            continue
        base = fault.injected_at
        rows.append([
            fault.label, f"T+{base - t0:.0f} s", f"{fault.lifted_at - base:.1f}",
            f"{len(sent):,}", f"{len(accepted):,}", str(len(verdict.lost)),
            str(len(verdict.duplicated)), str(len(unavailable)), window,
            _after(fault.led_at, base), _after(fault.replicated_at, max(base, fault.lifted_at)),
            _after(fault.alert_fired_at, base),
            _after(fault.alert_resolved_at, fault.replicated_at or base)])
    accepted_all = [s for s in state.sent.values() if s.outcome == "accepted"]
    total = judge(state.expected(accepted_all), state.deliveries)
    stored = result["stored"]
    all_503 = sum(1 for _, _, s in cluster.http if s == 503)
    rows.append(["**all**", "", "", f"{len(state.sent):,}", f"{len(accepted_all):,}",
                 f"**{len(total.lost)}**", f"**{len(total.duplicated)}**", str(all_503), "", "",
                 "", "", ""])
    clean = not total.lost and not total.duplicated and not stored.repeated \
        and not total.wrong_id
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(state.statuses.items()))
    facts = run_facts(
        command, started, elapsed,
        f"Apache Kafka {cluster.kafka_version}, {cluster.kafka.count} KRaft nodes on this "
        f"machine (each broker and controller, heap {cluster.heap}), replication "
        f"{cluster.kafka.replication}, min.insync.replicas 2 for every topic incl. offsets and "
        "transaction state",
        ("straum", f"{len(cluster.workers)} workers, 2 API processes, a monitor at its "
                   f"production settings (rounds 5 s, alert after 10 s), {PARTITIONS} "
                   "partitions"),
        ("Seed", str(options.seed)))
    verdict_text = (
        f"**Lost: {len(total.lost)}. Delivered twice: {len(total.duplicated)}.** Of "
        f"{total.expected:,} expected deliveries of {len(accepted_all):,} series answered "
        f"202 ({len(state.sent):,} series sent at ≤ {options.rate:g} series/s). In the "
        f"queue topics (read back, read_committed): {stored.records:,} records, "
        f"{len(stored.repeated)} message ids committed more than once. "
        + ("**Verdict: 0 lost and 0 delivered twice.**" if clean else
           "**Verdict: not clean** (target: 0 lost and 0 delivered twice)."))
    notes = [
        "Node down: from the kill (SIGTERM of the first node for the rolling restart) until "
        "the node answered again; a killed node is started again once the monitor's "
        f"{ALERT} alert has fired (at most {ALERT_WAIT_S:g} s).",
        "503 answers: intake answers that said the records were not durable in time (each "
        "with Retry-After; the load generator sends the same document again); the window is "
        "from the first to the last of them in the fault's span.",
        "Every partition led: the first once-a-second metadata sample after the kill in which "
        "no partition (straum's and Kafka's internal ones) was led by the dead node or by "
        "nobody. Fully replicated: from the node answering again until every partition's "
        "in-sync replicas were all its replicas, with every node alive.",
        f"Alert: the monitor's {ALERT} (fired: from the kill; resolved: from fully "
        "replicated, the alert book's 15 s of quiet included). Target: fired within 60 s.",
        f"HTTP answers seen by the load generator and the drainers: {statuses}.",
        f"Dead letters written by the processors: {letters}.",
    ]
    notes += [f"{f.label}: {f.note}." for f in faults if f.note]
    notes += [f"Unexpected: {line}" for line in state.exits]
    if total.lost:
        notes.append("First lost pairs: " + ", ".join(f"`{t}` → {r}"
                                                       for t, r in total.lost[:5]) + ".")
    for name, kinds in logs.items():
        top = "; ".join(f"{n:,}× `{kind}`" for kind, n in kinds.most_common(3))
        notes.append(f"Error lines in {name}: {sum(kinds.values()):,}, most of them: {top}.")
    table = Table("", ["Fault", "Injected at", "Node down s", "Series sent", "Answered 202",
                       "Lost", "Twice", "503 answers", "503 window s",
                       "Every partition led after s", "Fully replicated after s",
                       "Alert fired after s", "Alert resolved after s"], rows, notes)
    return Section("## Chaos on three brokers: nothing lost while brokers fail", facts,
                   body=[verdict_text, table], markers=(BEGIN, END))


def parse(argv: list[str]) -> tuple[Options, int, str]:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos --nodes 3",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--heap", default="512m", help="heap of each Kafka node")
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--grid-owners", type=int, default=4)
    parser.add_argument("--suppliers", type=int, default=8)
    parser.add_argument("--rate", type=float, default=40.0, help="series per second")
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--budget", type=float, default=19 * 60.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--output", type=Path, default=REPORT)
    parser.add_argument("--faults", default=None,
                        help="comma-separated plan (kinds: " + ", ".join(FAULTS) + ")")
    a = parser.parse_args(argv)
    faults = None if a.faults is None else [f for f in a.faults.split(",") if f]
    if faults is not None and not set(faults) <= set(FAULTS):
        parser.error(f"unknown fault in --faults; kinds: {', '.join(FAULTS)}")
    if a.nodes != 3:
        parser.error("cluster mode runs three nodes (--nodes 3)")
    if not 1 <= a.rate <= 200 or a.budget > 20 * 60 or a.points > 2000:
        parser.error("bounded on purpose: --rate 1..200, --budget ≤ 1200, --points ≤ 2000")
    options = Options(a.points, a.grid_owners, a.suppliers, a.rate, a.batch, a.concurrency,
                      0, 0.0, a.budget, a.seed if a.seed is not None
                      else random.randrange(10**6), a.keep, a.output, faults, a.workers)
    return options, a.nodes, a.heap


def main(argv: list[str]) -> int:
    options, nodes, heap = parse(argv)
    for chatty in ("httpx", "httpcore", "aiokafka"):
        logging.getLogger(chatty).setLevel(logging.CRITICAL)
    signal.signal(signal.SIGTERM, _raise_exit)
    command = ".venv/bin/python -m bench.chaos " + " ".join(argv)
    started = datetime.now(UTC)
    began = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="straum-chaos-cluster-"))
    cluster = NodeCluster(root, nodes, heap, options.workers)
    failed, bad = True, -1
    try:
        say(f"scratch in {root}; starting {nodes} Kafka nodes (seed {options.seed})")
        cluster.start_broker()
        say(f"cluster ready at {cluster.bootstrap}")
        result = asyncio.run(chaos(cluster, options, began))
        letters = asyncio.run(dead_letters(cluster))
        population = result["population"]
        result["stored"] = asyncio.run(stored_copies(
            cluster, sorted(set(population.suppliers) | set(population.grid_owners))))
        logs = log_findings(cluster)
        write(options.output, render(result, cluster, options, command, started,
                                     time.monotonic() - began, letters, logs),
              new_file=NEW_REPORT)
        state = result["state"]
        verdict = judge(state.expected([s for s in state.sent.values()
                                        if s.outcome == "accepted"]), state.deliveries)
        bad = len(verdict.lost) + len(verdict.duplicated) + len(result["stored"].repeated)
        say(f"wrote {options.output}: lost {len(verdict.lost)}, delivered twice "
            f"{len(verdict.duplicated)}, committed twice {len(result['stored'].repeated)}")
        failed = False
    finally:
        cluster.close()
        if options.keep or failed or bad != 0:
            say(f"scratch kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


