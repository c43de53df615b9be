"""The point-requests handler (pure, on the engine's tables): the forwarder's days read back
for a comparison within the caller's periods, and a history answer into the caller's queue
with the current version, for its supply days only."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from processors.point_values import PointRequests, remember_values
from processors.tables import Tables
from streams.engine import Context, Incoming
from streams.engine.state import Table
from streams.engine.store import DiskTable
from streams.records import point_day
from streams.serialisation import POINT_REPLY, POINT_REQUEST, codec
from streams.topics import Queue, TopicCatalogue
from tests.unit.builders import GRID_OWNER, POINT_ID, gln, metering_point, oslo_midnight

SUPPLIER, NEXT = gln("708000000002"), gln("708000000003")
CATALOGUE = TopicCatalogue("t", 3, 1, 90)
TABLES = Tables.of(CATALOGUE)
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def context(tmp_path: Path) -> Context:
    tables: dict[str, Any] = {spec.name: Table(spec, 1_000_000) for spec in TABLES.all()
                              if not spec.on_disk}
    tables[TABLES.point_values.name] = DiskTable(TABLES.point_values, 1_000_000,
                                                 tmp_path / "pv.sqlite")
    point = metering_point(resolution="PT1H", supplies=((SUPPLIER, date(2026, 2, 1)),
                                                        (NEXT, date(2026, 2, 10))))
    tables[TABLES.metering_points.name].put(POINT_ID.encode(), point)
    return Context(now=NOW, partition=0, tables=tables)


def day_series(day: date, base: float, transaction: str) -> dict[str, Any]:
    start = oslo_midnight(day)
    return {"meteringPointId": POINT_ID, "start": start, "end": start + timedelta(days=1),
            "resolution": "PT1H", "quantities": [base + h / 1000 for h in range(24)],
            "qualities": ["measured"] * 24, "transactionId": transaction,
            "messageId": str(uuid.uuid4()), "receivedAt": NOW}


def request(kind: str, sender: str, roles: list[str], first: date, last: date) -> Incoming:
    value = codec(POINT_REQUEST).encode({
        "correlationId": "c1", "kind": kind, "sender": sender, "roles": roles,
        "meteringPointId": POINT_ID, "start": oslo_midnight(first),
        "end": oslo_midnight(last + timedelta(days=1)), "requestId": "r1", "receivedAt": NOW})
    return Incoming(CATALOGUE.point_requests, 0, 0, POINT_ID.encode(), value, 0)


def test_history_answers_the_suppliers_own_days_in_their_current_version(
        tmp_path: Path) -> None:
    ctx = context(tmp_path)
    days = ctx.table(TABLES.point_values)
    for n in range(5, 15):  # 5–14 Feb: the supplier's days are 5–9
        remember_values(days, day_series(date(2026, 2, n), 1.0, f"tx-{n}"), 1)
    remember_values(days, day_series(date(2026, 2, 7), 2.0, "tx-fix"), 2)
    outputs = PointRequests(CATALOGUE, TABLES).handle(
        request("history", SUPPLIER, ["supplier"], date(2026, 2, 1), date(2026, 2, 28)), ctx)
    *messages, reply = outputs
    answer = codec(POINT_REPLY).decode(reply.value)
    assert answer["errorCode"] is None and answer["messages"] == 5 == len(messages)
    assert {m.topic for m in messages} == {CATALOGUE.queue_topic(SUPPLIER, Queue.METERING_VALUES)}
    bodies = [orjson.loads(m.value) for m in messages]  # type: ignore[arg-type]
    fixed = next(b for b in bodies if b["payload"]["transactionId"] == "tx-fix")
    assert fixed["payload"]["version"] == 2 and fixed["payload"]["correction"] is True
    assert fixed["payload"]["points"][0] == {"quantity": 2.0, "quality": "measured"}
    assert {b["payload"]["recipientRole"] for b in bodies} == {"supplier"}


def test_a_stranger_and_an_unknown_point_are_told_metering_point_unknown(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    handler = PointRequests(CATALOGUE, TABLES)
    [reply] = handler.handle(request("history", gln("708000000009"), ["supplier"],
                                     date(2026, 2, 1), date(2026, 2, 28)), ctx)
    assert codec(POINT_REPLY).decode(reply.value)["errorCode"] == "metering_point.unknown"


def test_comparison_gets_the_days_of_the_callers_periods(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    days = ctx.table(TABLES.point_values)
    for n in range(1, 15):
        remember_values(days, day_series(date(2026, 2, n), 1.0, f"tx-{n}"), 1)
    [reply] = PointRequests(CATALOGUE, TABLES).handle(
        request("comparison", NEXT, ["supplier"], date(2026, 2, 1), date(2026, 2, 28)), ctx)
    answer = codec(POINT_REPLY).decode(reply.value)
    assert [point_day.decode(d).day for d in answer["days"]] == [
        date(2026, 2, n) for n in range(10, 15)]
    assert (answer["consumptionCode"], answer["priceArea"], answer["resolution"]) == (
        "35", "NO1", "PT1H")
    assert GRID_OWNER != NEXT
