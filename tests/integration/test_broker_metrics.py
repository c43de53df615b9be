"""The broker's own metrics: the session's embedded broker runs the Prometheus JMX exporter
agent as `straum run` does, and serves every series the Grafana dashboard's broker panels
query, with values that follow the traffic."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import BROKER_METRICS_PORT
from tests.helpers import gln, gsrn, register_point
from tests.integration.conftest import Straum

DASHBOARD = Path(__file__).resolve().parents[2] / "docker/grafana/dashboards/straum.json"


def scrape() -> dict[str, float]:
    """Series name with labels -> value, from the broker's /metrics."""
    text = httpx.get(f"http://127.0.0.1:{BROKER_METRICS_PORT}/metrics", timeout=30).text
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line and not line.startswith("#")}


@pytest.mark.skipif(bool(os.environ.get("STRAUM_TEST_KAFKA_BOOTSTRAP")),
                    reason="an existing broker: its metrics are its operator's")
def test_the_broker_serves_what_the_dashboard_reads(straum: Straum) -> None:
    before = scrape()
    go = straum.client(gln(), "grid_owner")
    for _ in range(3):
        assert go.post("/v1/metering-points", json=register_point(gsrn())).status_code == 202
    after = scrape()
    names = {series.split("{", 1)[0] for series in after}
    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    queried = {name for panel in panels for target in panel.get("targets", [])
               for name in re.findall(r"\b((?:kafka|jvm)_[a-z_]+)\{", target["expr"])}
    assert len(queried) >= 10
    assert queried <= names, queried - names

    def total(series: dict[str, float], name: str) -> float:
        return sum(v for k, v in series.items() if k.split("{", 1)[0] == name
                   and 'topic="' not in k)

    messages = "kafka_server_brokertopicmetrics_messagesin_total"
    assert total(after, messages) >= total(before, messages) + 3
    assert total(after, "kafka_controller_kafkacontroller_activecontrollercount") == 1
    assert total(after, "kafka_server_replicamanager_underreplicatedpartitions") == 0
    assert total(after, "kafka_server_replicamanager_partitioncount") > 0
