"""The monitor process: watches forwarding from outside the processors and raises alerts.

Every round it sends heartbeats into every input partition (when due), reads committed and
log-end offsets and record timestamps from the broker, judges each partition with Burrow's rules
(:mod:`domain.lag`), measures how old the newest heartbeat that came through each partition is,
reads every partition's leader and in-sync replicas from the cluster (:mod:`domain.replication`),
and turns all of that into alerts (:mod:`domain.alerts`) for the log, a webhook and Prometheus.
Its latest round is published to the ops-status topic for the API, the /ops page and
``straum lag``; whether forwarding was up is recorded per round for availability reports.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition
from prometheus_client import Gauge, start_http_server

from connectors.compacted import CompactedView
from connectors.ops.observer import BrokerObserver
from connectors.ops.sinks import LogSink, PrometheusSink, WebhookSink
from domain.alerts import AlertBook, HeartbeatAge, Observed, Thresholds, conditions, listing, update
from domain.availability import MinuteSample
from domain.lag import Observation, Status, evaluate_group, evaluate_partition
from domain.ops_history import Sample
from domain.replication import PartitionReplicas, ReplicationState, persisting
from schemas.settings import Settings
from streams.logging import configure_logging, get_logger
from streams.records import availability, ops_history, ops_status
from streams.topics import TopicCatalogue

log = get_logger(__name__)

LAG = Gauge("straum_consumergroup_lag", "Committed-offset lag in messages",
            ["group", "topic", "partition"])
LAG_SECONDS = Gauge("straum_consumergroup_lag_seconds", "Age of the oldest unprocessed record",
                    ["group", "topic", "partition"])
HEARTBEAT_AGE = Gauge("straum_heartbeat_age_seconds",
                      "Age of the newest heartbeat that came through the processors",
                      ["topic", "partition"])
QUEUE_DEPTH = Gauge("straum_queue_depth", "Unacknowledged messages", ["actor", "queue"])
QUEUE_OLDEST = Gauge("straum_queue_oldest_unacknowledged_age_seconds",
                     "Age of the oldest unacknowledged message", ["actor", "queue"])
DEAD_LETTERS = Gauge("straum_dead_letter_topic_records", "Records in the dead-letter topic")
UP = Gauge("straum_monitor_broker_up", "1 when the monitor could read the broker")
LAST_ROUND = Gauge("straum_monitor_last_round_timestamp_seconds", "When the monitor last ran")
FORWARDING_DOWN = {"ForwardingStopped", "ForwardingFailing", "BrokerUnreachable",
                   "ConsumerLag"}
RATE_WINDOW_S = 20.0
ALLOWED_LAG = 1  # Faust commits the offset of the last record it processed: a lag of 1 is idle
FORWARDING_UP = Gauge("straum_forwarding_up", "1 when heartbeats come through every partition")
KAFKA_BROKERS = Gauge("straum_kafka_brokers", "Live brokers in the cluster's metadata")
KAFKA_PARTITIONS = Gauge("straum_kafka_partitions",
                         "Partitions in the cluster, Kafka's internal topics included")
UNDER_REPLICATED = Gauge("straum_kafka_under_replicated_partitions",
                         "Partitions with fewer in-sync replicas than replicas")
BELOW_MIN_ISR = Gauge("straum_kafka_under_min_isr_partitions",
                      "Partitions with fewer in-sync replicas than min.insync.replicas "
                      "(acks=all writes refused)")
OFFLINE = Gauge("straum_kafka_offline_partitions", "Partitions without a leader")
AFFECTED_SHOWN = 100  # partitions listed in the ops status (the counts are complete)


class Monitor:
    def __init__(self, settings: Settings, interval: float, heartbeat_interval: float,
                 webhook_url: str | None, thresholds: Thresholds | None = None,
                 window: int = 12) -> None:
        self.settings = settings
        self.catalogue = TopicCatalogue.from_settings(settings)
        self.group = settings.topic_prefix
        self.interval = interval
        self.heartbeat_interval = heartbeat_interval
        self.thresholds = thresholds or Thresholds()
        self.window = window
        self.observer = BrokerObserver(settings, self.catalogue)
        self.sinks: list[Any] = [LogSink(), PrometheusSink()]
        host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::") else settings.http_host
        self.webhook = WebhookSink(webhook_url, payload=settings.alert_webhook_format,
                                   external_url=f"http://{host}:{settings.http_port}/ops"
                                   ) if webhook_url else None
        if self.webhook:
            self.sinks.append(self.webhook)
        self.book = AlertBook()
        self.history: dict[tuple[str, int], deque[Observation]] = defaultdict(
            lambda: deque(maxlen=self.window))
        self.started = time.time()
        self.broker_down_since: float | None = None
        self.last_heartbeat = 0.0
        self.dead_letter_total = 0
        self.last_dead_letter_at: float | None = None
        self.input_ends: deque[tuple[float, int, int, int]] = deque(maxlen=64)
        self.connected = False
        self.maintenance = CompactedView(settings, self.catalogue.maintenance,
                                        availability.decode_window)
        self.minute: datetime | None = None
        self.minute_up = True
        self.unsent_samples: deque[bytes] = deque(maxlen=7 * 24 * 60)
        # History for the /ops page: a sample per interval, and every alert event.
        self.history_every = settings.history_sample_seconds
        self.history_at = time.time()
        self.worst_lag, self.worst_lag_s = 0, None
        self.unsent_history: deque[tuple[str, bytes]] = deque(maxlen=7 * 24 * 60 * 4)
        self.under_replicated_since: dict[tuple[str, int], float] = {}
        self.offline_since: dict[tuple[str, int], float] = {}

    async def run(self) -> None:
        if self.webhook:
            self.webhook.start()
        while True:
            began = time.monotonic()
            try:
                if not self.connected:
                    await self.observer.start()
                    if not self.maintenance.loaded.is_set():
                        await self.maintenance.start()
                    self.connected = True
                await self.round()
                self.broker_down_since = None
                UP.set(1)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker is unreachable: say so, never report zero lag
                UP.set(0)
                LAG.clear()
                LAG_SECONDS.clear()
                if self.broker_down_since is None:
                    self.broker_down_since = time.time()
                log.warning("monitor cannot read the broker", error=str(exc))
                self.judge(Observed(now=time.time(), monitor_started=self.started,
                                    broker_down_since=self.broker_down_since,
                                    in_maintenance=self.in_maintenance(time.time()),
                                    forwarding_up=False))
                if not self.connected:
                    await self._reset()  # start failed half-way: begin afresh next round
            LAST_ROUND.set(time.time())
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - began)))

    async def _reset(self) -> None:
        try:
            await self.observer.stop()
        except Exception as exc:  # already broken: start afresh next round
            log.debug("closing monitor clients failed", error=str(exc))
        self.observer = BrokerObserver(self.settings, self.catalogue)
        self.connected = False

    async def round(self) -> None:
        now = time.time()
        if now - self.last_heartbeat >= self.heartbeat_interval:
            await self.observer.send_heartbeats()
            self.last_heartbeat = now
        topics = self.catalogue.input_topics
        offsets = await self.observer.offsets(self.group, topics)
        partitions: list[dict[str, Any]] = []
        verdicts = {}
        lag_errors = []
        for tp, log_end in sorted(offsets.log_end.items()):
            committed = offsets.committed.get(tp)
            window = self.history[(tp.topic, tp.partition)]
            window.append(Observation(at=now, committed=committed, log_end=log_end))
            verdict = evaluate_partition(tuple(window), now, allowed_lag=ALLOWED_LAG)
            verdicts[(tp.topic, tp.partition)] = verdict
            lag_seconds = None
            if verdict.lag > ALLOWED_LAG and committed is not None:
                ts = await self.observer.timestamp_at(tp, committed)
                lag_seconds = None if ts is None else max(0.0, now - ts)
            elif verdict.lag <= ALLOWED_LAG:
                lag_seconds = 0.0
            labels = (self.group, tp.topic, str(tp.partition))
            LAG.labels(*labels).set(verdict.lag)
            if lag_seconds is not None:
                LAG_SECONDS.labels(*labels).set(lag_seconds)
            if verdict.status in (Status.STOP, Status.STALL, Status.REWIND):
                lag_errors.append((tp.topic, tp.partition, verdict.status.value, verdict.reason))
            partitions.append({"topic": tp.topic, "partition": tp.partition,
                               "committed": committed, "logEnd": log_end, "lag": verdict.lag,
                               "lagSeconds": lag_seconds, "status": verdict.status.value,
                               "reason": verdict.reason})
        beats = []
        for (topic, partition), _ in sorted(self.observer.heartbeat_sent.items()):
            back = self.observer.heartbeat_back.get((topic, partition))
            age = None if back is None else max(0.0, now - back)
            beats.append(HeartbeatAge(topic, partition, age))
            if age is not None:
                HEARTBEAT_AGE.labels(topic, str(partition)).set(age)
        await self._dead_letters()
        queues = await self.observer.queue_depths()
        for actor, queue, queue_depth, oldest in queues:
            QUEUE_DEPTH.labels(actor, queue).set(queue_depth)
            if oldest is not None:
                QUEUE_OLDEST.labels(actor, queue).set(oldest)
        throughput, eta, failing = self._rates(now, offsets)
        replication = await self._replication(now)
        forwarding_up = all(b.age_s is not None and b.age_s <= self.thresholds.heartbeat_stale_s
                            for b in beats)
        observed = Observed(
            now=now, monitor_started=self.started, broker_down_since=None,
            in_maintenance=self.in_maintenance(now), forwarding_up=forwarding_up,
            heartbeats=tuple(beats), lag_errors=tuple(lag_errors),
            last_dead_letter_at=self.last_dead_letter_at,
            dead_letter_total=self.dead_letter_total, failing_share=failing,
            oldest_unread=tuple((a, q, o) for a, q, _, o in queues if o is not None),
            queue_retention_s=self.settings.queue_retention_days * 86400.0,
            replication=replication,
            under_replicated_for_s=_longest(self.under_replicated_since, now),
            offline_for_s=_longest(self.offline_since, now))
        self.judge(observed)
        self._history(now, partitions, throughput, eta, forwarding_up, queues)
        await self._flush_samples()
        FORWARDING_UP.set(1 if forwarding_up else 0)
        newest = await self._newest_processed_age(offsets, now)
        await self._publish({
            "takenAt": datetime.fromtimestamp(now, UTC),
            "monitorStartedAt": datetime.fromtimestamp(self.started, UTC),
            "brokerUp": True, "group": self.group,
            "groupStatus": evaluate_group(verdicts).value,
            "partitions": partitions,
            "heartbeats": [{"sourceTopic": b.source_topic, "partition": b.partition,
                            "ageSeconds": b.age_s} for b in beats],
            "throughput": throughput, "newestProcessedAgeSeconds": newest,
            "catchUpEtaSeconds": eta, "deadLetters": self.dead_letter_total,
            "queues": [{"actor": a, "queue": q, "depth": d, "oldestAgeSeconds": o}
                       for a, q, d, o in queues],
            "alerts": self._alert_records(),
            "replication": _replication_record(replication)})

    async def _replication(self, now: float) -> ReplicationState | None:
        """The cluster's replica state, and since when each partition has been in trouble;
        None when it could not be read this round (the rest of the round goes on)."""
        try:
            state = await self.observer.replication()
        except Exception as exc:  # judged again next round; never a crash of the round
            log.warning("monitor cannot read the replica state", error=str(exc))
            return None
        self.under_replicated_since = persisting(
            self.under_replicated_since,
            [(p.topic, p.partition) for p in state.under_replicated], now)
        self.offline_since = persisting(
            self.offline_since, [(p.topic, p.partition) for p in state.offline], now)
        KAFKA_BROKERS.set(state.brokers)
        KAFKA_PARTITIONS.set(state.partitions)
        UNDER_REPLICATED.set(len(state.under_replicated))
        BELOW_MIN_ISR.set(len(state.below_min_insync))
        OFFLINE.set(len(state.offline))
        return state

    def in_maintenance(self, now: float) -> bool:
        moment = datetime.fromtimestamp(now, UTC)
        return any(w.covers(moment) for w in self.maintenance.values.values())

    def judge(self, observed: Observed) -> None:
        found = conditions(observed, self.thresholds, self.settings.runbook)
        self.book, events = update(self.book, found, observed.now)
        for event in events:
            for sink in self.sinks:
                sink.send(event)
            self.unsent_history.append((self.catalogue.alert_events,
                                        ops_history.encode_event(event)))
        if any(c.name in FORWARDING_DOWN for c in found) or (
                observed.in_maintenance and not observed.forwarding_up):
            self.minute_up = False
        self._sample(observed.now, observed.in_maintenance)

    def _sample(self, now: float, in_maintenance: bool) -> None:
        """Close the minute that ended: one availability sample per minute."""
        minute = datetime.fromtimestamp(now - now % 60, UTC)
        if self.minute is None:
            self.minute = minute
        elif minute > self.minute:
            self.unsent_samples.append(availability.encode_sample(
                MinuteSample(self.minute, self.minute_up), in_maintenance))
            self.minute, self.minute_up = minute, True

    def _history(self, now: float, partitions: list[dict[str, Any]],
                 throughput: list[dict[str, Any]], eta: float | None, forwarding_up: bool,
                 queues: list[tuple[str, str, int, float | None]]) -> None:
        """Keep the interval's worst lag; at its end, a sample for the history charts."""
        self.worst_lag = max(self.worst_lag, sum(p["lag"] for p in partitions))
        ages = [p["lagSeconds"] for p in partitions if p["lagSeconds"] is not None]
        if ages:
            self.worst_lag_s = max(self.worst_lag_s or 0.0, *ages)
        if now - self.history_at < self.history_every:
            return
        rates = throughput[0] if throughput else {"inPerSecond": 0.0,
                                                  "processedPerSecond": 0.0}
        sample = Sample(
            at=datetime.fromtimestamp(now, UTC), lag_messages=self.worst_lag,
            max_lag_seconds=self.worst_lag_s, in_per_second=rates["inPerSecond"],
            processed_per_second=rates["processedPerSecond"], catch_up_eta_seconds=eta,
            dead_letters=self.dead_letter_total,
            firing_alerts=sum(1 for a in listing(self.book) if a.state == "firing"),
            forwarding_up=forwarding_up, queue_messages=sum(q[2] for q in queues))
        self.unsent_history.append((self.catalogue.ops_history, ops_history.encode_sample(sample)))
        self.history_at, self.worst_lag, self.worst_lag_s = now, 0, None

    async def _flush_samples(self) -> None:
        while self.unsent_history:
            topic, value = self.unsent_history[0]
            await self.observer.producer.send_and_wait(topic, value, partition=0)
            self.unsent_history.popleft()
        while self.unsent_samples:
            await self.observer.producer.send_and_wait(
                self.catalogue.availability, self.unsent_samples[0], partition=0)
            self.unsent_samples.popleft()

    def _alert_records(self) -> list[dict[str, Any]]:
        return [{"id": a.condition.id, "name": a.condition.name,
                 "severity": a.condition.severity, "state": a.state,
                 "since": datetime.fromtimestamp(a.since, UTC), "summary": a.condition.summary,
                 "runbook": a.condition.runbook} for a in listing(self.book)]

    async def _dead_letters(self) -> None:
        tp = TopicPartition(self.catalogue.dead_letters, 0)
        end = (await self.observer.consumer.end_offsets([tp]))[tp]
        if end != self.dead_letter_total:
            self.last_dead_letter_at = await self.observer.last_timestamp(tp)
            self.dead_letter_total = end
        DEAD_LETTERS.set(end)

    def _rates(self, now: float, offsets: Any) -> tuple[list[dict[str, Any]], float | None,
                                                        float]:
        """Throughput per input topic, catch-up ETA, and the share of input that failed."""
        inputs = set(self.catalogue.input_topics)
        in_end = sum(v for tp, v in offsets.log_end.items() if tp.topic in inputs)
        done = sum(v or 0 for tp, v in offsets.committed.items() if tp.topic in inputs)
        self.input_ends.append((now, in_end, done, self.dead_letter_total))
        # The oldest round within the window: rates and the failing share over ~20 s, short
        # enough that "every record fails" is an alert well within a minute.
        past = next((e for e in self.input_ends if now - e[0] <= RATE_WINDOW_S),
                    self.input_ends[-1])
        span = now - past[0]
        throughput: list[dict[str, Any]] = []
        if span <= 0:
            return throughput, None, 0.0
        in_rate = (in_end - past[1]) / span
        done_rate = (done - past[2]) / span
        throughput.append({"topic": "input", "inPerSecond": in_rate,
                           "processedPerSecond": done_rate})
        backlog = in_end - done
        eta = backlog / done_rate if backlog > 0 and done_rate > 0 else (0.0 if backlog <= 0
                                                                        else None)
        heartbeats = len(self.observer.heartbeat_sent) * span / self.heartbeat_interval
        real_in = max(0.0, (in_end - past[1]) - heartbeats)
        failed = self.dead_letter_total - past[3]
        failing = failed / real_in if real_in >= 5 else 0.0
        return throughput, eta, min(1.0, failing)

    async def _newest_processed_age(self, offsets: Any, now: float) -> float | None:
        newest = None
        for tp, committed in offsets.committed.items():
            if tp.topic == self.catalogue.metering_values and committed:
                ts = await self.observer.timestamp_at(tp, committed - 1)
                if ts is not None:
                    newest = ts if newest is None else max(newest, ts)
        return None if newest is None else max(0.0, now - newest)

    async def _publish(self, status: dict[str, Any]) -> None:
        value = ops_status.encode(status)
        await self.observer.producer.send_and_wait(self.catalogue.ops_status, value,
                                                   key=b"status", partition=0)


def _longest(since: dict[tuple[str, int], float], now: float) -> float:
    return max((now - t for t in since.values()), default=0.0)


def _replication_record(state: ReplicationState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    affected: dict[tuple[str, int], PartitionReplicas] = {}
    for p in (*state.offline, *state.below_min_insync, *state.under_replicated):
        affected.setdefault((p.topic, p.partition), p)
    return {"brokers": state.brokers, "partitions": state.partitions,
            "underReplicated": len(state.under_replicated),
            "belowMinInsync": len(state.below_min_insync), "offline": len(state.offline),
            "affected": [{"topic": p.topic, "partition": p.partition, "leader": p.leader,
                          "replicas": list(p.replicas), "isr": list(p.isr)}
                         for p in list(affected.values())[:AFFECTED_SHOWN]]}


def run_monitor(settings: Settings, metrics_port: int | None,
                webhook_url: str | None = None) -> None:
    configure_logging("monitor", settings.log_level)
    if metrics_port:
        start_http_server(metrics_port, addr=settings.metrics_host)
    thresholds = Thresholds(heartbeat_stale_s=settings.heartbeat_stale_seconds,
                            startup_grace_s=settings.monitor_startup_grace_seconds)

    async def main() -> None:
        # aiokafka clients must be made inside the running loop
        monitor = Monitor(settings, settings.monitor_interval_seconds,
                          settings.heartbeat_interval_seconds, webhook_url, thresholds)
        log.info("monitor starting", interval_s=monitor.interval,
                 heartbeat_interval_s=monitor.heartbeat_interval, webhook=bool(webhook_url))
        await monitor.run()

    asyncio.run(main())
