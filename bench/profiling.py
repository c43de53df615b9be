"""Where the worker's CPU time goes: a cProfile file summarised by library and function."""

from __future__ import annotations

import pstats
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.common import Table, num

ROOT = Path(__file__).resolve().parent.parent
IDLE = ("<method 'poll' of 'select.epoll'", "<method 'poll' of 'select.poll'")


PARTS = (  # (marker in the file's path, label); the first that matches wins
    ("/streams/engine/", "straum engine (streams/engine)"),
    ("/streams/serialisation.py", "Avro (fastavro)"),
    ("/fastavro/", "Avro (fastavro)"),
    ("/processors/", "straum processors (processors/)"),
    ("/domain/", "domain rules (domain/)"),
    ("/streams/records/", "record encoding and queue JSON rendering (streams/records)"),
    ("/aiokafka/", "aiokafka (Kafka client)"),
    ("/kafka/", "aiokafka (Kafka client)"),
    ("/asyncio/", "asyncio event loop"),
    ("/structlog/", "logging (structlog)"),
    ("/logging/", "logging (structlog)"),
    ("/prometheus_client/", "metrics (prometheus_client)"),
)


def category(file: str, name: str) -> str | None:
    """The part of the stack a function belongs to; None for waiting on the event loop."""
    if file == "~":
        if name.startswith(IDLE):
            return None
        for marker, label in (("orjson", "orjson (JSON)"), ("fastavro", "Avro (fastavro)"),
                              ("aiokafka", "aiokafka (Kafka client)")):
            if marker in name:
                return label
        return "socket I/O (system calls)" if "socket" in name else "other built-ins"
    for marker, label in PARTS:
        if marker in file:
            return label
    if file.startswith(str(ROOT)) and "/.venv/" not in file:
        return "straum's other code (connectors, settings, ...)"
    return "other libraries (uuid, pydantic, ...)"


@dataclass(frozen=True)
class Profile:
    parts: Table
    functions: Table
    shares: dict[str, float]  # category → share of the profiled CPU time

    def share(self, *markers: str) -> float:
        return sum(v for k, v in self.shares.items() if k.startswith(markers))


def summarise(profile: Path, top: int = 12) -> Profile:
    """Own CPU time per part of the stack and per function (waiting excluded)."""
    raw = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    by_category: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    for (file, line, name), (_, _, own, _, _) in raw.items():
        label = category(file, name)
        if label is None:
            continue
        by_category[label] += own
        short = file.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
        if "/lib/python3." in short:
            short = short.split("/lib/python3.")[-1].split("/", 1)[-1]
        by_function[f"{name} ({short}:{line})" if file != "~" else name] += own
    total = sum(by_category.values())
    cats = Table("Worker CPU by part of the stack (cProfile)", ["Part", "Seconds", "Share"],
                 level=3)
    cats.rows = [[label, num(sec, 2), f"{sec / total:.0%}"]
                 for label, sec in by_category.most_common()]
    funcs = Table("Worker functions with the most own time (cProfile)",
                  ["Function", "Seconds", "Share"], level=3)
    funcs.rows = [[f"`{label}`", num(sec, 2), f"{sec / total:.0%}"]
                  for label, sec in by_function.most_common(top)]
    return Profile(cats, funcs, {k: v / total for k, v in by_category.items()})
