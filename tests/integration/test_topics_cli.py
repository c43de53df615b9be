"""``straum topics`` and ``straum dead-letters`` against the real broker, as an operator runs
them: the topics listed, records decoded (Avro intake records, JSON queue messages), filtered
by key and time, and a poison record dead-lettered, inspected, fixed and sent back, after
which the hub processes it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from tests.helpers import (
    day_series,
    gln,
    gsrn,
    poll_until,
    register_point,
    today,
    values_document,
)
from tests.integration.conftest import Straum, point_with_supplier


def straum_cli(straum: Straum, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "straum", *args], env=straum.env,
                          capture_output=True, text=True, timeout=120, check=False)


def json_lines(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_topics_are_listed_and_read_decoded(straum: Straum) -> None:
    day = today() - timedelta(days=1)
    point, go, supplier, supplier_id = point_with_supplier(straum, day)
    series = day_series(point, day)
    assert go.post("/v1/metering-values", json=values_document(series)).status_code == 202
    poll_until(supplier, "metering-values",
               lambda m: m["payload"]["transactionId"] == series["transactionId"])
    prefix = straum.settings.topic_prefix

    listed = {row["topic"]: row for row in json_lines(straum_cli(straum, "topics", "list",
                                                                 "--json"))}
    intake = listed[f"{prefix}.metering-values.intake"]
    assert intake["partitions"] == 3 and intake["records"] >= 1
    assert intake["purpose"] == "metering-value intake (kept)"
    assert listed[f"{prefix}.queue.{supplier_id}.metering-values"]["purpose"] == \
        f"metering-values queue of {supplier_id}"
    table = straum_cli(straum, "topics", "list")
    assert f"{prefix}.master-data.intake" in table.stdout

    [stored] = json_lines(straum_cli(straum, "topics", "tail", "metering-values.intake",
                                     "--key", point, "--json"))
    assert stored["type"] == "no.straum.intake.MeteringValueSeries"
    assert stored["key"] == point
    assert stored["value"]["transactionId"] == series["transactionId"]
    assert stored["value"]["quantities"] == [p["quantity"] for p in series["points"]]
    assert stored["value"]["start"].endswith("Z")

    queue = json_lines(straum_cli(straum, "topics", "tail",
                                  f"queue.{supplier_id}.metering-values", "--json"))
    assert queue[-1]["type"] == "json"
    assert queue[-1]["value"]["documentType"] == "NotifyValidatedDataForBillingEnergy"
    assert queue[-1]["headers"] == {"content-type": "application/json"}

    master = json_lines(straum_cli(straum, "topics", "tail", f"{prefix}.master-data.intake",
                                   "--key", point, "--json"))
    assert [m["value"]["document"]["_type"].rsplit(".", 1)[-1] for m in master] == [
        "MeteringPointRegistration", "StartOfSupply"]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert straum_cli(straum, "topics", "tail", "master-data.intake", "--from", later
                      ).stdout == ""
    human = straum_cli(straum, "topics", "tail", "master-data.intake", "--key", point,
                       "--count", "1")
    assert "StartOfSupply" in human.stdout and f"key={point}" in human.stdout
    unknown = straum_cli(straum, "topics", "tail", "no-such-topic")
    assert unknown.returncode == 1 and "no topic 'no-such-topic'" in unknown.stderr


def test_a_dead_letter_is_shown_fixed_and_processed(straum: Straum, tmp_path: Path) -> None:
    import asyncio

    owner = gln()
    go = straum.client(owner, "grid_owner")
    assert go.post("/v1/metering-points", json=register_point(gsrn())).status_code == 202
    poll_until(go, "market-processes", lambda m: m["documentType"] == "Acknowledgement")
    point = gsrn()
    topic = straum.settings.topic_prefix + ".master-data.intake"

    async def poison() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=straum.settings.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"\x00not a record", key=point.encode())
        finally:
            await producer.stop()

    asyncio.run(poison())
    deadline = time.monotonic() + 60
    mine: list[dict[str, Any]] = []
    while not mine and time.monotonic() < deadline:
        letters = json_lines(straum_cli(straum, "dead-letters", "list", "--json",
                                        "--count", "1000"))
        mine = [d for d in letters if d["key"] == point]
        time.sleep(0.5)
    [letter] = mine
    assert (letter["topic"], letter["processor"]) == (topic, "master-data")
    assert letter["errorType"] == "UndecodableRecord"
    listed = straum_cli(straum, "dead-letters", "list")
    assert str(letter["deadLetterOffset"]) in listed.stdout and "UndecodableRecord" in \
        listed.stdout

    shown = straum_cli(straum, "dead-letters", "show", str(letter["deadLetterOffset"]))
    assert shown.returncode == 0, shown.stderr
    full = json.loads(shown.stdout)
    assert full["original"] == {"type": "unknown", "value": "base64:AG5vdCBhIHJlY29yZA=="}

    # The operator writes the record it should have been and sends it back.
    message_id = str(uuid.uuid4())
    full["original"]["value"] = {
        "messageId": message_id, "sender": owner, "senderRole": "grid_owner",
        "receivedAt": datetime.now(UTC).isoformat(), "meteringPointId": point,
        "document": {"_type": "no.straum.masterdata.MeteringPointRegistration",
                     "gridArea": "10YNO-1--------2", "priceArea": "NO1",
                     "pointType": "consumption", "resolution": "PT1H",
                     "consumptionCode": "35", "industryCode": None, "productionType": None,
                     "validFrom": "2025-01-01"}}
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(full))
    retried = straum_cli(straum, "dead-letters", "retry", str(letter["deadLetterOffset"]),
                         "--value", str(fixed))
    assert retried.returncode == 0, retried.stderr
    assert f"sent fixed to {topic}[{letter['partition']}]" in retried.stdout
    ack = poll_until(go, "market-processes",
                     lambda m: m["payload"].get("originalMessageId") == message_id)
    assert ack["payload"]["status"] == "accepted", ack["payload"]["reasons"]

    as_is = straum_cli(straum, "dead-letters", "retry", str(letter["deadLetterOffset"]),
                       "--value", str(tmp_path / "missing.json"))
    assert as_is.returncode == 2  # typer: the file does not exist
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"messageId": 1}))
    refused = straum_cli(straum, "dead-letters", "retry", str(letter["deadLetterOffset"]),
                         "--value", str(bad), "--type", "master_data_event")
    assert refused.returncode == 1 and "/messageId: expected string" in refused.stderr
