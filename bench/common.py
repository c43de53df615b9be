"""What every benchmark shares: the run's broker, fresh straum settings, result tables."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from schemas.settings import Settings

console = Console(stderr=True)
PARTITIONS = 6


@dataclass(frozen=True)
class Run:
    """One ``python -m bench`` run: its broker, scratch directory and sizes."""

    bootstrap: str
    broker_pid: int
    root: Path
    series: int
    quick: bool

    def settings(self, name: str) -> Settings:
        """Settings of a fresh straum: own topic prefix (= consumer group) and data dir."""
        prefix = f"bench{name}{uuid.uuid4().hex[:6]}"
        data_dir = self.root / prefix
        data_dir.mkdir(parents=True)
        return Settings(kafka_bootstrap=self.bootstrap, data_dir=data_dir, topic_prefix=prefix,
                        partitions=PARTITIONS, log_level="INFO")


@dataclass
class Table:
    """One benchmark's figures as a Markdown table, with notes under it; under a heading of
    ``level`` unless the title is empty."""

    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    level: int = 2

    def markdown(self) -> str:
        lines = ["#" * self.level + f" {self.title}", ""] if self.title else []
        lines += ["| " + " | ".join(self.headers) + " |",
                  "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.headers)))
                  + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def progress() -> Progress:
    return Progress(TextColumn("{task.description:<44}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def num(value: float, digits: int = 0) -> str:
    """A figure for a table: thousands separated, NaN as a dash."""
    if math.isnan(value):
        return "–"
    return f"{value:,.{digits}f}"
