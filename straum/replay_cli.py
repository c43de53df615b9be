"""``straum replay``: plan, run, stop (Ctrl-C) and resume replays from a terminal."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from connectors.replay import Replayer, ReplayError
from domain.replay import ReplayPlan, ReplayScope
from schemas.settings import Settings
from streams.records.replay_job import Job
from streams.topics import Queue

console = Console(stderr=True)
OPERATOR = "cli"


def plan_table(plan: ReplayPlan, scope: ReplayScope) -> Table:
    table = Table(title=f"replay plan: {scope.by} {scope.start.isoformat()} → "
                        f"{scope.end.isoformat()}", title_justify="left")
    table.add_column("recipient")
    table.add_column("messages", justify="right")
    for recipient, count in sorted(plan.per_recipient.items()):
        table.add_row(recipient, f"{count:,}")
    table.caption = f"{plan.series:,} series, {plan.messages:,} messages"
    return table


async def _run(replayer: Replayer, job: Job, state: object) -> Job:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TextColumn("series"),
               TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task("replay", total=job.planned_series, completed=job.sent_series)
        return await replayer.run(job, state,  # type: ignore[arg-type]
                                  progress=lambda j: progress.update(task,
                                                                     completed=j.sent_series),
                                  should_stop=stop.is_set)


async def replay_values(settings: Settings, scope: ReplayScope, rate: float,
                        dry_run: bool) -> int:
    replayer = Replayer(settings)
    await replayer.start()
    try:
        plan, positions, state = await replayer.plan(scope)
        console.print(plan_table(plan, scope))
        if plan.series == 0:
            console.print("nothing to replay in that scope")
            return 0
        if dry_run:
            console.print("dry run: nothing was sent")
            return 0
        job = replayer.new_job(scope, OPERATOR, rate, positions, plan)
        await replayer.save(job)
        console.print(f"replay {job.id} started at {rate or 'unbounded'} series/s; Ctrl-C "
                      "stops it, `straum replay resume` continues")
        job = await _run(replayer, job, state)
        console.print(f"replay {job.id} {job.status}: {job.sent_series:,} series, "
                      f"{job.sent_messages:,} messages sent")
        return 0 if job.status == "done" else 3
    finally:
        await replayer.stop()


async def resume(settings: Settings, job_id: str, rate: float | None) -> int:
    replayer = Replayer(settings)
    await replayer.start()
    try:
        job = replayer.jobs.values.get(job_id)
        if job is None:
            raise ReplayError(f"no replay with id {job_id}")
        if job.status == "done":
            raise ReplayError(f"replay {job_id} is done already")
        job.status = "running"
        if rate is not None:
            job.rate = rate
        state = await replayer.load_state(job.scope)
        job = await _run(replayer, job, state)
        console.print(f"replay {job.id} {job.status}: {job.sent_series:,} series sent in all")
        return 0 if job.status == "done" else 3
    finally:
        await replayer.stop()


async def list_jobs(settings: Settings) -> Table:
    replayer = Replayer(settings)
    await replayer.start()
    try:
        table = Table(title="replays and re-deliveries", title_justify="left")
        for col in ("id", "kind", "status", "scope", "sent", "created", "note"):
            table.add_column(col)
        for job in sorted(replayer.jobs.values.values(), key=lambda j: j.created_at):
            table.add_row(job.id, job.kind, job.status,
                          f"{job.scope.by} {job.scope.start:%Y-%m-%d %H:%M}→"
                          f"{job.scope.end:%Y-%m-%d %H:%M}",
                          f"{job.sent_series:,}/{job.planned_series:,} series",
                          f"{job.created_at:%Y-%m-%d %H:%M}", job.note)
        return table
    finally:
        await replayer.stop()


async def redeliver(settings: Settings, actor: str, queue: Queue, since: datetime) -> Job:
    replayer = Replayer(settings)
    await replayer.start()
    try:
        return await replayer.redeliver(actor, queue, since, OPERATOR)
    finally:
        await replayer.stop()
