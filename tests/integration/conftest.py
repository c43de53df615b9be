"""straum's own processes (worker, API) as real OS processes against the session's broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest

from connectors.broker.embedded import free_port
from connectors.http.auth import issue_dev_token
from schemas.settings import Settings
from tests.helpers import gln, gsrn, poll_until, register_point, start_of_supply


@dataclass
class Straum:
    """A running straum (worker + API) with its own topic prefix and data directory."""

    settings: Settings
    env: dict[str, str]
    base_url: str
    processes: dict[str, subprocess.Popen[bytes]]
    log_dir: Path

    def token(self, party: str, *roles: str) -> str:
        return issue_dev_token(self.settings, party, list(roles))

    def client(self, party: str, *roles: str) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30.0, headers={
            "Authorization": f"Bearer {self.token(party, *roles)}"})

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen([sys.executable, "-m", "straum", *args], env=self.env,
                                   stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process

    def start_with_env(self, name: str, env: dict[str, str], *args: str
                       ) -> subprocess.Popen[bytes]:
        """Another straum process with some settings changed."""
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen([sys.executable, "-m", "straum", *args],
                                   env={**self.env, **env}, stdout=log,
                                   stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        """Stop every process this straum started (worker, APIs, monitor, extras)."""
        for name in list(self.processes):
            self.stop(name)

    def wait_ready(self, timeout: float = 90.0, base_url: str | None = None) -> None:
        """Until the API at ``base_url`` (default: the first one) answers /readyz with 200."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; "
                                       f"see {self.log_dir / (name + '.log')}")
            try:
                response = httpx.get(f"{base_url or self.base_url}/readyz", timeout=2)
                last = response.text
                if response.status_code == 200:
                    return
            except httpx.HTTPError as exc:
                last = str(exc)
            time.sleep(0.5)
        raise TimeoutError(f"straum not ready within {timeout}s: {last}")


def point_with_supplier(straum: Straum, supply_start: date, resolution: str = "PT1H"
                        ) -> tuple[str, httpx.Client, httpx.Client, str]:
    """A registered point supplied from ``supply_start``, the supply confirmed, ready for
    values: (point, grid owner's client, supplier's client, supplier's GLN)."""
    grid_owner, supplier, point = gln(), gln(), gsrn()
    go = straum.client(grid_owner, "grid_owner")
    su = straum.client(supplier, "supplier")
    assert go.post("/v1/metering-points",
                   json=register_point(point, resolution)).status_code == 202
    poll_until(go, "market-processes", lambda m: m["payload"].get("meteringPointId") == point)
    assert su.post("/v1/start-of-supply",
                   json=start_of_supply(point, supply_start)).status_code == 202
    poll_until(su, "market-processes", lambda m: m["documentType"] == "ConfirmStartOfSupply")
    return point, go, su, supplier


def start_straum(kafka_bootstrap: str, root: Path, partitions: int = 3,
                 extra_env: dict[str, str] | None = None, monitor: bool = False) -> Straum:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    data_dir = root / prefix
    data_dir.mkdir(parents=True)
    port = free_port()
    env = dict(os.environ)
    env.update({
        "STRAUM_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "STRAUM_DATA_DIR": str(data_dir),
        "STRAUM_TOPIC_PREFIX": prefix,
        "STRAUM_PARTITIONS": str(partitions),
        "STRAUM_LOG_LEVEL": "INFO",
        "STRAUM_WORKER_METRICS_PORT": "0",
        "STRAUM_MONITOR_METRICS_PORT": "0",
        "STRAUM_API_PROCESSES": "1",
        **(extra_env or {}),
    })
    settings = Settings(kafka_bootstrap=kafka_bootstrap, data_dir=data_dir, topic_prefix=prefix,
                        partitions=partitions)
    straum = Straum(settings, env, f"http://127.0.0.1:{port}", {}, data_dir)
    straum.start("worker", "worker")
    straum.start("api", "api", "--port", str(port))
    if monitor:
        straum.start("monitor", "monitor")
    straum.wait_ready()
    return straum


@pytest.fixture(scope="session")
def straum(kafka_bootstrap: str, session_dir: Path) -> Iterator[Straum]:
    """One straum for the integration tests that share it (each uses its own points)."""
    running = start_straum(kafka_bootstrap, session_dir)
    try:
        yield running
    finally:
        running.stop_all()
