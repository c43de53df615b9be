"""A task's tables: state per key, restored from a compacted changelog, changed in batches.

Writes are staged per record and per batch. A record whose handling raises has its writes
undone; a batch whose transaction aborts has all of them undone; only a committed batch
touches the base. So what is in memory is always what the changelog says after the last
committed transaction: never a state whose outputs are not durable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

#: Decoded values kept per table, so a busy point is not decoded for every record.
DECODED_CACHE = 20_000

#: What a lookup returns for a key it has nothing for (None is a value: a staged delete).
MISSING = object()


class StateTooLarge(ValueError):
    """A state value that would not fit in one changelog record."""


@dataclass(frozen=True)
class TableSpec(Generic[T]):
    """A table's name, its changelog topic and how its values are (de)serialised."""

    name: str
    changelog: str
    encode: Callable[[T], bytes]
    decode: Callable[[bytes], T]
    on_disk: bool = False  # too large for memory: an SQLite file per task (engine/store.py)


class StagedWrites(Generic[T]):
    """The writes of a table not yet in its base: staged per record (undone when the record's
    handling raises) and per batch (undone when the transaction aborts). Shared by the
    in-memory Table and the on-disk DiskTable (engine/store.py), which differ only in the base
    a committed batch reaches."""

    def __init__(self, spec: TableSpec[T], max_value_bytes: int) -> None:
        self.spec = spec
        self.max_value_bytes = max_value_bytes
        self._batch: dict[bytes, tuple[T | None, bytes | None]] = {}
        self._record: dict[bytes, tuple[T | None, bytes | None]] = {}

    def _staged(self, key: bytes) -> object:
        """The staged ``(value, raw)`` for ``key`` (the record's over the batch's), or
        ``MISSING`` when nothing is staged for it."""
        staged = self._record.get(key, MISSING)
        if staged is MISSING:
            staged = self._batch.get(key, MISSING)
        return staged

    def put(self, key: bytes, value: T | None) -> None:
        """Stage ``value`` (None deletes); encoded now, so a value that cannot be stored fails
        the record that wrote it, not the batch."""
        raw = None if value is None else self.spec.encode(value)
        if raw is not None and len(raw) + len(key) > self.max_value_bytes:
            raise StateTooLarge(f"{self.spec.name} value for {key!r} is {len(raw)} bytes; "
                                f"a changelog record holds at most {self.max_value_bytes}")
        self._record[key] = (value, raw)

    def _staged_keys(self, seen: set[bytes]) -> Iterator[bytes]:
        """Every staged key that has a value; each staged key (deleted or not) goes in
        ``seen``, so the caller's walk over its base can skip them."""
        for staged in (self._record, self._batch):
            for key, (value, _) in staged.items():
                if key not in seen:
                    seen.add(key)
                    if value is not None:
                        yield key

    def end_record(self, keep: bool) -> None:
        """After a record: its writes join the batch (handled) or are undone (raised)."""
        if keep:
            self._batch.update(self._record)
        self._record.clear()

    def changes(self) -> dict[bytes, bytes | None]:
        """The batch's writes, one per key (the last one wins), for the changelog."""
        return {key: raw for key, (_, raw) in self._batch.items()}

    def _forget_staged(self) -> None:
        """The batch is over (applied to the base or aborted): nothing is staged any more."""
        self._batch.clear()
        self._record.clear()


class Table(StagedWrites[T]):
    """One task's partition of a table. Values are immutable domain objects."""

    def __init__(self, spec: TableSpec[T], max_value_bytes: int) -> None:
        super().__init__(spec, max_value_bytes)
        self._base: dict[bytes, bytes] = {}
        self._decoded: dict[bytes, T] = {}

    def __len__(self) -> int:
        return len(self._base)

    def get(self, key: bytes) -> T | None:
        staged = self._staged(key)
        if staged is not MISSING:
            value: T | None = staged[0]  # type: ignore[index]
            return value
        decoded = self._decoded.get(key, MISSING)
        if decoded is not MISSING:
            return decoded  # type: ignore[return-value]
        raw = self._base.get(key)
        if raw is None:
            return None
        decoded_value = self.spec.decode(raw)
        if len(self._decoded) >= DECODED_CACHE:
            self._decoded.clear()
        self._decoded[key] = decoded_value
        return decoded_value

    def keys(self) -> Iterator[bytes]:
        """Every key with a value, staged writes included."""
        seen: set[bytes] = set()
        yield from self._staged_keys(seen)
        for key in list(self._base):
            if key not in seen:
                yield key

    # The engine's side -------------------------------------------------------------------

    def restore_from(self, begin: int, end: int) -> int:
        """Where a restore starts: the changelog's beginning (memory starts empty)."""
        return begin

    def restored(self, end: int) -> None:
        """The changelog is read up to ``end`` (nothing to keep: memory is not kept)."""

    def close(self) -> None:
        """Nothing to release."""

    def restore(self, key: bytes, raw: bytes | None) -> None:
        """Apply one changelog record (None: a tombstone)."""
        self._decoded.pop(key, None)
        if raw is None:
            self._base.pop(key, None)
        else:
            self._base[key] = raw

    def end_batch(self, keep: bool, changelog_offset: int | None = None) -> None:
        """After the transaction: apply its writes (committed) or forget them (aborted)."""
        if keep:
            for key, (value, raw) in self._batch.items():
                if raw is None or value is None:
                    self._base.pop(key, None)
                    self._decoded.pop(key, None)
                else:
                    self._base[key] = raw
                    if len(self._decoded) < DECODED_CACHE:
                        self._decoded[key] = value
                    else:
                        self._decoded.pop(key, None)
        self._forget_staged()
