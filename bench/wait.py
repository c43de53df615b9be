"""Waiting for straum's consumer group to catch up, with a progress bar."""

from __future__ import annotations

import asyncio
import time

from bench.common import progress
from bench.probe import Probe
from bench.procs import Processes


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
