"""The /ops page's history: samples thinned for a chart without losing the worst moments,
and alert events paired into the periods each alert fired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.ops_history import Sample, thin, timeline

T0 = datetime(2026, 1, 20, 8, 0, tzinfo=UTC)


def sample(minute: int, lag: int = 0, up: bool = True, rate: float = 10.0,
           eta: float | None = None) -> Sample:
    return Sample(T0 + timedelta(minutes=minute), lag, float(lag) if lag else None, rate, rate,
                  eta, minute, 0, up, 0)


def test_few_samples_are_kept_as_they_are() -> None:
    samples = [sample(m) for m in (2, 0, 1)]
    kept, step = thin(samples, T0, T0 + timedelta(hours=1), 720)
    assert [s.at for s in kept] == [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]
    assert step == timedelta(seconds=5)


def test_many_samples_are_merged_keeping_the_worst() -> None:
    samples = [sample(m, lag=500 if m == 7 else 1, up=m != 8, rate=float(m),
                      eta=30.0 if m == 9 else None) for m in range(60)]
    kept, step = thin(samples, T0, T0 + timedelta(hours=1), 6)
    assert step == timedelta(minutes=10) and len(kept) == 6
    first = kept[0]
    assert (first.lag_messages, first.max_lag_seconds) == (500, 500.0)
    assert first.forwarding_up is False and first.catch_up_eta_seconds == 30.0
    assert first.in_per_second == sum(range(10)) / 10
    assert first.dead_letters == 9  # the last count of the step
    assert all(k.lag_messages == 1 for k in kept[1:])


def test_samples_outside_the_window_are_left_out() -> None:
    kept, _ = thin([sample(-5), sample(5), sample(70)], T0, T0 + timedelta(hours=1), 10)
    assert [s.at for s in kept] == [T0 + timedelta(minutes=5)]


def event(alert: str, state: str, minute: int, fired: int) -> dict[str, Any]:
    return {"id": alert, "name": alert.split(":")[0], "severity": "critical", "state": state,
            "at": T0 + timedelta(minutes=minute), "firedAt": T0 + timedelta(minutes=fired),
            "summary": "s", "runbook": "https://runbook#x"}


def test_events_become_periods_of_firing() -> None:
    events = [event("ForwardingStopped:a:0", "firing", 5, 5),
              event("DeadLetters", "firing", 6, 6),
              event("ForwardingStopped:a:0", "resolved", 9, 5),
              event("ForwardingStopped:a:0", "firing", 20, 20)]
    periods = timeline(events, T0, T0 + timedelta(hours=1))
    assert [(p.id, p.start.minute, p.end.minute if p.end else None) for p in periods] == [
        ("ForwardingStopped:a:0", 5, 9), ("DeadLetters", 6, None),
        ("ForwardingStopped:a:0", 20, None)]


def test_a_period_that_began_before_the_window_is_whole() -> None:
    events = [event("DeadLetters", "resolved", 15, -30)]  # its firing event is not read
    [period] = timeline(events, T0, T0 + timedelta(hours=1))
    assert period.start == T0 - timedelta(minutes=30) and period.end == T0 + timedelta(minutes=15)
    assert timeline([event("X", "resolved", -10, -20)], T0, T0 + timedelta(hours=1)) == []
