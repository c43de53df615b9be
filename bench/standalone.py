"""What the benchmarks that run on their own share: ``python -m bench.<name> [--quick]``.

Each of bench/queues.py, replay_bench.py, detection.py and scaleout.py is
one async function ``measure(run, args) -> list[Table]``; :func:`main` gives it a broker (an
embedded Kafka on free ports in a scratch directory, or ``--bootstrap``), stops that broker and
every straum process whatever happens (also on SIGTERM), and has bench/report.py write the
tables as one Markdown section to ``bench/results/<name>.md`` with the date, the exact command
and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench.common import Run, Table, console
from bench.probe import Probe
from bench.procs import LoadMeter, Processes
from bench.report import Section, embedded_kafka, load_fact, run_facts, write
from connectors.broker.embedded import EmbeddedBroker
from schemas.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

Measure = Callable[[Run, argparse.Namespace], Coroutine[Any, Any, list[Table]]]


def run_options(p: argparse.ArgumentParser, output: str) -> None:
    """The options every benchmark entry point has: ``--quick``, ``--keep``, ``--output``
    (``output``: where it writes by default)."""
    p.add_argument("--quick", action="store_true", help="small counts for a smoke run")
    p.add_argument("--keep", action="store_true",
                   help="keep the scratch directory (broker data, straum logs)")
    p.add_argument("--output", type=Path, help=f"Markdown file to write (default {output})")


def parser(name: str, doc: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m bench.{name}", description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    run_options(p, f"bench/results/{name}.md")
    p.add_argument("--bootstrap", help="an existing Kafka (host:port) instead of an embedded "
                                       "broker; its CPU is then not measured")
    return p


def _raise_exit(signum: int, _: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@dataclass(frozen=True)
class Scratch:
    """A run's broker and scratch directory; ``kafka``: the broker in words, for the report."""

    bootstrap: str
    broker_pid: int  # 0: not ours (--bootstrap), its CPU is not measured
    root: Path
    kafka: str


@contextlib.contextmanager
def scratch_broker(name: str, keep: bool, bootstrap: str | None = None) -> Iterator[Scratch]:
    """A scratch directory and an embedded Kafka on free ports in it (or the broker at
    ``bootstrap``), both gone when the block ends whatever happens, SIGTERM included."""
    settings = Settings()
    previous = signal.signal(signal.SIGTERM, _raise_exit)
    root = Path(tempfile.mkdtemp(prefix="straum-bench-" if name == "bench"
                                 else f"straum-bench-{name}-"))
    broker: EmbeddedBroker | None = None
    try:
        if bootstrap:
            yield Scratch(bootstrap, 0, root, f"existing broker at {bootstrap} (--bootstrap)")
        else:
            broker = EmbeddedBroker(root / "kafka", settings.kafka_cache_dir,
                                    settings.kafka_version, port=0, controller_port=0,
                                    heap="1g")
            console.print(f"{name}: starting Kafka {settings.kafka_version} (scratch in {root})")
            info = broker.start(timeout=120)
            yield Scratch(info.bootstrap, info.pid, root, embedded_kafka(settings.kafka_version))
    finally:
        if broker is not None:
            broker.stop()
        signal.signal(signal.SIGTERM, previous)
        if keep:
            console.print(f"{name}: kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def quiet_clients() -> None:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # coordinator retries are noise
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(name: str, title: str, doc: str | None, measure: Measure,
         argv: list[str] | None = None,
         extend: Callable[[argparse.ArgumentParser], None] | None = None) -> int:
    p = parser(name, doc)
    if extend:
        extend(p)
    args = p.parse_args(argv)
    quiet_clients()
    output = args.output or RESULTS / f"{name}.md"
    given = sys.argv[1:] if argv is None else argv
    command = " ".join([".venv/bin/python -m", f"bench.{name}", *given])
    started, clock = datetime.now(UTC), time.monotonic()
    meter = LoadMeter()
    with scratch_broker(name, args.keep, args.bootstrap) as scratch:
        if scratch.broker_pid:
            meter = LoadMeter(scratch.broker_pid)
        run = Run(scratch.bootstrap, scratch.broker_pid, scratch.root, 0, args.quick)
        tables = asyncio.run(measure(run, args))
    for table in tables:
        table.level = 3
    facts = run_facts(command, started, time.monotonic() - clock, scratch.kafka,
                      load_fact(meter.share()), compact=True)
    text = write(output, Section(f"## {title}", facts, body=list(tables)))
    console.print(f"{name}: wrote {output}")
    print(text)
    return 0


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def log_lines(path: Path, *needles: str, since: int = 0, limit: int = 8,
              width: int = 400) -> list[str]:
    """The last lines of a straum log holding any of ``needles`` (warnings and errors by
    default) written after byte ``since``, for a report of what broke."""
    wanted = needles or ('"level": "error"', '"level": "warning"', "Traceback", "Error")
    try:
        with path.open("rb") as fh:
            fh.seek(since)
            lines = fh.read().decode(errors="replace").splitlines()
    except OSError:
        return []
    found = [line for line in lines if any(n in line for n in wanted)]
    return [line[:width] for line in found[-limit:]]


def log_summary(path: Path, since: int = 0, limit: int = 4) -> list[str]:
    """Warnings and errors a straum process logged after byte ``since``, grouped by what they
    say (ids and numbers blanked): ``"12× level: event"``, most frequent first."""
    import json
    import re
    from collections import Counter

    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for line in log_lines(path, '"level": "error"', '"level": "warning"', '"level": "critical"',
                          "Traceback", since=since, limit=10**9, width=10**6):
        start = line.find("{")
        try:
            record = json.loads(line[start:]) if start >= 0 else {}
        except ValueError:
            record = {}
        event = str(record.get("event", line))
        shape = re.sub(r"\d+", "N", re.sub(r"TopicPartition\([^)]*\)", "TopicPartition(…)",
                                           event))[:160]
        key = f"{record.get('level', '?')}: {shape}"
        counts[key] += 1
        examples.setdefault(key, event)
    return [f"{n}× {key}" for key, n in counts.most_common(limit)]


async def group_members(probe: Probe, group: str) -> int:
    """Members of ``group`` when it is Stable, else 0; 0 also while the broker has no group
    coordinator yet (a fresh broker creates ``__consumer_offsets`` on first use)."""
    from aiokafka.errors import KafkaError

    try:
        for response in await probe.admin.describe_consumer_groups([group]):
            for described in response.groups:
                if described[2] == "Stable":
                    return len(described[5])
    except KafkaError:
        return 0
    return 0


async def until_members(probe: Probe, procs: Processes, group: str, count: int = 1,
                        within: float = 180) -> float:
    """Seconds from the first process's start until ``group`` is Stable with ``count``
    members."""
    started: float = min(procs.started_at.values())
    deadline = time.monotonic() + within
    while await group_members(probe, group) != count:
        procs.check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{group} never had {count} stable members in {within:.0f} s")
        await asyncio.sleep(0.2)
    return time.monotonic() - started
