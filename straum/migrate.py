"""``straum master-data migrate-types``: apply a type mapping to every stored point."""

from __future__ import annotations

import asyncio
import csv
import uuid
from collections import Counter
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from connectors.http.intake import master_data_record
from connectors.state_reader import read_points
from domain.type_migration import Migration, parse_mapping, plan
from schemas.settings import Settings
from streams.kafka import durable_producer, wait_for_broker
from streams.topics import TopicCatalogue

console = Console(stderr=True)
MIGRATION_NAMESPACE = uuid.UUID("0d3f3c2e-3b1f-5c55-9a57-1f2d8d3e6a01")


def message_id(migration: Migration, mapping_name: str) -> str:
    """Stable per point and mapping file: running the migration twice sends no new documents
    (the intake de-duplicates on it)."""
    return str(uuid.uuid5(MIGRATION_NAMESPACE, f"{mapping_name}|"
                          f"{migration.point.metering_point_id}|{sorted(migration.fields.items())}"))


async def migrate(settings: Settings, mapping_file: Path, effective_from: date,
                  dry_run: bool) -> int:
    with mapping_file.open(encoding="utf-8-sig", newline="") as fh:
        mappings, problems = parse_mapping(csv.DictReader(fh))
    if problems:
        raise ValueError(f"{mapping_file.name}: " + "; ".join(problems[:10]))
    await wait_for_broker(settings, 30)
    with Progress(console=console, disable=not console.is_terminal, transient=True) as bar:
        task = bar.add_task("reading metering points", total=None)
        points = await read_points(settings,
                                   lambda done, total: bar.update(task, completed=done,
                                                                  total=total))
    migrations = plan(points.values(), mappings, effective_from)
    table = Table(title=f"type migration from {effective_from} "
                        f"({'dry run' if dry_run else 'sending'})", title_justify="left")
    for col in ("field", "new", "points"):
        table.add_column(col)
    per_new = Counter((field, value) for m in migrations for field, value in m.fields.items())
    for (field, value), n in sorted(per_new.items()):
        table.add_row(field, value, f"{n:,}")
    table.caption = f"{len(migrations):,} of {len(points):,} points change"
    console.print(table)
    if dry_run or not migrations:
        return len(migrations)
    catalogue = TopicCatalogue.from_settings(settings)
    producer = durable_producer(settings, "straum-type-migration")
    await producer.start()
    try:
        with Progress(console=console, disable=not console.is_terminal) as bar:
            task = bar.add_task("sending BRS-NO-302 changes", total=len(migrations))
            futures = []
            for m in migrations:
                key, record = master_data_record(
                    message_id=message_id(m, mapping_file.name), sender=m.point.grid_owner,
                    sender_role="hub-migration", metering_point_id=m.point.metering_point_id,
                    document_type="ChangeOfCharacteristics",
                    document={"effectiveFrom": effective_from, **m.fields})
                futures.append(await producer.send(catalogue.master_data, record, key=key))
                bar.advance(task)
            for future in futures:
                await future
    finally:
        await producer.stop()
    return len(migrations)


def run_migration(settings: Settings, mapping_file: Path, effective_from: date,
                  dry_run: bool) -> int:
    return asyncio.run(migrate(settings, mapping_file, effective_from, dry_run))
