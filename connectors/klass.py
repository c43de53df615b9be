"""Import SSB KLASS CSV exports of the industry classification (SN, classification 6).

straum cannot reach ``data.ssb.no`` at run time, so an operator downloads the exports and
straum reads the files. What the KLASS API writes (statisticsnorway/klass, ``klass-api``):

- codes, ``/classifications/6/codes?from=…`` or ``/codesAt?date=…`` with ``Accept: text/csv``:
  columns ``code, parentCode, level, name, shortName, presentationName, validFrom, validTo,
  notes`` (a ranged export adds ``validFromInRequestedRange, validToInRequestedRange``);
  separator ``,`` unless ``csvSeparator`` says otherwise; ``csvFields`` may drop or reorder
  columns;
- a correspondence table, ``/correspondencetables/{id}``: ``sourceCode, sourceName,
  targetCode, targetName``, separator ``;`` (``/corresponds`` adds short names and validity);
- strings always in double quotes, dates ``yyyy-MM-dd``, an empty ``validTo`` for a code still
  in force, ISO-8859-1 unless UTF-8 was asked for in the ``Accept`` header.

So the reader detects the encoding (UTF-8, else ISO-8859-1) and the separator (``;``, ``,`` or
tab, from the header line), matches column names case-insensitively, ignores unknown columns,
and skips ``#`` comment lines before the header (KLASS writes none; straum's test fixtures use
one to say what they are). Every problem is a ``ValueError`` naming the file and line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from domain.industry_codes import CodeLists, IndustryCode, Version, is_subclass_code

__all__ = [
    "decode_export",
    "load_code_lists",
    "parse_codes_csv",
    "parse_correspondence_csv",
]

SUBCLASS_LEVEL = "5"


def decode_export(data: bytes) -> str:
    """The text of an export: UTF-8 (with or without BOM) if it decodes, else ISO-8859-1.

    ISO-8859-1 decodes any bytes, so it can only be the fallback; Norwegian ISO-8859-1 text
    ('æøå' next to ASCII) is not valid UTF-8, so trying UTF-8 first does not misread it.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("iso-8859-1")


class _Table:
    """Rows of one export with their physical line numbers, and its columns by lower-case name."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        # Split like the csv module does (\n, \r, \r\n only): str.splitlines also breaks at
        # \x85 and \x1c-\x1e, which can be ordinary characters of an ISO-8859-1 name.
        lines = io.StringIO(text.removeprefix("\ufeff"), newline="").readlines()
        first = 0
        while first < len(lines) and (
            not lines[first].strip() or lines[first].lstrip().startswith("#")
        ):
            first += 1
        if first == len(lines):
            raise ValueError(f"{source}: no header line (empty, or comment lines only)")
        self.header_line = first + 1
        header = lines[first]
        delimiter = max(";,\t", key=header.count)
        if header.count(delimiter) == 0:
            raise ValueError(
                f"{source}, line {self.header_line}: header has one column only; "
                "expected ';', ',' or tab between column names"
            )
        self._reader = csv.reader(
            io.StringIO("".join(lines[first:]), newline=""), delimiter=delimiter, strict=True
        )
        try:
            names = next(self._reader)
        except csv.Error as exc:
            raise ValueError(f"{source}, line {self.header_line}: {exc}") from None
        self.columns: dict[str, int] = {}
        for index, name in enumerate(names):
            self.columns.setdefault(name.strip().lower(), index)
        self.width = len(names)

    def require(self, *names: str) -> list[int]:
        missing = [name for name in names if name.lower() not in self.columns]
        if missing:
            raise ValueError(
                f"{self.source}, line {self.header_line}: missing column(s) "
                f"{', '.join(missing)}; found {', '.join(self.columns) or 'none'}"
            )
        return [self.columns[name.lower()] for name in names]

    def optional(self, name: str) -> int | None:
        return self.columns.get(name.lower())

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Data rows, stripped, padded to the header (KLASS omits empty trailing columns)."""
        while True:
            try:
                row = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                line = self.header_line + self._reader.line_num - 1
                raise self.error(line, f"not valid CSV: {exc}") from None
            line = self.header_line + self._reader.line_num - 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > self.width:
                raise ValueError(
                    f"{self.source}, line {line}: {len(row)} fields, header has {self.width}"
                )
            yield line, [cell.strip() for cell in row] + [""] * (self.width - len(row))

    def error(self, line: int, what: str) -> ValueError:
        return ValueError(f"{self.source}, line {line}: {what}")


def _date(table: _Table, line: int, column: str, value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise table.error(line, f"{column} {value!r} is not a date (yyyy-mm-dd)") from None


def _cell(row: list[str], index: int | None) -> str:
    return row[index] if index is not None else ""


def parse_codes_csv(text: str, version: Version, *, source: str = "<text>") -> list[IndustryCode]:
    """The level-5 (subclass) codes of a KLASS codes export; coarser levels are skipped.

    Without a ``level`` column (``csvFields`` can drop it) a code of the form ``NN.NNN`` is
    taken as level 5. A level-5 code of another form, a missing name or a bad date is an error.
    """
    table = _Table(text, source)
    code_at, name_at = table.require("code", "name")
    level_at = table.optional("level")
    from_at = table.optional("validFrom")
    to_at = table.optional("validTo")
    codes: list[IndustryCode] = []
    for line, row in table.rows():
        code = row[code_at]
        if not code:
            raise table.error(line, "empty code")
        level = _cell(row, level_at)
        if level_at is not None and level != SUBCLASS_LEVEL:
            if not level.isdigit():
                raise table.error(line, f"level {level!r} of code {code!r} is not a number")
            continue
        if level_at is None and not is_subclass_code(code):
            continue
        if not is_subclass_code(code):
            raise table.error(line, f"level-5 code {code!r} is not of the form NN.NNN")
        name = row[name_at]
        if not name:
            raise table.error(line, f"code {code} has no name")
        valid_from = _date(table, line, "validFrom", _cell(row, from_at))
        valid_to = _date(table, line, "validTo", _cell(row, to_at))
        if valid_from and valid_to and valid_to <= valid_from:
            raise table.error(line, f"code {code}: validTo {valid_to} is not after {valid_from}")
        codes.append(IndustryCode(code, name, version, valid_from, valid_to))
    if not codes:
        raise ValueError(f"{source}: no level-5 codes (is this an export of classification 6?)")
    return codes


def _correspondence_rows(text: str, source: str) -> Iterator[tuple[int, str, str]]:
    table = _Table(text, source)
    source_at, target_at = table.require("sourceCode", "targetCode")
    for line, row in table.rows():
        old, new = row[source_at], row[target_at]
        if not old and not new:
            raise table.error(line, "both sourceCode and targetCode are empty")
        # A table may also map coarser levels; straum keeps the subclass pairs. An empty side is
        # KLASS's way to say a code has no predecessor (skipped) or no successor (kept, empty).
        if not old or not is_subclass_code(old) or (new and not is_subclass_code(new)):
            continue
        yield line, old, new


def parse_correspondence_csv(text: str, *, source: str = "<text>") -> dict[str, tuple[str, ...]]:
    """SN2007 code → its SN2025 candidates, in file order, from a KLASS correspondence export."""
    targets: dict[str, list[str]] = {}
    for _line, old, new in _correspondence_rows(text, source):
        candidates = targets.setdefault(old, [])
        if new and new not in candidates:
            candidates.append(new)
    return {old: tuple(new) for old, new in targets.items()}


def load_code_lists(sn2007_csv: Path, sn2025_csv: Path, correspondence_csv: Path) -> CodeLists:
    """Read the three exports into :class:`CodeLists`, checking they fit together.

    Every code of the correspondence must be in the list of its version: a mismatch means an
    export of the wrong table or of a different date, and is refused rather than half used.
    """
    sn2007 = parse_codes_csv(
        decode_export(sn2007_csv.read_bytes()), "SN2007", source=sn2007_csv.name
    )
    sn2025 = parse_codes_csv(
        decode_export(sn2025_csv.read_bytes()), "SN2025", source=sn2025_csv.name
    )
    text = decode_export(correspondence_csv.read_bytes())
    old_codes = {c.code for c in sn2007}
    new_codes = {c.code for c in sn2025}
    for line, old, new in _correspondence_rows(text, correspondence_csv.name):
        if old not in old_codes:
            raise ValueError(
                f"{correspondence_csv.name}, line {line}: sourceCode {old} is not in "
                f"the SN2007 list {sn2007_csv.name}"
            )
        if new and new not in new_codes:
            raise ValueError(
                f"{correspondence_csv.name}, line {line}: targetCode {new} is not in "
                f"the SN2025 list {sn2025_csv.name}"
            )
    correspondence = parse_correspondence_csv(text, source=correspondence_csv.name)
    return CodeLists.build(sn2007, sn2025, correspondence)
