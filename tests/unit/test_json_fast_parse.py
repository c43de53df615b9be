"""Bodies read by orjson with the members counted are read exactly as the strict standard
parser reads them: the same values (float bits and int/float types included), and the same
problem (code and text) for a duplicate key, NaN, bad JSON or a body nested too deep."""

from __future__ import annotations

import json
import math
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.http.json_body import _strict, parse_json
from connectors.http.problems import Problem

keys = st.sampled_from(["a", "b", "a:b", ":", "\u00e6", "k\u003a", "quantity", ""])
scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(keys, inner, max_size=4), max_leaves=30)


def outcome(parse: Any, raw: bytes) -> Any:
    try:
        return ("value", _typed(parse(raw)))
    except Problem as problem:
        return ("problem", problem.code, problem.detail)


def _typed(value: Any) -> Any:
    """The value with every number's type and bits, so 1 and 1.0 and -0.0 stay apart."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, float):
        return ("float", value.hex() if math.isfinite(value) else repr(value))
    return (type(value).__name__, value)


def render(value: Any, rng: random.Random) -> str:
    """JSON text with duplicated keys, escaped colons and odd spacing now and then."""
    if isinstance(value, dict):
        members = [f"{json.dumps(k, ensure_ascii=rng.random() < 0.5)}"
                   f"{' ' if rng.random() < 0.2 else ''}:{render(v, rng)}"
                   for k, v in value.items()]
        if members and rng.random() < 0.2:
            members.append(members[0].replace(":", ":", 1))  # the same key again
        text = "{" + ",".join(members) + "}"
        return text.replace('"a:b"', '"a\\u003ab"') if rng.random() < 0.3 else text
    if isinstance(value, list):
        return "[" + ",".join(render(v, rng) for v in value) + "]"
    if isinstance(value, float) and rng.random() < 0.3:
        return repr(value).replace("e+", "E")
    return json.dumps(value)


@settings(max_examples=500, deadline=None)
@given(value=values, seed=st.integers(0, 2**32))
def test_the_same_reading_as_the_strict_parser(value: Any, seed: int) -> None:
    raw = render(value, random.Random(seed)).encode()
    assert outcome(parse_json, raw) == outcome(_strict, raw)


def test_odd_bodies_alike() -> None:
    for raw in [b'{"a":1,"a":2}', b'{"a":1, "a" :2}', b'{"x":"\\u003a","x":1}',
                b'\xef\xbb\xbf{"a":1}', b'{"a":NaN}', b'{"a":1e400}', b'[1,]', b"",
                b"[" * 300 + b"]" * 300, b"[" * 150 + b"]" * 150,
                b"[" * 1100 + b"]" * 1100, b"1" * 5000,
                '{"a":1}'.encode("utf-16"), b'{"a":"\\ud800"}', b'{"a":"x\x01"}',
                b'{"t":"12:00:00","t2":"a:b:c"}']:
        assert outcome(parse_json, raw) == outcome(_strict, raw), raw[:40]
