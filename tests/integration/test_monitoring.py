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
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import (
    chromium,
    day_series,
    gln,
    gsrn,
    register_point,
    start_of_supply,
    values_document,
)
from tests.integration.conftest import Straum, start_straum

COMPRESSED = {
    "STRAUM_MONITOR_INTERVAL_SECONDS": "1",
    "STRAUM_HEARTBEAT_INTERVAL_SECONDS": "2",
    "STRAUM_HEARTBEAT_STALE_SECONDS": "8",
    "STRAUM_MONITOR_STARTUP_GRACE_SECONDS": "5",
    "STRAUM_HISTORY_SAMPLE_SECONDS": "2",
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
        straum.stop_all()
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

    straum, _ = watched
    wait_until(lambda: heartbeats_flow(straum), 60, "heartbeats to come through")
    token = straum.token("7080005051286", "operator")
    page = chromium(tmp_path, "--virtual-time-budget=8000", "--dump-dom",
                    f"{straum.base_url}/ops#token={token}")
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
    assert shown("error") == ""


def png_size_and_rows(path: Path) -> tuple[int, int, int]:
    """A PNG's width and height, and how many distinct rows of pixels it has (a blank page
    has a handful; a page of charts and tables, hundreds)."""
    import struct
    import zlib

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    channels = {2: 3, 6: 4}[data[25]]
    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IDAT":
            chunks.append(data[at + 8:at + 8 + length])
        at += 12 + length
    raw = zlib.decompress(b"".join(chunks))
    stride = 1 + width * channels
    return width, height, len({raw[i:i + stride] for i in range(0, len(raw), stride)})


def test_ops_page_charts_history_and_records_in_a_real_browser(
        watched: tuple[Straum, Webhook], tmp_path: Path) -> None:
    """The page people look at: history charts (lag, throughput, catch-up time), the alert
    timeline, availability per day and month, maintenance windows, replays and the queue
    table, drawn by plotly.js in headless Chromium; a screenshot of it is kept
    (``ops-page.png`` in the test's folder) and must show a page, not a blank."""
    import re
    from datetime import UTC, datetime

    straum, _ = watched
    operator = straum.client("7080005051286", "operator")
    grid_owner = straum.client(gln(), "grid_owner")  # an actor queue for the table
    assert grid_owner.post("/v1/metering-points",
                           json=register_point(gsrn())).status_code == 202
    wait_until(lambda: len(operator.get("/v1/ops/history").json()["samples"]) >= 3
               and operator.get("/v1/ops/queues").json()["queues"], 90,
               "three history samples and a queue")
    now = datetime.now(UTC)
    reason = f"screenshot window {uuid.uuid4().hex[:6]}"
    assert operator.post("/v1/ops/maintenance", json={
        "start": (now + timedelta(days=3)).isoformat(),
        "end": (now + timedelta(days=3, hours=2)).isoformat(), "reason": reason}
    ).status_code == 201
    assert operator.post("/v1/ops/replays", json={
        "from": (now - timedelta(hours=1)).isoformat(), "to": now.isoformat(),
        "dryRun": True}).status_code == 200
    history = operator.get("/v1/ops/history").json()["samples"]
    token = straum.token("7080005051286", "operator")
    url = f"{straum.base_url}/ops#token={token}"
    page = chromium(tmp_path, "--virtual-time-budget=15000", "--dump-dom", url)

    def points(chart: str) -> int:
        match = re.search(rf'id="{chart}"[^>]*data-points="(\d+)"', page)
        assert match, f"#{chart} was not drawn"
        return int(match.group(1))

    assert points("chart-lag") >= 2 * min(len(history), 3)
    assert points("chart-throughput") >= 2 * min(len(history), 3)
    assert points("chart-catchup") >= min(len(history), 3)
    assert points("chart-availability") >= 2
    points("chart-alerts")  # drawn, with periods or with "no alert fired"
    assert page.count('class="main-svg"') >= 5  # plotly's own drawing
    assert reason in page
    body = page.split('id="queues"')[1].split("</tbody>")[0]
    assert body.count("<tr>") >= 1
    assert re.search(r'id="queues-page"[^>]*>\d+–\d+ of \d+<', page)
    alerts = page.split('<tbody id="alerts">')[1].split("</tbody>")[0]
    runbooks = re.findall(r'class="runbook" href="([^"]+)"', alerts)
    assert [link for link in runbooks
            if not link.startswith("http://127.0.0.1:8080/runbook#")] == []
    assert re.search(r'id="error"[^>]*></p>', page), "the page reported an error"

    shot = tmp_path / "ops-page.png"
    chromium(tmp_path, "--virtual-time-budget=15000", "--window-size=1440,2400",
             f"--screenshot={shot}", url)
    width, height, distinct = png_size_and_rows(shot)
    assert (width, height) == (1440, 2400)
    assert distinct > 300, "the screenshot is (almost) blank"


def test_the_runbook_links_open_their_section(watched: tuple[Straum, Webhook]) -> None:
    straum, _ = watched
    page = httpx.get(f"{straum.base_url}/runbook")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for section in ("forwarding-stopped", "consumer-lag", "dead-letters", "broker-unreachable",
                    "monitor-silent", "queue-expiry", "forwarding-failing"):
        assert f'id="{section}"' in page.text, section


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
