"""Consumer lag, judged the way Burrow and kafka-lag-exporter judge it, as pure functions.

The monitor process polls the broker for each group's committed offsets and each partition's
log end, apart from the processors it watches; what those numbers mean is decided here. No
I/O and no clock: the time is always an argument, so every rule can be replayed in a test.

Burrow's rules assume they see every commit with its time. straum only polls, so a commit is
known by the first observation that shows its offset: a consumer that keeps committing the same
offset looks exactly like one that stopped committing, and Burrow's STOP rule (which comes
first) catches both. STALL is kept for fidelity but is only reached when STOP's clock has not
started (``now`` not after the first observation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

__all__ = [
    "Observation",
    "OffsetPoint",
    "Status",
    "Verdict",
    "evaluate_group",
    "evaluate_partition",
    "lag_from_record_timestamp",
    "record_log_end",
    "time_lag",
]

NOT_ENOUGH = "not enough observations"


class Status(StrEnum):
    """Burrow's statuses: a partition gets any but ERR; a group gets OK, WARN or ERR."""

    OK = "OK"
    WARN = "WARN"
    ERR = "ERR"
    STOP = "STOP"
    STALL = "STALL"
    REWIND = "REWIND"


_ERRORS = frozenset({Status.ERR, Status.STOP, Status.STALL, Status.REWIND})


@dataclass(frozen=True)
class Observation:
    """One poll of one partition: the group's committed offset and the broker's log end."""

    at: float
    committed: int | None
    log_end: int

    @property
    def lag(self) -> int:
        """Messages waiting; never negative (the two offsets are read at slightly different
        times, so the committed offset can be seen past the log end)."""
        return max(0, self.log_end - (self.committed or 0))


@dataclass(frozen=True)
class Verdict:
    """A partition's status, its lag now, and one sentence an operator can act on."""

    status: Status
    lag: int
    reason: str


def evaluate_partition(window: Sequence[Observation], now: float, allowed_lag: int = 0,
                       min_observations: int = 2) -> Verdict:
    """Burrow's verdict on one partition from a window of polled observations.

    ``allowed_lag`` is Burrow's ``allowedLag``: a lag up to it counts as none (Faust and
    transactional producers leave a permanent lag of 1). The window should span several of
    the consumer's commit intervals, or a healthy consumer that commits rarely reads as STOP.
    """
    observations = sorted(window, key=lambda o: o.at)
    if not observations:
        return Verdict(Status.OK, 0, NOT_ENOUGH)
    last = observations[-1]
    lag = last.lag
    # Burrow rule 1: no lag now (within allowedLag) is OK, whatever the window says.
    if lag <= allowed_lag:
        return Verdict(Status.OK, lag, _caught_up(lag))
    if len(observations) < min_observations:
        return Verdict(Status.OK, lag, NOT_ENOUGH)

    committed = [o.committed or 0 for o in observations]
    # Polling sees a commit at the first observation showing its offset: walk back over the
    # trailing run of equal offsets to find when the committed offset last changed.
    start = len(observations) - 1
    while start > 0 and committed[start - 1] == committed[start]:
        start -= 1
    changed_at = observations[start].at
    silent = now - changed_at

    # Burrow rule 2 (STOP): no commit for longer than the window before it, unless the log end
    # was recently at or below the committed offset (an idle topic is not a stopped consumer).
    recently_idle = any(o.log_end - committed[-1] <= allowed_lag for o in observations)
    if silent > changed_at - observations[0].at and not recently_idle:
        # A change before the window is only known to be at least as old as the window.
        since = f"at least {_duration(silent)}" if start == 0 else _duration(silent)
        return Verdict(Status.STOP, lag, f"no commit for {since} while {_waiting(lag)}")

    # Burrow rule 3: lag was zero (within allowedLag) somewhere in the window, so OK.
    caught_up = [o for o in observations if o.lag <= allowed_lag]
    if caught_up:
        return Verdict(Status.OK, lag, f"{_waiting(lag)}, but the consumer was caught up "
                                       f"{_duration(now - caught_up[-1].at)} ago")

    # Burrow rule 4 (REWIND): a committed offset went backwards.
    for before, after in pairwise(committed):
        if after < before:
            return Verdict(Status.REWIND, lag,
                           f"committed offset went back from {before:,} to {after:,}")

    # Burrow rule 5 (STALL): every committed offset in the window is the same, with lag.
    if start == 0:
        return Verdict(Status.STALL, lag, f"committed offset stuck at {committed[-1]:,} "
                                          f"through the window while {_waiting(lag)}")

    # Burrow rule 6 (WARN): lag never went down between observations (and did go up).
    lags = [o.lag for o in observations]
    if all(after >= before for before, after in pairwise(lags)) and lags[-1] > lags[0]:
        return Verdict(Status.WARN, lag,
                       f"lag grew from {lags[0]:,} to {lags[-1]:,} and never went down")

    # Burrow rule 7: committing, and lag came down at some point: OK.
    return Verdict(Status.OK, lag, f"consumer is moving; {_waiting(lag)}")


def evaluate_group(verdicts: Mapping[tuple[str, int], Verdict]) -> Status:
    """A group is its worst partition, with STOP, STALL and REWIND shown as ERR (Burrow)."""
    statuses = {v.status for v in verdicts.values()}
    if statuses & _ERRORS:
        return Status.ERR
    if Status.WARN in statuses:
        return Status.WARN
    return Status.OK


@dataclass(frozen=True)
class OffsetPoint:
    """A partition's log-end offset at a time: one row of the time-lag lookup table."""

    offset: int
    at: float


def record_log_end(table: tuple[OffsetPoint, ...], point: OffsetPoint,
                   max_points: int = 60) -> tuple[OffsetPoint, ...]:
    """The lookup table with ``point`` added, as kafka-lag-exporter keeps it.

    A flat stretch keeps only its first and last points, so quiet hours do not push the
    history out of the table. A log end never goes down: if it does, the topic was recreated
    and the old history means nothing, so the table starts again. A point not newer than the
    newest one (a repeated or out-of-order poll) is ignored.
    """
    if max_points < 2:
        raise ValueError("max_points must be at least 2: time lag needs two points")
    if not table:
        return (point,)
    newest = table[-1]
    if point.at <= newest.at:
        return table
    if point.offset < newest.offset:
        return (point,)
    if len(table) >= 2 and table[-2].offset == newest.offset == point.offset:
        points = (*table[:-1], point)
    else:
        points = (*table, point)
    return points[-max_points:]


def time_lag(table: Sequence[OffsetPoint], committed: int, now: float) -> float | None:
    """Seconds since the log end passed ``committed``: how old the next record to consume is.

    Interpolated between the two table points around ``committed``; below the oldest point,
    extrapolated from the oldest rate known. ``None`` with fewer than two points: better to
    say so than to guess.
    """
    if len(table) < 2:
        return None
    first, newest = table[0], table[-1]
    if committed >= newest.offset:
        return 0.0
    if committed < first.offset:
        # Extrapolate back from the oldest point at the first rate the table shows (the first
        # two points, or the first rise after a flat start).
        rising = next(((a, b) for a, b in pairwise(table) if b.offset > a.offset), None)
        if rising is None:
            # The log end never moved within the table: the record is at least this old.
            return max(0.0, now - first.at)
        left, right = rising
        per_offset = (right.at - left.at) / (right.offset - left.offset)
        return max(0.0, now - (first.at - (first.offset - committed) * per_offset))
    for left, right in pairwise(table):
        if left.offset <= committed < right.offset:
            fraction = (committed - left.offset) / (right.offset - left.offset)
            return max(0.0, now - (left.at + fraction * (right.at - left.at)))
    return None  # only for a table whose offsets go down, which record_log_end never builds


def lag_from_record_timestamp(next_record_timestamp: float | None, now: float) -> float:
    """Time lag from the timestamp (seconds) of the record at the committed offset.

    Exact where interpolation is an estimate. ``None`` means no record waits, so no lag; a
    timestamp after ``now`` (producer clock skew) counts as no lag rather than a negative one.
    """
    if next_record_timestamp is None:
        return 0.0
    return max(0.0, now - next_record_timestamp)


def _caught_up(lag: int) -> str:
    if lag == 0:
        return "caught up"
    return f"lag {lag:,} is within the allowed lag"


def _waiting(lag: int) -> str:
    return "1 message waits" if lag == 1 else f"{lag:,} messages wait"


def _duration(seconds: float) -> str:
    if seconds < 600:
        return f"{seconds:,.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:,.0f} min"
    return f"{seconds / 3600:,.1f} h"
