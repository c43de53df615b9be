"""Kafka client security passed through from settings: straum's worker and API on the
session broker's SASL/PLAIN listener; a wrong password keeps them out."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from connectors.broker.embedded import BrokerInfo, free_port
from domain.series import HUB_TIMEZONE
from tests.conftest import SASL_PASSWORD, SASL_USER
from tests.helpers import (
    day_series,
    gln,
    gsrn,
    poll_until,
    register_point,
    start_of_supply,
    values_document,
)
from tests.integration.conftest import start_straum


def test_worker_and_api_over_sasl(kafka_broker: BrokerInfo | None, session_dir: Path) -> None:
    if kafka_broker is None or kafka_broker.sasl_port is None:
        pytest.skip("an external test broker has no SASL listener configured by straum")
    sasl = {"STRAUM_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "STRAUM_KAFKA_SASL_MECHANISM": "PLAIN", "STRAUM_KAFKA_SASL_USERNAME": SASL_USER,
            "STRAUM_KAFKA_SASL_PASSWORD": SASL_PASSWORD}
    straum = start_straum(f"127.0.0.1:{kafka_broker.sasl_port}", session_dir / "sasl",
                          partitions=2, extra_env=sasl)
    try:
        today = datetime.now(HUB_TIMEZONE).date()
        point, owner, supplier_id = gsrn(), gln(), gln()
        go, su = straum.client(owner, "grid_owner"), straum.client(supplier_id, "supplier")
        assert go.post("/v1/metering-points", json=register_point(point)).status_code == 202
        poll_until(go, "market-processes", lambda m: m["payload"].get("meteringPointId") == point)
        assert su.post("/v1/start-of-supply",
                       json=start_of_supply(point, today - timedelta(days=2))).status_code == 202
        poll_until(su, "market-processes", lambda m: m["documentType"] == "ConfirmStartOfSupply")
        series = day_series(point, today - timedelta(days=1))
        assert go.post("/v1/metering-values", json=values_document(series)).status_code == 202
        poll_until(su, "metering-values",
                   lambda m: m["payload"]["transactionId"] == series["transactionId"])
    finally:
        for name in list(straum.processes):
            straum.stop(name)

    # The same API with a wrong password never becomes ready.
    port = free_port()
    env = {**os.environ, **sasl, "STRAUM_KAFKA_SASL_PASSWORD": "wrong",
           "STRAUM_KAFKA_BOOTSTRAP": f"127.0.0.1:{kafka_broker.sasl_port}",
           "STRAUM_DATA_DIR": str(session_dir / "sasl-wrong"),
           "STRAUM_TOPIC_PREFIX": f"w{uuid.uuid4().hex[:8]}"}
    api = subprocess.Popen([sys.executable, "-m", "straum", "api", "--port", str(port)],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, seen = time.monotonic() + 15, None
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                seen = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code
            time.sleep(0.5)
        assert seen == 503
    finally:
        api.terminate()
        api.wait(20)
