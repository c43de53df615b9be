"""Every Markdown file bench/ writes, written here: docs/BENCHMARKS.md (``python -m bench``),
bench/results/<name>.md (``python -m bench.<name>``) and the chaos sections of
docs/RELIABILITY.md (``python -m bench.chaos``).

A benchmark returns its figures (:class:`~bench.common.Table`, and paragraphs where a verdict
needs words); its entry point gathers them in a :class:`Section` with the facts of the run
(date, exact command, machine, Kafka, load from other processes) and :func:`write` puts the
section in its file, replacing only what that benchmark wrote before: the part between its
markers, or the file's first top-level part, so that sections other runs or people wrote stay.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Table

Fact = tuple[str, str]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return "unknown"


def python_version() -> str:
    return sys.version.split()[0]


def machine(compact: bool = False) -> list[Fact]:
    """The machine a run measured, one fact a line, or in one ``Machine`` line."""
    if compact:
        return [("Machine", f"{os.cpu_count()} CPUs ({cpu_model()}), {memory_gib()} memory, "
                            f"Python {python_version()}")]
    return [("CPUs (nproc)", str(os.cpu_count())), ("CPU model", cpu_model()),
            ("Memory", memory_gib()), ("OS", f"{platform.system()} {platform.release()}"),
            ("Python", python_version())]


def load_note(share: float) -> str:
    """What other processes took of the machine while something was measured."""
    text = f"Other processes on the machine took {share:.0%} of its CPU meanwhile"
    if share > 0.05:
        text += " — **the machine was not idle: figures may be low; rerun on a quiet machine**"
    return text + "."


def load_fact(share: float) -> Fact:
    return ("Load from other processes", load_note(share))


def embedded_kafka(version: str) -> str:
    return (f"Apache Kafka {version}, embedded single node (KRaft), heap 1 GiB, on this "
            "machine")


def run_facts(command: str, started: datetime, elapsed_s: float, kafka: str, *after: Fact,
              compact: bool = False) -> list[Fact]:
    """When, with which command, how long, on what machine and broker; then ``after``."""
    return [("Date", f"{started.astimezone(UTC):%Y-%m-%d %H:%M UTC}"),
            ("Command", f"`{command}`"),
            ("Duration of the run", f"{elapsed_s / 60:.1f} min"),
            *machine(compact), ("Kafka", kafka), *after]


@dataclass
class Section:
    """One run's Markdown: a heading, a paragraph, the run's facts, then tables and
    paragraphs (or pre-rendered Markdown), each block followed by a blank line; between
    ``markers`` (HTML comments) when it shares its file with others."""

    heading: str
    facts: list[Fact]
    intro: str = ""
    body: list[Table | str] = field(default_factory=list)
    markers: tuple[str, str] | None = None

    def markdown(self) -> str:
        parts = [self.heading, ""]
        if self.intro:
            parts += [self.intro, ""]
        parts += ["| Fact | Value |", "|---|---|", *[f"| {k} | {v} |" for k, v in self.facts],
                  ""]
        parts += [b.markdown() if isinstance(b, Table) else b.rstrip("\n") + "\n"
                  for b in self.body]
        text = "\n".join(parts).rstrip() + "\n"
        if self.markers is not None:
            begin, end = self.markers
            text = f"{begin}\n{text}\n{end}\n"
        return text


def other_sections(old: str) -> str:
    """What an earlier report holds under top-level headings other than the first (sections
    that other benchmarks wrote): kept when the report is written again."""
    lines = old.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("# ")]
    return "".join(lines[starts[1]:]) if len(starts) > 1 else ""


def between(old: str, text: str, begin: str, end: str) -> str:
    """``old`` with what stands between ``begin`` and ``end`` replaced by ``text`` (which
    carries the markers), or ``text`` added at the end when the markers are not there."""
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        _, tail = rest.split(end, 1)
        return head + text.rstrip("\n") + tail
    return old.rstrip("\n") + "\n\n" + text


def write(path: Path, section: Section, new_file: str = "") -> str:
    """Put ``section`` in ``path``: between its markers (a file that does not exist yet starts
    as ``new_file``), or else as the file's first top-level part, keeping later top-level
    sections. Returns the section's Markdown."""
    text = section.markdown()
    old = path.read_text() if path.exists() else None
    if section.markers is not None:
        whole = between(old if old is not None else new_file, text, *section.markers)
    else:
        kept = other_sections(old) if old is not None else ""
        whole = text + ("\n" + kept if kept else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(whole)
    return text
