"""The /ops page's history: the monitor's samples thinned to what a chart can show, and alert
events paired into the periods each alert fired.

Pure: the API reads the samples and events from Kafka and hands them here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Sample:
    """One sample interval of the monitor (Avro ``OpsSample``)."""

    at: datetime
    lag_messages: int
    max_lag_seconds: float | None
    in_per_second: float
    processed_per_second: float
    catch_up_eta_seconds: float | None
    dead_letters: int
    firing_alerts: int
    forwarding_up: bool
    queue_messages: int = 0


def _max(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def merge(samples: list[Sample]) -> Sample:
    """Several samples as one: the worst lag and catch-up time, the mean rates, the last
    counts, down if forwarding was down in any of them."""
    return Sample(
        at=samples[0].at,
        lag_messages=max(s.lag_messages for s in samples),
        max_lag_seconds=_max([s.max_lag_seconds for s in samples]),
        in_per_second=sum(s.in_per_second for s in samples) / len(samples),
        processed_per_second=sum(s.processed_per_second for s in samples) / len(samples),
        catch_up_eta_seconds=_max([s.catch_up_eta_seconds for s in samples]),
        dead_letters=samples[-1].dead_letters,
        firing_alerts=max(s.firing_alerts for s in samples),
        forwarding_up=all(s.forwarding_up for s in samples),
        queue_messages=samples[-1].queue_messages)


def thin(samples: list[Sample], start: datetime, end: datetime, max_points: int
         ) -> tuple[list[Sample], timedelta]:
    """At most ``max_points`` samples for [start, end): the samples merged per step of the
    period (a step no shorter than needed), in time order; and the step."""
    span = end - start
    step = span / max(1, max_points)
    ordered = sorted((s for s in samples if start <= s.at < end), key=lambda s: s.at)
    if len(ordered) <= max_points:
        return ordered, step
    buckets: dict[int, list[Sample]] = {}
    for sample in ordered:
        buckets.setdefault(int((sample.at - start) / step), []).append(sample)
    return [merge(bucket) for _, bucket in sorted(buckets.items())], step


@dataclass(frozen=True)
class Firing:
    """One period an alert fired: ``end`` None while it still fires."""

    id: str
    name: str
    severity: str
    start: datetime
    end: datetime | None
    summary: str
    runbook: str


def timeline(events: Sequence[Mapping[str, Any]], start: datetime, end: datetime) -> list[Firing]:
    """The periods alerts fired that overlap [start, end), from firing/resolved events in
    time order (an event's ``firedAt`` says when its period began, so a period that began
    before ``start`` is still whole)."""
    open_: dict[str, Firing] = {}
    periods: list[Firing] = []
    for event in sorted(events, key=lambda e: e["at"]):
        if event["state"] == "firing":
            open_[event["id"]] = Firing(event["id"], event["name"], event["severity"],
                                        event["firedAt"], None, event["summary"],
                                        event["runbook"])
        else:
            began = open_.pop(event["id"], None)
            periods.append(Firing(event["id"], event["name"], event["severity"],
                                  began.start if began else event["firedAt"], event["at"],
                                  event["summary"], event["runbook"]))
    periods += open_.values()
    return sorted((p for p in periods if p.start < end and (p.end is None or p.end > start)),
                  key=lambda p: (p.start, p.id))
