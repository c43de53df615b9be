"""Which fetched records a task may process: never one twice, never one after a hole.

The input topics are written without transactions, so their offsets are contiguous: a fetch
that starts beyond the next offset to process left records out (a consumer fault), and one that
starts below it brings records a committed batch already covered. The first kind is fetched
again from the next offset; only a hole that is still there after a few fetches is real
(records deleted by retention before they were processed) and is accepted, with an alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: Fetches that must show the same hole before it is taken as real.
FETCHES_BEFORE_ACCEPTING_GAP = 3


class Verdict(StrEnum):
    PROCESS = "process"  # records from ``first`` on, starting at the next offset
    REFETCH = "refetch"  # a hole: seek back to the next offset and fetch again
    ACCEPT_GAP = "accept_gap"  # the same hole again and again: process, and raise the alarm


@dataclass(frozen=True)
class Admission:
    verdict: Verdict
    first: int  # index of the first record to process
    stale: int  # records below the next offset (already committed), skipped


def admit(next_offset: int, offsets: list[int], holes_seen: int,
          contiguous: bool = True) -> Admission:
    """What to do with fetched records at ``offsets`` (ascending) of one partition, given the
    next offset to process and how often this hole was seen already.

    A topic that processors write in their transactions (``contiguous=False``: a calculation's
    events, shared production) has a commit marker after each transaction's records, so its
    offsets skip by design; there only what a committed batch covered is left out.
    """
    first = 0
    while first < len(offsets) and offsets[first] < next_offset:
        first += 1
    if first == len(offsets) or offsets[first] == next_offset or not contiguous:
        return Admission(Verdict.PROCESS, first, first)
    if holes_seen + 1 >= FETCHES_BEFORE_ACCEPTING_GAP:
        return Admission(Verdict.ACCEPT_GAP, first, first)
    return Admission(Verdict.REFETCH, first, first)
