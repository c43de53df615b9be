"""The production and consumption type migration (Elhub R17.1, September 2025): a mapping of
old codes to new ones, applied to every stored point through the ordinary BRS-NO-302 path so
that suppliers are notified like for any other change."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from domain.metering_point import MeteringPoint

FIELDS = {"productionType": "production_type", "consumptionCode": "consumption_code"}


@dataclass(frozen=True)
class Mapping:
    field: str  # productionType or consumptionCode (the API's names)
    old: str
    new: str


@dataclass(frozen=True)
class Migration:
    """One point's change: the fields to set, from ``effective_from``."""

    point: MeteringPoint
    fields: dict[str, str]
    effective_from: date


def parse_mapping(rows: Iterable[dict[str, str]]) -> tuple[list[Mapping], list[str]]:
    """Mapping rows (field, old, new), and every problem with them by line."""
    mappings, problems, seen = [], [], set()
    for line, row in enumerate(rows, start=2):
        field, old, new = (row.get(k, "").strip() for k in ("field", "old", "new"))
        if field not in FIELDS:
            problems.append(f"line {line}: field must be one of {', '.join(FIELDS)}")
        elif not old or not new:
            problems.append(f"line {line}: old and new are both needed")
        elif (field, old) in seen:
            problems.append(f"line {line}: {field} {old} is mapped twice")
        else:
            seen.add((field, old))
            mappings.append(Mapping(field, old, new))
    return mappings, problems


def plan(points: Iterable[MeteringPoint], mappings: list[Mapping],
         effective_from: date) -> list[Migration]:
    """The changes the mapping makes to the points as they stand on ``effective_from``."""
    by_field = {(m.field, m.old): m.new for m in mappings}
    out = []
    for point in points:
        current = point.characteristics_on(effective_from)
        fields = {}
        for field, attribute in FIELDS.items():
            value = getattr(current, attribute)
            if value is not None and (field, value) in by_field:
                fields[field] = by_field[(field, value)]
        if fields:
            out.append(Migration(point, fields, effective_from))
    return sorted(out, key=lambda m: (m.point.grid_owner, m.point.metering_point_id))
