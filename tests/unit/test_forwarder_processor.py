"""The metering-values forwarder as a market actor sees it, on in-memory tables, no broker.

An accepted series is acknowledged to its sender and lands in the supplier's and grid owner's
metering-values queues under stable ids; the same series again is acknowledged and not
forwarded; new values for the same period go out as the next version; an unknown point is a
rejection with its reason code; a record the hub could not process is a ``processing.failed``
rejection; the monitor's heartbeat passes through; the point's stored days hold the values.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.point_values import day_key
from processors.forwarder import Forwarder
from processors.outputs import HEARTBEAT_KIND, KIND_HEADER
from processors.tables import Tables
from streams.engine import Context, Incoming, Output, Table
from streams.engine.store import DiskTable
from streams.records import heartbeat, queue_message
from streams.records.series import Series, encode_series
from streams.topics import Queue, TopicCatalogue
from tests.unit.builders import GRID_OWNER, POINT_ID, gln, metering_point
from tests.unit.test_forwarding import make_series

SUPPLIER = gln("708000000002")
CATALOGUE = TopicCatalogue("t", 3, 1, 90)
TABLES = Tables.of(CATALOGUE)
NOW = datetime(2026, 6, 14, 5, 12, 4, tzinfo=UTC)
NOTIFY = "NotifyValidatedDataForBillingEnergy"


def task_tables(values_file: Path) -> dict[str, Any]:
    """A forwarder task's tables, the point known with a supplier since January."""
    found: dict[str, Any] = {spec.name: Table(spec, 1 << 20) for spec in TABLES.all()
                             if not spec.on_disk}
    found[TABLES.point_values.name] = DiskTable(TABLES.point_values, 1 << 20, values_file)
    found[TABLES.metering_points.name].put(
        POINT_ID.encode(), metering_point(supplies=((SUPPLIER, date(2026, 1, 1)),)))
    commit(found)
    return found


@pytest.fixture
def tables(tmp_path: Path) -> dict[str, Any]:
    return task_tables(tmp_path / "pv.sqlite")


def commit(tables: dict[str, Any]) -> None:
    """What the engine does after a record's batch is committed."""
    for table in tables.values():
        table.end_record(keep=True)
        table.end_batch(keep=True)


def forwarder() -> Forwarder:
    return Forwarder(CATALOGUE, TABLES, history_days=60)


def intake(series: dict[str, Any], offset: int = 0) -> Incoming:
    typed: Series = series  # type: ignore[assignment]
    return Incoming(CATALOGUE.metering_values, 0, offset, series["meteringPointId"].encode(),
                    encode_series(typed), 0)


def handle(tables: dict[str, Any], record: Incoming) -> list[Output]:
    outputs = forwarder().handle(record, Context(NOW, 0, tables))
    commit(tables)
    return outputs


def shown(output: Output) -> dict[str, Any]:
    """A queue record as a poll shows it."""
    assert output.value is not None
    return queue_message.parse(output.value)


def summary(outputs: list[Output]) -> list[tuple[str, bytes | None, str | None, str]]:
    """(topic, key, recipient, document type) of each output."""
    return [(o.topic, o.key, o.recipient, shown(o)["documentType"]) for o in outputs]


def market(actor: str) -> str:
    return CATALOGUE.queue_topic(actor, Queue.MARKET_PROCESSES)


def values(actor: str) -> str:
    return CATALOGUE.queue_topic(actor, Queue.METERING_VALUES)


def test_an_accepted_series_is_acknowledged_and_queued_for_supplier_and_grid_owner(
        tables: dict[str, Any]) -> None:
    series = make_series(days=1)
    outputs = handle(tables, intake(series))
    assert summary(outputs) == [
        (market(GRID_OWNER), f"{GRID_OWNER}|market-processes".encode(), GRID_OWNER,
         "Acknowledgement"),
        (values(SUPPLIER), f"{SUPPLIER}|metering-values".encode(), SUPPLIER, NOTIFY),
        (values(GRID_OWNER), f"{GRID_OWNER}|metering-values".encode(), GRID_OWNER, NOTIFY)]
    ack, to_supplier, to_grid_owner = (shown(o) for o in outputs)
    assert ack["payload"]["status"] == "accepted"
    assert ack["payload"]["originalMessageId"] == series["messageId"]
    for message, role in ((to_supplier, "supplier"), (to_grid_owner, "grid_owner")):
        payload = message["payload"]
        assert payload["recipientRole"] == role
        assert payload["transactionId"] == series["transactionId"]
        assert (payload["version"], payload["correction"]) == (1, False)
        assert [p["quantity"] for p in payload["points"]] == series["quantities"]
    assert all(o.create is not None for o in outputs)  # queues made on first use


def test_the_same_series_twice_has_the_same_ids_and_is_not_forwarded_again(
        tables: dict[str, Any], tmp_path: Path) -> None:
    series = make_series(days=1)
    first = handle(tables, intake(series, offset=0))
    # the same input on a fresh task (a replay): the very same messages, ids included
    fresh = task_tables(tmp_path / "replay.sqlite")
    assert [shown(o)["messageId"] for o in handle(fresh, intake(series))] == [
        shown(o)["messageId"] for o in first]
    assert len({shown(o)["messageId"] for o in first}) == 3

    again = handle(tables, intake(series, offset=1))
    # a resend: the sender is acknowledged (the same acknowledgement), nobody is told twice
    assert summary(again) == summary(first)[:1]
    assert shown(again[0])["messageId"] == shown(first[0])["messageId"]
    assert shown(again[0])["payload"]["status"] == "accepted"


def test_new_values_for_the_same_period_go_out_as_the_next_version(
        tables: dict[str, Any]) -> None:
    handle(tables, intake(make_series(days=1)))
    corrected = make_series(days=1, transaction_id="tx-2")
    corrected["quantities"] = [q + 1 for q in corrected["quantities"]]
    outputs = handle(tables, intake(corrected, offset=1))
    notified = [shown(o)["payload"] for o in outputs if o.topic in (values(SUPPLIER),
                                                                    values(GRID_OWNER))]
    assert len(notified) == 2
    assert {(p["version"], p["correction"]) for p in notified} == {(2, True)}
    assert [p["quantity"] for p in notified[0]["points"]] == corrected["quantities"]


def test_a_series_for_an_unknown_point_is_rejected_to_its_sender_with_the_reason(
        tables: dict[str, Any]) -> None:
    tables[TABLES.metering_points.name].put(POINT_ID.encode(), None)
    commit(tables)
    outputs = handle(tables, intake(make_series(days=1)))
    assert summary(outputs) == [(market(GRID_OWNER), f"{GRID_OWNER}|market-processes".encode(),
                                 GRID_OWNER, "Acknowledgement")]
    payload = shown(outputs[0])["payload"]
    assert payload["status"] == "rejected"
    assert [r["code"] for r in payload["reasons"]] == ["metering_point.unknown"]
    # nothing remembered: the series may be sent again once the point is registered
    assert tables[TABLES.series_versions.name].get(POINT_ID.encode()) is None
    assert tables[TABLES.point_values.name].get(day_key(POINT_ID, date(2026, 6, 12))) is None


def test_a_series_the_hub_could_not_process_is_rejected_to_its_sender(
        tables: dict[str, Any]) -> None:
    series = make_series(days=1)
    outputs = forwarder().reject(intake(series), "disk full", Context(NOW, 0, tables))
    assert summary(outputs) == [(market(GRID_OWNER), f"{GRID_OWNER}|market-processes".encode(),
                                 GRID_OWNER, "Acknowledgement")]
    payload = shown(outputs[0])["payload"]
    assert payload["status"] == "rejected"
    assert payload["originalMessageId"] == series["messageId"]
    assert payload["transactionId"] == series["transactionId"]
    [reason] = payload["reasons"]
    assert reason["code"] == "processing.failed" and "disk full" in reason["text"]


def heartbeat_record() -> Incoming:
    beat = heartbeat.encode({"sourceTopic": CATALOGUE.metering_values, "partition": 2,
                             "sentAt": datetime(2026, 6, 14, 5, 12, tzinfo=UTC),
                             "processedAt": None, "queuedAt": None})
    return Incoming(CATALOGUE.metering_values, 2, 9, b"beat", beat, 0,
                    ((KIND_HEADER, HEARTBEAT_KIND),))


def test_a_heartbeat_passes_through_stamped_for_the_monitor(tables: dict[str, Any]) -> None:
    [output] = handle(tables, heartbeat_record())
    assert output.topic == CATALOGUE.heartbeats
    assert output.key == f"straum-heartbeat|{CATALOGUE.metering_values}|2".encode()
    beat = heartbeat.decode(output.value)
    assert (beat["sourceTopic"], beat["partition"]) == (CATALOGUE.metering_values, 2)
    assert beat["processedAt"] == NOW == beat["queuedAt"]
    # a heartbeat the hub could not process tells no sender anything
    assert forwarder().reject(heartbeat_record(), "boom", Context(NOW, 0, tables)) == []


def test_an_accepted_series_is_stored_in_its_points_days(tables: dict[str, Any]) -> None:
    series = make_series(days=2)  # 12 and 13 June
    handle(tables, intake(series))
    stored = tables[TABLES.point_values.name]
    first, second = (stored.get(day_key(POINT_ID, date(2026, 6, d))) for d in (12, 13))
    assert first is not None and second is not None
    assert first.quantities + second.quantities == series["quantities"]
    assert {s.version for s in first.segments} == {1}
    assert {s.transaction_id for s in first.segments + second.segments} == {"tx-1"}
    assert tables[TABLES.series_versions.name].get(POINT_ID.encode())[-1].version == 1
