"""Which fetched records a task processes (streams.engine.offsets): none twice, none after a
hole in the offsets until the hole is known to be real."""

from __future__ import annotations

from streams.engine.offsets import FETCHES_BEFORE_ACCEPTING_GAP, Admission, Verdict, admit


def test_records_from_the_next_offset_are_processed() -> None:
    assert admit(10, [10, 11, 12], 0) == Admission(Verdict.PROCESS, 0, 0)


def test_records_a_committed_batch_covered_are_skipped() -> None:
    assert admit(12, [10, 11, 12, 13], 0) == Admission(Verdict.PROCESS, 2, 2)
    assert admit(14, [10, 11, 12, 13], 0) == Admission(Verdict.PROCESS, 4, 4)


def test_a_fetch_that_starts_after_a_hole_is_fetched_again() -> None:
    assert admit(10, [12, 13], 0).verdict is Verdict.REFETCH
    assert admit(10, [8, 9, 12], 0) == Admission(Verdict.REFETCH, 2, 2)


def test_a_hole_seen_again_and_again_is_real_and_accepted() -> None:
    holes = FETCHES_BEFORE_ACCEPTING_GAP - 1
    assert admit(10, [12, 13], holes) == Admission(Verdict.ACCEPT_GAP, 0, 0)


def test_nothing_fetched_is_nothing_to_do() -> None:
    assert admit(10, [], 0) == Admission(Verdict.PROCESS, 0, 0)


def test_a_topic_written_in_transactions_skips_offsets_by_design() -> None:
    """Shared production's topics get a commit marker after each task's records: a jump is
    no hole there, and what a committed batch covered is still left out."""
    assert admit(10, [12, 13, 15], 0, contiguous=False) == Admission(Verdict.PROCESS, 0, 0)
    assert admit(10, [8, 9, 11], 0, contiguous=False) == Admission(Verdict.PROCESS, 2, 2)
    assert admit(10, [12], 0).verdict is Verdict.REFETCH  # an intake topic: a hole
