"""Replay after downtime on the real broker: to the supplier of the time, with the original
message ids, stoppable and resumable without repeats; and re-delivery of a queue from a time."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

from tests.helpers import (
    day_series,
    drain,
    gln,
    gsrn,
    oslo_midnight,
    poll_until,
    start_of_supply,
    today,
    values_document,
)
from tests.integration.conftest import Straum, point_with_supplier


def straum_cli(straum: Straum, *args: str, timeout: float = 180
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "straum", *args], env=straum.env, text=True,
                          capture_output=True, timeout=timeout, check=False)


def window(first: date, last: date) -> list[str]:
    return ["--from", oslo_midnight(first).isoformat(),
            "--to", oslo_midnight(last + timedelta(days=1)).isoformat()]


def test_replay_goes_to_the_supplier_of_the_time_with_the_original_ids(straum: Straum) -> None:
    point, go, old, _ = point_with_supplier(straum, today() - timedelta(days=10))
    new = straum.client(gln(), "supplier")
    assert new.post("/v1/start-of-supply",
                    json=start_of_supply(point, today() - timedelta(days=1))).status_code == 202
    poll_until(new, "market-processes", lambda m: m["documentType"] == "ConfirmStartOfSupply")
    early, late = (day_series(point, today() - timedelta(days=3)),
                   day_series(point, today()))
    assert go.post("/v1/metering-values", json=values_document(early, late)).status_code == 202
    [first_old] = drain(old, "metering-values")
    [first_new] = drain(new, "metering-values")

    plan = straum_cli(straum, "replay", "metering-values", *window(today() - timedelta(days=4),
                                                                   today()),
                      "--metering-point", point, "--dry-run")
    assert plan.returncode == 0, plan.stderr
    # Two series: each to its supplier of the time and to the grid owner.
    assert "2 series, 4 messages" in plan.stderr
    assert drain(old, "metering-values", settle=1) == []  # a dry run sends nothing

    run = straum_cli(straum, "replay", "metering-values",
                     *window(today() - timedelta(days=4), today()),
                     "--metering-point", point, "--rate", "0")
    assert run.returncode == 0, run.stderr
    [again_old] = drain(old, "metering-values")
    [again_new] = drain(new, "metering-values")
    assert again_old["messageId"] == first_old["messageId"]
    assert again_new["messageId"] == first_new["messageId"]
    assert again_old["replayed"] and again_new["replayed"]
    assert not first_old["replayed"]
    assert again_old["payload"]["transactionId"] == early["transactionId"]
    assert again_new["payload"]["transactionId"] == late["transactionId"]


def test_stopped_replay_resumes_without_repeating(straum: Straum) -> None:
    point, go, supplier, supplier_id = point_with_supplier(straum,
                                                           today() - timedelta(days=14))
    days = [today() - timedelta(days=d) for d in range(14, 0, -1)]
    series = [day_series(point, d) for d in days]
    for chunk in range(0, len(series), 10):
        assert go.post("/v1/metering-values",
                       json=values_document(*series[chunk:chunk + 10])).status_code == 202
    first = drain(supplier, "metering-values")
    forwarded = {m["payload"]["transactionId"] for m in first}
    assert forwarded  # the supplier's days (the rest predates the supply)

    args = ["replay", "metering-values", *window(days[0], days[-1]), "--metering-point",
            point, "--recipient", supplier_id, "--rate", "1"]
    process = subprocess.Popen([sys.executable, "-m", "straum", *args], env=straum.env,
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while supplier.get("/v1/queues").json()["queues"][0]["depth"] < 2:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)  # stopped in the middle
    _, err = process.communicate(timeout=60)
    assert process.returncode == 3, err
    job = re.search(r"replay ([0-9a-f-]{36}) stopped", err)
    assert job, err
    # A second replay over the same scope is refused while this one is unfinished.
    clash = straum_cli(straum, *args[:-2], "--dry-run")
    assert clash.returncode == 1
    assert "overlapping scope" in clash.stderr and job.group(1) in clash.stderr

    resumed = straum_cli(straum, "replay", "resume", job.group(1), "--rate", "0")
    assert resumed.returncode == 0, resumed.stderr
    again = drain(supplier, "metering-values")
    ids = [m["payload"]["transactionId"] for m in again]
    assert sorted(ids) == sorted(forwarded)  # each series exactly once more
    assert all(m["replayed"] for m in again)
    listed = straum_cli(straum, "replay", "list")
    assert job.group(1) in listed.stdout and "done" in listed.stdout


def test_redelivery_from_a_time_gives_everything_since_in_order(straum: Straum) -> None:
    point, go, supplier, supplier_id = point_with_supplier(straum,
                                                           today() - timedelta(days=14))
    before = [day_series(point, today() - timedelta(days=d)) for d in (9, 8)]
    assert go.post("/v1/metering-values", json=values_document(*before)).status_code == 202
    assert len(drain(supplier, "metering-values")) == 2
    time.sleep(1.5)
    since = datetime.now(UTC)
    time.sleep(1.5)
    after = [day_series(point, today() - timedelta(days=d)) for d in (7, 6, 5)]
    for s in after:
        assert go.post("/v1/metering-values", json=values_document(s)).status_code == 202
    delivered = drain(supplier, "metering-values")
    assert len(delivered) == 3
    result = straum_cli(straum, "replay", "queue", "--actor", supplier_id,
                        "--queue", "metering-values", "--since", since.isoformat())
    assert result.returncode == 0, result.stderr
    assert "3 messages" in result.stdout
    again = drain(supplier, "metering-values")
    assert [m["messageId"] for m in again] == [m["messageId"] for m in delivered]


def test_bad_replays_say_what_is_wrong(straum: Straum) -> None:
    empty = straum_cli(straum, "replay", "metering-values", "--from", "2020-01-01T00:00:00Z",
                       "--to", "2020-01-02T00:00:00Z", "--metering-point", gsrn(), "--dry-run")
    assert empty.returncode == 1
    assert "unknown metering points" in empty.stderr
    nothing = straum_cli(straum, "replay", "metering-values", "--from", "2020-01-01T00:00:00Z",
                         "--to", "2020-01-02T00:00:00Z", "--dry-run")
    assert nothing.returncode == 0
    assert "nothing to replay" in nothing.stderr
    backwards = straum_cli(straum, "replay", "metering-values", "--from",
                           "2020-01-02T00:00:00Z", "--to", "2020-01-01T00:00:00Z")
    assert backwards.returncode == 1 and "--to must be after --from" in backwards.stderr
    stranger = straum_cli(straum, "replay", "metering-values", "--from", "2020-01-01T00:00:00Z",
                          "--to", "2020-01-02T00:00:00Z", "--recipient", gln(), "--dry-run")
    assert stranger.returncode == 1 and "unknown actors" in stranger.stderr
    naive = straum_cli(straum, "replay", "queue", "--actor", gln(), "--queue",
                       "metering-values", "--since", "2026-01-01T00:00:00")
    assert naive.returncode == 1 and "give an offset" in naive.stderr


def test_replay_and_redelivery_through_the_operator_api(straum: Straum) -> None:
    point, go, supplier, supplier_id = point_with_supplier(straum, today() - timedelta(days=5))
    series = day_series(point, today() - timedelta(days=2))
    assert go.post("/v1/metering-values", json=values_document(series)).status_code == 202
    [first] = drain(supplier, "metering-values")
    operator = straum.client("7080005051286", "operator")
    body = {"from": oslo_midnight(today() - timedelta(days=2)).isoformat(),
            "to": oslo_midnight(today() - timedelta(days=1)).isoformat(),
            "meteringPoints": [point], "recipients": [supplier_id], "rate": 0}
    plan = operator.post("/v1/ops/replays", json={**body, "dryRun": True})
    assert plan.status_code == 200, plan.text
    assert plan.json()["plan"] == {"series": 1, "messages": 1,
                                   "perRecipient": {supplier_id: 1}}
    started = operator.post("/v1/ops/replays", json=body)
    assert started.status_code == 202, started.text
    job_id = started.json()["replay"]["id"]
    [again] = drain(supplier, "metering-values")
    assert again["messageId"] == first["messageId"] and again["replayed"]
    assert operator.get(f"/v1/ops/replays/{job_id}").json()["status"] == "done"
    assert supplier.post("/v1/ops/replays", json=body).status_code == 403
    since = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    redelivery = operator.post("/v1/ops/redeliveries", json={
        "actor": supplier_id, "queue": "metering-values", "since": since})
    assert redelivery.status_code == 201, redelivery.text
    assert [m["messageId"] for m in drain(supplier, "metering-values")] == [
        first["messageId"], again["messageId"]]
    unknown = operator.post("/v1/ops/redeliveries", json={
        "actor": gln(), "queue": "metering-values", "since": since})
    assert unknown.status_code == 404
