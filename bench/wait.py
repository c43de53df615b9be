"""Waiting for straum's consumer group to catch up, with a progress bar."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import datetime
from pathlib import Path

from bench.common import progress
from bench.probe import Probe
from bench.procs import Processes
from bench.standalone import log_lines


async def caught_up(probe: Probe, procs: Processes, topic: str, label: str,
                    within: float = 600.0) -> float:
    """Seconds until the group (= topic prefix) has committed ``topic``'s log end."""
    started = time.monotonic()
    group = procs.settings.topic_prefix
    with progress() as bar:
        task = bar.add_task(label, total=None)
        while True:
            procs.check()
            done, end = await probe.lag(group, topic)
            bar.update(task, completed=done, total=end)
            if done >= end:
                return time.monotonic() - started
            if time.monotonic() - started > within:
                raise TimeoutError(f"{label}: {done} of {end} committed after {within:.0f} s")
            await asyncio.sleep(0.1)


def logged_at(path: Path, event: str, since: int = 0) -> float | None:
    """Epoch seconds of the last JSON log line of ``event`` written after byte ``since``."""
    found = None
    for line in log_lines(path, f'"event": "{event}"', since=since, limit=1, width=10**6):
        with contextlib.suppress(ValueError, KeyError):
            stamp = json.loads(line[line.find("{"):])["timestamp"]
            found = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    return found


async def until_logged(procs: Processes, name: str, event: str, since: int,
                       within: float = 180.0) -> float:
    """Epoch seconds at which process ``name`` logged ``event`` (after byte ``since``)."""
    deadline = time.monotonic() + within
    while (at := logged_at(procs.log(name), event, since)) is None:
        procs.check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} did not log {event!r} within {within:.0f} s")
        await asyncio.sleep(0.1)
    return at
