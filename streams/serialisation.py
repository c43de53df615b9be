"""Avro single-object encoding of every record value, without a schema registry.

Framing (Avro specification, "Single object encoding"): two marker bytes ``C3 01``, the
8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's parsing canonical form,
then the Avro binary body. A reader finds the writer schema by its fingerprint among the
schemas shipped in ``schemas/avro`` (current ones and, under ``history/``, every earlier
version) and resolves it against its own current schema, so a newer reader reads older records.
No registry service is needed, which keeps the embedded setup to one broker; the price is that
every schema version ever written must stay in the repository.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas" / "avro"
MAGIC = b"\xc3\x01"
HEADER_LEN = len(MAGIC) + 8


class UndecodableRecord(ValueError):
    """A record value that is not single-object Avro of a known schema of the expected type."""


def schema_fingerprint(schema: Any) -> bytes:
    """The 8 bytes that identify a parsed schema in the single-object header."""
    hex_digest = fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO")
    return int(hex_digest, 16).to_bytes(8, "little")


def load_schema_file(path: Path) -> Any:
    """Parse one .avsc file (marked as parsed, so fastavro does not parse it again on every
    read and write: half the cost of a record on the hot path)."""
    with path.open(encoding="utf-8") as fh:
        return fastavro.parse_schema(json.load(fh))


@cache
def _writer_schemas() -> dict[bytes, tuple[str, Any]]:
    """Every shipped schema version by fingerprint, with its full record name."""
    found: dict[bytes, tuple[str, Any]] = {}
    for path in sorted(SCHEMA_DIR.rglob("*.avsc")):
        schema = load_schema_file(path)
        found[schema_fingerprint(schema)] = (schema["name"], schema)
    return found


class AvroCodec:
    """Encoder and decoder for one record type, reading with the current schema."""

    def __init__(self, schema: Any,
                 writers: Mapping[bytes, tuple[str, Any]] | None = None) -> None:
        self.schema = schema
        self.name: str = schema["name"]
        self.header = MAGIC + schema_fingerprint(schema)
        self._writers = writers

    @classmethod
    def for_file(cls, stem: str) -> AvroCodec:
        """The codec of ``schemas/avro/<stem>.avsc``, the record type's current version."""
        return cls(load_schema_file(SCHEMA_DIR / f"{stem}.avsc"))

    def encode(self, record: Mapping[str, Any]) -> bytes:
        """Single-object bytes of ``record``; raises ValueError if it does not fit the schema."""
        buf = io.BytesIO()
        buf.write(self.header)
        fastavro.schemaless_writer(buf, self.schema, record)
        return buf.getvalue()

    def decode(self, data: bytes | None) -> dict[str, Any]:
        """The record in ``data``, resolved to this codec's schema; UndecodableRecord if not.

        A union of records comes back as ``(full record name, fields)``, so that the branch is
        known rather than guessed.
        """
        if data is None:
            raise UndecodableRecord("record value is empty (tombstone)")
        if len(data) < HEADER_LEN or data[:2] != MAGIC:
            raise UndecodableRecord("not Avro single-object encoding (missing C3 01 marker)")
        header_fp = data[2:HEADER_LEN]
        reader = self.schema
        if data[:HEADER_LEN] == self.header:
            writer, reader = self.schema, None  # same schema: no resolution needed
        else:
            known = (self._writers or _writer_schemas()).get(header_fp)
            if known is None:
                raise UndecodableRecord(f"unknown writer schema fingerprint {header_fp.hex()}")
            if known[0] != self.name:
                raise UndecodableRecord(f"record is a {known[0]}, expected a {self.name}")
            writer = known[1]
        try:
            record: dict[str, Any] = fastavro.schemaless_reader(
                io.BytesIO(data[HEADER_LEN:]), writer, reader, return_record_name=True
            )
        except Exception as exc:  # fastavro raises many types for corrupt bodies
            raise UndecodableRecord(f"corrupt Avro body: {exc}") from exc
        return record


@cache
def codec(stem: str) -> AvroCodec:
    """Shared codec per record type (parsing a schema is not free)."""
    return AvroCodec.for_file(stem)


METERING_VALUE_SERIES = "metering_value_series"
MASTER_DATA_EVENT = "master_data_event"
METERING_POINT_STATE = "metering_point_state"
QUEUE_MESSAGE = "queue_message"
DEAD_LETTER = "dead_letter"
QUEUE_POSITION = "queue_position"
INTAKE_DOCUMENT = "intake_document"
SERIES_HISTORY = "series_history"
ACTOR = "actor"
HEARTBEAT = "heartbeat"
OPS_STATUS = "ops_status"
AVAILABILITY_SAMPLE = "availability_sample"
MAINTENANCE_WINDOW = "maintenance_window"
INDUSTRY_CODE_LISTS = "industry_code_lists"
REPLAY_JOB = "replay_job"
CONTRACT = "contract"
CONTRACT_SET = "contract_set"
CONTRACT_COMMAND = "contract_command"
CONTRACT_REPLY = "contract_reply"
AREA_PRICE = "area_price"
AUTHORIZATION = "authorization"
AUTHORIZATION_SET = "authorization_set"
AUTHORIZATION_COMMAND = "authorization_command"
AUTHORIZATION_REPLY = "authorization_reply"
SHARED_PRODUCTION_EVENT = "shared_production_event"
SHARED_PRODUCTION_POINT_EVENT = "shared_production_point_event"
SHARED_PRODUCTION_CALCULATION = "shared_production_calculation"
SHARED_PRODUCTION_DAY = "shared_production_day"
SHARED_PRODUCTION_MEMBERSHIPS = "shared_production_memberships"
POINT_REQUEST = "point_request"
POINT_REPLY = "point_reply"
OPS_SAMPLE = "ops_sample"
ALERT_EVENT = "alert_event"
