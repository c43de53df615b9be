"""What leaves the monitor for other tools: absolute runbook links, Alertmanager's webhook
payload, and the exit codes and JSON of ``straum lag``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.ops.sinks import NO_END, alertmanager_payload, event_json
from domain.alerts import AlertBook, HeartbeatAge, Observed, Thresholds, conditions, update
from straum.lag_view import CRITICAL, OK, UNKNOWN, WARNING, exit_code, snapshot

RUNBOOK = "https://wiki.example/straum/runbook"


def stopped(now: float) -> Observed:
    return Observed(now=now, monitor_started=now - 3600, broker_down_since=None,
                    heartbeats=(HeartbeatAge("straum.metering-values.intake", 0, 90.0),))


def test_every_condition_links_its_runbook_section_absolutely() -> None:
    found = conditions(stopped(10_000.0), Thresholds(), RUNBOOK)
    assert [c.runbook for c in found] == [f"{RUNBOOK}#forwarding-stopped"]
    default = conditions(stopped(10_000.0))
    assert default[0].runbook == "http://127.0.0.1:8080/runbook#forwarding-stopped"


def test_alertmanager_payload_of_a_firing_and_a_resolved_alert() -> None:
    book, fired = update(AlertBook(), conditions(stopped(1000.0), Thresholds(), RUNBOOK), 1000.0)
    payload = alertmanager_payload(fired[0], "http://127.0.0.1:8080/ops")
    assert payload["version"] == "4" and payload["status"] == "firing"
    (alert,) = payload["alerts"]
    assert alert["labels"] == {"alertname": "ForwardingStopped", "severity": "critical",
                               "alert_id": "ForwardingStopped:straum.metering-values.intake:0",
                               "service": "straum"}
    assert alert["annotations"]["runbook_url"] == f"{RUNBOOK}#forwarding-stopped"
    assert alert["startsAt"] == "1970-01-01T00:16:40Z" and alert["endsAt"] == NO_END
    assert payload["commonLabels"] == alert["labels"]
    assert payload["groupLabels"]["alertname"] == "ForwardingStopped"
    assert len(alert["fingerprint"]) == 16

    _, resolved = update(book, [], 1100.0)
    later = alertmanager_payload(resolved[0])
    assert later["status"] == later["alerts"][0]["status"] == "resolved"
    assert later["alerts"][0]["startsAt"] == "1970-01-01T00:16:40Z"  # when it began
    assert later["alerts"][0]["endsAt"] == "1970-01-01T00:18:20Z"
    assert later["alerts"][0]["fingerprint"] == alert["fingerprint"]
    assert event_json(resolved[0])["state"] == "resolved"


def status(*alerts: tuple[str, str], age_s: float = 1.0, now: float = 1e9) -> dict[str, Any]:
    return {"takenAt": datetime.fromtimestamp(now - age_s, UTC), "group": "straum",
            "groupStatus": "OK", "partitions": [], "heartbeats": [], "queues": [],
            "alerts": [{"id": n, "name": n, "severity": sev, "state": state,
                        "since": datetime.fromtimestamp(now, UTC), "summary": "",
                        "runbook": ""} for n, sev, state in
                       ((a[0], a[1], "firing") for a in alerts)]}


def test_lag_exit_codes_say_what_fires() -> None:
    now = 1e9
    assert exit_code(status(), now) == OK == 0
    assert exit_code(status(("DeadLetters", "warning")), now) == WARNING == 1
    assert exit_code(status(("DeadLetters", "warning"), ("ForwardingStopped", "critical")),
                     now) == CRITICAL == 2
    assert exit_code(None, now) == UNKNOWN == 3
    assert exit_code(status(age_s=120), now) == UNKNOWN
    resolved = status(("ForwardingStopped", "critical"))
    resolved["alerts"][0]["state"] = "resolved"
    assert exit_code(resolved, now) == OK


def test_lag_json_is_the_ops_endpoints_in_one_object() -> None:
    shot = snapshot(status(("DeadLetters", "warning")), 1e9, RUNBOOK)
    assert shot["exitCode"] == 1
    assert shot["lag"]["group"] == "straum" and shot["lag"]["stale"] is False
    assert "alerts" not in shot["lag"] and [a["name"] for a in shot["alerts"]] == ["DeadLetters"]
    silent = snapshot(None, 1e9, RUNBOOK)
    assert silent["exitCode"] == 3
    assert silent["alerts"][0]["name"] == "MonitorSilent"
    assert silent["alerts"][0]["runbook"] == f"{RUNBOOK}#monitor-silent"
