"""Industry codes (næringskode) of metering points: SN2007, SN2025 and the move between them.

SSB replaced SN2007 (NACE Rev. 2) by SN2025 (NACE Rev. 2.1). The hub accepted both through
2025; SN2007 codes are invalid from 1 Jan 2026, and grid owners get lists of points still to
move, with the SN2025 candidates from SSB's correspondence table. The code lists themselves are
reference data imported from SSB KLASS (classification 6, see ``connectors/klass.py``); nothing
here knows a code by heart.

Pure: stdlib only, no I/O, no clock (the effective date is always given).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Literal

from domain.messages import Reason

__all__ = [
    "SN2007_INVALID_FROM",
    "CodeLists",
    "IndustryCode",
    "Version",
    "check_industry_code",
    "is_subclass_code",
    "migration_candidates",
]

Version = Literal["SN2007", "SN2025"]

#: The hub's cut-off: from this date an SN2007 code is refused (a market rule, not SSB's).
SN2007_INVALID_FROM = date(2026, 1, 1)

# Only the 5-digit subclass (level 5, "NN.NNN"): it is the most detailed level of SN, the one
# the Central Coordinating Register gives each business unit, and the only level that names one
# industry. Coarser levels ("47", "47.1", "47.11") and section letters are groupings, and a point
# registered with one would be ambiguous. ASCII digits only: `\d` accepts other scripts' digits.
_SUBCLASS = re.compile(r"[0-9]{2}\.[0-9]{3}")


def is_subclass_code(code: str) -> bool:
    """Whether ``code`` has the form of an SN subclass code, ``NN.NNN``."""
    return _SUBCLASS.fullmatch(code) is not None


@dataclass(frozen=True)
class IndustryCode:
    """One code of one version, valid on ``[valid_from, valid_to)`` as KLASS gives it.

    ``None`` is an open end: KLASS leaves ``validTo`` empty for a code still in force.
    """

    code: str
    name: str
    version: Version
    valid_from: date | None = None
    valid_to: date | None = None

    def valid_on(self, day: date, *, until: date | None = None) -> bool:
        """Whether the code is in force on ``day``; ``until`` replaces ``valid_to`` if given."""
        end = self.valid_to if until is None else until
        return (self.valid_from is None or self.valid_from <= day) and (end is None or day < end)


def _index(
    codes: Iterable[IndustryCode], version: Version
) -> Mapping[str, tuple[IndustryCode, ...]]:
    by_code: dict[str, list[IndustryCode]] = {}
    for item in codes:
        if item.version != version:
            raise ValueError(f"{item.code} is an {item.version} code, given as {version}")
        by_code.setdefault(item.code, []).append(item)
    return MappingProxyType({code: tuple(items) for code, items in by_code.items()})


@dataclass(frozen=True)
class CodeLists:
    """Both versions' level-5 codes and the SN2007 → SN2025 correspondence.

    A code may have several entries (periods) in one version: a KLASS export over a date range
    repeats a code whose name or validity changed. ``correspondence`` maps an SN2007 code to its
    SN2025 candidates in table order; an empty tuple means SSB gives no successor. Build it with
    :meth:`build`, which also finds when SN2025 took over (the earliest SN2025 ``validFrom``).
    """

    sn2007: Mapping[str, tuple[IndustryCode, ...]]
    sn2025: Mapping[str, tuple[IndustryCode, ...]]
    correspondence: Mapping[str, tuple[str, ...]]
    sn2025_start: date | None = None

    @classmethod
    def build(
        cls,
        sn2007: Iterable[IndustryCode],
        sn2025: Iterable[IndustryCode],
        correspondence: Mapping[str, Iterable[str]],
    ) -> CodeLists:
        """Index the codes by number; read-only mappings, so a shared instance stays as loaded."""
        new = _index(sn2025, "SN2025")
        starts = [c.valid_from for items in new.values() for c in items if c.valid_from]
        return cls(
            sn2007=_index(sn2007, "SN2007"),
            sn2025=new,
            correspondence=MappingProxyType(
                {code: tuple(targets) for code, targets in correspondence.items()}
            ),
            sn2025_start=min(starts) if starts else None,
        )

    def candidates(self, sn2007_code: str) -> tuple[str, ...]:
        """The SN2025 codes SSB's correspondence gives for an SN2007 code (maybe none)."""
        return self.correspondence.get(sn2007_code, ())


def _sn2007_valid_on(item: IndustryCode, day: date, lists: CodeLists, cutoff: date) -> bool:
    # KLASS gives an SN2007 code the end of its version as validTo, i.e. the day SN2025 took over
    # for statistics, which may be before the hub's cut-off: the hub accepted old codes through
    # 2025. So a code ended by that switch (validTo empty, or on or after SN2025's first
    # validFrom) counts as valid until the cut-off; a code SSB withdrew earlier, inside SN2007,
    # keeps its own validTo.
    if day >= cutoff:
        return False
    ended_by_switch = item.valid_to is None or (
        lists.sn2025_start is not None and item.valid_to >= lists.sn2025_start
    )
    return item.valid_on(day, until=cutoff if ended_by_switch else None)


def _periods(items: tuple[IndustryCode, ...]) -> str:
    def one(item: IndustryCode) -> str:
        start = item.valid_from.isoformat() if item.valid_from else "the start"
        end = f"before {item.valid_to.isoformat()}" if item.valid_to else "with no end"
        return f"from {start} {end}"

    return "; ".join(one(item) for item in items)


def _expired_text(code: str, candidates: tuple[str, ...], cutoff: date,
                  effective: date | None = None) -> str:
    head = f"{code} is an SN2007 code, invalid from {cutoff.isoformat()}; "
    if effective is not None:
        head = (f"{code} is an SN2007 code, invalid from {cutoff.isoformat()}, also for a "
                f"change taking effect earlier ({effective.isoformat()}); ")
    if len(candidates) > 1:
        return head + f"use one of the SN2025 codes {', '.join(candidates)}"
    if candidates:
        return head + f"use the SN2025 code {candidates[0]}"
    return head + "SSB's correspondence table gives no SN2025 code for it; choose one from SN2025"


def check_industry_code(
    code: str,
    effective: date,
    lists: CodeLists,
    sn2007_invalid_from: date = SN2007_INVALID_FROM,
    *,
    today: date | None = None,
) -> Reason | None:
    """``None`` if ``code`` may be given to a point from ``effective``, else why not.

    A number in both versions (most SN2007 subclasses kept theirs) is decided by the date: it is
    accepted if either version has it in force on ``effective``, SN2025 first. From the cut-off
    that leaves SN2025 only, so the same number then means its SN2025 subclass; the hub cannot
    tell which one the sender meant, which is why ``migration_candidates`` still lists points
    whose number SSB split or reused.

    ``today`` is the day the hub decides the change; without it only ``effective`` counts.
    From the cut-off the hub takes SN2025 codes only, whatever ``effective`` is: a change
    backdated into 2025 (changes and registrations may take effect earlier) would otherwise
    make an SN2007 code the point's current one, after the date by which every point had to
    move. The other side of that rule: from the cut-off an SN2025 code in force on ``today`` is
    taken for an earlier date too, even one before SN2025 began, since no SN2007 code can be
    given for it any more. A code valid on ``effective`` but withdrawn since stays accepted.
    """
    reason = _check_on(code, effective, lists, sn2007_invalid_from)
    if today is None or today < sn2007_invalid_from or effective >= sn2007_invalid_from:
        return reason
    now = _check_on(code, today, lists, sn2007_invalid_from)
    if now is None:
        return None
    if now.code == "industry_code.sn2007_expired":
        return Reason(
            "industry_code.sn2007_expired",
            _expired_text(code, lists.candidates(code), sn2007_invalid_from, effective),
        )
    return reason


def _check_on(code: str, effective: date, lists: CodeLists, sn2007_invalid_from: date
              ) -> Reason | None:
    if not is_subclass_code(code):
        return Reason(
            "industry_code.format",
            f"industry code {code!r} is not of the form NN.NNN "
            "(a 5-digit SN subclass, e.g. 47.111)",
        )
    new = lists.sn2025.get(code, ())
    old = lists.sn2007.get(code, ())
    if not new and not old:
        return Reason(
            "industry_code.unknown", f"{code} is in neither the SN2025 nor the SN2007 code list"
        )
    if any(item.valid_on(effective) for item in new):
        return None
    if old and effective >= sn2007_invalid_from:
        return Reason(
            "industry_code.sn2007_expired",
            _expired_text(code, lists.candidates(code), sn2007_invalid_from),
        )
    if any(_sn2007_valid_on(item, effective, lists, sn2007_invalid_from) for item in old):
        return None
    where = [f"as SN2025 {_periods(new)}"] if new else []
    if old:
        where.append(f"as SN2007 {_periods(old)} (accepted until {sn2007_invalid_from})")
    return Reason(
        "industry_code.not_valid_on_date",
        f"{code} is not valid on {effective.isoformat()}: valid {', and '.join(where)}",
    )


def migration_candidates(
    points: Iterable[tuple[str, str, str | None]], lists: CodeLists
) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """The points still carrying an SN2007 code, with the SN2025 codes to choose from.

    Input rows are ``(grid_owner, metering_point_id, industry_code)``; output rows are
    ``(grid_owner, metering_point_id, old_code, candidates)``, sorted by grid owner and point so
    each grid owner's list is one run. A point is listed if its code is an SN2007 code, unless
    the correspondence maps it to the same number and nothing else (nothing to do then): a
    number SN2025 also has but SSB split or gave another meaning is listed, for the grid owner
    to confirm. Points without a code, or with an SN2025-only, unknown or malformed code, are
    not listed: the ordinary check reports those.
    """
    report: list[tuple[str, str, str, tuple[str, ...]]] = []
    for grid_owner, point_id, code in points:
        if not code or code not in lists.sn2007:
            continue
        candidates = lists.candidates(code)
        if candidates == (code,) and code in lists.sn2025:
            continue
        report.append((grid_owner, point_id, code, candidates))
    report.sort(key=lambda row: (row[0], row[1]))
    return report
