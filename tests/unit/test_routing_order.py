"""Master data and values in any order (issue 20, finding 5): a change of supply or access
processed after values it covers sends those values to the recipients it adds, under the ids
they would have had, so which topic the hub read first never decides who receives what.

Pure rules (``domain.forwarding.reroute_series``) and the master-data processor on in-memory
tables, without a broker.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from domain.forwarding import forward_series, reroute_series
from domain.metering_point import ThirdPartyAccess
from processors.master_data import MasterData
from processors.tables import Tables
from streams.engine import Context, Incoming, Table
from streams.serialisation import MASTER_DATA_EVENT, METERING_VALUE_SERIES, codec
from streams.topics import Queue, TopicCatalogue
from tests.unit.builders import GRID_OWNER, POINT_ID, gln, metering_point, oslo_midnight
from tests.unit.test_forwarding import make_series

SUPPLIER_A = gln("708000000002")
SUPPLIER_B = gln("708000000003")
THIRD_PARTY = gln("708000000005")
NOW = datetime(2026, 6, 14, 5, 12, 4, tzinfo=UTC)


def values_to(messages: list[object], recipient: str) -> list[object]:
    return [m for m in messages if m.recipient == recipient  # type: ignore[attr-defined]
            and m.document_type == "NotifyValidatedDataForBillingEnergy"]  # type: ignore[attr-defined]


def test_a_later_start_of_supply_sends_the_days_it_covers_to_the_new_supplier() -> None:
    before = metering_point(supplies=((SUPPLIER_A, date(2026, 1, 1)),))
    after = metering_point(supplies=((SUPPLIER_A, date(2026, 1, 1)),
                                     (SUPPLIER_B, date(2026, 6, 13))))
    series = make_series(first_day=date(2026, 6, 12), days=2)  # 12th and 13th
    added = reroute_series(before, after, series, 1, NOW)
    # only supplier B, only the 13th: A keeps what it got, the grid owner is not told twice
    assert [m.recipient for m in added] == [SUPPLIER_B]
    [message] = added
    assert message.payload["start"] == oslo_midnight(date(2026, 6, 13))
    assert len(message.payload["quantities"]) == 24
    # the id it would have had had the supply change come first
    routed_first = values_to(forward_series(after, series, NOW), SUPPLIER_B)
    assert [m.message_id for m in routed_first] == [message.message_id]  # type: ignore[attr-defined]
    assert message.payload["quantities"] == routed_first[0].payload["quantities"]  # type: ignore[attr-defined]


def test_an_approved_third_party_access_sends_the_values_inside_its_window() -> None:
    before = metering_point(supplies=((SUPPLIER_A, date(2026, 1, 1)),))
    grant = ThirdPartyAccess(THIRD_PARTY, oslo_midnight(date(2026, 6, 13)), None)
    after = metering_point(supplies=((SUPPLIER_A, date(2026, 1, 1)),), access=(grant,))
    series = make_series(first_day=date(2026, 6, 12), days=2)
    [message] = reroute_series(before, after, series, 1, NOW)
    assert message.recipient == THIRD_PARTY
    assert message.payload["start"] == oslo_midnight(date(2026, 6, 13))


def test_a_change_that_adds_nobody_sends_nothing() -> None:
    point = metering_point(supplies=((SUPPLIER_A, date(2026, 1, 1)),))
    assert reroute_series(point, point, make_series(), 1, NOW) == []


def test_a_correction_goes_to_the_new_supplier_as_the_version_it_is() -> None:
    before = metering_point(supplies=((SUPPLIER_A, date(2026, 1, 1)),))
    after = metering_point(supplies=((SUPPLIER_A, date(2026, 1, 1)),
                                     (SUPPLIER_B, date(2026, 6, 12))))
    [message] = reroute_series(before, after, make_series(days=1), 3, NOW)
    assert message.payload["version"] == 3 and message.payload["correction"] is True


# The processor: on in-memory tables, no broker --------------------------------------------------

def tables_with(catalogue: TopicCatalogue) -> tuple[Tables, dict[str, Table[object]]]:
    tables = Tables.of(catalogue)
    return tables, {spec.name: Table(spec, 1 << 20) for spec in tables.all()}


def commit(tables: dict[str, Table[object]]) -> None:
    for table in tables.values():
        table.end_record(keep=True)
        table.end_batch(keep=True)


def test_the_master_data_processor_reads_back_forwarded_values_for_a_new_supplier() -> None:
    from domain.forwarding import forward

    catalogue = TopicCatalogue(prefix="t", partitions=1, replication=1, queue_retention_days=90)
    spec, tables = tables_with(catalogue)
    key = POINT_ID.encode()
    point = metering_point(supplies=((SUPPLIER_A, date(2026, 6, 1)),))
    tables["metering-points"].put(key, point)
    series = make_series(first_day=date(2026, 6, 12), days=1)
    intake = Incoming(catalogue.metering_values, 0, 41, key,
                      codec(METERING_VALUE_SERIES).encode(series), 0)
    forwarded = forward(point, series, NOW, [], 60, intake.offset)
    assert forwarded.history is not None and forwarded.history[0].offset == 41
    tables["series-versions"].put(key, forwarded.history)
    commit(tables)

    document = {"messageId": "supply-b", "sender": SUPPLIER_B, "senderRole": "supplier",
                "meteringPointId": POINT_ID, "receivedAt": NOW,
                "document": ("no.straum.masterdata.StartOfSupply", {
                    "startDate": date(2026, 6, 12), "endUserName": "Kari",
                    "endUserOrganisationNumber": "974760673"})}
    ctx = Context(NOW + timedelta(days=1), 0, tables)
    processor = MasterData(catalogue, spec, lambda: None)
    record = Incoming(catalogue.master_data, 0, 7, key,
                      codec(MASTER_DATA_EVENT).encode(document), 0)
    outputs = processor.handle(record, ctx)
    assert {o.recipient for o in outputs} >= {SUPPLIER_B}  # its confirmation
    [lookup] = ctx.lookups
    assert (lookup.topic, lookup.offset) == (catalogue.metering_values, 41)
    rerouted = lookup.then(intake, ctx)
    assert [o.recipient for o in rerouted] == [SUPPLIER_B]
    assert rerouted[0].topic == catalogue.queue_topic(SUPPLIER_B, Queue.METERING_VALUES)
    assert GRID_OWNER not in {o.recipient for o in rerouted}
