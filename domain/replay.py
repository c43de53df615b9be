"""Replay of metering values: which stored series a replay covers, and what it sends again.

A replay re-sends what the hub forwarded, to the recipients of the time of the values (the
point's state keeps its history), with the message ids of the first delivery so actors can
de-duplicate, marked as replayed. Nothing here reads Kafka: the shell hands in stored series.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from domain.forwarding import NOTIFY_VALUES, forward_series
from domain.messages import Outbound
from domain.metering_point import MeteringPoint
from domain.versions import SeriesVersion, Verdict

By = Literal["value-time", "intake-time"]


@dataclass(frozen=True)
class ReplayScope:
    """What to replay: a time window by value or intake time, optionally narrowed."""

    start: datetime
    end: datetime
    by: By = "value-time"
    points: frozenset[str] = frozenset()
    grid_areas: frozenset[str] = frozenset()
    recipients: frozenset[str] = frozenset()

    def problems(self) -> list[str]:
        found = ["--to must be after --from"] if self.end <= self.start else []
        if not (2000 <= self.start.year <= 2100 and 2000 <= self.end.year <= 2100):
            found.append("the window must lie between the years 2000 and 2100")
        return found

    def covers(self, series: Mapping[str, Any], point: MeteringPoint | None) -> bool:
        """Whether a stored intake series falls in this scope."""
        if self.by == "intake-time":
            inside = self.start <= series["receivedAt"] < self.end
        else:
            inside = series["start"] < self.end and series["end"] > self.start
        if not inside:
            return False
        if self.points and series["meteringPointId"] not in self.points:
            return False
        return not self.grid_areas or (point is not None and point.grid_area in self.grid_areas)

    def overlaps(self, other: ReplayScope) -> bool:
        """Whether two replays could send the same series to the same actor: their windows
        meet (value and intake time compared as if alike, to be safe) and no narrowing keeps
        them apart."""
        if self.end <= other.start or other.end <= self.start:
            return False
        return all(not a or not b or bool(a & b) for a, b in (
            (self.points, other.points), (self.grid_areas, other.grid_areas),
            (self.recipients, other.recipients)))


def first_delivery_version(history: Sequence[SeriesVersion], transaction_id: str) -> int | None:
    """The version the series was first forwarded as, or None if it was never forwarded."""
    return next((v.version for v in history if v.transaction_id == transaction_id), None)


def replay_messages(point: MeteringPoint | None, series: Mapping[str, Any], version: int,
                    scope: ReplayScope, now: datetime) -> list[Outbound]:
    """The notifications a series gets again: same ids as the first time, marked replayed."""
    verdict = Verdict(duplicate=False, version=version)
    messages = [m for m in forward_series(point, series, now, verdict)
                if m.document_type == NOTIFY_VALUES]
    if scope.recipients:
        messages = [m for m in messages if m.recipient in scope.recipients]
    return [replace(m, replayed=True) for m in messages]


@dataclass
class ReplayPlan:
    """What a replay will send: counted before anything is sent (the dry run)."""

    series: int = 0
    not_forwarded_before: int = 0
    messages: int = 0
    per_recipient: Counter[str] = field(default_factory=Counter)

    def add(self, messages: Iterable[Outbound]) -> None:
        sent = list(messages)
        self.series += 1
        self.messages += len(sent)
        self.per_recipient.update(m.recipient for m in sent)
