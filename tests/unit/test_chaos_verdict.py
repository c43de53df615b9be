"""The chaos run's bookkeeping: which partitions a fault stalled, for how long, and which never
came back; and how a queue record's message id is read without parsing it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import orjson

from bench.chaos import Fault, Sent, State, partition_of
from bench.tally import message_id
from domain.messages import acknowledgement
from streams.records import queue_message

T0 = 1_000_000.0


@dataclass(frozen=True)
class Point:
    gsrn: str


def points_by_partition() -> dict[int, str]:
    """One metering point id per intake partition."""
    found: dict[int, str] = {}
    n = 0
    while len(found) < 6:
        point = f"7070575000{n:08d}"
        found.setdefault(partition_of(point), point)
        n += 1
    return found


def state_with(moments: dict[int, list[float]]) -> State:
    """Processing moments per partition (registered = created for simplicity)."""
    state = State(supply_start=date(2026, 1, 1), started=T0)
    for partition, times in moments.items():
        state.timings += [(t, t, partition) for t in times]
    return state


def steady(start: float, end: float, every: float = 0.2) -> list[float]:
    out, t = [], start
    while t < end:
        out.append(round(t, 3))
        t += every
    return out


def test_a_kill_is_recovered_when_the_last_stalled_partition_resumes() -> None:
    # partitions 0-2 keep going; 3-5 stop at T0+10 (the kill) and resume at T0+17.5
    moments = {p: steady(T0, T0 + 30) for p in range(3)}
    moments |= {p: steady(T0, T0 + 10) + steady(T0 + 17.5, T0 + 30) for p in range(3, 6)}
    fault = Fault("worker-kill", "kill", injected_at=T0 + 10.05, lifted_at=T0 + 13)
    resumed = state_with(moments).resumed(fault)
    assert resumed is not None
    assert round(resumed - fault.injected_at, 2) == 7.45


def test_no_partition_pausing_a_second_is_no_stall() -> None:
    moments = {p: steady(T0, T0 + 30) for p in range(6)}
    fault = Fault("api-kill", "api", injected_at=T0 + 10, lifted_at=T0 + 20)
    assert state_with(moments).resumed(fault) is None


def test_a_partition_sent_series_that_never_come_through_has_not_resumed() -> None:
    points = points_by_partition()
    state = state_with({p: steady(T0, T0 + 30) for p in range(6) if p != 2})
    for i, partition in enumerate((1, 2)):
        state.sent[f"tx{i}"] = Sent(f"tx{i}", Point(points[partition]),  # type: ignore[arg-type]
                                    date(2026, 1, 2), 96, T0 + 20, {("tx", "gln"): "id"},
                                    "accepted")
    assert state.stalled(T0 + 15) == [2]
    assert state.stalled(T0 + 25) == []  # nothing sent to it since


def test_the_message_id_is_read_from_the_start_of_the_stored_json() -> None:
    message = acknowledgement(original_message_id="m-1", original_document_type="X",
                              sender="7080000000000", reasons=[],
                              created_at=datetime(2026, 1, 1, tzinfo=UTC))
    value = queue_message.render(message)
    assert message_id(value) == orjson.loads(value)["messageId"] == message.message_id
    assert message_id(b"\xc3\x01avro") == ""
