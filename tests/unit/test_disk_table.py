"""The engine's on-disk table: staged like a memory table, written only when a batch commits,
restored from its checkpoint, emptied when the changelog cannot continue it."""

from __future__ import annotations

from pathlib import Path

from streams.engine.state import TableSpec
from streams.engine.store import DiskTable

SPEC: TableSpec[bytes] = TableSpec("t", "t-changelog", bytes, bytes, on_disk=True)


def table(path: Path, keep: bool = True) -> DiskTable[bytes]:
    return DiskTable(SPEC, 1_000_000, path / "t.sqlite", keep_file=keep)


def test_only_committed_batches_reach_the_file(tmp_path: Path) -> None:
    t = table(tmp_path)
    t.put(b"a", b"1")
    t.end_record(keep=True)
    t.put(b"b", b"2")
    t.end_record(keep=False)  # the record failed: undone
    assert t.get(b"a") == b"1" and t.get(b"b") is None
    assert t.changes() == {b"a": b"1"}
    t.end_batch(keep=False)  # the transaction aborted
    assert t.get(b"a") is None
    t.put(b"a", b"1")
    t.end_record(keep=True)
    t.end_batch(keep=True, changelog_offset=7)
    assert t.get(b"a") == b"1" and t.checkpoint == 7


def test_ranges_include_staged_writes_and_deletes(tmp_path: Path) -> None:
    t = table(tmp_path)
    for key in (b"p|01", b"p|02", b"p|03", b"q|01"):
        t.put(key, key)
    t.end_record(keep=True)
    t.end_batch(keep=True, changelog_offset=0)
    t.put(b"p|02", None)
    t.put(b"p|04", b"new")
    t.end_record(keep=True)
    assert t.range_raw(b"p|01", b"p|99") == [(b"p|01", b"p|01"), (b"p|03", b"p|03"),
                                              (b"p|04", b"new")]


def test_a_restart_restores_from_the_checkpoint(tmp_path: Path) -> None:
    t = table(tmp_path)
    assert t.restore_from(0, 10) == 0
    for offset in range(10):
        t.restore(f"k{offset}".encode(), b"v")
    t.restored(10)
    t.close()
    again = table(tmp_path)
    assert again.restore_from(0, 15) == 10 and len(again) == 10
    # a changelog that ends before the checkpoint is not the one the file followed
    assert again.restore_from(0, 5) == 0 and len(again) == 0


def test_without_a_stable_worker_id_the_file_goes_with_the_task(tmp_path: Path) -> None:
    t = table(tmp_path, keep=False)
    t.restored(0)
    t.close()
    assert not list(tmp_path.iterdir())
