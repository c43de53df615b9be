"""The end user's consent (Elhub's Access API request flow) as pure rules: a request's own
checks with Elhub's codes, the checks against the point, the end user's answer, validity
periods in Oslo time, and what a process finds wrong with the grant it names."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from domain.consent import (
    AuthorizationSet,
    ConsentError,
    GrantStatus,
    RequestStatus,
    RequestType,
    add_months,
    answer_request,
    check_against_point,
    check_new_request,
    consent_required,
    create_request,
    exhaust,
    grant_reasons,
    request_valid_to,
)
from domain.metering_point import EndUser, SupplyPeriod
from domain.series import HUB_TIMEZONE
from tests.unit.builders import POINT_ID, gln, metering_point

SUPPLIER = gln("708000000002")
OTHER = gln("708000000003")
KARI, OLA = "15076500565", "01010050053"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TODAY = date(2026, 3, 2)


def meta(**changes: Any) -> dict[str, Any]:
    return {"requestedBy": SUPPLIER, "requestedFrom": KARI, "requestedTo": KARI,
            "requestedFromName": "Kari Nordmann", "requestedForMeteringPointId": POINT_ID,
            "requestedForMeteringPointAddress": "Storgata 1, 0155 Oslo",
            "balanceSupplierName": "Kraft AS", "balanceSupplierContractName": "Spot",
            **changes}


def codes(errors: list[ConsentError]) -> list[str]:
    return [e.code for e in errors]


def test_the_reference_ids_are_valid() -> None:
    from domain.identifiers import validate_national_id

    validate_national_id(KARI)
    validate_national_id(OLA)


def test_a_complete_request_passes_its_own_checks() -> None:
    new, errors = check_new_request(RequestType.MOVE_IN.value, meta(), SUPPLIER, TODAY)
    assert errors == [] and new is not None
    assert new.metering_point_id == POINT_ID and new.move_in_date is None


@pytest.mark.parametrize(("changes", "expected"), [
    ({"requestedTo": OLA}, ["requested_to_requested_from_mismatch"]),
    ({"requestedFromName": "  "}, ["missing_requested_from_name"]),
    ({"balanceSupplierName": None}, ["missing_balance_supplier_name"]),
    ({"balanceSupplierContractName": ""}, ["missing_balance_supplier_contract_name"]),
    ({"requestedForMeteringPointId": ""}, ["missing_metering_point_id"]),
    ({"requestedForMeteringPointId": "707057500000000019"}, ["invalid_metering_point_id"]),
    ({"requestedForMeteringPointAddress": ""}, ["missing_metering_point_address"]),
    ({"requestedBy": ""}, ["missing_requested_by"]),
    ({"requestedBy": "7080000000020"}, ["invalid_requested_by"]),
    ({"requestedFrom": "15076500566", "requestedTo": "15076500566"},
     ["invalid_requested_from", "invalid_requested_to"]),
    ({"moveInDate": "2026-03-03"}, ["move_in_date_not_back_in_time"]),
    ({"moveInDate": "2026-02-30"}, ["invalid_move_in_date"]),
])
def test_elhubs_codes_for_a_request_that_fails_its_own_checks(
        changes: dict[str, Any], expected: list[str]) -> None:
    new, errors = check_new_request(RequestType.MOVE_IN.value, meta(**changes), SUPPLIER, TODAY)
    assert new is None and codes(errors) == expected
    assert all(e.pointer and e.pointer.startswith("/data/meta/") for e in errors)


def test_every_problem_at_once() -> None:
    _, errors = check_new_request(RequestType.CHANGE_OF_SUPPLIER.value,
                                  meta(requestedFromName="", balanceSupplierName=""),
                                  SUPPLIER, TODAY)
    assert codes(errors) == ["missing_requested_from_name", "missing_balance_supplier_name"]


def test_move_in_date_today_or_back_in_time_and_only_for_a_move_in() -> None:
    new, errors = check_new_request(RequestType.MOVE_IN.value, meta(moveInDate="2026-03-02"),
                                    SUPPLIER, TODAY)
    assert errors == [] and new is not None and new.move_in_date == TODAY
    _, errors = check_new_request(RequestType.CHANGE_OF_SUPPLIER.value,
                                  meta(moveInDate="2026-03-01"), SUPPLIER, TODAY)
    assert codes(errors) == ["invalid_move_in_date"]


def test_malformed_fields_and_types_come_alone_and_another_suppliers_name_is_refused() -> None:
    _, errors = check_new_request("Switch", meta(), SUPPLIER, TODAY)
    assert codes(errors) == ["invalid_request_type"]
    _, errors = check_new_request(RequestType.MOVE_IN.value, meta(requestedFrom=15076500565),
                                  SUPPLIER, TODAY)
    assert [(e.code, e.pointer) for e in errors] == [("invalid_input", "/data/meta/requestedFrom")]
    _, errors = check_new_request(RequestType.MOVE_IN.value, meta(), OTHER, TODAY)
    assert codes(errors) == ["requested_by_not_caller"]


def test_against_the_point_a_switch_is_asked_of_its_end_user_a_move_in_of_someone_new() -> None:
    new, _ = check_new_request(RequestType.CHANGE_OF_SUPPLIER.value, meta(), SUPPLIER, TODAY)
    assert new is not None
    move, _ = check_new_request(RequestType.MOVE_IN.value, meta(), SUPPLIER, TODAY)
    assert move is not None
    empty = metering_point()
    lived = replace(empty, supplies=(
        SupplyPeriod(OTHER, date(2026, 1, 1), "m", EndUser("Kari", KARI)),))
    unknown = check_against_point(new, None, TODAY)
    assert unknown is not None and unknown.code == "metering_point_not_found"
    assert check_against_point(new, lived, TODAY) is None
    error = check_against_point(new, empty, TODAY)
    assert error is not None and error.code == "requested_from_not_metering_point_end_user"
    assert check_against_point(move, empty, TODAY) is None
    error = check_against_point(move, lived, TODAY)
    assert error is not None and error.code == "requested_from_is_metering_point_end_user"
    # the end user of today counts, not one who moves in later
    later = replace(empty, supplies=(
        SupplyPeriod(OTHER, date(2026, 4, 1), "m", EndUser("Kari", KARI)),))
    assert check_against_point(move, later, TODAY) is None


def requested(now: datetime = NOW) -> Any:
    new, _ = check_new_request(RequestType.MOVE_IN.value, meta(), SUPPLIER, TODAY)
    assert new is not None
    return create_request("req-1", new, now, 28)


def test_a_request_is_open_until_the_start_of_the_day_28_days_on_in_oslo() -> None:
    # the reference's example: created 2 March 2026, open to 30 March 00:00 (+02:00)
    request = requested()
    assert request.valid_to == datetime(2026, 3, 30, tzinfo=HUB_TIMEZONE)
    assert request.valid_to.utcoffset() == timedelta(hours=2)
    assert request.status_at(request.valid_to - timedelta(seconds=1)) == RequestStatus.PENDING
    assert request.status_at(request.valid_to) == RequestStatus.EXPIRED
    # late in the evening in Oslo, the date is already the next day
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # 00:30 on 3 March in Oslo
    assert request_valid_to(late, 28) == datetime(2026, 3, 31, tzinfo=HUB_TIMEZONE)


def test_acceptance_gives_an_active_grant_for_a_year_from_the_start_of_the_day() -> None:
    # accepted on 5 March 2026: the grant runs from 5 March 2026 00:00 to 5 March 2027 00:00
    answered_at = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
    request, grant = answer_request(requested(), "Accepted", KARI, answered_at, "grant-1", 12)
    assert request.status == RequestStatus.ACCEPTED and request.grant_id == "grant-1"
    assert grant is not None and grant.status == GrantStatus.ACTIVE
    assert grant.valid_from == datetime(2026, 3, 5, tzinfo=HUB_TIMEZONE)
    assert grant.valid_to == datetime(2027, 3, 5, tzinfo=HUB_TIMEZONE)
    assert (grant.granted_to, grant.granted_for, grant.metering_point_id) == (
        SUPPLIER, KARI, POINT_ID)
    assert grant.permission_type == RequestType.MOVE_IN
    assert grant.status_at(grant.valid_to) == GrantStatus.EXPIRED


def test_a_year_from_29_february_ends_on_28_february() -> None:
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


def test_only_the_person_asked_answers_once_while_the_request_is_open() -> None:
    request = requested()
    with pytest.raises(ConsentError) as wrong:
        answer_request(request, "Accepted", OLA, NOW, "g", 12)
    assert wrong.value.code == "authorization_request_not_found"
    with pytest.raises(ConsentError) as bad:
        answer_request(request, "Exhausted", KARI, NOW, "g", 12)
    assert bad.value.code == "invalid_status"
    rejected, none = answer_request(request, "Rejected", KARI, NOW, "g", 12)
    assert rejected.status == RequestStatus.REJECTED and none is None
    with pytest.raises(ConsentError) as twice:
        answer_request(rejected, "Accepted", KARI, NOW, "g", 12)
    assert twice.value.code == "authorization_request_not_pending"
    with pytest.raises(ConsentError) as late:
        answer_request(request, "Accepted", KARI, request.valid_to, "g", 12)
    assert late.value.code == "authorization_request_expired"


# Using a grant --------------------------------------------------------------------------------

def granted() -> Any:
    _, grant = answer_request(requested(), "Accepted", KARI, NOW, "grant-1", 12)
    assert grant is not None
    return grant


def reasons(grant: Any, **changes: Any) -> list[str]:
    arguments: dict[str, Any] = {
        "grant_id": "grant-1", "required": True, "permission": RequestType.MOVE_IN,
        "supplier": SUPPLIER, "metering_point_id": POINT_ID,
        "end_user": EndUser("Kari", KARI), "message_id": "move-1", "now": NOW, **changes}
    return [r.code for r in grant_reasons(grant, **arguments)]


def test_a_grant_that_fits_lets_the_process_through_and_is_then_exhausted() -> None:
    grant = granted()
    assert reasons(grant) == []
    used = exhaust(grant, "move-1", NOW)
    assert used.status == GrantStatus.EXHAUSTED and used.used_by == "move-1"
    assert reasons(used, message_id="move-2") == ["consent.grant_not_active"]
    assert reasons(used) == []  # the same document processed again
    assert exhaust(used, "move-1", NOW) is used


@pytest.mark.parametrize(("changes", "expected"), [
    ({"supplier": OTHER}, ["consent.grant_other_supplier"]),
    ({"end_user": EndUser("Ola", OLA)}, ["consent.grant_other_end_user"]),
    ({"end_user": EndUser("Kari AS", None, "974760673")}, ["consent.grant_other_end_user"]),
    ({"permission": RequestType.CHANGE_OF_SUPPLIER}, ["consent.grant_wrong_type"]),
    ({"metering_point_id": "707057500000000025"}, ["consent.grant_other_metering_point"]),
    ({"now": datetime(2027, 3, 2, tzinfo=HUB_TIMEZONE)}, ["consent.grant_expired"]),
])
def test_each_way_a_grant_can_be_wrong_has_its_own_reason(changes: dict[str, Any],
                                                          expected: list[str]) -> None:
    assert reasons(granted(), **changes) == expected


def test_no_grant_named_or_none_found() -> None:
    assert reasons(None, grant_id=None) == ["consent.missing"]
    assert reasons(None, grant_id=None, required=False) == []
    assert reasons(None) == ["consent.grant_not_found"]
    assert reasons(None, seen_for_point="707057500000000025") == [
        "consent.grant_other_metering_point"]
    revoked = replace(granted(), status=GrantStatus.REVOKED)
    assert reasons(revoked) == ["consent.grant_not_active"]


def test_consent_is_required_of_persons_from_the_configured_day() -> None:
    person, company = EndUser("Kari", KARI), EndUser("Kari AS", None, "974760673")
    assert consent_required(person, TODAY, date(2025, 1, 1))
    assert not consent_required(person, date(2024, 12, 31), date(2025, 1, 1))
    assert not consent_required(person, TODAY, None)
    assert not consent_required(company, TODAY, date(2025, 1, 1))


def test_a_points_set_keeps_what_is_open_and_drops_what_ended_long_ago() -> None:
    grant = granted()
    held = AuthorizationSet().with_request(requested()).with_grant(grant)
    assert held.grant("grant-1") == grant and held.request("req-1") is not None
    used = held.with_grant(exhaust(grant, "m", NOW))
    assert len(used.grants) == 1
    later = NOW + timedelta(days=60)
    pruned = used.pruned(later)
    assert pruned.grants == () and pruned.requests == ()  # exhausted, expired, both old
    assert held.pruned(NOW + timedelta(days=27)).requests != ()
