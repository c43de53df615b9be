"""``straum codes``: import SSB's næringskode lists, and report the points still to migrate."""

from __future__ import annotations

import asyncio
import csv
import sys
from pathlib import Path
from typing import TextIO

from rich.progress import Progress

from connectors.klass import load_code_lists
from connectors.reference_data import ReferenceData, publish_code_lists
from connectors.state_reader import read_points
from domain.industry_codes import CodeLists
from domain.metering_point import points_to_migrate
from schemas.settings import Settings
from streams.kafka import durable_producer, wait_for_broker


async def import_codes(settings: Settings, sn2007: Path, sn2025: Path,
                       correspondence: Path) -> CodeLists:
    """Parse the KLASS exports and publish them for every worker."""
    lists = load_code_lists(sn2007, sn2025, correspondence)
    await wait_for_broker(settings, 30)
    producer = durable_producer(settings, "straum-codes")
    await producer.start()
    try:
        await publish_code_lists(settings, producer, lists,
                                 f"{sn2007.name}, {sn2025.name}, {correspondence.name}")
    finally:
        await producer.stop()
    return lists


async def _lists(settings: Settings) -> CodeLists | None:
    reference = ReferenceData(settings)
    await reference.start()
    try:
        return reference.industry_codes()
    finally:
        await reference.stop()


async def migration_report(settings: Settings, out: TextIO, show_progress: bool) -> int:
    """Write the CSV of points still carrying an SN2007 code; return how many."""
    await wait_for_broker(settings, 30)
    lists = await _lists(settings)
    if lists is None:
        raise ValueError("no næringskode lists imported yet: run `straum codes import` first")
    with Progress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task("reading metering points", total=None)
        points = await read_points(
            settings, lambda done, total: progress.update(task, completed=done, total=total))
    rows = points_to_migrate(points.values(), lists)
    writer = csv.writer(out)
    writer.writerow(["gridOwner", "meteringPointId", "sn2007Code", "sn2025Candidates"])
    for grid_owner, point, code, candidates in rows:
        writer.writerow([grid_owner, point, code, " ".join(candidates)])
    return len(rows)


def run_import(settings: Settings, sn2007: Path, sn2025: Path, correspondence: Path) -> str:
    lists = asyncio.run(import_codes(settings, sn2007, sn2025, correspondence))
    return (f"imported {sum(len(v) for v in lists.sn2007.values())} SN2007 and "
            f"{sum(len(v) for v in lists.sn2025.values())} SN2025 codes, "
            f"{len(lists.correspondence)} correspondences")


def run_report(settings: Settings, output: Path | None) -> int:
    if output is None:
        return asyncio.run(migration_report(settings, sys.stdout, False))
    with output.open("w", newline="", encoding="utf-8") as fh:
        return asyncio.run(migration_report(settings, fh, sys.stderr.isatty()))
