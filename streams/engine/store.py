"""A task's table on disk: SQLite under the worker's data directory, restored from its
compacted changelog from a checkpoint.

For state too large for memory (a point's values per day: a year of a national hub is about a
billion days). It behaves as an in-memory Table (streams/engine/state.py) towards processors
and the engine: writes are staged per record and per batch, the batch's changes go to the
changelog in the task's transaction, and only a committed batch reaches SQLite, in one SQLite
transaction together with the checkpoint: the changelog offset up to which the file holds
everything. A task that takes the partition back on the same machine reads the changelog from
the checkpoint only; without a file, or when the file cannot match the changelog (the
checkpoint lies outside the changelog's offsets: the topic was recreated or compacted past
it), the file is emptied and restored from the start. Readers get point lookups and key
ranges (a point's days in order).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from streams.engine.state import MISSING, StagedWrites, TableSpec

T = TypeVar("T")
#: Changelog records applied per SQLite transaction while restoring.
RESTORE_FLUSH = 20_000


class DiskTable(StagedWrites[T]):
    """One task's partition of a table, in an SQLite file."""

    def __init__(self, spec: TableSpec[T], max_value_bytes: int, path: Path,
                 keep_file: bool = True) -> None:
        super().__init__(spec, max_value_bytes)
        self.path = path
        self.keep_file = keep_file
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL)"
                         " WITHOUT ROWID")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, "
                         "value INTEGER NOT NULL)")
        self._restoring: dict[bytes, bytes | None] = {}

    def __len__(self) -> int:
        (count,) = self._db.execute("SELECT count(*) FROM kv").fetchone()
        return int(count)

    @property
    def checkpoint(self) -> int | None:
        """The changelog offset from which a restore must read (None: no checkpoint)."""
        row = self._db.execute("SELECT value FROM meta WHERE name = 'offset'").fetchone()
        return None if row is None else int(row[0])

    # The processors' side -------------------------------------------------------------------

    def get(self, key: bytes) -> T | None:
        staged = self._staged(key)
        if staged is not MISSING:
            value: T | None = staged[0]  # type: ignore[index]
            return value
        raw = self.get_raw(key)
        return None if raw is None else self.spec.decode(raw)

    def get_raw(self, key: bytes) -> bytes | None:
        staged = self._staged(key)
        if staged is not MISSING:
            raw: bytes | None = staged[1]  # type: ignore[index]
            return raw
        row = self._db.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def range_raw(self, first: bytes, last: bytes) -> list[tuple[bytes, bytes]]:
        """Every ``(key, stored bytes)`` with ``first <= key <= last``, in key order, staged
        writes included."""
        found = {bytes(k): bytes(v) for k, v in self._db.execute(
            "SELECT k, v FROM kv WHERE k >= ? AND k <= ? ORDER BY k", (first, last))}
        for staged in (self._batch, self._record):
            for key, (_, raw) in staged.items():
                if first <= key <= last:
                    if raw is None:
                        found.pop(key, None)
                    else:
                        found[key] = raw
        return sorted(found.items())

    def keys(self) -> Iterator[bytes]:
        seen: set[bytes] = set()
        yield from self._staged_keys(seen)
        for (key,) in self._db.execute("SELECT k FROM kv ORDER BY k").fetchall():
            if bytes(key) not in seen:
                yield bytes(key)

    # The engine's side -----------------------------------------------------------------------

    def restore_from(self, begin: int, end: int) -> int:
        """Where the restore of a changelog partition spanning ``[begin, end)`` must start:
        the checkpoint when the file can continue from it, else ``begin`` (file emptied)."""
        checkpoint = self.checkpoint
        if checkpoint is not None and begin <= checkpoint <= end:
            return checkpoint
        self._db.execute("BEGIN")
        self._db.execute("DELETE FROM kv")
        self._db.execute("DELETE FROM meta")
        self._db.execute("COMMIT")
        return begin

    def restore(self, key: bytes, raw: bytes | None) -> None:
        """Apply one changelog record (None: a tombstone), in SQLite transactions of many."""
        self._restoring[key] = raw
        if len(self._restoring) >= RESTORE_FLUSH:
            self._write(self._restoring.items(), None)
            self._restoring.clear()

    def restored(self, end: int) -> None:
        """The changelog is read up to ``end``: that is the checkpoint."""
        self._write(self._restoring.items(), end)
        self._restoring.clear()

    def end_batch(self, keep: bool, changelog_offset: int | None = None) -> None:
        """After the transaction: write its changes with the checkpoint (``changelog_offset``:
        the first offset of this batch's changelog records, from which a restore would read
        them again), or forget them."""
        if keep and self._batch:
            self._write(self.changes().items(), changelog_offset)
        self._forget_staged()

    def _write(self, items: object, checkpoint: int | None) -> None:
        db = self._db
        db.execute("BEGIN")
        try:
            puts, deletes = [], []
            for key, raw in items:  # type: ignore[attr-defined]
                if raw is None:
                    deletes.append((key,))
                else:
                    puts.append((key, raw))
            db.executemany("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", puts)
            db.executemany("DELETE FROM kv WHERE k = ?", deletes)
            if checkpoint is not None:
                db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('offset', ?)",
                           (checkpoint,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()
        if not self.keep_file:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
