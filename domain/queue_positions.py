"""Poll and acknowledge semantics of an actor queue, as pure decisions on offsets.

A queue is a log; the hub keeps, per queue, the acknowledged offset and at most one open poll
[from, to). Polling with an open poll returns it again (same pollId, same messages) until it is
acknowledged; acknowledging moves the position to its end. Acknowledging one of the last few
acknowledged polls again is harmless; any other id is unknown (404), which also covers another
actor's ids.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal


@dataclass(frozen=True)
class QueuePosition:
    acked_offset: int = 0
    poll_id: str | None = None
    poll_from: int = 0
    poll_to: int = 0
    last_acked_poll_id: str | None = None
    recently_acked: tuple[str, ...] = ()


@dataclass(frozen=True)
class RepeatPoll:
    """Answer the open poll again."""

    poll_id: str
    start: int
    end: int


@dataclass(frozen=True)
class NewPoll:
    """Open a new poll with up to ``max_messages`` records of [start, end): offsets are not
    contiguous (transaction markers take some), so the poll ends after the last record read."""

    start: int
    end: int
    max_messages: int


@dataclass(frozen=True)
class Empty:
    """Nothing to deliver: 204."""


PollDecision = RepeatPoll | NewPoll | Empty
AckResult = Literal["acknowledged", "already_acknowledged", "unknown"]

#: Acknowledged polls remembered per queue: a client that acknowledges a poll again after
#: others were opened and acknowledged (a retry, a second poller) is told it is done.
REMEMBERED_ACKS = 16


def decide_poll(position: QueuePosition, log_start: int, log_end: int,
                max_messages: int) -> PollDecision:
    """What a poll returns, given the queue log's first and next offsets."""
    if position.poll_id is not None and position.poll_to > max(position.poll_from, log_start):
        return RepeatPoll(position.poll_id, max(position.poll_from, log_start), position.poll_to)
    start = max(position.acked_offset, log_start)
    if start >= log_end:
        return Empty()
    return NewPoll(start, log_end, max_messages)


def open_poll(position: QueuePosition, poll_id: str, start: int, end: int) -> QueuePosition:
    return replace(position, poll_id=poll_id, poll_from=start, poll_to=end)


def acknowledge(position: QueuePosition, poll_id: str) -> tuple[QueuePosition, AckResult]:
    """The position after acknowledging ``poll_id``, and what the caller is told."""
    if position.poll_id == poll_id:
        recent = (poll_id, *(p for p in position.recently_acked if p != poll_id))
        return (QueuePosition(acked_offset=max(position.acked_offset, position.poll_to),
                              last_acked_poll_id=poll_id,
                              recently_acked=recent[:REMEMBERED_ACKS]), "acknowledged")
    if position.last_acked_poll_id == poll_id or poll_id in position.recently_acked:
        return position, "already_acknowledged"
    return position, "unknown"


def depth(position: QueuePosition, log_start: int, log_end: int) -> int:
    """Messages not yet acknowledged."""
    return max(0, log_end - max(position.acked_offset, log_start))
