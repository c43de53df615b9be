"""Every earlier schema version in schemas/avro/history/ still resolves against the current
schema of its record type: records written with it (random ones, of every shape the schema
allows) are read by today's codec, as the processors and `straum topics tail` read them."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastavro.utils import generate_many

from streams.serialisation import SCHEMA_DIR, AvroCodec, codec, load_schema_file

HISTORY = sorted((SCHEMA_DIR / "history").glob("*.avsc"))


def current_stem(old: Path) -> str:
    return old.name.split(".", 1)[0]


def test_there_is_history_and_each_has_a_current_schema() -> None:
    assert HISTORY
    for old in HISTORY:
        assert (SCHEMA_DIR / f"{current_stem(old)}.avsc").exists(), old.name


@pytest.mark.parametrize("old", HISTORY, ids=lambda p: p.name)
def test_records_written_with_an_old_version_are_read_today(old: Path) -> None:
    writer = AvroCodec(load_schema_file(old))
    reader = codec(current_stem(old))
    assert writer.name == reader.name
    assert writer.header != reader.header, "a history file must differ from the current one"
    current_fields = {f["name"] for f in reader.schema["fields"]}
    for record in generate_many(writer.schema, 25):
        read = reader.decode(writer.encode(record))
        assert set(read) == current_fields
        for name in set(record) & current_fields:  # what was written is what is read
            if isinstance(record[name], (str, bool)):  # ints may be logical times
                assert read[name] == record[name], name
