"""Where the worker's CPU time goes: a cProfile file summarised by library and function."""

from __future__ import annotations

import pstats
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.common import Table, num

ROOT = Path(__file__).resolve().parent.parent
IDLE = ("<method 'poll' of 'select.epoll'", "<method 'poll' of 'select.poll'")


def category(file: str, name: str) -> str | None:
    """The part of the stack a function belongs to; None for waiting on the event loop."""
    if file == "~":
        if name.startswith(IDLE):
            return None
        return "socket I/O (system calls)" if "socket" in name else "other built-ins"
    if file.endswith("streams/serialisation.py"):
        return "Avro encode/decode (fastavro, C)"
    for marker, label in (("/faust/", "Faust and mode"), ("/mode/", "Faust and mode"),
                          ("/aiokafka/", "aiokafka (Kafka client)"),
                          ("/asyncio/", "asyncio event loop")):
        if marker in file:
            return label
    if file.startswith(str(ROOT)) and "/.venv/" not in file:
        return "straum's own code (processors, domain, streams)"
    return "other libraries (logging, metrics, uuid, ...)"


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
