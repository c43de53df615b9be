"""``straum run`` keeps its processes apart: one dying does not take the others with it, it
is restarted, and Ctrl-C stops everything."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from connectors.broker.embedded import free_port, pid_alive
from connectors.http.auth import Role, TokenVerifier
from schemas.settings import Settings


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_killed_worker_is_restarted_and_ctrl_c_stops_all(kafka_bootstrap: str,
                                                         tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ, STRAUM_KAFKA_BOOTSTRAP=kafka_bootstrap,
               STRAUM_DATA_DIR=str(tmp_path), STRAUM_TOPIC_PREFIX=f"s{uuid.uuid4().hex[:8]}",
               STRAUM_PARTITIONS="2")
    run = subprocess.Popen([sys.executable, "-m", "straum", "run", "--port", str(port),
                            "--api-processes", "2"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    pids_file = tmp_path / "processes.json"
    try:
        wait_for(lambda: ready(url), 90, "straum run to be ready")
        pids = json.loads(pids_file.read_text())
        assert set(pids) == {"worker", "api-0", "api-1", "monitor"}

        os.kill(pids["worker"], signal.SIGKILL)
        # The API and the monitor are untouched, and the worker comes back.
        wait_for(lambda: json.loads(pids_file.read_text()).get("worker") not in
                 (None, pids["worker"]), 30, "the worker to be restarted")
        assert all(pid_alive(pids[name]) for name in ("api-0", "api-1", "monitor"))
        assert httpx.get(f"{url}/healthz").status_code == 200
        wait_for(lambda: ready(url), 60, "readiness after the restart")
        children = json.loads(pids_file.read_text())
    finally:
        run.send_signal(signal.SIGINT)
        output, _ = run.communicate(timeout=60)
    assert run.returncode == 0, output
    # The operator page's link, with a token this data directory's key verifies.
    link = re.search(rf"ops page   (http://127\.0\.0\.1:{port}/ops#token=(\S+))", output)
    assert link, output
    caller = TokenVerifier(Settings(data_dir=tmp_path)).verify(f"Bearer {link.group(2)}", None)
    assert caller.roles == {Role.OPERATOR}
    assert "worker exited with code -9; restarting" in output
    assert "straum: stopped" in output
    assert not any(pid_alive(pid) for pid in children.values())
