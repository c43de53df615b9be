"""straum's own processes (worker, API) as real OS processes, stopped whatever happens."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from schemas.settings import Settings


def straum_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "STRAUM_KAFKA_BOOTSTRAP": settings.kafka_bootstrap or "",
        "STRAUM_DATA_DIR": str(settings.data_dir),
        "STRAUM_TOPIC_PREFIX": settings.topic_prefix,
        "STRAUM_PARTITIONS": str(settings.partitions),
        "STRAUM_LOG_LEVEL": settings.log_level,
    })
    return env


class Processes:
    """Started straum processes; leaving the ``with`` block stops every one of them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = straum_env(settings)
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.started_at: dict[str, float] = {}

    def log(self, name: str) -> Path:
        return self.settings.data_dir / f"{name}.log"

    def start(self, name: str, *args: str, python: list[str] | None = None,
              env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """``python -m straum <args>`` (``python`` replaces ``[sys.executable]``; ``env``
        adds to the run's STRAUM_* variables)."""
        with self.log(name).open("ab") as log:
            process = subprocess.Popen([*(python or [sys.executable]), "-m", "straum", *args],
                                       env={**self.env, **(env or {})}, stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.running[name] = process
        self.started_at[name] = time.monotonic()
        return process

    def check(self) -> None:
        """RuntimeError naming the process and its log if one has exited."""
        for name, process in self.running.items():
            if process.poll() is not None:
                tail = self.log(name).read_text(errors="replace").splitlines()[-5:]
                raise RuntimeError(f"straum {name} exited with code {process.returncode}; "
                                   f"see {self.log(name)}: " + " | ".join(tail))

    def stop(self, name: str, timeout: float = 30.0) -> None:
        process = self.running.pop(name)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def start_worker(self, name: str = "worker", python: list[str] | None = None
                     ) -> subprocess.Popen[bytes]:
        """``straum worker`` with a stable STRAUM_WORKER_ID (static group membership: the
        same name started again gets its partitions back at once)."""
        return self.start(name, "worker", "--metrics-port", "0", python=python,
                          env={"STRAUM_WORKER_ID": f"{self.settings.topic_prefix}-{name}"})

    def stop_all(self) -> None:
        for name in reversed(list(self.running)):
            self.stop(name)

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None
                 ) -> None:
        self.stop_all()


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (field 3 onwards)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def family(pid: int) -> list[int]:
    """``pid`` and every live process below it: ``straum api`` serves from child processes
    under a supervisor (straum/api_processes.py), so its CPU and memory are theirs too.
    Nothing for pid 0 (no process of ours: ``--bootstrap``'s broker)."""
    if pid <= 0:
        return []
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            with contextlib.suppress(ValueError):
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += children.get(current, [])
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process and every process below it have used so far (Linux
    /proc: each live one's own time and that of the children it has reaped); NaN if the
    process is gone."""
    ticks = [sum(int(f) for f in fields[11:15])
             for member in family(pid) if (fields := _stat(member)) is not None]
    return sum(ticks) / os.sysconf("SC_CLK_TCK") if ticks else float("nan")


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy since boot (Linux /proc/stat)."""
    try:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds per named process, ``bench`` being this one, and ``machine``: every
    process on the machine."""
    return {"bench": time.process_time(), "machine": busy_cpu_seconds(),
            **{n: cpu_seconds(p) for n, p in pids.items()}}


class LoadMeter:
    """How much CPU processes this run did not start took on the machine since creation."""

    def __init__(self, broker_pid: int | None = None) -> None:
        self.broker_pid = broker_pid  # running, so not yet in the children's times
        self.start = self._read()

    def _read(self) -> tuple[float, float, float]:
        t = os.times()
        own = t.user + t.system + t.children_user + t.children_system
        if self.broker_pid is not None:
            own += cpu_seconds(self.broker_pid)
        return time.monotonic(), busy_cpu_seconds(), own

    def share(self) -> float:
        """Other processes' CPU as a share of the machine's capacity (all cores)."""
        (t0, busy0, own0), (t1, busy1, own1) = self.start, self._read()
        other = max(0.0, (busy1 - busy0) - (own1 - own0))
        return other / (max(t1 - t0, 1e-9) * (os.cpu_count() or 1))


def rss_kib(pid: int) -> int | None:
    """Resident memory (VmRSS, KiB) of a process and every process below it, summed (pages
    they share count once per process); None once it is gone."""
    total: int | None = None
    for member in family(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total = (total or 0) + int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total


class RssSampler:
    """Samples :func:`rss_kib` of a process every ``every`` seconds while its ``async with``
    block runs."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid, self.every = pid, every
        self.samples: list[int] = []
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            value = rss_kib(self.pid)
            if value is not None:
                self.samples.append(value)
            await asyncio.sleep(self.every)

    async def __aenter__(self) -> RssSampler:
        self._task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        value = rss_kib(self.pid)
        if value is not None:
            self.samples.append(value)

    @property
    def peak_mib(self) -> float:
        return max(self.samples, default=0) / 1024

    @property
    def last_mib(self) -> float:
        return (self.samples[-1] if self.samples else 0) / 1024
