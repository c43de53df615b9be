"""De-duplication and corrections of metering-value series, per metering point.

The same transaction sent again, or the same values for the same period under a new
transaction, is a duplicate: not forwarded again. New values for a period already forwarded are
a correction: forwarded as the next version and marked as such. History older than the window
is forgotten, which bounds the state kept per point.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SeriesVersion:
    start: int  # epoch ms
    end: int
    transaction_id: str
    content_hash: str
    version: int
    offset: int = -1  # the series' offset in its intake partition; -1 when not recorded


@dataclass(frozen=True)
class Verdict:
    """``duplicate`` (forward nothing), or forward as ``version`` (a correction if > 1)."""

    duplicate: bool
    version: int

    @property
    def correction(self) -> bool:
        return not self.duplicate and self.version > 1


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def content_hash(start: datetime, end: datetime, resolution: str,
                 quantities: Sequence[float], qualities: Sequence[str]) -> str:
    """A digest of what a series says, independent of its ids."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{epoch_ms(start)}|{epoch_ms(end)}|{resolution}|".encode())
    h.update(struct.pack(f"<{len(quantities)}d", *quantities))
    h.update("|".join(qualities).encode())
    return h.hexdigest()


def judge(history: Sequence[SeriesVersion], transaction_id: str, start: datetime,
          end: datetime, digest: str) -> Verdict:
    """Whether a series is new, a duplicate, or a correction of an earlier one."""
    s, e = epoch_ms(start), epoch_ms(end)
    same_period = [v for v in history if v.start == s and v.end == e]
    if any(v.transaction_id == transaction_id for v in history):
        return Verdict(True, 0)
    if not same_period:
        return Verdict(False, 1)
    latest = max(same_period, key=lambda v: v.version)
    if latest.content_hash == digest:
        return Verdict(True, latest.version)
    return Verdict(False, latest.version + 1)


def remember(history: Sequence[SeriesVersion], entry: SeriesVersion, now: datetime,
             window_days: int) -> list[SeriesVersion]:
    """History with ``entry`` added and periods that ended before the window dropped."""
    horizon = epoch_ms(now) - window_days * 86_400_000
    kept = [v for v in history if v.end >= horizon]
    kept.append(entry)
    return kept


def latest_versions(history: Sequence[SeriesVersion]) -> list[SeriesVersion]:
    """The newest version forwarded for each period: what the recipients hold now."""
    latest: dict[tuple[int, int], SeriesVersion] = {}
    for v in history:
        held = latest.get((v.start, v.end))
        if held is None or v.version > held.version:
            latest[(v.start, v.end)] = v
    return list(latest.values())
