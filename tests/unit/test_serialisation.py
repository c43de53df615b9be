"""Avro single-object framing: round trips, schema evolution and undecodable input."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import fastavro
import pytest

from streams.serialisation import (
    MAGIC,
    QUEUE_MESSAGE,
    AvroCodec,
    UndecodableRecord,
    codec,
    schema_fingerprint,
)


def queue_message(**overrides: object) -> dict[str, object]:
    record: dict[str, object] = {
        "messageId": "5f0e8b1e-52a4-5b52-9b7c-6a7f5d9a1c11", "recipient": "7080005051286",
        "queue": "market_processes", "documentType": "Acknowledgement",
        "createdAt": datetime(2026, 3, 29, 10, 0, tzinfo=UTC),
        "payload": ("no.straum.queue.Acknowledgement", {
            "originalMessageId": "a", "originalDocumentType": "StartOfSupply",
            "status": "rejected", "reasons": [{"code": "supply.overlap", "text": "t"}]}),
    }
    record.update(overrides)
    return record


def test_round_trip_keeps_union_branch_and_values() -> None:
    c = codec(QUEUE_MESSAGE)
    data = c.encode(queue_message())
    assert data[:2] == MAGIC
    assert data[2:10] == schema_fingerprint(c.schema)
    decoded = c.decode(data)
    name, payload = decoded["payload"]
    assert name == "no.straum.queue.Acknowledgement"
    assert payload["reasons"] == [{"code": "supply.overlap", "text": "t"}]
    assert decoded["replayed"] is False
    assert decoded["createdAt"] == datetime(2026, 3, 29, 10, 0, tzinfo=UTC)


def older_queue_message_schema() -> object:
    """QueueMessage without its defaulted ``replayed`` field: what an older writer wrote."""
    current = codec(QUEUE_MESSAGE).schema
    raw = copy.deepcopy(current)
    raw["fields"] = [f for f in raw["fields"] if f["name"] != "replayed"]
    return fastavro.parse_schema(raw, _write_hint=False)


def test_newer_reader_reads_records_written_with_an_older_schema() -> None:
    older = older_queue_message_schema()
    writer = AvroCodec(older)
    record = queue_message()
    record.pop("replayed", None)
    data = writer.encode(record)
    reader = AvroCodec(codec(QUEUE_MESSAGE).schema,
                       writers={schema_fingerprint(older): ("no.straum.queue.QueueMessage",
                                                            older)})
    decoded = reader.decode(data)
    assert decoded["replayed"] is False  # the new field's default
    assert decoded["documentType"] == "Acknowledgement"


def test_unknown_writer_schema_is_undecodable_not_guessed() -> None:
    data = AvroCodec(older_queue_message_schema()).encode(queue_message())
    with pytest.raises(UndecodableRecord, match="unknown writer schema"):
        codec(QUEUE_MESSAGE).decode(data)


@pytest.mark.parametrize("data, message", [
    (None, "tombstone"),
    (b"", "single-object"),
    (b'{"json": true}', "single-object"),
    (MAGIC + b"\x00" * 8 + b"\x01", "unknown writer schema"),
])
def test_garbage_is_undecodable(data: bytes | None, message: str) -> None:
    with pytest.raises(UndecodableRecord, match=message):
        codec(QUEUE_MESSAGE).decode(data)


def test_truncated_body_is_undecodable() -> None:
    data = codec(QUEUE_MESSAGE).encode(queue_message())
    with pytest.raises(UndecodableRecord, match="corrupt"):
        codec(QUEUE_MESSAGE).decode(data[:-5])


def test_record_of_another_type_is_refused() -> None:
    data = codec("dead_letter").encode({
        "processor": "p", "topic": "t", "partition": 0, "offset": 1, "errorType": "E",
        "error": "e", "failedAt": datetime.now(UTC)})
    with pytest.raises(UndecodableRecord, match="expected a"):
        codec(QUEUE_MESSAGE).decode(data)


def test_every_shipped_schema_has_a_distinct_fingerprint() -> None:
    from streams.serialisation import SCHEMA_DIR, load_schema_file

    paths = sorted(SCHEMA_DIR.rglob("*.avsc"))
    fingerprints = {schema_fingerprint(load_schema_file(p)) for p in paths}
    assert len(paths) >= 6
    assert len(fingerprints) == len(paths)
