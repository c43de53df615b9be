"""Kafka client security passed through from settings: straum's worker and API on the
session broker's SASL/PLAIN listener; a wrong password keeps them out."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from connectors.broker.embedded import BrokerInfo, free_port
from tests.conftest import SASL_PASSWORD, SASL_USER
from tests.helpers import (
    day_series,
    poll_until,
    today,
    values_document,
)
from tests.integration.conftest import point_with_supplier, start_straum


def test_worker_and_api_over_sasl(kafka_broker: BrokerInfo | None, session_dir: Path) -> None:
    if kafka_broker is None or kafka_broker.sasl_port is None:
        pytest.skip("an external test broker has no SASL listener configured by straum")
    sasl = {"STRAUM_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "STRAUM_KAFKA_SASL_MECHANISM": "PLAIN", "STRAUM_KAFKA_SASL_USERNAME": SASL_USER,
            "STRAUM_KAFKA_SASL_PASSWORD": SASL_PASSWORD}
    straum = start_straum(f"127.0.0.1:{kafka_broker.sasl_port}", session_dir / "sasl",
                          partitions=2, extra_env=sasl)
    try:
        point, go, su, _ = point_with_supplier(straum, today() - timedelta(days=2))
        series = day_series(point, today() - timedelta(days=1))
        assert go.post("/v1/metering-values", json=values_document(series)).status_code == 202
        poll_until(su, "metering-values",
                   lambda m: m["payload"]["transactionId"] == series["transactionId"])
    finally:
        straum.stop_all()

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
