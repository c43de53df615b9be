"""Poll and acknowledge semantics of an actor queue (domain.queue_positions).

What a market actor relies on: until it acknowledges, polling again hands out the same pollId and
the same messages; an acknowledgement moves on past exactly those messages; acknowledging twice
is harmless; an id it never got is unknown. Over any sequence of operations every message is
delivered, in order, none skipped: at-least-once, no loss, order kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.queue_positions import (
    REMEMBERED_ACKS,
    Empty,
    NewPoll,
    QueuePosition,
    RepeatPoll,
    acknowledge,
    decide_poll,
    depth,
    open_poll,
)

# --- polling -------------------------------------------------------------------------------


def test_empty_queue_answers_empty() -> None:
    assert decide_poll(QueuePosition(), 0, 0, 100) == Empty()


def test_first_poll_opens_a_new_poll_from_the_start() -> None:
    assert decide_poll(QueuePosition(), 0, 5, 100) == NewPoll(0, 5, 100)


def test_new_poll_reads_at_most_max_messages() -> None:
    assert decide_poll(QueuePosition(), 0, 500, 100) == NewPoll(0, 500, 100)
    assert decide_poll(QueuePosition(), 0, 500, 1) == NewPoll(0, 500, 1)


def test_poll_after_everything_is_acknowledged_answers_empty() -> None:
    assert decide_poll(QueuePosition(acked_offset=5, last_acked_poll_id="p1"), 0, 5, 100) == Empty()


def test_poll_continues_after_the_acknowledged_offset() -> None:
    position = QueuePosition(acked_offset=5, last_acked_poll_id="p1")
    assert decide_poll(position, 0, 12, 100) == NewPoll(5, 12, 100)


def test_unacknowledged_poll_is_repeated_with_same_id_and_range() -> None:
    position = open_poll(QueuePosition(), "p1", 0, 3)
    assert decide_poll(position, 0, 3, 100) == RepeatPoll("p1", 0, 3)
    assert decide_poll(position, 0, 3, 100) == RepeatPoll("p1", 0, 3)


def test_repeat_is_unchanged_when_more_messages_arrived() -> None:
    position = open_poll(QueuePosition(), "p1", 0, 3)
    assert decide_poll(position, 0, 50, 100) == RepeatPoll("p1", 0, 3)


def test_repeat_is_unchanged_by_a_different_max() -> None:
    position = open_poll(QueuePosition(), "p1", 0, 10)
    assert decide_poll(position, 0, 10, 2) == RepeatPoll("p1", 0, 10)
    assert decide_poll(position, 0, 50, 500) == RepeatPoll("p1", 0, 10)


# --- acknowledging -------------------------------------------------------------------------


def test_acknowledge_moves_the_acked_offset_to_the_poll_end() -> None:
    position = open_poll(QueuePosition(acked_offset=4, last_acked_poll_id="p0"), "p1", 4, 9)

    after, result = acknowledge(position, "p1")

    assert result == "acknowledged"
    assert after.acked_offset == 9
    assert after.poll_id is None
    assert after.last_acked_poll_id == "p1"
    assert decide_poll(after, 0, 9, 100) == Empty()
    assert decide_poll(after, 0, 15, 100) == NewPoll(9, 15, 100)


def test_second_acknowledgement_is_harmless_and_changes_nothing() -> None:
    after, _ = acknowledge(open_poll(QueuePosition(), "p1", 0, 5), "p1")

    again, result = acknowledge(after, "p1")

    assert result == "already_acknowledged"
    assert again == after


def test_late_repeat_of_an_acknowledgement_does_not_touch_the_next_open_poll() -> None:
    after, _ = acknowledge(open_poll(QueuePosition(), "p1", 0, 5), "p1")
    with_next = open_poll(after, "p2", 5, 8)

    again, result = acknowledge(with_next, "p1")

    assert result == "already_acknowledged"
    assert again == with_next
    assert decide_poll(again, 0, 8, 100) == RepeatPoll("p2", 5, 8)


def test_unknown_poll_id_changes_nothing() -> None:
    position = open_poll(QueuePosition(acked_offset=2, last_acked_poll_id="p0"), "p1", 2, 5)
    for stranger in ("nope", "", "P1", "p2"):
        after, result = acknowledge(position, stranger)
        assert result == "unknown"
        assert after == position
    fresh, result = acknowledge(QueuePosition(), "p1")
    assert (fresh, result) == (QueuePosition(), "unknown")


def test_acknowledging_without_an_open_poll_is_unknown_for_new_ids() -> None:
    position = QueuePosition(acked_offset=5, last_acked_poll_id="p1")
    assert acknowledge(position, "p2") == (position, "unknown")


# --- retention and depth -------------------------------------------------------------------


def test_poll_starts_at_log_start_when_retention_passed_the_acked_offset() -> None:
    position = QueuePosition(acked_offset=3, last_acked_poll_id="p1")
    assert decide_poll(position, 10, 20, 100) == NewPoll(10, 20, 100)
    assert decide_poll(position, 10, 20, 4) == NewPoll(10, 20, 4)
    assert decide_poll(position, 20, 20, 100) == Empty()


def test_repeat_skips_what_retention_removed_from_the_open_poll() -> None:
    position = open_poll(QueuePosition(), "p1", 0, 10)
    assert decide_poll(position, 4, 10, 100) == RepeatPoll("p1", 4, 10)


def test_open_poll_removed_entirely_by_retention_gives_way_to_a_new_poll() -> None:
    position = open_poll(QueuePosition(), "p1", 0, 10)
    assert decide_poll(position, 10, 15, 100) == NewPoll(10, 15, 100)
    assert decide_poll(position, 12, 12, 100) == Empty()


def test_depth_counts_unacknowledged_messages() -> None:
    assert depth(QueuePosition(), 0, 0) == 0
    assert depth(QueuePosition(), 0, 7) == 7
    # An open poll is still unacknowledged.
    assert depth(open_poll(QueuePosition(), "p1", 0, 5), 0, 7) == 7
    assert depth(QueuePosition(acked_offset=5), 0, 7) == 2
    assert depth(QueuePosition(acked_offset=7), 0, 7) == 0
    # Retention: messages before the log start are gone, not pending.
    assert depth(QueuePosition(acked_offset=3), 10, 25) == 15
    assert depth(QueuePosition(acked_offset=30), 10, 25) == 0


# --- properties ----------------------------------------------------------------------------


@dataclass
class OpenPoll:
    poll_id: str
    start: int
    end: int


class QueueMachine(RuleBasedStateMachine):
    """An actor polling a queue the hub appends to, sometimes acknowledging with the right id,
    sometimes with a stale or foreign one, while retention may trim the log.

    The model tracks what the actor has seen and stored; after every step the messages stored
    through acknowledged polls are exactly the log from 0 up to the acked offset, in order, except
    for offsets retention removed before anyone could deliver them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.position = QueuePosition()
        self.log_start = 0
        self.log_end = 0
        self.next_poll = 0
        self.issued: list[str] = []
        self.open: OpenPoll | None = None
        self.last_acked: str | None = None
        self.acked: list[str] = []  # every poll acknowledged, oldest first
        self.last_answer: tuple[str, int, int] | None = None
        self.stored: list[int] = []  # offsets the actor stored, poll by acknowledged poll

    @rule(k=st.integers(min_value=0, max_value=6))
    def append(self, k: int) -> None:
        self.log_end += k

    @rule(n=st.integers(min_value=1, max_value=4))
    def retention(self, n: int) -> None:
        self.log_start = min(self.log_end, self.log_start + n)

    @rule(m=st.integers(min_value=1, max_value=5))
    def poll(self, m: int) -> None:
        decision = decide_poll(self.position, self.log_start, self.log_end, m)
        begin = max(self.position.acked_offset, self.log_start)
        open_alive = self.open is not None and self.open.end > self.log_start
        if isinstance(decision, Empty):
            assert not open_alive
            assert begin >= self.log_end
            self.last_answer = None
        elif isinstance(decision, RepeatPoll):
            assert self.open is not None and open_alive
            assert decision.poll_id == self.open.poll_id
            assert decision.end == self.open.end
            assert decision.start == max(self.open.start, self.log_start)
            self.last_answer = (decision.poll_id, decision.start, decision.end)
        else:
            assert isinstance(decision, NewPoll)
            assert not open_alive  # never a second poll while one is still deliverable
            assert decision.start == begin
            assert decision.end == self.log_end and decision.max_messages == m
            assert decision.start < decision.end
            end = min(self.log_end, begin + m)  # the model's offsets are all records
            poll_id = f"poll-{self.next_poll}"
            self.next_poll += 1
            self.issued.append(poll_id)
            self.position = open_poll(self.position, poll_id, decision.start, end)
            self.open = OpenPoll(poll_id, decision.start, end)
            self.last_answer = (poll_id, decision.start, end)

    @precondition(lambda self: self.last_answer is not None)
    @rule()
    def acknowledge_last_answer(self) -> None:
        """The well-behaved actor: store what the last poll returned, then acknowledge it."""
        assert self.last_answer is not None
        poll_id, start, end = self.last_answer
        before = self.position
        after, result = acknowledge(self.position, poll_id)
        assert result == "acknowledged"
        assert after.acked_offset == end
        assert after.acked_offset >= before.acked_offset
        self.stored.extend(range(start, end))
        self.position = after
        self.open = None
        self.last_acked = poll_id
        self.acked.append(poll_id)
        self.last_answer = None

    @rule(data=st.data())
    def acknowledge_some_id(self, data: st.DataObject) -> None:
        """A retry, a stale id, a typo, or another actor's id."""
        poll_id = data.draw(st.sampled_from([*self.issued, "foreign", "", "poll-x"]))
        before = self.position
        after, result = acknowledge(self.position, poll_id)
        if self.open is not None and poll_id == self.open.poll_id:
            assert result == "acknowledged"
            assert after.acked_offset == self.open.end
            # The actor acknowledges only what it stored: everything of the poll still in the log.
            self.stored.extend(range(max(self.open.start, self.log_start), self.open.end))
            self.position = after
            self.open = None
            self.last_acked = poll_id
            self.acked.append(poll_id)
            self.last_answer = None
        elif poll_id == self.last_acked or poll_id in self.acked[-REMEMBERED_ACKS:]:
            assert result == "already_acknowledged"
            assert after == before
        else:
            assert result == "unknown"
            assert after == before

    @invariant()
    def nothing_lost_nothing_reordered(self) -> None:
        acked = self.position.acked_offset
        assert self.stored == sorted(set(self.stored)), "out of order or delivered twice"
        assert all(offset < acked for offset in self.stored)
        missing = set(range(acked)) - set(self.stored)
        assert all(offset < self.log_start for offset in missing), "skipped a retained message"
        if self.log_start == 0:
            assert self.stored == list(range(acked))

    @invariant()
    def depth_is_what_remains(self) -> None:
        expected = max(0, self.log_end - max(self.position.acked_offset, self.log_start))
        assert depth(self.position, self.log_start, self.log_end) == expected
        assert self.position.acked_offset <= self.log_end


QueueMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=40,
                                          deadline=None)
TestQueueMachine = QueueMachine.TestCase


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(min_value=0, max_value=8)),
        st.tuples(st.just("poll"), st.integers(min_value=1, max_value=6)),
        st.tuples(st.just("ack"), st.just(0)),
        st.tuples(st.just("ack_random"), st.integers(min_value=0, max_value=20)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(OPERATIONS)
def test_any_sequence_delivers_every_offset_once_acknowledged_and_in_order(
    operations: list[tuple[str, int]],
) -> None:
    """Concatenating newly acknowledged polls gives range(0, acked), whatever the order of
    appends, polls (with any max), correct acknowledgements and random ones."""
    position = QueuePosition()
    log_end = 0
    issued: list[str] = []
    answered: tuple[str, int, int] | None = None
    delivered: list[int] = []
    for op, arg in operations:
        if op == "append":
            log_end += arg
        elif op == "poll":
            decision = decide_poll(position, 0, log_end, arg)
            if isinstance(decision, NewPoll):
                poll_id = f"p{len(issued)}"
                issued.append(poll_id)
                position = open_poll(position, poll_id, decision.start, decision.end)
                answered = (poll_id, decision.start, decision.end)
            elif isinstance(decision, RepeatPoll):
                assert answered is not None
                assert (decision.poll_id, decision.start, decision.end) == answered
            else:
                assert answered is None
        elif op == "ack" and answered is not None:
            position, result = acknowledge(position, answered[0])
            assert result == "acknowledged"
            delivered.extend(range(answered[1], answered[2]))
            answered = None
        elif op == "ack_random":
            poll_id = issued[arg % len(issued)] if issued and arg < 15 else f"random-{arg}"
            before = position
            position, result = acknowledge(position, poll_id)
            if answered is not None and poll_id == answered[0]:
                assert result == "acknowledged"
                delivered.extend(range(answered[1], answered[2]))
                answered = None
            else:
                assert result in ("already_acknowledged", "unknown")
                assert position == before
        assert delivered == list(range(position.acked_offset))

    # Draining at the end delivers the rest, still in order.
    while not isinstance(decision := decide_poll(position, 0, log_end, 7), Empty):
        if isinstance(decision, NewPoll):
            poll_id = f"p{len(issued)}"
            issued.append(poll_id)
            position = open_poll(position, poll_id, decision.start, decision.end)
        else:
            poll_id = decision.poll_id
        delivered.extend(range(decision.start, decision.end))
        position, result = acknowledge(position, poll_id)
        assert result == "acknowledged"
    assert delivered == list(range(log_end))
    assert depth(position, 0, log_end) == 0


def test_a_poll_acknowledged_again_after_later_polls_is_harmless() -> None:
    """Two pollers of one queue: the slower one acknowledges a poll the other acknowledged
    before newer polls were opened and acknowledged; it is told the poll is done, and nothing
    moves back."""
    position = open_poll(QueuePosition(), "p1", 0, 5)
    position, _ = acknowledge(position, "p1")
    position, _ = acknowledge(open_poll(position, "p2", 5, 9), "p2")
    position = open_poll(position, "p3", 9, 12)
    again, result = acknowledge(position, "p1")
    assert (result, again) == ("already_acknowledged", position)
    assert acknowledge(position, "never-issued")[1] == "unknown"
