"""Operator endpoints: what the monitor saw, for /v1/ops/*, the /ops page and `straum lag`.

The monitor publishes its latest round to a compacted topic; the API follows it. A round older
than a few monitor intervals is reported as stale rather than shown as if it were current: a
silent monitor must never look like zero lag.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer

from connectors.compacted import CompactedView
from connectors.ops.availability import encode_window, read_samples, windows
from domain.alerts import RUNBOOK, runbook_link
from domain.availability import Availability, MaintenanceWindow, availability
from domain.series import HUB_TIMEZONE
from schemas.settings import Settings
from streams.records import availability as availability_records
from streams.records import ops_status
from streams.topics import TopicCatalogue

STALE_AFTER_S = 30.0


class OpsView:
    def __init__(self, settings: Settings, catalogue: TopicCatalogue) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self._view = CompactedView(settings, catalogue.ops_status, ops_status.decode)
        self.maintenance = CompactedView(settings, catalogue.maintenance,
                                        availability_records.decode_window)

    async def start(self) -> None:
        await self._view.start()
        await self.maintenance.start()

    async def stop(self) -> None:
        await self._view.stop()
        await self.maintenance.stop()

    def windows(self) -> list[MaintenanceWindow]:
        return windows(self.maintenance)

    async def declare(self, producer: AIOKafkaProducer, window: MaintenanceWindow,
                      declared_by: str) -> None:
        """Record a planned maintenance window durably."""
        await producer.send_and_wait(self.catalogue.maintenance,
                                     encode_window(window, declared_by),
                                     key=window.id.encode(), partition=0)
        self.maintenance.values[window.id] = window

    async def availability(self, first: date, last: date
                           ) -> tuple[list[Availability], list[Availability]]:
        start = datetime.combine(first, datetime.min.time(), HUB_TIMEZONE)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), HUB_TIMEZONE)
        samples = await read_samples(self.settings, self.catalogue, start, end)
        return availability(samples, self.windows(), first, last)

    def latest(self) -> dict[str, Any] | None:
        return self._view.values.get("status")

    def lag(self) -> dict[str, Any]:
        return lag_body(self.latest(), time.time())

    def alerts(self) -> list[dict[str, Any]]:
        return alerts_body(self.latest(), time.time(), self.settings.runbook)

    def queues(self) -> list[dict[str, Any]]:
        status = self.latest()
        return list(status["queues"]) if status else []


def lag_body(status: dict[str, Any] | None, now: float) -> dict[str, Any]:
    """The monitor's round without its alerts and queues, with its age; stale when old."""
    if status is None:
        return {"monitor": "no report yet", "stale": True}
    age = now - status["takenAt"].timestamp()
    body = {k: v for k, v in status.items() if k not in ("alerts", "queues")}
    replication = body.get("replication")
    if isinstance(replication, tuple):  # a union's record decodes as (name, record)
        body["replication"] = replication[1]
    body["stale"] = age > STALE_AFTER_S
    body["reportAgeSeconds"] = round(age, 1)
    if body["stale"]:
        body["monitor"] = f"not reporting for {age:.0f} s: figures are from then"
    return body


def alerts_body(status: dict[str, Any] | None, now: float, runbook: str = RUNBOOK
                ) -> list[dict[str, Any]]:
    """The round's alerts, with MonitorSilent first when there is no current round."""
    alerts: list[dict[str, Any]] = list(status["alerts"]) if status else []
    if status is None or now - status["takenAt"].timestamp() > STALE_AFTER_S:
        alerts.insert(0, {
            "id": "MonitorSilent", "name": "MonitorSilent", "severity": "critical",
            "state": "firing", "since": status["takenAt"] if status else None,
            "summary": "the monitor has not reported; forwarding is not being watched",
            "runbook": runbook_link(runbook, "monitor-silent")})
    return alerts
