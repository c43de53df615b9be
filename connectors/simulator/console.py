"""What the simulator tells the person watching: lines on a terminal, log lines otherwise, and
a progress bar."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from streams.logging import get_logger

log = get_logger(__name__)

def _console() -> Console:
    """stderr; plain lines (no wrapping, no markup) when not a terminal, e.g. a log file."""
    return Console(stderr=True, soft_wrap=True, markup=False, highlight=False)


def _say(console: Console, message: str) -> None:
    """A line for the person watching; a log line (JSON under ``straum run``) otherwise."""
    if console.is_terminal:
        console.print(f"straum: simulator: {message}")
    else:
        log.info(message)


@contextlib.asynccontextmanager
async def _progress(quiet: bool, console: Console | None = None) -> AsyncIterator[Progress]:
    console = console or _console()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[note]}"), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=console, transient=False,
                        disable=quiet or not console.is_terminal)
    with progress:
        yield progress
