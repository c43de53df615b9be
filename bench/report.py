"""docs/BENCHMARKS.md: when, on what, with which command, and the tables."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Table


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


def load_note(share: float) -> str:
    """What other processes took of the machine while something was measured."""
    text = f"Other processes on the machine took {share:.0%} of its CPU meanwhile"
    if share > 0.05:
        text += " — **the machine was not idle: figures may be low; rerun on a quiet machine**"
    return text + "."


def other_sections(old: str) -> str:
    """What an earlier report holds under top-level headings other than the first (sections
    that other benchmarks wrote): kept when the report is written again."""
    lines = old.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("# ")]
    return "".join(lines[starts[1]:]) if len(starts) > 1 else ""


def render(tables: list[Table], kafka_version: str, command: str, started: datetime,
           elapsed_s: float, extra: list[str], load: float) -> str:
    facts = [
        ("Date", started.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("Command", f"`{command}`"),
        ("Duration of the run", f"{elapsed_s / 60:.1f} min"),
        ("CPUs (nproc)", str(os.cpu_count())),
        ("CPU model", cpu_model()),
        ("Memory", memory_gib()),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", sys.version.split()[0]),
        ("Kafka", f"Apache Kafka {kafka_version}, embedded single node (KRaft), heap 1 GiB, "
                  "on this machine"),
        ("Load from other processes", load_note(load)),
    ]
    parts = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`) down to the next top-level heading; do "
        "not edit that part by hand, rerun instead (sections under later top-level "
        "headings are kept). "
        "Every straum figure stands beside a baseline of raw aiokafka clients measured in "
        "the same run, on the same broker and machine, with the same records. Broker, "
        "straum processes and the benchmark's own clients share the machine's CPUs.",
        "",
        "| Fact | Value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in facts],
        "",
    ]
    parts += [t.markdown() for t in tables]
    parts += extra
    return "\n".join(parts).rstrip() + "\n"
