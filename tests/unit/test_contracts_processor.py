"""The Norgespris contracts processor as the grid owner, the supplier and the API see it, on
in-memory tables, no broker.

A command from the point's grid owner creates, edits or cancels a contract: the table holds
it, the contracts topic gets its record, the point's supplier gets a NotifyContract in its
market-processes queue, and the API gets a reply under the command's correlation id. A refused
command is a reply with its named code and nothing else; a command the hub could not process
is a ``PROCESSING_FAILED`` reply. The timer activates a contract once the regret period is over
and expires it at its end date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from domain.problem_codes import ContractCode
from processors.contracts import Contracts
from processors.tables import Tables
from streams.engine import Context, Incoming, Output, Table
from streams.records import contracts as records
from streams.records import queue_message
from streams.records.contracts import ContractReply
from streams.topics import Queue, TopicCatalogue
from tests.unit.builders import GRID_OWNER, POINT_ID, gln, metering_point

SUPPLIER = gln("708000000002")
CATALOGUE = TopicCatalogue("t", 3, 1, 90)
TABLES = Tables.of(CATALOGUE)
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
KEY = POINT_ID.encode()


@pytest.fixture
def tables() -> dict[str, Table[Any]]:
    """The task's tables: a household point of GRID_OWNER, supplied by SUPPLIER."""
    found: dict[str, Table[Any]] = {spec.name: Table(spec, 1 << 20) for spec in TABLES.all()
                                    if not spec.on_disk}
    found[TABLES.metering_points.name].put(
        KEY, metering_point(supplies=((SUPPLIER, date(2025, 6, 1)),)))
    commit(found)
    return found


def commit(tables: dict[str, Table[Any]]) -> None:
    for table in tables.values():
        table.end_record(keep=True)
        table.end_batch(keep=True)


def processor() -> Contracts:
    return Contracts(CATALOGUE, TABLES, timer_seconds=60)


def command(action: str, *, contract_id: str = "c-1", sender: str = GRID_OWNER,
            correlation: str = "corr-1", start: date | None = date(2026, 4, 1),
            end: date | None = None, clear_end: bool = False) -> Incoming:
    value = records.encode_command({
        "correlationId": correlation, "action": action, "sender": sender,
        "meteringPointId": POINT_ID, "contractId": contract_id, "startDate": start,
        "endDate": end, "clearEndDate": clear_end, "receivedAt": NOW})
    return Incoming(CATALOGUE.contract_commands, 0, 0, KEY, value, 0)


def handle(tables: dict[str, Table[Any]], record: Incoming, now: datetime = NOW
           ) -> list[Output]:
    outputs = processor().handle(record, Context(now, 0, tables))
    commit(tables)
    return outputs


def reply_of(output: Output, correlation: str = "corr-1") -> ContractReply:
    assert (output.topic, output.key) == (CATALOGUE.contract_replies, correlation.encode())
    return records.decode_reply(output.value)


def contract_in(reply: ContractReply) -> dict[str, Any]:
    """The changed contract a reply carries (a union of records is read as (name, fields))."""
    found: Any = reply["contract"]
    assert found is not None
    fields: dict[str, Any] = found[1] if isinstance(found, tuple) else found
    return fields


def stored(tables: dict[str, Table[Any]]) -> dict[str, str]:
    """Contract id → status, as the table holds them."""
    found = tables[TABLES.contracts.name].get(KEY)
    return {} if found is None else {c.id: c.status.value for c in found.contracts}


def published(outputs: list[Output]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(contracts-topic records, supplier's queue messages) among ``outputs``."""
    contracts = [records.decode_contract_record(o.value) for o in outputs
                 if o.topic == CATALOGUE.contracts]
    notices = [queue_message.parse(o.value) for o in outputs  # type: ignore[arg-type]
               if o.topic == CATALOGUE.queue_topic(SUPPLIER, Queue.MARKET_PROCESSES)]
    return contracts, notices


def test_a_create_is_stored_published_notified_to_the_supplier_and_answered(
        tables: dict[str, Table[Any]]) -> None:
    outputs = handle(tables, command("create", end=date(2026, 12, 31)))
    assert [o.topic for o in outputs] == [
        CATALOGUE.contracts, CATALOGUE.queue_topic(SUPPLIER, Queue.MARKET_PROCESSES),
        CATALOGUE.contract_replies]
    assert outputs[0].key == b"c-1"
    assert outputs[1].key == f"{SUPPLIER}|market-processes".encode()
    assert outputs[1].recipient == SUPPLIER
    [record], [notice] = published(outputs)
    assert (record["id"], record["status"], record["supplier"], record["gridOwner"]) == (
        "c-1", "Initiated", SUPPLIER, GRID_OWNER)
    assert notice["documentType"] == "NotifyContract"
    assert (notice["payload"]["contractId"], notice["payload"]["status"]) == ("c-1", "Initiated")
    assert notice["payload"]["startDate"] == "2026-04-01"
    reply = reply_of(outputs[-1])
    assert reply["errorCode"] is None and reply["contractId"] == "c-1"
    assert contract_in(reply)["status"] == "Initiated"
    assert stored(tables) == {"c-1": "Initiated"}


def test_the_timer_activates_after_the_regret_period_and_expires_at_the_end_date(
        tables: dict[str, Table[Any]]) -> None:
    handle(tables, command("create", end=date(2026, 4, 30)))
    timer = processor()
    assert timer.fire(Context(NOW + timedelta(days=13), 0, tables)) == []  # still regretting
    outputs = timer.fire(Context(NOW + timedelta(days=14, seconds=1), 0, tables))
    commit(tables)
    [record], [notice] = published(outputs)
    assert record["status"] == notice["payload"]["status"] == "Activated"
    assert stored(tables) == {"c-1": "Activated"}
    assert timer.fire(Context(NOW + timedelta(days=15), 0, tables)) == []  # nothing new

    after_end = datetime(2026, 5, 1, 9, tzinfo=UTC)
    [record], [notice] = published(timer.fire(Context(after_end, 0, tables)))
    commit(tables)
    assert record["status"] == notice["payload"]["status"] == "Expired"
    assert stored(tables) == {"c-1": "Expired"}


def test_a_cancel_in_the_regret_period_cancels_and_tells_the_supplier(
        tables: dict[str, Table[Any]]) -> None:
    handle(tables, command("create"))
    outputs = handle(tables, command("cancel", start=None, correlation="corr-2"),
                     NOW + timedelta(days=2))
    [record], [notice] = published(outputs)
    assert record["status"] == notice["payload"]["status"] == "Cancelled"
    assert reply_of(outputs[-1], "corr-2")["errorCode"] is None
    assert stored(tables) == {"c-1": "Cancelled"}


def test_an_edit_that_ends_the_contract_is_published_with_its_end_date(
        tables: dict[str, Table[Any]]) -> None:
    handle(tables, command("create"))
    outputs = handle(tables, command("edit", start=None, end=date(2026, 6, 30)))
    [record], [notice] = published(outputs)
    assert record["endDate"] == date(2026, 6, 30)
    assert notice["payload"]["endDate"] == "2026-06-30"
    assert "endDate none → 2026-06-30" in notice["payload"]["change"]
    [contract] = tables[TABLES.contracts.name].get(KEY).contracts  # type: ignore[union-attr]
    assert contract.end_date == date(2026, 6, 30)


@pytest.mark.parametrize(("setup", "refused", "code", "pointer"), [
    ("unknown point", command("create"), ContractCode.METERING_POINT_NOT_FOUND,
     "/data/relationships/meteringPoint"),
    ("", command("create", sender=SUPPLIER), ContractCode.FORBIDDEN, None),
    ("one open", command("create", contract_id="c-2"), ContractCode.CONTRACT_ALREADY_EXISTS,
     "/data/relationships/meteringPoint"),
    ("", command("cancel", contract_id="c-9"), ContractCode.CONTRACT_NOT_FOUND, None),
    ("", command("create", start=date(2026, 4, 1), end=date(2026, 3, 1)),
     ContractCode.INVALID_END_DATE, None),
    ("activated", command("cancel", start=None), ContractCode.INVALID_STATUS_TRANSITION,
     "/data/attributes/isCancelled"),
])
def test_a_refused_command_is_answered_with_its_code_and_changes_nothing(
        tables: dict[str, Table[Any]], setup: str, refused: Incoming, code: ContractCode,
        pointer: str | None) -> None:
    now = NOW
    if setup == "unknown point":
        tables[TABLES.metering_points.name].put(KEY, None)
    if setup in ("one open", "activated"):
        handle(tables, command("create", correlation="first"))
    if setup == "activated":
        now = NOW + timedelta(days=15)
    before = stored(tables)
    outputs = handle(tables, refused, now)
    [answer] = outputs  # nothing published, nobody notified
    reply = reply_of(answer)
    assert reply["errorCode"] == code
    assert "errorStatus" not in reply  # the HTTP layer derives the status from the code
    assert reply["errorDetail"]
    if pointer is not None:
        assert reply["errorPointer"] == pointer
    assert reply["contract"] is None and reply["contractId"] is None
    assert stored(tables) == before


def test_a_point_without_a_supplier_gets_its_contract_and_no_queue_message(
        tables: dict[str, Table[Any]]) -> None:
    tables[TABLES.metering_points.name].put(KEY, metering_point())
    outputs = handle(tables, command("create"))
    assert [o.topic for o in outputs] == [CATALOGUE.contracts, CATALOGUE.contract_replies]
    [record], notices = published(outputs)
    assert record["supplier"] is None and notices == []


def test_a_command_the_hub_cannot_process_goes_to_the_reject_path_with_its_reason(
        tables: dict[str, Table[Any]]) -> None:
    bad = command("create", start=None)  # the API always sends a start date: a bug
    with pytest.raises(ValueError, match="without a start date"):
        processor().handle(bad, Context(NOW, 0, tables))
    # the engine undoes the record's state changes and asks for the sender's answer
    [answer] = processor().reject(bad, "a contract create command without a start date",
                                  Context(NOW, 0, tables))
    reply = reply_of(answer)
    assert reply["errorCode"] == ContractCode.PROCESSING_FAILED
    assert reply["errorDetail"] is not None and "without a start date" in reply["errorDetail"]
    assert reply["contract"] is None
