"""Alert rules over the monitor's snapshot, and the firing/resolved bookkeeping.

Rules turn what the monitor observed into conditions; the book turns conditions into events:
an alert fires once when its condition appears and resolves once when it has been gone for a
while (so a flapping signal does not page twice). Thresholds are arguments, not constants.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from domain.replication import ReplicationState, describe

Severity = Literal["critical", "warning"]
RUNBOOK = "http://127.0.0.1:8080/runbook"
"""Where the runbook is when nothing else is said: the one the API serves itself. The monitor
passes ``Settings.runbook_url`` instead."""


def runbook_link(base: str, anchor: str) -> str:
    """The absolute link to one runbook section (``base`` is the runbook's own URL)."""
    return f"{base.split('#', 1)[0]}#{anchor}"


@dataclass(frozen=True)
class Condition:
    """Something wrong right now; ``id`` names the alert and what it is about."""

    id: str
    name: str
    severity: Severity
    summary: str
    runbook: str


@dataclass(frozen=True)
class HeartbeatAge:
    source_topic: str
    partition: int
    age_s: float | None  # None: no heartbeat has come back yet


@dataclass(frozen=True)
class Thresholds:
    heartbeat_stale_s: float = 40.0  # heartbeats every 10 s: four missed
    startup_grace_s: float = 60.0
    broker_unreachable_s: float = 20.0
    dead_letter_quiet_s: float = 300.0
    queue_expiry_warning: float = 0.8  # share of the retention an unread message may reach
    # A partition under-replicated or without a leader for this long is an alert: a new
    # topic's partitions lead nobody for a moment, and a broker restarting is seen at once
    # (its partitions stay under-replicated for as long as it is away).
    replication_alert_after_s: float = 10.0


@dataclass(frozen=True)
class Observed:
    """What one monitor round saw (the shell fills it in)."""

    now: float
    monitor_started: float
    broker_down_since: float | None
    heartbeats: tuple[HeartbeatAge, ...] = ()
    lag_errors: tuple[tuple[str, int, str, str], ...] = ()  # topic, partition, status, reason
    last_dead_letter_at: float | None = None
    dead_letter_total: int = 0
    failing_share: float = 0.0  # dead letters / input records, last ~20 s
    oldest_unread: tuple[tuple[str, str, float], ...] = ()  # actor, queue, age s
    queue_retention_s: float = 90 * 86400.0
    in_maintenance: bool = False
    forwarding_up: bool = True
    replication: ReplicationState | None = None  # None: not read this round
    under_replicated_for_s: float = 0.0  # the longest any partition now under-replicated is so
    offline_for_s: float = 0.0  # the longest any partition now without a leader is so


def conditions(o: Observed, t: Thresholds = Thresholds(), runbook: str = RUNBOOK
               ) -> list[Condition]:
    """Every alert condition that holds now, each linking its section of the runbook."""
    def link(anchor: str) -> str:
        return runbook_link(runbook, anchor)

    found: list[Condition] = []
    if o.broker_down_since is not None and o.now - o.broker_down_since >= t.broker_unreachable_s:
        found.append(Condition(
            "BrokerUnreachable", "BrokerUnreachable", "critical",
            f"the monitor cannot read Kafka for {o.now - o.broker_down_since:.0f} s: lag is "
            "unknown (not zero)", link("broker-unreachable")))
        return found  # nothing else can be judged without the broker
    found += replication_conditions(o, t, runbook)
    warming_up = o.now - o.monitor_started < t.startup_grace_s
    if not o.in_maintenance and not warming_up:
        for beat in o.heartbeats:
            if beat.age_s is None or beat.age_s > t.heartbeat_stale_s:
                age = ("none came back" if beat.age_s is None
                       else f"newest is {beat.age_s:.0f} s old")
                found.append(Condition(
                    f"ForwardingStopped:{beat.source_topic}:{beat.partition}",
                    "ForwardingStopped", "critical",
                    f"heartbeats into {beat.source_topic}[{beat.partition}] do not come through "
                    f"the processors ({age}): forwarding has stopped",
                    link("forwarding-stopped")))
        for topic, partition, status, reason in o.lag_errors:
            found.append(Condition(
                f"ConsumerLag:{topic}:{partition}", "ConsumerLag", "critical",
                f"{topic}[{partition}] is {status}: {reason}", link("consumer-lag")))
    if o.last_dead_letter_at is not None and o.now - o.last_dead_letter_at < t.dead_letter_quiet_s:
        found.append(Condition(
            "DeadLetters", "DeadLetters", "warning",
            f"records went to the dead-letter topic ({o.dead_letter_total} in all); inspect them",
            link("dead-letters")))
    if o.failing_share >= 0.5 and not o.in_maintenance:
        found.append(Condition(
            "ForwardingFailing", "ForwardingFailing", "critical",
            f"{o.failing_share:.0%} of the last ~20 s of records failed and became dead letters",
            link("forwarding-failing")))
    for actor, queue, unread_s in o.oldest_unread:
        if unread_s >= t.queue_expiry_warning * o.queue_retention_s:
            found.append(Condition(
                f"QueueNearExpiry:{actor}:{queue}", "QueueNearExpiry", "warning",
                f"{actor}'s {queue} queue has an unread message {unread_s / 86400:.1f} days "
                f"old; it expires at {o.queue_retention_s / 86400:.0f} days",
                link("queue-expiry")))
    return found


def replication_conditions(o: Observed, t: Thresholds = Thresholds(), runbook: str = RUNBOOK
                           ) -> list[Condition]:
    """Partitions without a leader, and partitions with a replica out of sync. Not silenced
    by maintenance windows or the start-up grace: a rolling restart shows here, as it should,
    and the alert resolves once every replica has caught up."""
    r = o.replication
    if r is None:
        return []
    found = []
    if r.offline and o.offline_for_s >= t.replication_alert_after_s:
        found.append(Condition(
            "OfflinePartitions", "OfflinePartitions", "critical",
            f"{len(r.offline)} partition(s) have no leader ({describe(r.offline)}): nothing "
            f"can be written to or read from them; {r.brokers} broker(s) alive",
            runbook_link(runbook, "offline-partitions")))
    if r.under_replicated and o.under_replicated_for_s >= t.replication_alert_after_s:
        below = r.below_min_insync
        consequence = (f"{len(below)} below min.insync.replicas: writes to them are refused"
                       if below else "one more broker lost and writes to them stop")
        found.append(Condition(
            "UnderReplicatedPartitions", "UnderReplicatedPartitions",
            "critical" if below else "warning",
            f"{len(r.under_replicated)} of {r.partitions} partitions have a replica out of "
            f"sync ({describe(r.under_replicated)}); {consequence}; {r.brokers} broker(s) "
            "alive", runbook_link(runbook, "under-replicated-partitions")))
    return found


@dataclass(frozen=True)
class Alert:
    condition: Condition
    state: Literal["firing", "resolved"]
    since: float
    last_seen: float
    fired_at: float = 0.0  # when it last began to fire (``since`` is the last change)


@dataclass(frozen=True)
class AlertEvent:
    alert: Alert
    kind: Literal["firing", "resolved"]


@dataclass(frozen=True)
class AlertBook:
    """Open and recently resolved alerts by id."""

    alerts: Mapping[str, Alert] = field(default_factory=dict)


def update(book: AlertBook, now_conditions: Iterable[Condition], now: float,
           resolve_after_s: float = 15.0, keep_resolved_s: float = 3600.0
           ) -> tuple[AlertBook, list[AlertEvent]]:
    """The book after this round's conditions, and the events to send (de-duplicated)."""
    current = {c.id: c for c in now_conditions}
    alerts = dict(book.alerts)
    events: list[AlertEvent] = []
    for cid, condition in current.items():
        old = alerts.get(cid)
        if old is None or old.state == "resolved":
            alert = Alert(condition, "firing", now, now, fired_at=now)
            events.append(AlertEvent(alert, "firing"))
        else:
            alert = replace(old, condition=condition, last_seen=now)
        alerts[cid] = alert
    for cid, alert in list(alerts.items()):
        if cid in current:
            continue
        if alert.state == "firing" and now - alert.last_seen >= resolve_after_s:
            resolved = replace(alert, state="resolved", since=now)
            alerts[cid] = resolved
            events.append(AlertEvent(resolved, "resolved"))
        elif alert.state == "resolved" and now - alert.since > keep_resolved_s:
            del alerts[cid]
    return AlertBook(alerts), events


def listing(book: AlertBook) -> list[Alert]:
    """Open alerts first (newest first), then resolved ones."""
    return sorted(book.alerts.values(),
                  key=lambda a: (a.state != "firing", -a.since))
