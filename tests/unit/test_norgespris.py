"""Norgespris contract lifecycle (domain.norgespris), with the clock as an argument.

What a grid owner and a supplier see: a new contract is Initiated; with no call at all it is
Activated exactly 14 days after creation and Expired at the end of its year (or at once when its
end date has passed); it can be cancelled only inside the 14 days; closed contracts cannot be
edited; only households and holiday homes, one contract per point.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from domain.norgespris import (
    HUB,
    REGRET_PERIOD,
    Contract,
    ContractError,
    ContractStatus,
    advance,
    cancel,
    check_eligibility,
    create,
    due_transitions,
    edit,
    end,
    expires_at,
    has_open_contract,
    next_transition_at,
)

POINT = "707057500000000017"
GRID_OWNER = "7080000000014"
OTHER_PARTY = "7080000000021"
CEST = timezone(timedelta(hours=2))
CET = timezone(timedelta(hours=1))

CREATED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def new(
    *,
    now: datetime = CREATED,
    start_date: date = date(2026, 3, 1),
    end_date: date | None = None,
) -> Contract:
    return create(
        contract_id="4ef727d1-b672-4166-a973-aa6e412b09bb",
        metering_point_id=POINT,
        grid_owner=GRID_OWNER,
        start_date=start_date,
        end_date=end_date,
        consumption_code="35",
        has_active_contract=False,
        by=GRID_OWNER,
        now=now,
    )


def day(n: float) -> datetime:
    """``n`` days after creation (elapsed time)."""
    return CREATED + timedelta(days=n)


# --- creation and eligibility -------------------------------------------------------------


def test_created_contract_is_initiated_with_an_audit_entry() -> None:
    contract = new(now=datetime(2026, 3, 2, 10, 0, tzinfo=CET))
    assert contract.status is ContractStatus.INITIATED
    assert str(contract.status) == "Initiated"
    assert contract.created_at == contract.updated_at == CREATED
    assert contract.created_at.tzinfo is UTC
    assert contract.created_by == contract.updated_by == GRID_OWNER
    assert contract.contract_type == "Norgespris"
    assert not contract.is_cancelled
    assert len(contract.changes) == 1
    assert contract.changes[0].at == CREATED
    assert contract.changes[0].by == GRID_OWNER
    assert "created" in contract.changes[0].what


def test_status_strings_are_the_specs() -> None:
    assert [s.value for s in ContractStatus] == ["Initiated", "Activated", "Expired", "Cancelled"]


@pytest.mark.parametrize("code", ["35", "36"])
def test_households_and_holiday_homes_are_eligible(code: str) -> None:
    assert check_eligibility(code, has_active_contract=False) is None


@pytest.mark.parametrize("code", ["1", "1a", "34", None])
def test_other_consumption_codes_are_not_eligible(code: str | None) -> None:
    error = check_eligibility(code, has_active_contract=False)
    assert error is not None
    assert error.code == "NOT_ELIGIBLE"
    with pytest.raises(ContractError) as raised:
        create(contract_id="c", metering_point_id=POINT, grid_owner=GRID_OWNER,
               start_date=date(2026, 3, 1), end_date=None, consumption_code=code,
               has_active_contract=False, by=GRID_OWNER, now=CREATED)
    assert raised.value.code == "NOT_ELIGIBLE"


def test_second_open_contract_on_a_point_already_exists() -> None:
    first = new()
    assert has_open_contract([first], day(1))
    with pytest.raises(ContractError) as raised:
        create(contract_id="second", metering_point_id=POINT, grid_owner=GRID_OWNER,
               start_date=date(2026, 3, 1), end_date=None, consumption_code="35",
               has_active_contract=has_open_contract([first], day(1)),
               by=GRID_OWNER, now=day(1))
    assert raised.value.code == "CONTRACT_ALREADY_EXISTS"
    error = raised.value
    assert (error.title, error.detail, error.pointer) == (
        "Contract Already Exists",
        "the metering point already has an open contract of type Norgespris",
        "/data/relationships/meteringPoint",
    )


def test_a_closed_contract_frees_the_point() -> None:
    cancelled = cancel(new(), by=GRID_OWNER, now=day(2))
    # Expires after 30 Apr (23:59:59.999 CEST) without ever being advanced:
    expiring = new(end_date=date(2026, 4, 30))
    assert not has_open_contract([cancelled], day(3))
    assert has_open_contract([expiring], datetime(2026, 4, 30, 21, 0, tzinfo=UTC))
    assert not has_open_contract([expiring], datetime(2026, 4, 30, 22, 0, tzinfo=UTC))


def test_end_date_before_start_date_is_invalid_and_not_stored() -> None:
    with pytest.raises(ContractError) as raised:
        new(start_date=date(2026, 3, 1), end_date=date(2026, 2, 28))
    assert raised.value.code == "INVALID_END_DATE"
    assert raised.value.pointer == "/data/attributes/endDate"
    assert new(start_date=date(2026, 3, 1), end_date=date(2026, 3, 1)).end_date == date(2026, 3, 1)


def test_naive_clock_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        new(now=datetime(2026, 3, 2, 9, 0))


# --- activation after the regret period ---------------------------------------------------


def test_activated_exactly_14_days_after_creation_with_no_call_in_between() -> None:
    contract = new()
    assert advance(contract, day(14) - timedelta(microseconds=1)) == contract
    assert due_transitions(contract, day(14) - timedelta(microseconds=1)) == []

    # A scheduler that wakes only on day 20 still dates the activation to day 14.
    later = day(20)
    activated = advance(contract, later)
    assert activated.status is ContractStatus.ACTIVATED
    assert activated.changes[-1].at == day(14) == CREATED + REGRET_PERIOD
    assert activated.changes[-1].by == HUB
    assert activated.changes[-1].what == "status Initiated → Activated (regret period over)"
    # updatedAt is when the hub recorded it, so suppliers polling updatedAt > t see it.
    assert (activated.updated_at, activated.updated_by) == (later, HUB)
    assert advance(contract, day(14)).status is ContractStatus.ACTIVATED
    assert advance(activated, day(21)) == activated  # nothing more due


def test_regret_period_is_elapsed_time_across_dst() -> None:
    # Created 20 Oct 2025 10:00 CEST (08:00 UTC); 14 × 24 h later is 3 Nov 08:00 UTC,
    # which is 09:00 CET on the wall clock.
    contract = new(now=datetime(2025, 10, 20, 10, 0, tzinfo=CEST), start_date=date(2025, 10, 20))
    assert next_transition_at(contract) == datetime(2025, 11, 3, 8, 0, tzinfo=UTC)
    assert next_transition_at(contract) == datetime(2025, 11, 3, 9, 0, tzinfo=CET)


# --- expiry ---------------------------------------------------------------------------------


def test_expired_at_the_last_millisecond_of_the_year_in_oslo() -> None:
    activated = advance(new(), day(14))
    # 31 Dec 2026 23:59:59.999 Europe/Oslo (CET, +01:00) = 22:59:59.999 UTC
    year_end = datetime(2026, 12, 31, 22, 59, 59, 999_000, tzinfo=UTC)
    assert expires_at(activated) == year_end
    assert next_transition_at(activated) == year_end
    assert advance(activated, year_end - timedelta(milliseconds=1)).status == "Activated"
    expired = advance(activated, year_end)
    assert expired.status is ContractStatus.EXPIRED
    assert expired.changes[-1].at == year_end
    assert expired.changes[-1].what == "status Activated → Expired (end of the contract period)"
    assert next_transition_at(expired) is None


def test_end_date_in_summer_expires_at_the_end_of_that_day_cest() -> None:
    activated = advance(new(end_date=date(2026, 6, 30)), day(14))
    # 30 Jun 23:59:59.999 +02:00
    assert expires_at(activated) == datetime(2026, 6, 30, 21, 59, 59, 999_000, tzinfo=UTC)


def test_a_scheduler_waking_late_applies_both_transitions_in_order() -> None:
    contract = new(end_date=date(2026, 4, 30))
    due = due_transitions(contract, datetime(2026, 6, 1, tzinfo=UTC))
    assert due == [
        (ContractStatus.ACTIVATED, day(14)),
        (ContractStatus.EXPIRED, datetime(2026, 4, 30, 21, 59, 59, 999_000, tzinfo=UTC)),
    ]
    expired = advance(contract, datetime(2026, 6, 1, tzinfo=UTC))
    assert [c.what.split(" (")[0] for c in expired.changes[1:]] == [
        "status Initiated → Activated",
        "status Activated → Expired",
    ]


def test_ending_with_a_past_end_date_expires_at_once() -> None:
    activated = advance(new(), day(14))
    now = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    ended = end(activated, on=date(2026, 5, 1), by=GRID_OWNER, now=now)
    assert ended.status is ContractStatus.EXPIRED
    assert ended.end_date == date(2026, 5, 1)
    # Not dated back to 1 May: it expires when the end date was set.
    assert [(c.at, c.by) for c in ended.changes[-2:]] == [(now, GRID_OWNER), (now, HUB)]
    assert ended.updated_at == now


def test_editing_end_date_into_the_past_expires_at_once_too() -> None:
    activated = advance(new(), day(14))
    now = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    edited = edit(activated, by=GRID_OWNER, now=now, end_date=date(2026, 5, 9))
    assert edited.status is ContractStatus.EXPIRED
    assert edited.changes[-2].what == "edited: endDate none → 2026-05-09"


def test_initiated_contract_with_a_past_end_date_waits_out_the_regret_period() -> None:
    # The spec refuses Initiated → Expired; the contract stays cancellable until day 14.
    contract = new(start_date=date(2026, 2, 1), end_date=date(2026, 2, 28))
    assert advance(contract, day(13)).status is ContractStatus.INITIATED
    assert cancel(contract, by=GRID_OWNER, now=day(13)).status is ContractStatus.CANCELLED
    assert due_transitions(contract, day(14)) == [
        (ContractStatus.ACTIVATED, day(14)),
        (ContractStatus.EXPIRED, day(14)),
    ]


def test_ending_in_the_future_keeps_it_active_until_then() -> None:
    activated = advance(new(), day(14))
    ended = end(activated, on=date(2026, 8, 31), by=GRID_OWNER, now=day(20))
    assert ended.status is ContractStatus.ACTIVATED
    assert next_transition_at(ended) == datetime(2026, 8, 31, 21, 59, 59, 999_000, tzinfo=UTC)


# --- cancellation ---------------------------------------------------------------------------


def test_cancel_on_day_13_is_accepted() -> None:
    cancelled = cancel(new(), by=OTHER_PARTY, now=day(13))
    assert cancelled.status is ContractStatus.CANCELLED
    assert cancelled.is_cancelled
    assert (cancelled.updated_at, cancelled.updated_by) == (day(13), OTHER_PARTY)
    assert cancelled.changes[-1].what.startswith("status Initiated → Cancelled")
    assert next_transition_at(cancelled) is None
    assert advance(cancelled, datetime(2030, 1, 1, tzinfo=UTC)) == cancelled


def test_cancel_on_day_15_is_a_409_even_if_nobody_activated_it() -> None:
    contract = new()  # still stored as Initiated: the scheduler never ran
    with pytest.raises(ContractError) as raised:
        cancel(contract, by=GRID_OWNER, now=day(15))
    assert raised.value.code == "INVALID_STATUS_TRANSITION"
    assert "from Activated to Cancelled" in raised.value.detail
    assert "regret period is over" in raised.value.detail


def test_cancel_at_the_exact_end_of_the_regret_period_is_too_late() -> None:
    with pytest.raises(ContractError):
        cancel(new(), by=GRID_OWNER, now=day(14))
    assert cancel(new(), by=GRID_OWNER, now=day(14) - timedelta(seconds=1)).is_cancelled


def test_cancelling_twice_is_an_invalid_transition() -> None:
    cancelled = cancel(new(), by=GRID_OWNER, now=day(1))
    with pytest.raises(ContractError) as raised:
        cancel(cancelled, by=GRID_OWNER, now=day(2))
    assert raised.value.code == "INVALID_STATUS_TRANSITION"


# --- edits ----------------------------------------------------------------------------------


def test_edit_of_an_expired_contract_is_an_invalid_transition() -> None:
    expired = advance(new(end_date=date(2026, 4, 30)), datetime(2026, 5, 1, tzinfo=UTC))
    assert expired.status is ContractStatus.EXPIRED
    with pytest.raises(ContractError) as raised:
        edit(expired, by=GRID_OWNER, now=datetime(2026, 5, 2, tzinfo=UTC),
             end_date=date(2026, 12, 31))
    assert raised.value.code == "INVALID_STATUS_TRANSITION"


def test_edit_of_a_contract_past_its_expiry_but_not_yet_advanced_is_refused() -> None:
    contract = new(end_date=date(2026, 4, 30))  # stored Initiated; expired by 1 May
    with pytest.raises(ContractError):
        edit(contract, by=GRID_OWNER, now=datetime(2026, 5, 2, tzinfo=UTC),
             end_date=date(2026, 12, 31))


def test_edit_of_a_cancelled_contract_is_an_invalid_transition() -> None:
    cancelled = cancel(new(), by=GRID_OWNER, now=day(1))
    with pytest.raises(ContractError) as raised:
        edit(cancelled, by=GRID_OWNER, now=day(2), start_date=date(2026, 4, 1))
    assert raised.value.code == "INVALID_STATUS_TRANSITION"


def test_grid_owner_edits_are_not_second_guessed() -> None:
    # Moving the start date back a year is the grid owner's call; only end ≥ start is checked.
    activated = advance(new(), day(14))
    edited = edit(activated, by=GRID_OWNER, now=day(30), start_date=date(2025, 10, 1),
                  end_date=date(2026, 12, 31))
    assert (edited.start_date, edited.end_date) == (date(2025, 10, 1), date(2026, 12, 31))
    assert edited.status is ContractStatus.ACTIVATED
    assert edited.changes[-1].what == (
        "edited: startDate 2026-03-01 → 2025-10-01, endDate none → 2026-12-31"
    )
    assert (edited.updated_at, edited.updated_by) == (day(30), GRID_OWNER)
    with pytest.raises(ContractError) as raised:
        edit(edited, by=GRID_OWNER, now=day(31), end_date=date(2025, 9, 30))
    assert raised.value.code == "INVALID_END_DATE"


def test_edit_of_an_initiated_contract_keeps_the_regret_period() -> None:
    edited = edit(new(), by=GRID_OWNER, now=day(5), end_date=date(2026, 6, 30))
    assert edited.status is ContractStatus.INITIATED
    assert next_transition_at(edited) == day(14)


def test_edit_without_a_change_records_nothing() -> None:
    contract = new()
    assert edit(contract, by=GRID_OWNER, now=day(1), end_date=None) == contract


def test_edit_can_clear_the_end_date() -> None:
    contract = new(end_date=date(2026, 6, 30))
    assert edit(contract, by=GRID_OWNER, now=day(1), end_date=None).end_date is None


def test_edit_naming_another_point_or_type_is_a_409() -> None:
    contract = new()
    with pytest.raises(ContractError) as raised:
        edit(contract, by=GRID_OWNER, now=day(1), metering_point_id="707057500000000024")
    assert raised.value.code == "METERING_POINT_MISMATCH"
    with pytest.raises(ContractError) as raised:
        edit(contract, by=GRID_OWNER, now=day(1), contract_type="GridAccessContract")
    assert raised.value.code == "CONTRACT_TYPE_MISMATCH"


# --- scheduling -----------------------------------------------------------------------------


def test_next_transition_at_through_the_lifecycle() -> None:
    contract = new(end_date=date(2026, 10, 31))
    assert next_transition_at(contract) == day(14)
    activated = advance(contract, day(14))
    # 31 Oct 2026 is after the DST change (25 Oct): CET, 23:59:59.999 +01:00.
    assert next_transition_at(activated) == datetime(2026, 10, 31, 22, 59, 59, 999_000, tzinfo=UTC)
    assert next_transition_at(advance(activated, datetime(2026, 11, 1, tzinfo=UTC))) is None


def test_contract_created_late_in_the_year_without_end_date_expires_that_year_end() -> None:
    contract = new(now=datetime(2026, 12, 20, 12, 0, tzinfo=UTC), start_date=date(2026, 12, 20))
    # The regret period ends 3 Jan 2027, after 31 Dec 2026: activation, then expiry at once.
    assert next_transition_at(contract) == datetime(2027, 1, 3, 12, 0, tzinfo=UTC)
    assert due_transitions(contract, datetime(2027, 1, 3, 12, 0, tzinfo=UTC)) == [
        (ContractStatus.ACTIVATED, datetime(2027, 1, 3, 12, 0, tzinfo=UTC)),
        (ContractStatus.EXPIRED, datetime(2027, 1, 3, 12, 0, tzinfo=UTC)),
    ]


def test_contract_starting_in_2025_runs_to_the_end_of_the_first_price_period() -> None:
    # Norgespris 2025 was fixed from 1 Oct 2025 to 31 Dec 2026: one price period.
    contract = new(now=datetime(2025, 10, 1, 8, 0, tzinfo=UTC), start_date=date(2025, 10, 1))
    assert expires_at(contract) == datetime(2026, 12, 31, 22, 59, 59, 999_000, tzinfo=UTC)
    assert advance(contract, datetime(2026, 1, 1, tzinfo=UTC)).status is ContractStatus.ACTIVATED
