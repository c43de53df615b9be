"""The HTTP status of each rejection code the domain and the processors answer with.

The domain and the processors speak in named codes (domain/problem_codes.py) and know nothing
of HTTP; this is the one place a code becomes a status. Every member of each catalogue has
one (tests/unit/test_code_statuses.py), so a new code cannot reach a caller unmapped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, TypeVar

from domain.problem_codes import AccessCode, ContractCode, PointReadCode

CONTRACT_STATUS: Final[dict[ContractCode, int]] = {
    ContractCode.METERING_POINT_NOT_FOUND: 422,
    ContractCode.FORBIDDEN: 403,
    ContractCode.NOT_ELIGIBLE: 422,
    ContractCode.CONTRACT_ALREADY_EXISTS: 409,
    ContractCode.CONTRACT_NOT_FOUND: 404,
    # the Elhub spec answers INVALID_END_DATE with 400; change it here to follow it
    ContractCode.INVALID_END_DATE: 422,
    ContractCode.INVALID_STATUS_TRANSITION: 409,
    ContractCode.METERING_POINT_MISMATCH: 409,
    ContractCode.CONTRACT_TYPE_MISMATCH: 409,
    ContractCode.PROCESSING_FAILED: 500,
}
"""Contracts API: 409 for a transition or state conflict, 422 for invalid data."""

ACCESS_STATUS: Final[dict[AccessCode, int]] = {
    AccessCode.INVALID_INPUT: 400,
    AccessCode.INVALID_REQUEST_TYPE: 400,
    AccessCode.MISSING_REQUESTED_BY: 422,
    AccessCode.INVALID_REQUESTED_BY: 422,
    AccessCode.INVALID_REQUESTED_FROM: 422,
    AccessCode.INVALID_REQUESTED_TO: 422,
    AccessCode.REQUESTED_TO_REQUESTED_FROM_MISMATCH: 422,
    AccessCode.MISSING_REQUESTED_FROM_NAME: 422,
    AccessCode.MISSING_METERING_POINT_ID: 422,
    AccessCode.INVALID_METERING_POINT_ID: 422,
    AccessCode.MISSING_METERING_POINT_ADDRESS: 422,
    AccessCode.MISSING_BALANCE_SUPPLIER_NAME: 422,
    AccessCode.MISSING_BALANCE_SUPPLIER_CONTRACT_NAME: 422,
    AccessCode.INVALID_MOVE_IN_DATE: 422,
    AccessCode.MOVE_IN_DATE_NOT_BACK_IN_TIME: 422,
    AccessCode.REQUESTED_BY_NOT_CALLER: 403,
    AccessCode.METERING_POINT_NOT_FOUND: 404,
    AccessCode.REQUESTED_FROM_NOT_METERING_POINT_END_USER: 422,
    AccessCode.REQUESTED_FROM_IS_METERING_POINT_END_USER: 422,
    AccessCode.INVALID_STATUS: 422,
    AccessCode.AUTHORIZATION_REQUEST_NOT_FOUND: 404,
    AccessCode.AUTHORIZATION_REQUEST_EXPIRED: 422,
    AccessCode.AUTHORIZATION_REQUEST_NOT_PENDING: 422,
    AccessCode.UNEXPECTED_ERROR: 500,
}
"""Access API: 400 malformed, 403 in another's name, 404 unknown, 422 failed validation."""

POINT_READ_STATUS: Final[dict[PointReadCode, int]] = {
    PointReadCode.METERING_POINT_UNKNOWN: 404,
    PointReadCode.PROCESSING_FAILED: 500,  # answered 503 with Retry-After: never a 5xx
}


def contract_status(code: str) -> int:
    """A Contracts API code's status; 500 for a code this process does not know (a reply
    written by a newer processor)."""
    return _status(CONTRACT_STATUS, ContractCode, code)


def access_status(code: str) -> int:
    """An Access API code's status (500 for a code this process does not know)."""
    return _status(ACCESS_STATUS, AccessCode, code)


def point_read_status(code: str) -> int:
    """A point read's refusal status (500 for a code this process does not know)."""
    return _status(POINT_READ_STATUS, PointReadCode, code)


_C = TypeVar("_C", ContractCode, AccessCode, PointReadCode)


def _status(table: Mapping[_C, int], catalogue: type[_C], code: str) -> int:
    try:
        return table.get(catalogue(code), 500)
    except ValueError:  # not a member
        return 500
