"""The metering-values body's fast look accepts only what the contract's model accepts, with the
same values; whatever it leaves goes through the model (same problems, same pointers)."""

from __future__ import annotations

import copy
import random
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from connectors.http.values_body import MeteringValuesBody, ValuesIn, fast_document, from_model
from schemas.api import MeteringValuesDocument
from tests.helpers import day_series, gsrn, values_document

BODY: TypeAdapter[Any] = TypeAdapter(MeteringValuesBody)

WEIRD: list[Any] = [None, True, 0, 1, -1, 2**60, 1.5, "", "x" * 40, "measured", [], {},
                    "\u202e", "a\x00b", "1700000000", "2026-01-01", "2026-01-01T00:00:00",
                    "2026-01-01 00:00:00+01:00", "2026-01-01T00:00:00.5+01:00",
                    "2026-01-01T00:00+01:00", "2026-01-01T00:00:00z", "0001-01-01T00:00:00Z",
                    "2026-01-01T24:00:00+01:00", "8A1F5C2E-0B7D-4C3A-9E61-2D4F6A8B0C13",
                    "8a1f5c2e0b7d4c3a9e612d4f6a8b0c13", "{8a1f5c2e-0b7d-4c3a-9e61-2d4f6a8b0c13}",
                    "\u0661\u0662", "kWh", "PT15M", "٢٠٢٦-01-01T00:00:00Z", float("inf")]


def document(rng: random.Random) -> dict[str, Any]:
    day = date(2026, 1, 1) + timedelta(days=rng.randrange(400))
    series = [day_series(gsrn(rng), day, rng.choice(["PT15M", "PT1H"]))
              for _ in range(rng.randrange(1, 4))]
    doc = values_document(*series)
    doc["messageId"] = str(uuid.UUID(int=rng.getrandbits(128)))
    for s in series:
        s["transactionId"] = str(uuid.UUID(int=rng.getrandbits(128)))
        if rng.random() < 0.3:
            del s["unit"]
        if rng.random() < 0.2:
            for p in s["points"]:
                p["quantity"] = rng.randrange(5)  # JSON integers
    return doc


def places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into the document (a few points of each series, not all)."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += places(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value[:3]):
            found += places(child, (*path, i))
    return found


def mutate(doc: Any, rng: random.Random) -> Any:
    doc = copy.deepcopy(doc)
    inside = places(doc)[1:]
    if not inside:  # an earlier mutation left nothing to mutate
        return doc
    path = rng.choice(inside)
    parent: Any = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    action = rng.randrange(4)
    if action == 0:
        parent[last] = rng.choice(WEIRD)
    elif action == 1 and isinstance(parent, dict):
        del parent[last]
    elif action == 2 and isinstance(parent, dict):
        parent[rng.choice(["extra", "message_id", "transaction_id", "Unit", last.upper()])] = 1
    else:
        parent[last] = copy.deepcopy(rng.choice([doc, [doc], {"a": 1}, "x"]))
    return doc


def model_reading(value: Any) -> ValuesIn | None:
    try:
        return from_model(MeteringValuesDocument.model_validate(value))
    except ValidationError:
        return None


@settings(max_examples=400, deadline=None)
@given(seed=st.integers(0, 2**32), mutations=st.integers(0, 3))
def test_the_fast_look_takes_only_what_the_model_takes(seed: int, mutations: int) -> None:
    rng = random.Random(seed)
    doc = document(rng)
    for _ in range(mutations):
        doc = mutate(doc, rng)
    fast = fast_document(doc)
    by_model = model_reading(doc)
    if fast is not None:
        assert by_model == fast
    if mutations == 0:
        assert fast is not None, "a usual document takes the fast way"


def test_the_body_parameter_answers_with_the_models_problems() -> None:
    doc = document(random.Random(1))
    doc["series"][0]["points"][2]["quality"] = "a\x00b"
    doc["series"][0]["points"][3] = "not a point"
    with pytest.raises(ValidationError) as caught:
        BODY.validate_python(doc)
    with pytest.raises(ValidationError) as expected:
        MeteringValuesDocument.model_validate(doc)
    assert caught.value.errors() == expected.value.errors()
    assert {e["type"] for e in caught.value.errors()} == {"control_character", "model_type"}
