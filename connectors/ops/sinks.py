"""Where alert events go: the structured log, an HTTP webhook, and Prometheus.

The webhook sink never blocks the monitor: events wait in a bounded queue and a background
task posts them as JSON, retrying with exponential backoff; when the queue is full the oldest
event is dropped and counted (an alert that cannot be delivered must not stop detection).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from datetime import UTC, datetime
from typing import Any

import httpx
from prometheus_client import Counter, Gauge

from domain.alerts import AlertEvent
from streams.logging import get_logger

log = get_logger("straum.alerts")

FIRING = Gauge("straum_alert_firing", "1 while an alert is firing", ["alertname", "severity",
                                                                    "alert_id"])
WEBHOOK_FAILURES = Counter("straum_alert_webhook_failures_total",
                           "Webhook deliveries that failed (retried)")
WEBHOOK_DROPPED = Counter("straum_alert_webhook_dropped_total",
                          "Alert events dropped because the webhook queue was full")


def _moment(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat().replace("+00:00", "Z")


def event_json(event: AlertEvent) -> dict[str, Any]:
    """The JSON body of an alert event (what a webhook receives)."""
    c = event.alert.condition
    return {"id": c.id, "name": c.name, "severity": c.severity, "state": event.kind,
            "since": datetime.fromtimestamp(event.alert.since, UTC).isoformat(),
            "summary": c.summary, "runbook": c.runbook}


#: Alertmanager's "zero" time: an alert still firing has no end.
NO_END = "0001-01-01T00:00:00Z"


def alertmanager_payload(event: AlertEvent, external_url: str = "") -> dict[str, Any]:
    """One alert event as Alertmanager's webhook payload (version 4), a group of one, so a
    receiver written for Alertmanager (a chat bridge, a paging service's integration) takes
    the monitor's alerts as they are. Labels: ``alertname``, ``severity``, ``alert_id`` and
    ``service``; annotations: ``summary`` and ``runbook_url``."""
    c = event.alert.condition
    labels = {"alertname": c.name, "severity": c.severity, "alert_id": c.id,
              "service": "straum"}
    annotations = {"summary": c.summary, "runbook_url": c.runbook}
    fired_at = event.alert.fired_at or event.alert.since
    fingerprint = hashlib.sha256(
        "\x00".join(f"{k}\x00{v}" for k, v in sorted(labels.items())).encode()).hexdigest()[:16]
    alert = {"status": event.kind, "labels": labels, "annotations": annotations,
             "startsAt": _moment(fired_at),
             "endsAt": _moment(event.alert.since) if event.kind == "resolved" else NO_END,
             "generatorURL": external_url, "fingerprint": fingerprint}
    return {"version": "4", "groupKey": f'{{}}:{{alertname="{c.name}", alert_id="{c.id}"}}',
            "truncatedAlerts": 0, "status": event.kind, "receiver": "straum-monitor",
            "groupLabels": {"alertname": c.name, "alert_id": c.id}, "commonLabels": labels,
            "commonAnnotations": annotations, "externalURL": external_url, "alerts": [alert]}


class LogSink:
    def send(self, event: AlertEvent) -> None:
        body = event_json(event)
        if event.kind == "firing":
            log.error("alert firing", alert=body)
        else:
            log.info("alert resolved", alert=body)


class PrometheusSink:
    def send(self, event: AlertEvent) -> None:
        c = event.alert.condition
        gauge = FIRING.labels(c.name, c.severity, c.id)
        if event.kind == "firing":
            gauge.set(1)
        else:
            FIRING.remove(c.name, c.severity, c.id)


class WebhookSink:
    """POSTs alert events to ``url`` from a background task, with retries."""

    def __init__(self, url: str, max_queued: int = 1000, max_attempts: int = 8,
                 first_backoff_s: float = 0.5, payload: str = "straum",
                 external_url: str = "") -> None:
        self.url = url
        self.payload = payload
        self.external_url = external_url
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(max_queued)
        self.max_attempts = max_attempts
        self.first_backoff_s = first_backoff_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._deliver())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def send(self, event: AlertEvent) -> None:
        body = (alertmanager_payload(event, self.external_url)
                if self.payload == "alertmanager" else event_json(event))
        if self.queue.full():
            self.queue.get_nowait()
            WEBHOOK_DROPPED.inc()
        self.queue.put_nowait(body)

    async def _deliver(self) -> None:
        async with httpx.AsyncClient(timeout=5.0) as client:
            while True:
                body = await self.queue.get()
                backoff = self.first_backoff_s
                for attempt in range(1, self.max_attempts + 1):
                    try:
                        response = await client.post(self.url, json=body)
                        if response.status_code < 500 and response.status_code != 429:
                            break
                        raise httpx.HTTPStatusError("retryable status", request=response.request,
                                                    response=response)
                    except httpx.HTTPError as exc:
                        WEBHOOK_FAILURES.inc()
                        log.warning("alert webhook failed", url=self.url, attempt=attempt,
                                    error=str(exc), status=body.get("status")
                                    or body.get("state"))
                        if attempt == self.max_attempts:
                            break
                        await asyncio.sleep(backoff)
                        backoff = min(backoff * 2, 30.0)
