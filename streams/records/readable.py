"""Any straum record value as something a person (or jq) can read, and back.

Values are Avro single-object encoded (:mod:`streams.serialisation`): the writer schema is
found by the fingerprint in the value's header among every shipped schema version and the
record is resolved to the current schema of its type, as the processors read it. Queue topics
hold the message's JSON (:mod:`streams.records.queue_message`). Anything else is shown as
text or base64, never dropped.

The readable form is JSON: times as RFC 3339 text, dates as ``YYYY-MM-DD``, bytes as UTF-8
text when they are text and ``base64:…`` otherwise, a member of a union of records as an
object with ``"_type"`` naming the record. :func:`from_readable` turns that form back into a
record its type's codec encodes, so an operator can fix a dead letter's value in an editor
and send it again (``straum dead-letters retry``).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import fastavro

from streams.serialisation import (
    HEADER_LEN,
    MAGIC,
    SCHEMA_DIR,
    AvroCodec,
    UndecodableRecord,
    _writer_schemas,
    codec,
)

TYPE_KEY = "_type"


@dataclass(frozen=True)
class Decoded:
    """A value read: ``kind`` avro, json, text, bytes or none; ``type`` the Avro record's full
    name (or what else it is); ``value`` the readable form."""

    kind: str
    type: str
    value: Any


@cache
def current_codecs() -> dict[str, AvroCodec]:
    """The codec of every record type's current schema, by the record's full name."""
    found: dict[str, AvroCodec] = {}
    for path in sorted(SCHEMA_DIR.glob("*.avsc")):
        c = codec(path.stem)
        found[c.name] = c
    return found


def stem_of(full_name: str) -> str | None:
    """The schema file (``schemas/avro/<stem>.avsc``) of a record type's full name."""
    for path in sorted(SCHEMA_DIR.glob("*.avsc")):
        if codec(path.stem).name == full_name:
            return path.stem
    return None


def decode_any(value: bytes | None) -> Decoded:
    """Whatever ``value`` holds, read as well as it can be."""
    if value is None:
        return Decoded("none", "tombstone", None)
    if value[:2] == MAGIC and len(value) >= HEADER_LEN:
        known = _writer_schemas().get(value[2:HEADER_LEN])
        if known is not None:
            name, _ = known
            current = current_codecs().get(name)
            try:
                record = (current.decode(value) if current is not None
                          else _writer_only(value, known[1]))
                return Decoded("avro", name, readable(record))
            except UndecodableRecord as exc:
                return Decoded("bytes", f"corrupt {name}: {exc}", _bytes_text(value))
    try:
        return Decoded("json", "json", json.loads(value))
    except ValueError:
        pass
    return Decoded("bytes", "unknown", _bytes_text(value))


def _writer_only(value: bytes, schema: Any) -> dict[str, Any]:
    import io

    record: dict[str, Any] = fastavro.schemaless_reader(
        io.BytesIO(value[HEADER_LEN:]), schema, None, return_record_name=True)
    return record


def _bytes_text(value: bytes) -> str:
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(value).decode()
    if text.isprintable():
        return text
    return "base64:" + base64.b64encode(value).decode()


def readable(value: Any) -> Any:
    """A decoded Avro value as JSON-ready data (see the module's docstring)."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str) \
            and isinstance(value[1], dict):
        return {TYPE_KEY: value[0], **readable(value[1])}
    if isinstance(value, dict):
        return {k: readable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [readable(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return _bytes_text(value)
    return value


def key_text(key: bytes | None) -> str | None:
    return None if key is None else _bytes_text(key)


# -- back: the readable form to a record a codec encodes -------------------------------------


class NotAValue(ValueError):
    """The readable value does not fit the schema; says where."""


Names = dict[str, Any]


def from_readable(schema: Any, value: Any, where: str = "", names: Names | None = None) -> Any:
    """``value`` (readable JSON) as the Python value fastavro writes for ``schema`` (a parsed
    schema: named types are referred to by full name, found in ``names``)."""
    names = names if names is not None else (
        schema.get("__named_schemas", {}) if isinstance(schema, dict) else {})
    if isinstance(schema, list):  # a union
        return _union(schema, value, where, names)
    if isinstance(schema, str):
        if schema in names:
            return from_readable(names[schema], value, where, names)
        return _primitive(schema, value, where)
    kind = schema["type"]
    logical = schema.get("logicalType")
    if logical in ("timestamp-millis", "timestamp-micros"):
        return _moment(value, where)
    if logical == "date":
        return _day(value, where)
    if kind == "record":
        if not isinstance(value, dict):
            raise NotAValue(f"{where or '/'}: expected an object for {schema['name']}")
        return {f["name"]: from_readable(f["type"], value[f["name"]],
                                         f"{where}/{f['name']}", names)
                if f["name"] in value else f.get("default")
                for f in schema["fields"]}
    if kind == "array":
        if not isinstance(value, list):
            raise NotAValue(f"{where or '/'}: expected an array")
        return [from_readable(schema["items"], v, f"{where}/{i}", names)
                for i, v in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            raise NotAValue(f"{where or '/'}: expected an object")
        return {k: from_readable(schema["values"], v, f"{where}/{k}", names)
                for k, v in value.items()}
    if kind == "enum":
        if value not in schema["symbols"]:
            raise NotAValue(f"{where or '/'}: one of {', '.join(schema['symbols'])}")
        return value
    if isinstance(kind, (dict, list)) or kind in names:
        return from_readable(kind, value, where, names)
    return _primitive(kind, value, where)


def _union(branches: list[Any], value: Any, where: str, names: Names) -> Any:
    branches = [names.get(b, b) if isinstance(b, str) else b for b in branches]
    if value is None and "null" in branches:
        return None
    if isinstance(value, dict) and TYPE_KEY in value:
        for branch in branches:
            if isinstance(branch, dict) and branch.get("type") == "record" \
                    and branch["name"] == value[TYPE_KEY]:
                fields = {k: v for k, v in value.items() if k != TYPE_KEY}
                return (branch["name"], from_readable(branch, fields, where, names))
        raise NotAValue(f"{where or '/'}: {value[TYPE_KEY]!r} is not a member of the union")
    problems = []
    for branch in branches:
        if branch == "null":
            continue
        try:
            return from_readable(branch, value, where, names)
        except (NotAValue, TypeError, ValueError) as exc:
            problems.append(str(exc))
    raise NotAValue(f"{where or '/'}: fits no member of the union ({'; '.join(problems)})")


def _primitive(kind: str, value: Any, where: str) -> Any:
    checks: dict[str, tuple[type, ...]] = {
        "string": (str,), "boolean": (bool,), "int": (int,), "long": (int,),
        "float": (int, float), "double": (int, float), "null": (type(None),)}
    if kind == "bytes":
        if not isinstance(value, str):
            raise NotAValue(f"{where or '/'}: bytes are text or base64:…")
        return (base64.b64decode(value[7:]) if value.startswith("base64:")
                else value.encode("utf-8"))
    if kind in checks and isinstance(value, checks[kind]) and not (
            kind != "boolean" and isinstance(value, bool)):
        return value
    raise NotAValue(f"{where or '/'}: expected {kind}, got {json.dumps(value)[:40]}")


def _moment(value: Any, where: str) -> datetime:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return moment
    raise NotAValue(f"{where or '/'}: a time with its offset, e.g. 2026-01-20T09:00:00Z")


def _day(value: Any, where: str) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise NotAValue(f"{where or '/'}: a date, YYYY-MM-DD")


def encode_readable(stem: str, value: Any) -> bytes:
    """The single-object bytes of a readable record of type ``schemas/avro/<stem>.avsc``
    (its ``_type`` member, if any, is left out): NotAValue when it does not fit."""
    c = codec(stem)
    fields = {k: v for k, v in value.items() if k != TYPE_KEY} if isinstance(value, dict) \
        else value
    record = from_readable(c.schema, fields)
    try:
        return c.encode(record)
    except (ValueError, TypeError, KeyError) as exc:
        raise NotAValue(f"the record does not fit {c.name}: {exc}") from exc
