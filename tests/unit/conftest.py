"""Every queue message any unit test makes is checked against the poll answer's schema (the
documented payload of its ``documentType``, schemas/queue_payloads.py) as it is rendered, so
a rule that changes what it sends without the document failing here is impossible."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from pydantic import BaseModel, TypeAdapter

from schemas.queue_payloads import QueueMessage
from streams.records import queue_message

_ADAPTER: TypeAdapter[Any] = TypeAdapter(QueueMessage)


def members(model: BaseModel) -> tuple[set[str], set[str]]:
    """(required, documented) members of a model, by their JSON names."""
    fields = type(model).model_fields
    return ({f.alias or n for n, f in fields.items() if f.is_required()},
            {f.alias or n for n, f in fields.items()})


def check_rendered(rendered: bytes) -> None:
    stored = orjson.loads(rendered)
    parsed = _ADAPTER.validate_python(stored)
    required, documented = members(parsed.payload)
    assert required <= set(stored["payload"]) <= documented, (
        f"{stored['documentType']}: {sorted(set(stored['payload']) - documented)} not "
        f"documented, {sorted(required - set(stored['payload']))} missing")


@pytest.fixture(autouse=True)
def queue_messages_match_their_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    render = queue_message.render

    def checked(message: Any, points: Any = None) -> bytes:
        rendered = render(message, points)
        check_rendered(rendered)
        return rendered

    monkeypatch.setattr(queue_message, "render", checked)
    yield
