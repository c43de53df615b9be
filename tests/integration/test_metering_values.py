"""Metering values on the real broker: duplicates, corrections, supplier changes, DST days and
a poison record that must not stop the stream."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.serialisation import DEAD_LETTER, codec
from streams.topics import TopicCatalogue
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


def test_same_message_id_is_a_duplicate_and_forwarded_once(straum: Straum) -> None:
    point, go, su, _ = point_with_supplier(straum, today() - timedelta(days=3))
    document = values_document(day_series(point, today() - timedelta(days=1)))
    first = go.post("/v1/metering-values", json=document)
    again = go.post("/v1/metering-values", json=document)
    assert (first.status_code, first.json()["status"]) == (202, "accepted")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    delivered = drain(su, "metering-values")
    assert len(delivered) == 1


def test_resent_transaction_is_not_forwarded_again_and_a_correction_is(straum: Straum) -> None:
    point, go, su, _ = point_with_supplier(straum, today() - timedelta(days=3))
    series = day_series(point, today() - timedelta(days=1))
    assert go.post("/v1/metering-values", json=values_document(series)).status_code == 202
    # The same transaction again, in a new document: accepted, but not forwarded twice.
    assert go.post("/v1/metering-values", json=values_document(series)).status_code == 202
    corrected = dict(series, transactionId="0c7a4d9e-3f1b-4e2a-8d6c-5b9a0e1f2d3c")
    corrected["points"] = [dict(p, quantity=p["quantity"] + 1) for p in series["points"]]
    assert go.post("/v1/metering-values", json=values_document(corrected)).status_code == 202
    delivered = drain(su, "metering-values")
    assert [m["payload"]["transactionId"] for m in delivered] == [
        series["transactionId"], corrected["transactionId"]]
    first, correction = (m["payload"] for m in delivered)
    assert (first["version"], first["correction"]) == (1, False)
    assert (correction["version"], correction["correction"]) == (2, True)
    assert correction["points"] == corrected["points"]


def test_supplier_switch_splits_a_series_at_the_change(straum: Straum) -> None:
    switch_day = today() - timedelta(days=1)
    point, go, old_supplier, _ = point_with_supplier(straum, today() - timedelta(days=5))
    new_gln = gln()
    new = straum.client(new_gln, "supplier")
    assert new.post("/v1/start-of-supply",
                    json=start_of_supply(point, switch_day)).status_code == 202
    poll_until(new, "market-processes", lambda m: m["documentType"] == "ConfirmStartOfSupply")
    ended = poll_until(old_supplier, "market-processes",
                       lambda m: m["documentType"] == "NotifyEndOfSupply")
    assert ended["payload"]["supplier"] == new_gln

    two_days = day_series(point, switch_day - timedelta(days=1))
    two_days["end"] = oslo_midnight(switch_day + timedelta(days=1)).isoformat()
    two_days["points"] = two_days["points"] * 2
    assert go.post("/v1/metering-values", json=values_document(two_days)).status_code == 202

    [before] = drain(old_supplier, "metering-values")
    [after] = drain(new, "metering-values")
    switch = oslo_midnight(switch_day)
    assert datetime.fromisoformat(before["payload"]["end"]) == switch
    assert datetime.fromisoformat(after["payload"]["start"]) == switch
    assert len(before["payload"]["points"]) == len(after["payload"]["points"]) == 24
    assert before["messageId"] != after["messageId"]


def test_dst_days_need_their_own_point_counts(straum: Straum) -> None:
    go = straum.client(gln(), "grid_owner")
    for day, right in ((date(2026, 3, 29), 92), (date(2026, 10, 25), 100)):
        series = day_series(gsrn(), day, "PT15M")
        assert len(series["points"]) == right
        assert go.post("/v1/metering-values", json=values_document(series)).status_code == 202
        series = day_series(gsrn(), day, "PT15M")
        series["points"] = [series["points"][0]] * 96
        response = go.post("/v1/metering-values", json=values_document(series))
        assert response.status_code == 400
        [problem] = response.json()["problems"]
        assert problem["code"] == "series.point_count"
        assert f"expected {right} points" in problem["detail"]


def test_unknown_point_and_wrong_grid_owner_are_rejected_asynchronously(straum: Straum) -> None:
    point, go, su, _ = point_with_supplier(straum, today() - timedelta(days=3))
    intruder = straum.client(gln(), "grid_owner")
    series = day_series(point, today() - timedelta(days=1))
    assert intruder.post("/v1/metering-values", json=values_document(series)).status_code == 202
    rejection = poll_until(intruder, "market-processes",
                           lambda m: m["payload"].get("transactionId") == series["transactionId"])
    assert rejection["payload"]["status"] == "rejected"
    assert [r["code"] for r in rejection["payload"]["reasons"]] == ["sender.not_grid_owner"]
    unknown = day_series(gsrn(), today() - timedelta(days=1))
    assert go.post("/v1/metering-values", json=values_document(unknown)).status_code == 202
    rejection = poll_until(go, "market-processes",
                           lambda m: m["payload"].get("transactionId") == unknown["transactionId"])
    assert [r["code"] for r in rejection["payload"]["reasons"]] == ["metering_point.unknown"]
    assert drain(su, "metering-values") == []


async def test_poison_record_goes_to_dead_letters_and_the_stream_goes_on(
        straum: Straum, kafka_bootstrap: str) -> None:
    point, go, su, _ = point_with_supplier(straum, today() - timedelta(days=3))
    catalogue = TopicCatalogue.from_settings(straum.settings)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(catalogue.metering_values, b"\x00not avro",
                                     key=point.encode())
    finally:
        await producer.stop()
    series = day_series(point, today() - timedelta(days=1))
    assert go.post("/v1/metering-values", json=values_document(series)).status_code == 202
    [forwarded] = drain(su, "metering-values")
    assert forwarded["payload"]["transactionId"] == series["transactionId"]

    consumer = AIOKafkaConsumer(catalogue.dead_letters, isolation_level="read_committed",
                                bootstrap_servers=kafka_bootstrap,
                                auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=5000)
    finally:
        await consumer.stop()
    letters = [codec(DEAD_LETTER).decode(r.value) for rs in batch.values() for r in rs]
    [letter] = [d for d in letters if d["key"] == point.encode()]
    assert letter["processor"] == "forwarder"
    assert letter["topic"] == catalogue.metering_values
    assert letter["value"] == b"\x00not avro"
    assert "single-object" in letter["error"]


def test_a_supply_change_processed_after_the_values_it_covers_still_routes_them(
        straum: Straum) -> None:
    """Values for a day are forwarded to the supplier of record; then a start of supply from
    an earlier day arrives (the values were processed first, as under a backlog on the
    master-data topic): the new supplier gets that day's values, under the message id they
    would have had, and the grid owner is not told twice."""
    point, go, first_supplier, first_id = point_with_supplier(straum, today() - timedelta(days=10))
    day = today() - timedelta(days=3)
    series = day_series(point, day)
    assert go.post("/v1/metering-values", json=values_document(series)).status_code == 202
    [to_first] = drain(first_supplier, "metering-values")
    assert to_first["payload"]["transactionId"] == series["transactionId"]
    owner_before = drain(go, "metering-values")
    second_id = gln()
    second = straum.client(second_id, "supplier")
    assert second.post("/v1/start-of-supply",
                       json=start_of_supply(point, day - timedelta(days=1))).status_code == 202
    late = poll_until(second, "metering-values",
                      lambda m: m["payload"].get("transactionId") == series["transactionId"])
    assert datetime.fromisoformat(late["payload"]["start"]) == oslo_midnight(day)
    assert [p["quantity"] for p in late["payload"]["points"]] == [
        p["quantity"] for p in series["points"]]
    assert late["messageId"] != to_first["messageId"]
    assert drain(go, "metering-values", settle=2.0) == [] and len(owner_before) == 1
    assert first_id != second_id
