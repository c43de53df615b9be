"""What one master-data document does to a metering point."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.messages import Outbound, Reason
from domain.metering_point import MeteringPoint


@dataclass(frozen=True)
class Outcome:
    """What one master-data document does: the new state (None: unchanged) and messages."""

    state: MeteringPoint | None
    reasons: list[Reason]
    messages: list[Outbound] = field(default_factory=list)
