"""A stopped forwarder is an alert, through the webhook and the operator API, and it resolves
when forwarding recovers; a quiet period with heartbeats only raises nothing.

The monitor runs time-compressed here (heartbeats every 2 s, stale after 8 s); detection times
at the production settings are measured by `make bench` (bench/detection.py).
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import day_series, gln, gsrn, register_point, start_of_supply, values_document
from tests.integration.conftest import Straum, start_straum

COMPRESSED = {
    "STRAUM_MONITOR_INTERVAL_SECONDS": "1",
    "STRAUM_HEARTBEAT_INTERVAL_SECONDS": "2",
    "STRAUM_HEARTBEAT_STALE_SECONDS": "8",
    "STRAUM_MONITOR_STARTUP_GRACE_SECONDS": "5",
}


class Webhook:
    """An alert receiver on loopback that keeps what it was sent."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        events = self.events

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                events.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, state: str, name: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if event["state"] == state and event["name"] == name:
                    return event
            time.sleep(0.2)
        raise AssertionError(f"no {state} {name} alert; got {self.events}")


@pytest.fixture(scope="module")
def watched(kafka_bootstrap: str, session_dir: Path) -> Iterator[tuple[Straum, Webhook]]:
    webhook = Webhook()
    straum = start_straum(kafka_bootstrap, session_dir / "monitoring", partitions=2,
                          extra_env={**COMPRESSED, "STRAUM_ALERT_WEBHOOK": webhook.url},
                          monitor=True)
    try:
        yield straum, webhook
    finally:
        for name in list(straum.processes):
            straum.stop(name)
        webhook.server.shutdown()


def ops(straum: Straum, path: str) -> dict[str, Any]:
    client = straum.client("7080005051286", "operator")
    response = client.get(path)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def heartbeats_flow(straum: Straum) -> bool:
    lag = ops(straum, "/v1/ops/lag")
    beats = lag.get("heartbeats", [])
    return bool(beats) and all(b["ageSeconds"] is not None and b["ageSeconds"] < 8
                               for b in beats)


class Load:
    """A grid owner sending a series every half second, as steady traffic."""

    def __init__(self, straum: Straum) -> None:
        self.grid_owner = gln()
        self.client = straum.client(self.grid_owner, "grid_owner")
        self.points = [gsrn() for _ in range(3)]
        supplier = straum.client(gln(), "supplier")
        for point in self.points:
            assert self.client.post("/v1/metering-points",
                                    json=register_point(point)).status_code == 202
        time.sleep(2)
        for point in self.points:
            supplier.post("/v1/start-of-supply",
                          json=start_of_supply(point, date.today() - timedelta(days=5)))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        day = date.today() - timedelta(days=400)
        while not self.stop.is_set():
            for point in self.points:
                day += timedelta(days=1)
                with contextlib.suppress(httpx.HTTPError):
                    self.client.post("/v1/metering-values",
                                     json=values_document(day_series(point, day)))
            self.stop.wait(0.5)

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def lag_json(straum: Straum) -> tuple[int, dict[str, Any]]:
    """``straum lag --json``: its exit code and what it printed."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "straum", "lag", "--json"], env=straum.env,
                          capture_output=True, text=True, timeout=60, check=False)
    return done.returncode, json.loads(done.stdout)


def test_quiet_period_raises_nothing(watched: tuple[Straum, Webhook]) -> None:
    straum, webhook = watched
    wait_until(lambda: heartbeats_flow(straum), 60, "heartbeats to come through")
    time.sleep(20)  # ten heartbeat intervals with no traffic at all
    assert webhook.events == []
    assert [a for a in ops(straum, "/v1/ops/alerts")["alerts"] if a["state"] == "firing"] == []
    assert ops(straum, "/v1/ops/lag")["groupStatus"] == "OK"
    code, shown = lag_json(straum)
    assert code == shown["exitCode"] == 0
    assert shown["lag"]["groupStatus"] == "OK" and shown["lag"]["stale"] is False


def test_frozen_worker_fires_and_recovery_resolves(watched: tuple[Straum, Webhook]) -> None:
    straum, webhook = watched
    wait_until(lambda: heartbeats_flow(straum), 60, "heartbeats to come through")
    worker = straum.processes["worker"]
    with Load(straum):
        time.sleep(3)
        worker.send_signal(signal.SIGSTOP)  # alive but stuck: the June Saturday
        try:
            fired = webhook.wait_for("firing", "ForwardingStopped", 60)
            assert fired["severity"] == "critical"
            assert "forwarding has stopped" in fired["summary"]
            assert fired["runbook"] == "http://127.0.0.1:8080/runbook#forwarding-stopped"
            open_alerts = ops(straum, "/v1/ops/alerts")["alerts"]
            assert open_alerts[0]["state"] == "firing"
            code, shown = lag_json(straum)
            assert code == shown["exitCode"] == 2  # a critical alert fires
            assert "ForwardingStopped" in [a["name"] for a in shown["alerts"]
                                           if a["state"] == "firing"]
        finally:
            worker.send_signal(signal.SIGCONT)
        webhook.wait_for("resolved", "ForwardingStopped", 90)
    wait_until(lambda: not [a for a in ops(straum, "/v1/ops/alerts")["alerts"]
                            if a["state"] == "firing"], 60, "no open alert")


def test_killed_worker_fires_and_restart_resolves(watched: tuple[Straum, Webhook]) -> None:
    straum, webhook = watched
    wait_until(lambda: heartbeats_flow(straum), 60, "heartbeats to come through")
    webhook.events.clear()
    worker = straum.processes.pop("worker")
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    webhook.wait_for("firing", "ForwardingStopped", 60)
    assert ops(straum, "/v1/ops/lag")["heartbeats"]
    straum.start("worker", "worker")
    webhook.wait_for("resolved", "ForwardingStopped", 120)


def test_ops_page_shows_the_monitors_numbers_in_a_real_browser(
        watched: tuple[Straum, Webhook], tmp_path: Path) -> None:
    """Headless Chromium loads /ops with an operator token in the fragment; the numbers it
    renders are the ones the operator API reports."""
    import re
    import shutil
    import subprocess

    straum, _ = watched
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is needed: make test installs Debian's chromium package"
    wait_until(lambda: heartbeats_flow(straum), 60, "heartbeats to come through")
    token = straum.token("7080005051286", "operator")
    page = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'chromium'}",
         "--virtual-time-budget=6000", "--dump-dom", f"{straum.base_url}/ops#token={token}"],
        capture_output=True, text=True, timeout=90, check=True).stdout
    lag = ops(straum, "/v1/ops/lag")

    def shown(element_id: str) -> str:
        match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', page)
        assert match, f"#{element_id} not on the page"
        return match.group(1)

    assert shown("group") == lag["group"]
    assert shown("group-status") == "OK"
    assert shown("open-alerts") == "0"
    assert shown("dead-letters") == f"{lag['deadLetters']:,}"
    rows = re.findall(r"<tr><td>[^<]+</td><td class=\"num\">\d+</td><td class=\"num\">",
                      page.split('id="partitions"')[1].split("</tbody>")[0])
    assert len(rows) == len(lag["partitions"]) > 0
    assert "Cannot read" not in shown("error")


def test_maintenance_windows_and_availability(watched: tuple[Straum, Webhook]) -> None:
    straum, _ = watched
    operator = straum.client("7080005051286", "operator")
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    late = operator.post("/v1/ops/maintenance", json={
        "start": (now - timedelta(minutes=5)).isoformat(),
        "end": (now + timedelta(hours=1)).isoformat(), "reason": "too late"})
    assert late.status_code == 400
    assert "declared before it starts" in late.json()["problems"][0]["detail"]
    planned = operator.post("/v1/ops/maintenance", json={
        "start": (now + timedelta(days=1)).isoformat(),
        "end": (now + timedelta(days=1, hours=2)).isoformat(), "reason": "broker upgrade"})
    assert planned.status_code == 201
    listed = operator.get("/v1/ops/maintenance").json()["windows"]
    assert planned.json()["id"] in [w["id"] for w in listed]
    supplier = straum.client(gln(), "supplier")
    assert supplier.get("/v1/ops/maintenance").status_code == 403

    today = datetime.now(UTC).date()
    wait_until(lambda: operator.get("/v1/ops/availability", params={
        "from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
    ).json()["months"][0]["observedMinutes"] > 0, 90, "a minute sample")
    report = operator.get("/v1/ops/availability", params={
        "from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}).json()
    assert [d["period"] for d in report["days"]] == [
        (today - timedelta(days=1)).isoformat(), today.isoformat()]
    observed = sum(d["observedMinutes"] for d in report["days"])
    assert observed == sum(d["upMinutes"] + d["plannedDownMinutes"] + d["unplannedDownMinutes"]
                           for d in report["days"])
    bad = operator.get("/v1/ops/availability", params={"from": today.isoformat(),
                                                       "to": "2020-01-01"})
    assert bad.status_code == 400
