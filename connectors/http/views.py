"""Compacted views an API process starts on first use, stopped with the app.

Some views are needed only by a few routes (contracts, their replies, prices, consents): a
process that never serves them should not read those topics. Each is started once, on its
first request (concurrent first requests wait for the same start), and every view started is
stopped when the app's lifespan ends, so no consumer outlives the process's shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar, cast

from connectors.compacted import CompactedView

V = TypeVar("V")


class LazyViews:
    """The views of one API process, by name, each started on first use."""

    def __init__(self) -> None:
        self._starting: dict[str, asyncio.Task[CompactedView[Any]]] = {}

    async def get(self, name: str, make: Callable[[], CompactedView[V]]) -> CompactedView[V]:
        """The view called ``name``, made by ``make`` and started the first time it is
        asked for; a start that failed is tried again by the next request."""
        task = self._starting.get(name)
        if task is None or (task.done() and _failed(task)):
            task = self._starting[name] = asyncio.create_task(self._start(make()))
        return cast(CompactedView[V], await asyncio.shield(task))

    @staticmethod
    async def _start(view: CompactedView[V]) -> CompactedView[Any]:
        await view.start()
        return view

    async def stop(self) -> None:
        """Stop every view started (one still starting is cancelled)."""
        starting, self._starting = self._starting, {}
        for task in starting.values():
            if not task.done():
                task.cancel()
                continue
            if not _failed(task):
                await task.result().stop()


def _failed(task: asyncio.Task[Any]) -> bool:
    return task.cancelled() or task.exception() is not None
