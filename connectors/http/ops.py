"""Operator endpoints: what the monitor saw, for /v1/ops/*, the /ops page and `straum lag`.

The monitor publishes its latest round to a compacted topic; the API follows it. A round older
than a few monitor intervals is reported as stale rather than shown as if it were current: a
silent monitor must never look like zero lag.
"""

from __future__ import annotations

import time
from typing import Any

from connectors.compacted import CompactedView
from straum.settings import Settings
from streams.serialisation import OPS_STATUS, codec
from streams.topics import TopicCatalogue

STALE_AFTER_S = 30.0


def decode_status(value: bytes) -> dict[str, Any]:
    return codec(OPS_STATUS).decode(value)


class OpsView:
    def __init__(self, settings: Settings, catalogue: TopicCatalogue) -> None:
        self._view = CompactedView(settings, catalogue.ops_status, decode_status)

    async def start(self) -> None:
        await self._view.start()

    async def stop(self) -> None:
        await self._view.stop()

    def latest(self) -> dict[str, Any] | None:
        return self._view.values.get("status")

    def lag(self) -> dict[str, Any]:
        status = self.latest()
        if status is None:
            return {"monitor": "no report yet", "stale": True}
        age = time.time() - status["takenAt"].timestamp()
        body = {k: v for k, v in status.items() if k not in ("alerts", "queues")}
        body["stale"] = age > STALE_AFTER_S
        body["reportAgeSeconds"] = round(age, 1)
        if body["stale"]:
            body["monitor"] = f"not reporting for {age:.0f} s: figures are from then"
        return body

    def alerts(self) -> list[dict[str, Any]]:
        status = self.latest()
        alerts: list[dict[str, Any]] = list(status["alerts"]) if status else []
        if status is None or time.time() - status["takenAt"].timestamp() > STALE_AFTER_S:
            alerts.insert(0, {
                "id": "MonitorSilent", "name": "MonitorSilent", "severity": "critical",
                "state": "firing", "since": status["takenAt"] if status else None,
                "summary": "the monitor has not reported; forwarding is not being watched",
                "runbook": "docs/OPERATIONS.md#monitor-silent"})
        return alerts

    def queues(self) -> list[dict[str, Any]]:
        status = self.latest()
        return list(status["queues"]) if status else []
