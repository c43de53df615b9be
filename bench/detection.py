"""``python -m bench.detection``: how fast a stopped forwarder is detected, and that quiet is
quiet.

The issue: with the real broker and the forwarder under steady load, stop the forwarder three
ways (kill it; freeze it with SIGSTOP; make every record fail): each time the alert fires
within 60 s and resolves after recovery. A 12-hour quiet period (heartbeats only, time-
compressed) raises no alert.

Instance A (the one under faults) runs ``straum worker`` and ``straum monitor`` with the
production monitor settings (heartbeats every 10 s, stale after 40 s, a round every 5 s, 60 s
start-up grace), the monitor posting alert events to a loopback webhook receiver
(tests/integration/test_monitoring.py ``Webhook``). Steady load: new 96-point series written to
the intake topic at 10 series/s. Then, one after the other, each after the previous one has
resolved and heartbeats come through again:

1. kill: SIGKILL the worker; when ForwardingStopped fires, start a new worker;
2. freeze: SIGSTOP the worker; when ForwardingStopped fires, SIGCONT it;
3. every record fails: the normal load is paused and undecodable records are written to the
   intake topic at 20/s (the worker turns each into a dead letter and goes on); when
   ForwardingFailing fires (dead letters >= 50 % of the last minute's input), the garbage
   stops and the normal load resumes.

Detection = the firing event's ``since`` (the monitor's clock, same machine) minus the moment
the fault was injected; resolution = the last resolved event's ``since`` minus the moment of
recovery. Resolution includes the monitor's 15 s hold before it calls an alert resolved.

Instance B (quiet) runs at the same time on the same broker with its own topics, worker and
monitor, heartbeats only, time-compressed 20×: heartbeats every 0.5 s, stale after 2 s, a
round every 0.25 s, 3 s grace. Every alert event it sends is counted (must be none).
``--quiet-alone M`` runs it after instance A instead, alone for M minutes.

``--quick`` runs instance A compressed as well (a smoke test of the harness, not the figures).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

import straum.monitor as monitor_module
from bench.common import Run, Table, console, num
from bench.fixtures import Market, make_market, series_value, warmup_records
from bench.forwarder import create_topics
from bench.intake import load_master_data, start_api
from bench.probe import Probe, produce
from bench.procs import Processes
from bench.standalone import log_lines, log_size, log_summary, main, until_members
from bench.wait import caught_up
from connectors.compacted import CompactedView
from schemas.settings import Settings
from streams.kafka import durable_producer
from streams.records import ops_status
from streams.topics import TopicCatalogue
from tests.integration.test_monitoring import Webhook

LOAD_RATE = 10.0  # series/s of steady traffic
GARBAGE_RATE = 20.0  # undecodable records/s while "every record fails"
COMPRESSION = 20
PRODUCTION = {"STRAUM_MONITOR_INTERVAL_SECONDS": "5", "STRAUM_HEARTBEAT_INTERVAL_SECONDS": "10",
              "STRAUM_HEARTBEAT_STALE_SECONDS": "40",
              "STRAUM_MONITOR_STARTUP_GRACE_SECONDS": "60"}
COMPRESSED = {"STRAUM_MONITOR_INTERVAL_SECONDS": str(5 / COMPRESSION),
              "STRAUM_HEARTBEAT_INTERVAL_SECONDS": str(10 / COMPRESSION),
              "STRAUM_HEARTBEAT_STALE_SECONDS": str(40 / COMPRESSION),
              "STRAUM_MONITOR_STARTUP_GRACE_SECONDS": str(60 / COMPRESSION)}
CRITICAL_DOWN = ("ForwardingStopped", "ForwardingFailing", "ConsumerLag")


def since(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["since"]).timestamp()


class Alerts:
    """What a Webhook received, read as alert state."""

    def __init__(self, webhook: Webhook) -> None:
        self.webhook = webhook
        self.received_at: list[float] = []  # wall time each event was first seen here

    def events(self) -> list[dict[str, Any]]:
        events = list(self.webhook.events)
        while len(self.received_at) < len(events):
            self.received_at.append(time.time())
        return events

    def open(self) -> dict[str, dict[str, Any]]:
        state: dict[str, dict[str, Any]] = {}
        for event in self.events():
            if event["state"] == "firing":
                state[event["id"]] = event
            else:
                state.pop(event["id"], None)
        return state

    def firing_since(self, t: float) -> list[tuple[dict[str, Any], float]]:
        events = self.events()
        return [(e, self.received_at[i]) for i, e in enumerate(events)
                if e["state"] == "firing" and since(e) >= t - 0.5]


class Load:
    """New series into the intake topic at a steady rate, and garbage when asked."""

    def __init__(self, settings: Settings, catalogue: TopicCatalogue, market: Market) -> None:
        self.settings, self.catalogue, self.market = settings, catalogue, market
        self.normal = asyncio.Event()
        self.garbage = asyncio.Event()
        self.sent = self.garbage_sent = 0
        self.tasks: list[asyncio.Task[None]] = []
        self.producer = durable_producer(settings, "bench-detection-load")

    async def start(self) -> None:
        await self.producer.start()
        self.normal.set()
        self.tasks = [asyncio.create_task(self._normal()), asyncio.create_task(self._garbage())]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.producer.stop()

    async def _normal(self) -> None:
        capacity = len(self.market.points) * len(self.market.days)
        while True:
            await self.normal.wait()
            point, day = self.market.slot(self.sent % capacity)
            await self.producer.send(self.catalogue.metering_values,
                                     series_value(point, day, self.sent),
                                     key=point.point_id.encode())
            self.sent += 1
            await asyncio.sleep(1 / LOAD_RATE)

    async def _garbage(self) -> None:
        rng = random.Random(5)
        while True:
            await self.garbage.wait()
            point = rng.choice(self.market.points)
            await self.producer.send(self.catalogue.metering_values,
                                     b"not avro: " + os.urandom(48),
                                     key=point.point_id.encode())
            self.garbage_sent += 1
            await asyncio.sleep(1 / GARBAGE_RATE)


@dataclass
class Outcome:
    fault: str
    alert: str
    detect_s: float | None = None
    received_s: float | None = None
    resolve_s: float | None = None
    fired_ids: int = 0
    others: list[str] = field(default_factory=list)
    note: str = ""


async def wait_for(predicate: Callable[[], Any], within: float, procs: Processes,
                   every: float = 0.2) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        procs.check()
        result = predicate()
        if result:
            return result
        await asyncio.sleep(every)
    return None


def heartbeats_fresh(view: CompactedView[dict[str, Any]], stale_s: float) -> bool:
    status = view.values.get("status")
    if status is None or time.time() - status["takenAt"].timestamp() > 3 * stale_s:
        return False
    beats = status["heartbeats"]
    return bool(beats) and all(b["ageSeconds"] is not None and b["ageSeconds"] < stale_s / 2
                               for b in beats)


async def steady(alerts: Alerts, view: CompactedView[dict[str, Any]], procs: Processes,
                 stale_s: float, within: float = 240) -> str | None:
    """Wait until no critical alert is open and every heartbeat comes through; None then,
    else what was still wrong after ``within`` seconds (the monitor's own words)."""
    def ok() -> bool:
        open_critical = [a for a in alerts.open().values() if a["severity"] == "critical"]
        return not open_critical and heartbeats_fresh(view, stale_s)
    if await wait_for(ok, within, procs, every=0.5):
        return None
    status = view.values.get("status") or {}
    bad = [f"{p['topic'].rsplit('.', 2)[-2]}.{p['topic'].rsplit('.', 1)[-1]}[{p['partition']}] "
           f"{p['status']}: committed {p['committed']}, log end {p['logEnd']} ({p['reason']})"
           for p in status.get("partitions", []) if p["status"] not in ("OK", "WARN")]
    opened = sorted(a["id"] for a in alerts.open().values() if a["severity"] == "critical")
    return (f"still not steady {within:.0f} s after the previous recovery: open "
            f"{', '.join(opened) or 'none'}; heartbeats fresh: "
            f"{heartbeats_fresh(view, stale_s)}; " + "; ".join(bad[:4]))


async def stuck_diagnosis(settings: Settings, catalogue: TopicCatalogue,
                          view: CompactedView[dict[str, Any]]) -> str:
    """For each input partition the monitor calls STOP/STALL: were the intake records past
    the stuck committed offset forwarded anyway (their acknowledgement is committed in the
    grid owner's market-processes queue), or not at all?"""
    from aiokafka import TopicPartition

    from streams.kafka import reader
    from streams.records import queue_message
    from streams.records import series as intake_series

    status = view.values.get("status") or {}
    stuck = [(p["topic"], p["partition"], p["committed"] or 0, p["logEnd"])
             for p in status.get("partitions", [])
             if p["status"] in ("STOP", "STALL") and p["topic"] == catalogue.metering_values]
    if not stuck:
        return ""
    consumer = reader(settings, "bench-diagnosis")
    await consumer.start()
    decode_series = intake_series.decode

    async def read(tp: TopicPartition, start: int, end: int) -> list[Any]:
        consumer.assign([tp])
        consumer.seek(tp, start)
        out: list[Any] = []
        while await consumer.position(tp) < end:
            batch = (await consumer.getmany(tp, timeout_ms=2000)).get(tp, [])
            if not batch:
                break
            out += [r for r in batch if r.offset < end]
        return out

    try:
        forwarded: set[str] = set()
        for topic in sorted(await consumer.topics()):
            parsed = catalogue.parse_queue_topic(topic)
            if parsed is None or parsed[1].value != "market-processes":
                continue
            tp = TopicPartition(topic, 0)
            end = (await consumer.end_offsets([tp]))[tp]
            for record in await read(tp, 0, end):
                message = queue_message.parse(record.value)
                payload = message.get("payload") or {}
                if message.get("documentType") == "Acknowledgement" and \
                        payload.get("transactionId"):
                    forwarded.add(payload["transactionId"])
        found = []
        for topic, partition, committed, log_end in stuck:
            tp = TopicPartition(topic, partition)
            series = []
            for record in await read(tp, committed, log_end):
                if record.headers and any(k == "straum-kind" for k, _ in record.headers):
                    continue
                try:
                    series.append(decode_series(record.value)["transactionId"])
                except ValueError:
                    continue
            done = sum(1 for t in series if t in forwarded)
            found.append(f"{topic.rsplit('.', 2)[-2]}[{partition}]: of the {len(series)} series "
                         f"past committed offset {committed}, {done} had been forwarded "
                         "(their acknowledgement is committed in a grid owner's queue)")
        return "; ".join(found)
    finally:
        await consumer.stop()


async def one_fault(kind: str, procs: Processes, load: Load, alerts: Alerts,
                    fire_within: float, resolve_within: float) -> Outcome:
    alert = "ForwardingFailing" if kind == "fail" else "ForwardingStopped"
    out = Outcome(kind, alert)
    worker = procs.running["worker"]
    console.print(f"detection: fault '{kind}'")
    t_fault = time.time()
    if kind == "kill":
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        procs.running.pop("worker")
    elif kind == "freeze":
        worker.send_signal(signal.SIGSTOP)
    else:
        load.normal.clear()
        load.garbage.set()
    try:
        fired = await wait_for(lambda: [f for f in alerts.firing_since(t_fault)
                                        if f[0]["name"] == alert], fire_within, procs)
    finally:
        t_recover = time.time()
        if kind == "kill":
            procs.start_worker("worker")
        elif kind == "freeze":
            worker.send_signal(signal.SIGCONT)
        else:
            load.garbage.clear()
            load.normal.set()
    if not fired:
        out.note = f"no {alert} within {fire_within:.0f} s"
        return out
    first, received = min(fired, key=lambda f: since(f[0]))
    out.detect_s, out.received_s = since(first) - t_fault, received - t_fault
    console.print(f"detection: {kind}: {alert} fired after {out.detect_s:.1f} s; recovering")

    def resolved() -> list[float] | None:
        ids = {e["id"] for e, _ in alerts.firing_since(t_fault) if e["name"] == alert}
        open_now = alerts.open()
        if ids & open_now.keys():
            return None
        return [since(e) for e in alerts.events()
                if e["state"] == "resolved" and e["id"] in ids and since(e) >= t_fault]

    times = await wait_for(resolved, resolve_within, procs, every=0.5)
    ids = {e["id"] for e, _ in alerts.firing_since(t_fault) if e["name"] == alert}
    out.fired_ids = len(ids)
    if times:
        out.resolve_s = max(times) - t_recover
    else:
        out.note = f"{alert} still firing {resolve_within:.0f} s after recovery"
    others: dict[str, float] = {}
    for event, _ in alerts.firing_since(t_fault):
        if event["name"] != alert:
            others.setdefault(event["name"], since(event) - t_fault)
    out.others = [f"{n} (+{s:.0f} s)" for n, s in sorted(others.items(), key=lambda x: x[1])]
    return out


@dataclass
class Quiet:
    seconds: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)
    log_firing: int = 0
    heartbeats_seen: bool = False
    problems: list[str] = field(default_factory=list)
    concurrent: bool = True


class QuietInstance:
    """Instance B: worker + compressed monitor, no traffic, its own webhook."""

    def __init__(self, run: Run) -> None:
        self.settings = run.settings("quiet")
        self.webhook = Webhook()
        self.procs = Processes(self.settings)
        self.procs.env.update({**COMPRESSED, "STRAUM_ALERT_WEBHOOK": self.webhook.url,
                               "STRAUM_WORKER_METRICS_PORT": "0",
                               "STRAUM_MONITOR_METRICS_PORT": "0"})
        self.started = 0.0
        self.log_mark = 0
        self.view: CompactedView[dict[str, Any]] | None = None

    async def start(self) -> None:
        catalogue = await create_topics(self.settings)
        self.procs.start_worker("worker")
        async with Probe(self.settings) as probe:
            await until_members(probe, self.procs, self.settings.topic_prefix)
        self.procs.start("monitor", "monitor", "--metrics-port", "0")
        self.view = CompactedView(self.settings, catalogue.ops_status, ops_status.decode)
        await self.view.start()
        # Counting starts once the grace is over and heartbeats come through.
        view = self.view
        await wait_for(lambda: heartbeats_fresh(view, 40 / COMPRESSION), 120, self.procs)
        self.webhook.events.clear()
        self.started = time.monotonic()
        self.log_mark = log_size(self.procs.log("monitor"))

    async def finish(self) -> Quiet:
        self.procs.check()
        out = Quiet(time.monotonic() - self.started, list(self.webhook.events))
        assert self.view is not None
        out.heartbeats_seen = heartbeats_fresh(self.view, 40 / COMPRESSION)
        out.log_firing = len(log_lines(self.procs.log("monitor"), '"alert firing"',
                                       since=self.log_mark, limit=10**9))
        out.problems = [f"{n}: {line}" for n in ("worker", "monitor")
                        for line in log_summary(self.procs.log(n), since=0, limit=3)]
        return out

    async def close(self) -> None:
        if self.view is not None:
            await self.view.stop()
        self.procs.stop_all()
        self.webhook.server.shutdown()


async def instance_a(run: Run, quick: bool, quiet: QuietInstance | None
                     ) -> tuple[list[Outcome], dict[str, Any]]:
    settings = run.settings("det")
    catalogue = await create_topics(settings)
    env = COMPRESSED if quick else PRODUCTION
    stale_s = float(env["STRAUM_HEARTBEAT_STALE_SECONDS"])
    webhook = Webhook()
    alerts = Alerts(webhook)
    market = make_market(4_000, grid_owners=10, suppliers=20, seed=3)
    facts: dict[str, Any] = {"points": len(market.all_points)}
    load = Load(settings, catalogue, market)
    view = CompactedView(settings, catalogue.ops_status, ops_status.decode)
    try:
        with Processes(settings) as procs:
            procs.env.update({**env, "STRAUM_ALERT_WEBHOOK": webhook.url,
                              "STRAUM_WORKER_METRICS_PORT": "0",
                              "STRAUM_MONITOR_METRICS_PORT": "0"})
            procs.start_worker("worker")
            async with Probe(settings) as probe:
                await until_members(probe, procs, settings.topic_prefix)
                procs.start("monitor", "monitor", "--metrics-port", "0")
                async with httpx.AsyncClient(base_url=start_api(procs), timeout=60) as client:
                    await load_master_data(settings, probe, procs, client, market, catalogue)
                procs.stop("api")
                await produce(settings, catalogue.metering_values, warmup_records(market))
                await caught_up(probe, procs, catalogue.metering_values,
                                "worker: warm-up series")
            await view.start()
            await load.start()
            fire_within, resolve_within = (60.0, 120.0) if quick else (150.0, 240.0)
            outcomes = []
            try:
                for kind in ("kill", "freeze", "fail"):
                    unsteady = await steady(alerts, view, procs, stale_s)
                    if unsteady:
                        diagnosis = await stuck_diagnosis(settings, catalogue, view)
                        if diagnosis:
                            unsteady += f" — {diagnosis}"
                        console.print(f"detection: before '{kind}': {unsteady}")
                    webhook_mark = len(webhook.events)
                    outcome = await one_fault(kind, procs, load, alerts, fire_within,
                                              resolve_within)
                    if unsteady:
                        outcome.note = (outcome.note + "; " if outcome.note else "") + \
                            f"started although {unsteady}"
                    outcomes.append(outcome)
                    facts.setdefault("events", []).extend(webhook.events[webhook_mark:])
                if quiet is not None:
                    facts["quiet"] = await quiet.finish()
            finally:
                facts["sent"], facts["garbage"] = load.sent, load.garbage_sent
                await load.stop()
                await view.stop()
                for process in procs.running.values():  # never leave one frozen
                    if process.poll() is None:
                        process.send_signal(signal.SIGCONT)
            facts["problems"] = [f"{n}: {line}" for n in ("worker", "monitor")
                                 for line in log_summary(procs.log(n), limit=4)]
    finally:
        webhook.server.shutdown()
    return outcomes, facts


def fault_table(outcomes: list[Outcome], facts: dict[str, Any], quick: bool) -> Table:
    t = Table("Detection: the forwarder stopped three ways under steady load"
              + (" (compressed 20×: smoke run, not the figures)" if quick else ""),
              ["Fault", "Alert", "Fault → firing s", "Webhook received s",
               "Recovery → resolved s", "Target: fires ≤ 60 s", "Met", "Also fired"])
    for o in outcomes:
        met = o.detect_s is not None and o.detect_s <= 60 and o.resolve_s is not None
        t.rows.append([
            {"kill": "kill -9 the worker", "freeze": "SIGSTOP the worker",
             "fail": "every record fails (garbage at 20/s, load paused)"}[o.fault],
            o.alert + (f" ({o.fired_ids} partitions)" if o.fired_ids > 1 else ""),
            num(o.detect_s if o.detect_s is not None else float("nan"), 1),
            num(o.received_s if o.received_s is not None else float("nan"), 1),
            num(o.resolve_s if o.resolve_s is not None else float("nan"), 1),
            "≤ 60 s, then resolves", "yes" if met else "**no**",
            ", ".join(o.others) or "–"])
        if o.note:
            t.notes.append(f"{o.fault}: **{o.note}**")
    settings = COMPRESSED if quick else PRODUCTION
    t.notes.append(
        "Monitor settings: heartbeat every "
        f"{settings['STRAUM_HEARTBEAT_INTERVAL_SECONDS']} s, stale after "
        f"{settings['STRAUM_HEARTBEAT_STALE_SECONDS']} s, a round every "
        f"{settings['STRAUM_MONITOR_INTERVAL_SECONDS']} s, start-up grace "
        f"{settings['STRAUM_MONITOR_STARTUP_GRACE_SECONDS']} s"
        + (" (20× compressed)." if quick else " (the production defaults).")
        + " An alert resolves after its condition has been gone for 15 s (domain/alerts.py).")
    t.notes.append(
        f"Steady load: {LOAD_RATE:g} new 96-point series/s written to the intake topic "
        f"({facts.get('sent', 0):,} in all, over {facts.get('points', 0):,} points with "
        f"master data); {facts.get('garbage', 0):,} undecodable records during 'every record "
        "fails'. Each fault starts once no critical alert is open and every heartbeat "
        "comes through; recovery (new worker, SIGCONT, garbage off and load on) starts as "
        "soon as the alert has fired.")
    t.notes.append(
        "Fault → firing: the firing event's `since` (the monitor's clock) minus the moment the "
        "fault was injected; 'Webhook received': when this benchmark's loopback receiver had "
        "it. Recovery → resolved: the last of the alert's resolved events (ForwardingStopped "
        "is one alert per input partition) minus the moment of recovery.")
    interval = float(settings["STRAUM_MONITOR_INTERVAL_SECONDS"])
    t.notes.append(
        "What bounds the figures: ForwardingStopped fires once the newest heartbeat that came "
        "through a partition is older than the stale threshold "
        f"({settings['STRAUM_HEARTBEAT_STALE_SECONDS']} s), judged once a round "
        f"({interval:g} s); where the stop falls in the heartbeat cycle "
        f"({settings['STRAUM_HEARTBEAT_INTERVAL_SECONDS']} s) and in the round moves the "
        "detection by up to one interval plus one round either side of the threshold. After a "
        "kill, the new worker (the same STRAUM_WORKER_ID, a static group member) takes the "
        "dead one's place in the group without a rebalance if it joins within the session "
        "timeout, else after the dead member's session expired; it restores its tables before "
        "heartbeats come through again.")
    window = float(getattr(monitor_module, "RATE_WINDOW_S", 0.0)) or None
    if window is not None:
        clean = window * GARBAGE_RATE / (GARBAGE_RATE + LOAD_RATE)
        t.notes.append(
            "ForwardingFailing fires when dead letters are ≥ 50 % of the real input (heartbeats "
            f"not counted, at least 5 records) over the monitor's rate window (`RATE_WINDOW_S` "
            f"= {window:g} s in straum/monitor.py): with the normal load paused, once a round "
            "has seen enough garbage. After recovery the share over the window falls under "
            f"50 % once clean input outnumbers the garbage still in it (~{clean:.0f} s at "
            f"{LOAD_RATE:g}/s against {GARBAGE_RATE:g}/s), then the 15 s hold.")
    else:
        t.notes.append(
            "ForwardingFailing fires when dead letters are ≥ 50 % of the real input over the "
            "monitor's rate window; it resolves once the share is under 50 % for the 15 s "
            "hold.")
    for line in facts.get("problems", []):
        t.notes.append(f"Instance A warnings/errors in the logs: `{line}`")
    return t


def quiet_table(q: Quiet) -> Table:
    simulated = q.seconds * COMPRESSION
    t = Table("Quiet period: heartbeats only, time-compressed",
              ["Wall time", "Compression", "Simulated", "Alert events (webhook)",
               "'alert firing' in monitor log", "Target", "Met"])
    t.rows.append([f"{q.seconds / 60:.1f} min", f"{COMPRESSION}×",
                   f"{simulated / 3600:.1f} h ({simulated / 60:.0f} min)", str(len(q.events)),
                   str(q.log_firing), "0 alerts over 12 h", "yes" if not q.events else "**no**"])
    t.notes.append(
        f"Monitor: heartbeats every {COMPRESSED['STRAUM_HEARTBEAT_INTERVAL_SECONDS']} s, stale "
        f"after {COMPRESSED['STRAUM_HEARTBEAT_STALE_SECONDS']} s, a round every "
        f"{COMPRESSED['STRAUM_MONITOR_INTERVAL_SECONDS']} s, grace "
        f"{COMPRESSED['STRAUM_MONITOR_STARTUP_GRACE_SECONDS']} s: the production values ÷ "
        f"{COMPRESSION}. The simulated time is wall time × {COMPRESSION}: "
        + ("less than the issue's 12 hours (12 h would take 36 min of wall time at this "
           "compression)." if simulated < 12 * 3600 else "at least the issue's 12 hours."))
    t.notes.append(
        "Not compressed: the 15 s resolve hold and the "
        f"{getattr(monitor_module, 'RATE_WINDOW_S', 20):g} s window of the failing-share rule. "
        "The worker commits each batch (its heartbeats included) in its own transaction as "
        "soon as it is handled, so there is no commit interval to compress.")
    if q.concurrent:
        t.notes.append(
            "This instance (own topics, worker and monitor, no traffic) ran on the same broker "
            "and machine at the same time as the three faults of instance A: a neighbour's "
            "kill, freeze, restart and catch-up did not disturb it.")
    if q.events:
        t.notes.append("Alert events: " + "; ".join(
            f"{e['state']} {e['name']} at {e['since']}: {e['summary']}" for e in q.events[:6]))
    t.notes.append("Heartbeats came through at the end: "
                   + ("yes" if q.heartbeats_seen else "**no**") + ".")
    for line in q.problems:
        t.notes.append(f"Quiet instance warnings/errors in the logs: `{line}`")
    return t


async def measure(run: Run, args: argparse.Namespace) -> list[Table]:
    quiet = None
    if args.quiet_alone is None:
        quiet = QuietInstance(run)
    try:
        if quiet is not None:
            await quiet.start()
            console.print("detection: quiet instance counting alerts")
        outcomes, facts = await instance_a(run, run.quick, quiet)
    finally:
        if quiet is not None:
            await quiet.close()
    tables = [fault_table(outcomes, facts, run.quick)]
    result: Quiet | None = facts.get("quiet")
    if args.quiet_alone is not None:
        alone = QuietInstance(run)
        try:
            await alone.start()
            minutes = args.quiet_alone
            console.print(f"detection: quiet instance alone for {minutes:g} min")
            await asyncio.sleep(minutes * 60)
            result = await alone.finish()
            result.concurrent = False
        finally:
            await alone.close()
    if result is not None:
        tables.append(quiet_table(result))
    return tables


def extend(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet-alone", type=float, metavar="MINUTES",
                   help="run the quiet instance after the faults, alone, for MINUTES (default: "
                        "at the same time as the faults)")


if __name__ == "__main__":
    raise SystemExit(main("detection", "Detection of a stopped forwarder, and a quiet period",
                          __doc__, measure, extend=extend))
