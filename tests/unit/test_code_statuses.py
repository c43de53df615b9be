"""Every rejection code the domain and the processors answer with has its HTTP status in the
HTTP layer (connectors/http/statuses.py), so a new code cannot reach a caller unmapped; and
the statuses are the ones the APIs have always answered with."""

from __future__ import annotations

from enum import StrEnum

import pytest

from connectors.http.statuses import (
    ACCESS_STATUS,
    CONTRACT_STATUS,
    POINT_READ_STATUS,
    access_status,
    contract_status,
    point_read_status,
)
from domain.problem_codes import AccessCode, Code, ContractCode, PointReadCode

CATALOGUES: list[tuple[type[StrEnum], dict[StrEnum, int]]] = [
    (ContractCode, CONTRACT_STATUS),  # type: ignore[list-item]
    (AccessCode, ACCESS_STATUS),  # type: ignore[list-item]
    (PointReadCode, POINT_READ_STATUS),  # type: ignore[list-item]
]


@pytest.mark.parametrize(("catalogue", "statuses"), CATALOGUES,
                         ids=[c.__name__ for c, _ in CATALOGUES])
def test_every_code_of_each_catalogue_has_an_http_status(
        catalogue: type[StrEnum], statuses: dict[StrEnum, int]) -> None:
    unmapped = [member.name for member in catalogue if member not in statuses]
    assert unmapped == []
    assert all(400 <= statuses[member] <= 599 for member in catalogue)


def test_a_point_read_code_is_spelled_as_the_problem_code() -> None:
    assert {c.value for c in PointReadCode} <= {c.value for c in Code}


@pytest.mark.parametrize(("code", "status"), [
    ("METERING_POINT_NOT_FOUND", 422), ("FORBIDDEN", 403), ("NOT_ELIGIBLE", 422),
    ("CONTRACT_ALREADY_EXISTS", 409), ("CONTRACT_NOT_FOUND", 404), ("INVALID_END_DATE", 422),
    ("INVALID_STATUS_TRANSITION", 409), ("METERING_POINT_MISMATCH", 409),
    ("CONTRACT_TYPE_MISMATCH", 409), ("PROCESSING_FAILED", 500),
])
def test_contracts_api_statuses(code: str, status: int) -> None:
    assert contract_status(code) == status


@pytest.mark.parametrize(("code", "status"), [
    ("invalid_input", 400), ("invalid_request_type", 400), ("requested_by_not_caller", 403),
    ("metering_point_not_found", 404), ("authorization_request_not_found", 404),
    ("missing_requested_by", 422), ("move_in_date_not_back_in_time", 422),
    ("requested_from_not_metering_point_end_user", 422), ("invalid_status", 422),
    ("authorization_request_expired", 422), ("authorization_request_not_pending", 422),
    ("unexpected_error", 500),
])
def test_access_api_statuses(code: str, status: int) -> None:
    assert access_status(code) == status


def test_point_read_statuses() -> None:
    assert point_read_status("metering_point.unknown") == 404
    assert point_read_status("processing.failed") == 500


def test_a_code_this_process_does_not_know_is_a_500_not_a_crash() -> None:
    assert (contract_status("NEW_RULE"), access_status("new_rule"),
            point_read_status("new.rule")) == (500, 500, 500)
