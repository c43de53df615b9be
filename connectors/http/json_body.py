"""Request bodies read as strict JSON (RFC 8259), answered with problem details when they are not.

FastAPI reads bodies with ``json.loads`` as it is: a duplicated key silently keeps the last
value, ``NaN`` and ``Infinity`` pass as numbers, and a body nested a thousand levels deep raises
``RecursionError``, which FastAPI answers with a bare ``{"detail": ...}``. Every router uses
``StrictJsonRoute`` instead, so a body is parsed once, here, and each of those is a 400 with
its own code from the catalogue.

A body is first read by orjson (C, several times faster than ``json`` with a Python hook per
object; most of the JSON cost of a metering-values document), and that value is taken only
when it is certainly what the strict reading gives: no ``\\u`` escape and no run of 19 digits
in the body (orjson reads an integer beyond 64 bits as a float), orjson could write the value
back (so it nests less than 255 levels, far from the ``RecursionError`` depth), and no member
was lost to a duplicated key: the body's colons are the colons orjson writes back (one per
member, plus those inside strings, which are written as they were read). Anything else,
orjson's errors included, is read again by the strict reading, which answers as before
(tests/unit/test_strict_input.py holds the two together).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any, Final

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute

from connectors.http.problems import Problem
from domain.problem_codes import Code

MAX_JSON_DEPTH = 32
"""How deeply arrays and objects may nest in a free-form part of a body (the Contracts API's
documents, a price row). The typed models are shallower still; a deeper body is an attack or a
bug, and walking it (repr, encoding) could exhaust the stack."""


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return members


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


#: digits as NUL bytes: a run of 19 digits is then a run of 19 NULs, found by a substring
#: search (a regular expression took longer than orjson's whole reading)
_DIGITS_AS_NUL: Final = bytes.maketrans(b"0123456789", b"\0" * 10)
_LONG_NUMBER: Final = b"\0" * 19


def _fast(raw: bytes) -> tuple[bool, Any]:
    """(True, value) when orjson's reading of ``raw`` is certainly the strict reading."""
    if b"\\u" in raw or _LONG_NUMBER in raw.translate(_DIGITS_AS_NUL):
        return False, None
    try:
        value = orjson.loads(raw)
        written = orjson.dumps(value)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return False, None
    return raw.count(b":") == written.count(b":"), value


def parse_json(raw: bytes | str) -> Any:
    """The JSON value of ``raw``, or a 400 Problem saying what is wrong with it."""
    if type(raw) is bytes:
        taken, value = _fast(raw)
        if taken:
            return value
    return strict_json(raw)


def strict_json(raw: bytes | str) -> Any:
    """:func:`parse_json` by the standard library alone (every object through a duplicate
    check): what a body's reading is held to."""
    try:
        return json.loads(raw, object_pairs_hook=_unique_members, parse_constant=_no_constant)
    except _DuplicateKey as exc:
        raise Problem(400, Code.BODY_DUPLICATE_KEY, "The body names a member twice",
                      f"the key {exc.key[:100]!r} appears twice in one object; "
                      "send each member once") from None
    except RecursionError:
        raise Problem(400, Code.BODY_TOO_DEEP, "The body is nested too deeply",
                      f"arrays and objects may nest at most {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, NaN, a 5000-digit int
        raise Problem(400, Code.BODY_INVALID_JSON, "The body is not JSON",
                      str(exc)[:300]) from None


def check_depth(value: Any, pointer: str = "", limit: int = MAX_JSON_DEPTH) -> None:
    """400 when ``value`` nests arrays or objects more than ``limit`` levels (iteratively, so a
    deep value cannot exhaust the stack here)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (item.values() if isinstance(item, dict)
                    else item if isinstance(item, list) else ())
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    raise Problem(400, Code.BODY_TOO_DEEP, "The body is nested too deeply",
                                  f"arrays and objects may nest at most {limit} levels",
                                  [{"code": Code.BODY_TOO_DEEP, "pointer": pointer,
                                    "detail": f"nested more than {limit} levels"}])
                stack.append((child, depth + 1))


class StrictJsonRequest(Request):
    """A request whose ``json()`` is strict JSON (see the module's docstring)."""

    _strict_json: Any

    async def json(self) -> Any:
        if not hasattr(self, "_strict_json"):
            self._strict_json = parse_json(await self.body())
        return self._strict_json


class StrictJsonRoute(APIRoute):
    """FastAPI's route with StrictJsonRequest (FastAPI's documented custom-request pattern)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict
