"""The monitor's history (Avro ``OpsSample``, domain.ops_history.Sample) and the alerts that
began or stopped firing (Avro ``AlertEvent``, written from domain.alerts.AlertEvent)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypedDict, cast

from domain.alerts import AlertEvent
from domain.ops_history import Sample
from streams.serialisation import ALERT_EVENT, OPS_SAMPLE, codec


class AlertEventRecord(TypedDict):
    """An alert event as stored: what the /ops page lists."""

    id: str
    name: str
    severity: str
    state: str
    at: datetime
    firedAt: datetime
    summary: str
    runbook: str


def encode_sample(sample: Sample) -> bytes:
    return codec(OPS_SAMPLE).encode({
        "at": sample.at, "lagMessages": sample.lag_messages,
        "maxLagSeconds": sample.max_lag_seconds, "inPerSecond": sample.in_per_second,
        "processedPerSecond": sample.processed_per_second,
        "catchUpEtaSeconds": sample.catch_up_eta_seconds, "deadLetters": sample.dead_letters,
        "firingAlerts": sample.firing_alerts, "forwardingUp": sample.forwarding_up,
        "queueMessages": sample.queue_messages})


def decode_sample(raw: bytes | None) -> Sample:
    r = codec(OPS_SAMPLE).decode(raw)
    return Sample(r["at"], r["lagMessages"], r["maxLagSeconds"], r["inPerSecond"],
                  r["processedPerSecond"], r["catchUpEtaSeconds"], r["deadLetters"],
                  r["firingAlerts"], r["forwardingUp"], r["queueMessages"])


def encode_event(event: AlertEvent) -> bytes:
    c, alert = event.alert.condition, event.alert
    return codec(ALERT_EVENT).encode({
        "id": c.id, "name": c.name, "severity": c.severity, "state": event.kind,
        "at": datetime.fromtimestamp(alert.since, UTC),
        "firedAt": datetime.fromtimestamp(alert.fired_at or alert.since, UTC),
        "summary": c.summary, "runbook": c.runbook})


def decode_event(raw: bytes | None) -> AlertEventRecord:
    return cast(AlertEventRecord, codec(ALERT_EVENT).decode(raw))
