"""Findings 4, 7 and 8 of issue 20 at the model and parser level: bodies that are not JSON as
RFC 8259 defines it, types that are not the contract's, text with control characters, dates the
hub cannot process and numbers no computation can use are each refused with a code (and a
pointer where there is a field), never accepted and never a 500."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from connectors.http.json_body import MAX_JSON_DEPTH, check_depth, parse_json, strict_json
from connectors.http.problems import Problem
from connectors.http.replays import RedeliveryIn
from domain.calendar import day_in_calendar, moment_in_calendar
from domain.prices import parse_price
from schemas.api import (
    EndUser,
    MaintenanceIn,
    MeteringPointRegistrationIn,
    MeteringValuesDocument,
    StartOfSupplyIn,
    ThirdPartyAccessIn,
)

POINT = "707057500000000018"


def refusal(raw: bytes | str) -> Problem:
    with pytest.raises(Problem) as err:
        parse_json(raw)
    return err.value


def errors(model: type[BaseModel], body: dict[str, Any]) -> list[tuple[str, tuple[Any, ...]]]:
    with pytest.raises(ValidationError) as err:
        model.model_validate(body)
    return [(e["type"], e["loc"]) for e in err.value.errors()]


# -- the JSON itself --------------------------------------------------------------------------


def test_duplicate_keys_are_refused_not_last_wins() -> None:
    """Finding 8: duplicate keys silently took the last value."""
    problem = refusal(b'{"messageId": "a", "series": [], "messageId": "b"}')
    assert (problem.status, problem.code) == (400, "body.duplicate_key")
    assert "messageId" in problem.detail
    nested = refusal(b'{"series": [{"points": [{"quantity": 1, "quantity": 2}]}]}')
    assert nested.code == "body.duplicate_key"
    assert parse_json(b'{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}') == {
        "a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}


@pytest.mark.parametrize("raw", [b'{"quantity": NaN}', b'{"quantity": Infinity}',
                                 b'{"quantity": -Infinity}', b"\xff\xfe garbage", b"",
                                 b'{"a": 1', b"[1, 2,]", b'{"n": ' + b"9" * 5000 + b"}"])
def test_what_is_not_json_is_refused(raw: bytes) -> None:
    problem = refusal(raw)
    assert (problem.status, problem.code) == (400, "body.invalid_json")


def test_nesting_a_thousand_levels_is_refused_not_a_recursion_error() -> None:
    """Finding 7: /v1/contracts bodies nested 1,000+ levels raised RecursionError (500)."""
    for depth in (1_000, 5_000, 100_000):
        problem = refusal("[" * depth + "]" * depth)
        assert (problem.status, problem.code) in {(400, "body.too_deep"),
                                                   (400, "body.invalid_json")}
    deep = '{"data": ' + '{"a": ' * 2_000 + "1" + "}" * 2_000 + "}"
    assert refusal(deep).code == "body.too_deep"


def test_free_form_parts_nest_at_most_the_documented_depth() -> None:
    shallow = parse_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    check_depth(shallow)
    deeper = parse_json("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    with pytest.raises(Problem) as err:
        check_depth(deeper)
    assert err.value.code == "body.too_deep"


# -- strict types -------------------------------------------------------------------------------


def series_document(quantity: Any = 0.5, start: Any = "2026-02-10T00:00:00+01:00",
                    end: Any = "2026-02-10T01:00:00+01:00") -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "series": [{
        "transactionId": str(uuid.uuid4()), "meteringPointId": POINT, "start": start,
        "end": end, "resolution": "PT1H", "points": [{"quantity": quantity,
                                                      "quality": "measured"}]}]}


@pytest.mark.parametrize("quantity", ["0.5", "1", True, False, None, [1], {"v": 1}])
def test_quantity_must_be_a_json_number(quantity: Any) -> None:
    """Finding 8: ``quantity`` was accepted as a string or a boolean."""
    [(kind, loc)] = errors(MeteringValuesDocument, series_document(quantity=quantity))
    assert kind == "float_type"
    assert loc == ("series", 0, "points", 0, "quantity")


def test_integers_are_json_numbers_too() -> None:
    document = MeteringValuesDocument.model_validate(series_document(quantity=2))
    assert document.series[0].points[0].quantity == 2.0


@pytest.mark.parametrize("value", [0, 1_700_000_000, 1.5, True, "1700000000", "1e9", "now"])
def test_dates_and_times_are_strings_not_unix_times(value: Any) -> None:
    assert errors(MeteringValuesDocument, series_document(start=value))[0][0] == "not_text"


# -- control characters -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Kari\x00Nordmann", "Kari\u202eNordmann", "Kari\x1bNordmann",
                                  "Kari\nNordmann", "Kari\u200bNordmann", "\u2066Kari",
                                  "Kari\x7f"])
def test_control_and_format_characters_are_refused_in_names(name: str) -> None:
    """Finding 8: names with NUL, right-to-left override or control characters were accepted."""
    assert errors(EndUser, {"name": name, "organisationNumber": "974760673"}) == [
        ("control_character", ("name",))]


def test_a_lone_surrogate_is_refused_it_could_not_be_encoded() -> None:
    name = parse_json(b'{"name": "Kari\\ud800"}')["name"]
    [(kind, loc)] = errors(EndUser, {"name": name, "organisationNumber": "974760673"})
    assert loc == ("name",) and kind in {"string_unicode", "control_character"}


@pytest.mark.parametrize("name", ["Kari Nordmann", "Ærlige Åse Østby", "Ω 李 🙂", "O'Brien-Ås"])
def test_ordinary_names_in_any_script_are_accepted(name: str) -> None:
    assert EndUser.model_validate({"name": name, "organisationNumber": "974760673"}).name == name


def test_free_text_and_codes_refuse_control_characters_too() -> None:
    registration = {"messageId": str(uuid.uuid4()), "meteringPointId": POINT,
                    "gridArea": "10YNO-1--------2", "priceArea": "NO1", "type": "production",
                    "resolution": "PT1H", "productionType": "hydro\u202e",
                    "validFrom": "2026-01-01"}
    assert errors(MeteringPointRegistrationIn, registration) == [
        ("control_character", ("productionType",))]
    maintenance = {"start": "2026-05-01T00:00:00Z", "end": "2026-05-01T02:00:00Z",
                   "reason": "upgrade\x00"}
    assert errors(MaintenanceIn, maintenance) == [("control_character", ("reason",))]


# -- dates the hub cannot process -------------------------------------------------------------


def test_the_hub_calendar() -> None:
    from datetime import UTC, date, datetime, timedelta, timezone

    assert day_in_calendar(date(1970, 1, 1)) and day_in_calendar(date(2099, 12, 31))
    assert not day_in_calendar(date(1, 1, 1)) and not day_in_calendar(date(9999, 12, 31))
    plus_one = timezone(timedelta(hours=1))
    assert not moment_in_calendar(datetime(1, 1, 1, tzinfo=plus_one))
    assert not moment_in_calendar(datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=2))))
    assert moment_in_calendar(datetime(2026, 3, 29, tzinfo=UTC))


def test_third_party_access_from_year_one_is_refused() -> None:
    """Finding 4: answered 202, then dead-lettered ("date value out of range") by the worker
    with no acknowledgement to the sender."""
    body = {"messageId": str(uuid.uuid4()), "meteringPointId": POINT, "action": "add",
            "validFrom": "0001-01-01T00:00:00+01:00"}
    assert errors(ThirdPartyAccessIn, body) == [("date_out_of_range", ("validFrom",))]
    body["validFrom"], body["validTo"] = "2026-01-01T00:00:00Z", "9999-12-31T23:59:59-02:00"
    assert errors(ThirdPartyAccessIn, body) == [("date_out_of_range", ("validTo",))]


def test_a_series_starting_in_year_one_is_refused_not_an_overflow() -> None:
    """Finding 7: a series starting 0001-01-01T00:00:00+01:00 raised OverflowError (500)."""
    document = series_document(start="0001-01-01T00:00:00+01:00")
    assert errors(MeteringValuesDocument, document) == [
        ("date_out_of_range", ("series", 0, "start"))]


def test_a_start_of_supply_on_9999_12_31_is_outside_the_calendar() -> None:
    body = {"messageId": str(uuid.uuid4()), "meteringPointId": POINT, "startDate": "9999-12-31",
            "endUser": {"name": "Kari", "organisationNumber": "974760673"}}
    assert errors(StartOfSupplyIn, body) == [("date_out_of_range", ("startDate",))]


def test_a_redelivery_since_year_one_is_refused() -> None:
    """Finding 7: POST /v1/ops/redeliveries with ``since`` in year 1 answered 500."""
    body = {"actor": "7080005051286", "queue": "metering-values",
            "since": "0001-01-01T00:00:00+01:00"}
    assert errors(RedeliveryIn, body) == [("date_out_of_range", ("since",))]


# -- numbers no computation can use -----------------------------------------------------------


def test_an_absurd_quantity_is_a_series_problem() -> None:
    """Finding 7: quantities of 1e308 were accepted, and the point's comparison failed for the
    month (InvalidOperation)."""
    from connectors.http.intake import series_problems

    for quantity in (1e308, 10_000_000.5):
        document = MeteringValuesDocument.model_validate(series_document(quantity=quantity))
        [problem] = series_problems(document)
        assert (problem["code"], problem["pointer"]) == (
            "series.quantity", "/series/0/points/0/quantity")
    fine = MeteringValuesDocument.model_validate(series_document(quantity=10_000_000))
    assert series_problems(fine) == []
    inf = MeteringValuesDocument.model_validate(json.loads(
        json.dumps(series_document(quantity=1e308)).replace("1e+308", "1e400")))
    assert [p["code"] for p in series_problems(inf)] == ["series.quantity"]


@pytest.mark.parametrize(("row", "code"), [
    ({"price": 1e308, "unit": "EUR/MWh", "eurNok": 10}, "price.value"),
    ({"price": 100_001.0}, "price.value"),
    ({"price": "1500"}, "price.value"),
    ({"price": True}, "price.value"),
    ({"price": 1500.0, "unit": "EUR/MWh", "eurNok": 1e308}, "price.eur_nok"),
    ({"price": 1500.0, "unit": "EUR/MWh", "eurNok": 0}, "price.eur_nok"),
    ({"price": 1500.0, "resolution": []}, "price.resolution"),
    ({"price": 1500.0, "start": 20260110}, "price.start"),
])
def test_prices_are_finite_bounded_json_numbers(row: dict[str, Any], code: str) -> None:
    """Finding 8: a price of 1e308 EUR × 10 was stored as infinity."""
    base = {"area": "NO1", "start": "2026-01-10T00:00:00+01:00", "resolution": "PT1H",
            "unit": "NOK/MWh"}
    price, problems = parse_price({**base, **row}, "/prices/0")
    assert price is None
    assert code in {p["code"] for p in problems}


def test_a_csv_file_gives_prices_as_text() -> None:
    row = {"area": "NO1", "start": "2026-01-10T00:00:00+01:00", "resolution": "PT1H",
           "price": "150.5", "unit": "EUR/MWh", "eurNok": "11.2"}
    price, problems = parse_price(row, "line 2", text_numbers=True)
    assert problems == [] and price is not None
    assert price.nok_per_mwh == pytest.approx(150.5 * 11.2)
    assert parse_price(row, "/prices/0")[0] is None  # from JSON, text is not a number


# -- the fast reading is the strict reading ---------------------------------------------------


def reading(raw: bytes) -> tuple[str, Any]:
    """What a body reads as: its value (repr, so 1 and 1.0, -0.0 and 0.0 differ) or its
    problem's code and detail."""
    try:
        return "value", repr(parse_json(raw))
    except Problem as exc:
        return "problem", (exc.code, exc.detail)


def strict_reading(raw: bytes) -> tuple[str, Any]:
    try:
        return "value", repr(strict_json(raw))
    except Problem as exc:
        return "problem", (exc.code, exc.detail)


EDGE_BODIES = [
    b'{"a":1,"a":2}', b'{"a" : 1, "a" :2, "b": "c:"}', b'{"a": "x:y", "b": "\\":"}',
    b'{"a": 1, "b": "\\u003a", "a": 2}', b'{"\\u0061": 1, "a": 2}', '{"å": "ø:"}'.encode(),
    b'["\x7f"]', b'[1e5]', b'\t[1]\n', b'[1E+2]', b'[-0.0]', b'[-0]', b'[1e-400]', b'[1e400]',
    b'["\\/"]', b'{"":1}', b'[1.5e+308]', b'[123456789012345678]',
    b'[-9223372036854775808]', b'[18446744073709551615]', b'[' + b'9' * 40 + b']',
    b'["\xed\xa0\x80"]', b'["\\ud800"]', b"\xef\xbb\xbf{}", '{"a": 1}'.encode("utf-16"),
    b"[" * 254 + b"]" * 254, b"[" * 300 + b"]" * 300, b"[" * 990 + b"]" * 990,
    b"[" * 5000 + b"]" * 5000, b'[NaN]', b"[1.]", b'["a\tb"]', b"[1]x", b"", b"[1,]",
]


@pytest.mark.parametrize("raw", EDGE_BODIES)
def test_the_fast_reading_of_a_body_is_the_strict_reading(raw: bytes) -> None:
    assert reading(raw) == strict_reading(raw)


def test_the_fast_reading_agrees_on_random_documents_with_duplicates_and_colons() -> None:
    rng = random.Random(15)
    words = ["a", "b", "c", "quantity", "x:y", ":", "é", '\\"', "\\u003a", "\\\\"]

    def value(depth: int) -> str:
        kind = rng.random()
        if depth > 3 or kind < 0.3:
            return rng.choice(['"' + rng.choice(words) + '"', str(rng.randint(-10**20, 10**20)),
                               repr(rng.uniform(-1e9, 1e9)), "true", "null", "1e400"])
        if kind < 0.6:
            return "[" + ", ".join(value(depth + 1) for _ in range(rng.randint(0, 3))) + "]"
        members = [f'"{rng.choice(words)}"{rng.choice([":", " :", ": "])}{value(depth + 1)}'
                   for _ in range(rng.randint(0, 4))]
        return "{" + ",".join(members) + "}"

    for _ in range(3000):
        raw = value(0).encode()
        assert reading(raw) == strict_reading(raw), raw
