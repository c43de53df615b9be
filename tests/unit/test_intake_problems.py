"""Metering point ids on intake must be Norwegian: each intake's structural check refuses a
valid GSRN from another country's range with ``gsrn.not_norwegian`` at the id's pointer."""

from __future__ import annotations

from datetime import date

import pytest

from connectors.http.contracts import JsonApiError, parse_create
from connectors.http.intake import series_problems
from connectors.http.intake_checks import point_problem
from domain.identifiers import gs1_check_digit
from schemas.api import MeteringValuesDocument
from tests.helpers import day_series, gsrn, values_document

SWEDISH = "73599910000000001" + str(gs1_check_digit("73599910000000001"))


def test_metering_values_for_a_foreign_point_are_refused_at_the_series() -> None:
    document = MeteringValuesDocument.model_validate(
        values_document(day_series(gsrn(), date(2026, 3, 2)),
                        day_series(SWEDISH, date(2026, 3, 2))))
    assert [(p["code"], p["pointer"]) for p in series_problems(document)] == [
        ("gsrn.not_norwegian", "/series/1/meteringPointId")]


def test_master_data_for_a_foreign_point_is_refused() -> None:
    assert point_problem(gsrn()) == []
    [problem] = point_problem(SWEDISH)
    assert (problem["code"], problem["pointer"]) == ("gsrn.not_norwegian", "/meteringPointId")
    assert "7070575000" in problem["detail"]


def test_contract_for_a_foreign_point_is_refused() -> None:
    item = {"type": "contract",
            "attributes": {"contractType": "Norgespris", "startDate": "2026-03-02"},
            "relationships": {"meteringPoint": {"data": {"type": "MeteringPoint",
                                                         "id": SWEDISH}}}}
    with pytest.raises(JsonApiError) as exc:
        parse_create(item, 0)
    assert (exc.value.status, exc.value.code) == (400, "INVALID_INPUT")
    assert "gsrn.not_norwegian" in exc.value.detail
    assert exc.value.pointer == "/data/0/relationships/meteringPoint/data/id"
    norwegian = gsrn()
    item["relationships"]["meteringPoint"]["data"]["id"] = norwegian
    assert parse_create(item, 0)["meteringPointId"] == norwegian
