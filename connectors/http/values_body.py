"""The body of ``POST /v1/metering-values``, checked without a model object per point.

``MeteringValuesDocument`` (schemas/api.py) is the contract: its OpenAPI schema, its bounds
and every problem it reports. Validating it builds a pydantic object per point and calls a
Python validator per quality, most of a series' cost at intake. So a document is first looked
at as plain JSON: when its shape is the usual one (exact member names, canonical UUIDs,
RFC 3339 times with seconds, JSON numbers, short printable strings) it is taken as it is, with
the values the model would have produced; anything else at all goes through the model, which
answers exactly as before. The fast look only ever accepts what the model accepts
(tests/unit/test_values_body.py compares the two on valid and broken documents).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import ValidatorFunctionWrapHandler, WrapValidator

from domain.calendar import moment_in_calendar
from domain.series import MAX_POINTS_PER_SERIES
from schemas.api import MAX_SERIES_PER_DOCUMENT, MeteringValuesDocument

_UUID: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                          r"[0-9a-fA-F]{12}\Z")
_MOMENT: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                            r"(?:Z|[+-][0-9]{2}:[0-9]{2})\Z")
_SERIES_KEYS: Final = frozenset({"transactionId", "meteringPointId", "start", "end",
                                 "resolution", "unit", "points"})
_REQUIRED_KEYS: Final = _SERIES_KEYS - {"unit"}
_POINT_KEYS: Final = frozenset({"quantity", "quality"})
_EXACT_INT: Final = 2**53


@dataclass(frozen=True, slots=True)
class SeriesIn:
    """One series as the intake takes it: values as parallel lists."""

    transaction_id: str
    metering_point_id: str
    start: datetime
    end: datetime
    resolution: str
    unit: str
    quantities: list[float]
    qualities: list[str]


@dataclass(frozen=True, slots=True)
class ValuesIn:
    message_id: str
    series: list[SeriesIn]


def from_model(document: MeteringValuesDocument) -> ValuesIn:
    return ValuesIn(str(document.message_id), [
        SeriesIn(str(s.transaction_id), s.metering_point_id, s.start, s.end, s.resolution,
                 s.unit, [p.quantity for p in s.points], [p.quality for p in s.points])
        for s in document.series])


def _text(value: Any, longest: int) -> bool:
    """A string the model's bounded, control-free text type takes (printable: no control,
    format or surrogate character)."""
    return type(value) is str and len(value) <= longest and value.isprintable()


def _moment(value: Any) -> datetime | None:
    if type(value) is not str or not _MOMENT.match(value):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment_in_calendar(moment) else None


def _quantities(points: list[dict[str, Any]]) -> list[float] | None:
    quantities = [p["quantity"] for p in points]
    kinds = set(map(type, quantities))
    if kinds <= {float}:
        return quantities
    if kinds <= {float, int} and all(-_EXACT_INT < q < _EXACT_INT for q in quantities):
        return [float(q) for q in quantities]  # a JSON integer, as StrictFloat takes it
    return None


def _series(value: Any) -> SeriesIn | None:
    if type(value) is not dict:
        return None
    keys = value.keys()
    if not (_REQUIRED_KEYS <= keys <= _SERIES_KEYS):
        return None
    points = value["points"]
    if type(points) is not list or len(points) > MAX_POINTS_PER_SERIES:
        return None
    if not (set(map(type, points)) <= {dict} and set(map(len, points)) <= {2}):
        return None
    try:
        quantities = _quantities(points)
        qualities = [p["quality"] for p in points]
    except KeyError:
        return None
    if quantities is None or not set(map(type, qualities)) <= {str}:
        return None
    if not all(_text(q, 32) for q in set(qualities)):
        return None
    unit = value.get("unit", "kWh")
    transaction, point = value["transactionId"], value["meteringPointId"]
    if (unit != "kWh" or type(unit) is not str or type(transaction) is not str
            or not _UUID.match(transaction) or not _text(point, 18)
            or not _text(value["resolution"], 8)):
        return None
    start, end = _moment(value["start"]), _moment(value["end"])
    if start is None or end is None:
        return None
    return SeriesIn(transaction.lower(), point, start, end, value["resolution"], unit,
                    quantities, qualities)


def fast_document(value: Any) -> ValuesIn | None:
    """The document as the model would read it, when it has the usual shape; else None."""
    if type(value) is not dict or value.keys() != {"messageId", "series"}:
        return None
    message_id, series = value["messageId"], value["series"]
    if (type(message_id) is not str or not _UUID.match(message_id)
            or type(series) is not list
            or not 1 <= len(series) <= MAX_SERIES_PER_DOCUMENT):
        return None
    taken = []
    for item in series:
        found = _series(item)
        if found is None:
            return None
        taken.append(found)
    return ValuesIn(message_id.lower(), taken)


def _validate(value: Any, handler: ValidatorFunctionWrapHandler) -> ValuesIn:
    fast = fast_document(value)
    if fast is not None:
        return fast
    document = handler(value)  # the model: its problems, as before
    return from_model(document)


MeteringValuesBody = Annotated[MeteringValuesDocument, WrapValidator(_validate)]
"""The body parameter: MeteringValuesDocument's schema and problems, ValuesIn as the value."""


def taken(document: object) -> ValuesIn:
    """The validated body of a MeteringValuesBody parameter (its annotation names the
    contract's model; the value is what the validator returned)."""
    if isinstance(document, MeteringValuesDocument):
        return from_model(document)
    assert isinstance(document, ValuesIn)
    return document
