"""A replay job (Avro ``ReplayJob``, keyed by job id): what an operator asked to send again,
and how far it got, so a job survives a restart of the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from domain.replay import ReplayScope
from streams.serialisation import REPLAY_JOB, codec


@dataclass
class Job:
    """A replay's checkpoint and audit record (Avro ``ReplayJob``)."""

    id: str
    kind: str
    operator: str
    scope: ReplayScope
    status: str = "running"
    rate: float = 0.0
    positions: dict[int, tuple[int, int]] = field(default_factory=dict)  # partition: next, end
    planned_series: int = 0
    planned_messages: int = 0
    sent_series: int = 0
    sent_messages: int = 0
    note: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_record(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "operator": self.operator,
                "status": self.status, "createdAt": self.created_at,
                "updatedAt": datetime.now(UTC), "start": self.scope.start,
                "end": self.scope.end, "by": self.scope.by,
                "meteringPoints": sorted(self.scope.points),
                "gridAreas": sorted(self.scope.grid_areas),
                "recipients": sorted(self.scope.recipients), "rate": self.rate,
                "positions": [{"partition": p, "next": n, "end": e}
                              for p, (n, e) in sorted(self.positions.items())],
                "plannedSeries": self.planned_series, "plannedMessages": self.planned_messages,
                "sentSeries": self.sent_series, "sentMessages": self.sent_messages,
                "note": self.note}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> Job:
        scope = ReplayScope(r["start"], r["end"], r["by"], frozenset(r["meteringPoints"]),
                            frozenset(r["gridAreas"]), frozenset(r["recipients"]))
        return cls(r["id"], r["kind"], r["operator"], scope, r["status"], r["rate"],
                   {p["partition"]: (p["next"], p["end"]) for p in r["positions"]},
                   r["plannedSeries"], r["plannedMessages"], r["sentSeries"],
                   r["sentMessages"], r["note"], r["createdAt"])


def encode(job: Job) -> bytes:
    return codec(REPLAY_JOB).encode(job.to_record())


def decode(raw: bytes | None) -> Job:
    return Job.from_record(codec(REPLAY_JOB).decode(raw))
