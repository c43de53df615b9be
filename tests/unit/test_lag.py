"""Judging consumer lag (domain.lag): Burrow's statuses from polled offsets, and time lag.

What the monitor relies on: a dead consumer is an error within a window, a quiet night never
is, a tolerated permanent lag is not a lag, and time lag is interpolated from the log-end
history, or admitted unknown when there is too little history.
"""

from __future__ import annotations

from collections import deque
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.lag import (
    Observation,
    OffsetPoint,
    Status,
    Verdict,
    evaluate_group,
    evaluate_partition,
    lag_from_record_timestamp,
    record_log_end,
    time_lag,
)


def window(*rows: tuple[float, int | None, int]) -> list[Observation]:
    """Observations from (at, committed, log_end) rows."""
    return [Observation(at, committed, log_end) for at, committed, log_end in rows]


# --- Observation -----------------------------------------------------------------------------


def test_lag_is_log_end_minus_committed() -> None:
    assert Observation(0.0, 100, 150).lag == 50


def test_lag_without_a_committed_offset_is_the_whole_log() -> None:
    assert Observation(0.0, None, 150).lag == 150


def test_lag_is_never_negative() -> None:
    assert Observation(0.0, 151, 150).lag == 0


# --- Burrow's rules ---------------------------------------------------------------------------


def test_steady_consumer_catching_up_is_ok() -> None:
    verdict = evaluate_partition(
        window((0, 100, 500), (30, 200, 550), (60, 300, 600), (90, 400, 650)), now=90)
    assert verdict == Verdict(Status.OK, 250, "consumer is moving; 250 messages wait")


def test_caught_up_now_is_ok_whatever_came_before() -> None:
    verdict = evaluate_partition(
        window((0, 100, 100), (30, 100, 900), (60, 50, 900), (90, 900, 900)), now=90)
    assert verdict == Verdict(Status.OK, 0, "caught up")


def test_dead_consumer_is_stop() -> None:
    # Committed offset constant for the whole window while messages keep arriving.
    rows = [(t, 1000, 1100 + 10 * t) for t in range(0, 300, 30)]
    verdict = evaluate_partition(window(*rows), now=270)
    assert verdict.status is Status.STOP
    assert verdict.lag == 100 + 2700
    assert verdict.reason == "no commit for at least 270 s while 2,800 messages wait"


def test_stop_reason_says_how_long_since_the_last_commit() -> None:
    verdict = evaluate_partition(
        window((0, 400, 1000), (15, 500, 1200), (30, 500, 1400), (60, 500, 1600),
               (90, 500, 1704)), now=90)
    assert verdict == Verdict(Status.STOP, 1204, "no commit for 75 s while 1,204 messages wait")


def test_stop_waits_for_silence_longer_than_the_window_before_the_last_commit() -> None:
    rows = window((0, 100, 1000), (10, 200, 1100), (20, 300, 1200), (30, 300, 1300))
    # 10 s of silence after 20 s of commits: not yet stopped, and lag never went down.
    assert evaluate_partition(rows, now=30).status is Status.WARN
    # 25 s of silence after 20 s of commits: stopped.
    assert evaluate_partition(rows, now=45).status is Status.STOP


def test_dead_consumer_stays_stop_as_the_window_slides() -> None:
    # Continuous traffic, a poll every 5 s, a window of 6 polls; the consumer dies at t=300.
    recent: deque[Observation] = deque(maxlen=6)
    statuses: dict[float, Status] = {}
    for k in range(120):
        t = 5.0 * k
        log_end = 10 * k * 5
        recent.append(Observation(t, log_end if t <= 300 else 3000, log_end))
        statuses[t] = evaluate_partition(recent, now=t).status
    assert all(s is Status.OK for t, s in statuses.items() if t <= 325)
    assert all(s is Status.STOP for t, s in statuses.items() if t >= 330)


def test_group_without_committed_offsets_and_waiting_messages_is_stop() -> None:
    verdict = evaluate_partition(window((0, None, 10), (30, None, 20), (60, None, 30)), now=60)
    assert verdict.status is Status.STOP
    assert verdict.lag == 30


def test_idle_topic_is_ok() -> None:
    rows = window(*[(t, 500, 500) for t in range(0, 600, 30)])
    assert evaluate_partition(rows, now=3600) == Verdict(Status.OK, 0, "caught up")


def test_idle_topic_with_a_message_just_arrived_is_not_stop() -> None:
    # Committed constant for the whole window, and lag now: STOP's clock says stopped, but the
    # log end was at the committed offset moments ago, so the consumer was merely idle.
    rows = window((0, 500, 500), (30, 500, 500), (60, 500, 500), (90, 500, 501))
    assert evaluate_partition(rows, now=90) == Verdict(
        Status.OK, 1, "1 message waits, but the consumer was caught up 30 s ago")


def test_quiet_night_is_ok_at_every_poll() -> None:
    # Twelve hours, a poll every 30 s, a window of 10 polls, not one new message.
    recent: deque[Observation] = deque(maxlen=10)
    for k in range(12 * 60 * 2):
        t = 30.0 * k
        recent.append(Observation(t, 48_213, 48_213))
        assert evaluate_partition(recent, now=t).status is Status.OK, t


def test_quiet_night_with_faust_lag_of_one_is_ok_at_every_poll() -> None:
    recent: deque[Observation] = deque(maxlen=10)
    for k in range(12 * 60 * 2):
        t = 30.0 * k
        recent.append(Observation(t, 48_212, 48_213))
        assert evaluate_partition(recent, now=t, allowed_lag=1).status is Status.OK, t


def test_quiet_night_with_slow_heartbeats_is_ok_at_every_poll() -> None:
    # A heartbeat every 10 minutes, consumed 40 s later: some polls see one message waiting.
    recent: deque[Observation] = deque(maxlen=10)
    for k in range(12 * 60 * 2):
        t = 30.0 * k
        log_end = int((t + 590) // 600)
        committed = int((t + 550) // 600)
        recent.append(Observation(t, committed, log_end))
        assert evaluate_partition(recent, now=t).status is Status.OK, t


def test_faust_permanent_lag_of_one_is_ok_with_allowed_lag() -> None:
    rows = window((0, 99, 100), (30, 199, 200), (60, 199, 200), (90, 199, 200))
    assert evaluate_partition(rows, now=90, allowed_lag=1) == Verdict(
        Status.OK, 1, "lag 1 is within the allowed lag")


def test_faust_permanent_lag_of_one_without_tolerance_reads_as_stop() -> None:
    # Why allowed_lag exists: a quiet Faust partition always shows one message waiting.
    rows = window((0, 199, 200), (30, 199, 200), (60, 199, 200), (90, 199, 200))
    assert evaluate_partition(rows, now=90).status is Status.STOP


def test_committing_without_moving_reads_as_stop_when_polled() -> None:
    # Burrow calls this STALL when it sees repeated commits of one offset; polling cannot see
    # a commit that does not change the offset, and STOP (rule 2) comes first.
    rows = window((0, 700, 900), (30, 700, 900), (60, 700, 900), (90, 700, 900))
    verdict = evaluate_partition(rows, now=90)
    assert verdict.status is Status.STOP
    assert evaluate_group({("t", 0): verdict}) is Status.ERR


def test_stall_when_stop_has_no_time_to_measure() -> None:
    # Committed offset the same throughout with lag, judged at the window's first instant.
    rows = window((90, 700, 900), (90, 700, 900))
    assert evaluate_partition(rows, now=90) == Verdict(
        Status.STALL, 200, "committed offset stuck at 700 through the window while "
                           "200 messages wait")


def test_committed_offset_going_backwards_is_rewind() -> None:
    rows = window((0, 500, 1000), (30, 600, 1100), (60, 300, 1200), (90, 400, 1300))
    assert evaluate_partition(rows, now=90) == Verdict(
        Status.REWIND, 900, "committed offset went back from 600 to 300")


def test_lag_growing_while_committing_is_warn() -> None:
    rows = window((0, 100, 200), (30, 200, 350), (60, 300, 500), (90, 400, 650))
    assert evaluate_partition(rows, now=90) == Verdict(
        Status.WARN, 250, "lag grew from 100 to 250 and never went down")


def test_constant_lag_while_committing_is_ok() -> None:
    rows = window((0, 100, 200), (30, 200, 300), (60, 300, 400), (90, 400, 500))
    assert evaluate_partition(rows, now=90).status is Status.OK


def test_restart_spike_that_recovers_is_ok() -> None:
    rows = window(
        (0, 995, 1000), (30, 1295, 1300),           # steady, small lag
        (60, 1295, 1600), (90, 1295, 1900),         # restarting: no commits, lag climbs
        (120, 1800, 2200), (150, 2180, 2500), (180, 2790, 2800),  # catching up
    )
    assert evaluate_partition(rows, now=180) == Verdict(
        Status.OK, 10, "consumer is moving; 10 messages wait")


def test_too_few_observations_is_ok_and_says_so() -> None:
    assert evaluate_partition(window((0, 0, 5000)), now=600) == Verdict(
        Status.OK, 5000, "not enough observations")
    rows = window((0, 0, 5000), (30, 0, 6000))
    assert evaluate_partition(rows, now=30, min_observations=3).reason == "not enough observations"


def test_too_few_observations_but_caught_up_is_plainly_ok() -> None:
    assert evaluate_partition(window((0, 5000, 5000)), now=600) == Verdict(
        Status.OK, 0, "caught up")


def test_empty_window_is_ok_and_says_so() -> None:
    assert evaluate_partition([], now=0) == Verdict(Status.OK, 0, "not enough observations")


def test_window_order_does_not_matter() -> None:
    rows = window((0, 100, 200), (30, 200, 350), (60, 300, 500), (90, 400, 650))
    assert evaluate_partition(rows[::-1], now=90) == evaluate_partition(rows, now=90)


def test_long_silences_are_told_in_hours() -> None:
    rows = window((0, 10, 20), (30, 10, 30))
    assert evaluate_partition(rows, now=40 * 3600).reason == (
        "no commit for at least 40.0 h while 20 messages wait")


@given(
    steps=st.lists(
        st.tuples(st.floats(0.1, 600, allow_nan=False), st.integers(0, 10_000)),
        min_size=1, max_size=40),
    allowed_lag=st.integers(0, 5),
    late=st.floats(0, 3600, allow_nan=False),
)
def test_consumer_committing_the_log_end_is_always_ok(
        steps: list[tuple[float, int]], allowed_lag: int, late: float) -> None:
    at, log_end = 0.0, 0
    rows = []
    for gap, produced in steps:
        at, log_end = at + gap, log_end + produced
        rows.append(Observation(at, log_end, log_end))
    assert evaluate_partition(rows, now=at + late, allowed_lag=allowed_lag).status is Status.OK


# --- groups -----------------------------------------------------------------------------------


def _verdicts(*statuses: Status) -> dict[tuple[str, int], Verdict]:
    return {("straum.metering-values.intake", i): Verdict(s, 0, "") for i, s in
            enumerate(statuses)}


def test_group_of_ok_partitions_is_ok() -> None:
    assert evaluate_group(_verdicts(Status.OK, Status.OK)) is Status.OK


def test_group_without_partitions_is_ok() -> None:
    assert evaluate_group({}) is Status.OK


def test_group_with_a_warning_is_warn() -> None:
    assert evaluate_group(_verdicts(Status.OK, Status.WARN, Status.OK)) is Status.WARN


@pytest.mark.parametrize("error", [Status.STOP, Status.STALL, Status.REWIND])
def test_group_with_a_stopped_stalled_or_rewound_partition_is_err(error: Status) -> None:
    assert evaluate_group(_verdicts(Status.OK, Status.WARN, error)) is Status.ERR


# --- time lag, kafka-lag-exporter style -------------------------------------------------------


def test_time_lag_interpolates_between_two_points() -> None:
    # Log end 100 at t=10 and 300 at t=20: offset 200 was passed half-way, at t=15.
    table = (OffsetPoint(0, 0.0), OffsetPoint(100, 10.0), OffsetPoint(300, 20.0))
    assert time_lag(table, committed=200, now=30.0) == 15.0


def test_time_lag_at_a_point_is_the_time_of_that_point() -> None:
    table = (OffsetPoint(0, 0.0), OffsetPoint(100, 10.0), OffsetPoint(300, 20.0))
    assert time_lag(table, committed=100, now=30.0) == 20.0


def test_time_lag_after_a_flat_stretch_counts_from_its_end() -> None:
    # The log end sat at 100 from t=10 to t=40: offset 100 appeared after t=40.
    table = (OffsetPoint(0, 0.0), OffsetPoint(100, 10.0), OffsetPoint(100, 40.0),
             OffsetPoint(300, 50.0))
    assert time_lag(table, committed=100, now=60.0) == 20.0


def test_time_lag_is_zero_when_caught_up() -> None:
    table = (OffsetPoint(0, 0.0), OffsetPoint(100, 10.0))
    assert time_lag(table, committed=100, now=30.0) == 0.0
    assert time_lag(table, committed=150, now=30.0) == 0.0


def test_time_lag_needs_two_points() -> None:
    assert time_lag((), committed=0, now=30.0) is None
    assert time_lag((OffsetPoint(100, 10.0),), committed=0, now=30.0) is None


def test_time_lag_below_the_oldest_point_is_extrapolated() -> None:
    # 100 offsets in 10 s: offset 50 was passed 5 s before t=10.
    table = (OffsetPoint(100, 10.0), OffsetPoint(200, 20.0))
    assert time_lag(table, committed=50, now=30.0) == 25.0


def test_time_lag_after_a_flat_start_extrapolates_at_the_first_rate_seen() -> None:
    # 100 offsets in 10 s once it rose; the log end was already at 100 by t=10, so offset 50
    # was passed 5 s before that.
    table = (OffsetPoint(100, 10.0), OffsetPoint(100, 20.0), OffsetPoint(200, 30.0))
    assert time_lag(table, committed=50, now=40.0) == 35.0


def test_time_lag_below_a_table_that_never_moved_is_the_table_age() -> None:
    table = (OffsetPoint(100, 10.0), OffsetPoint(100, 20.0))
    assert time_lag(table, committed=50, now=30.0) == 20.0


def test_time_lag_is_never_negative() -> None:
    table = (OffsetPoint(0, 0.0), OffsetPoint(100, 10.0), OffsetPoint(300, 20.0))
    assert time_lag(table, committed=200, now=12.0) == 0.0


# --- the log-end table -------------------------------------------------------------------------


def test_first_point_starts_the_table() -> None:
    assert record_log_end((), OffsetPoint(5, 1.0)) == (OffsetPoint(5, 1.0),)


def test_rising_points_are_appended() -> None:
    table = record_log_end((OffsetPoint(5, 1.0),), OffsetPoint(8, 2.0))
    assert table == (OffsetPoint(5, 1.0), OffsetPoint(8, 2.0))


def test_flat_stretch_keeps_its_first_and_last_points() -> None:
    table: tuple[OffsetPoint, ...] = ()
    for at in (0.0, 30.0, 60.0, 90.0, 120.0):
        table = record_log_end(table, OffsetPoint(7, at))
    assert table == (OffsetPoint(7, 0.0), OffsetPoint(7, 120.0))
    table = record_log_end(table, OffsetPoint(9, 150.0))
    assert table == (OffsetPoint(7, 0.0), OffsetPoint(7, 120.0), OffsetPoint(9, 150.0))


def test_decreasing_log_end_resets_the_table() -> None:
    table = (OffsetPoint(100, 0.0), OffsetPoint(200, 30.0))
    assert record_log_end(table, OffsetPoint(3, 60.0)) == (OffsetPoint(3, 60.0),)


def test_point_not_newer_than_the_newest_is_ignored() -> None:
    table = (OffsetPoint(100, 0.0), OffsetPoint(200, 30.0))
    assert record_log_end(table, OffsetPoint(250, 30.0)) == table
    assert record_log_end(table, OffsetPoint(250, 10.0)) == table


def test_table_keeps_at_most_max_points() -> None:
    table: tuple[OffsetPoint, ...] = ()
    for k in range(10):
        table = record_log_end(table, OffsetPoint(k, float(k)), max_points=4)
    assert table == tuple(OffsetPoint(k, float(k)) for k in range(6, 10))


def test_table_needs_room_for_two_points() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        record_log_end((), OffsetPoint(0, 0.0), max_points=1)


def test_time_lag_through_a_quiet_hour_from_a_recorded_table() -> None:
    # 10 msg/s for a minute, an hour of nothing, then traffic again; consumer stuck at 300.
    table: tuple[OffsetPoint, ...] = ()
    for k in range(3):
        table = record_log_end(table, OffsetPoint(300 * k, 30.0 * k))  # 0, 300, 600
    for k in range(3, 123):
        table = record_log_end(table, OffsetPoint(600, 30.0 * k))
    table = record_log_end(table, OffsetPoint(900, 3690.0))
    assert len(table) == 5  # the hour of silence is two points
    assert time_lag(table, committed=300, now=3690.0) == 3660.0


@given(st.lists(st.tuples(st.floats(0, 100, allow_nan=False), st.integers(-50, 100)),
                max_size=80))
def test_recorded_table_is_bounded_and_never_goes_down(steps: list[tuple[float, int]]) -> None:
    table: tuple[OffsetPoint, ...] = ()
    at, offset = 0.0, 0
    for gap, change in steps:
        at, offset = at + gap, max(0, offset + change)
        table = record_log_end(table, OffsetPoint(offset, at), max_points=10)
        assert 1 <= len(table) <= 10
        assert all(a.offset <= b.offset and a.at < b.at for a, b in pairwise(table))


# --- lag from record timestamps ----------------------------------------------------------------


def test_record_timestamp_lag_is_its_age() -> None:
    assert lag_from_record_timestamp(100.0, now=130.5) == 30.5


def test_record_timestamp_lag_is_zero_when_nothing_waits() -> None:
    assert lag_from_record_timestamp(None, now=130.5) == 0.0


def test_record_timestamp_from_the_future_is_no_lag() -> None:
    assert lag_from_record_timestamp(140.0, now=130.5) == 0.0
