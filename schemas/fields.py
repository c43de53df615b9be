"""Field types of the outside contract, each bounded so that whatever the API accepts can be
encoded, stored in one Kafka record and processed.

The bounds are part of the contract (they appear in /openapi.json): string lengths, the hub's
calendar for dates and times, finite and bounded numbers, strict JSON types (a quantity is a
JSON number, never a string or a boolean; a date is a JSON string, never a number), and no
control characters in names and free text.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    StrictFloat,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from domain.calendar import FIRST_DAY, LAST_DAY, day_in_calendar, moment_in_calendar
from domain.problem_codes import Code
from domain.series import MAX_QUANTITY_KWH

REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
"""Unicode categories refused in text: controls (NUL, escape, newline), formats (the
right-to-left override U+202E, zero-width characters) and lone surrogates (which cannot be
encoded as UTF-8, so no Avro record could hold them)."""


def _suffix(code: Code) -> str:
    """A pydantic error type whose ``body.<type>`` is the catalogue's code."""
    return code.value.removeprefix("body.")


def refuse_control_characters(value: str) -> str:
    for i, character in enumerate(value):
        if unicodedata.category(character) in REFUSED_CATEGORIES:
            raise PydanticCustomError(
                _suffix(Code.BODY_CONTROL_CHARACTER),
                "character {position} is U+{codepoint}, a control or format character; "
                "names and free text may not hold control characters",
                {"position": i, "codepoint": f"{ord(character):04X}"})
    return value


_CALENDAR_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
"""How an RFC 3339 date or time begins: pydantic alone would also read ``"1700000000"`` (a
string of digits) as a Unix time."""


def _text_only(value: Any) -> Any:
    """Dates and times come as RFC 3339 strings: a number, or a string of digits, would be
    read as a Unix time."""
    if isinstance(value, str) and _CALENDAR_TEXT.match(value):
        return value
    if isinstance(value, date):  # a Python caller's own value
        return value
    raise PydanticCustomError(_suffix(Code.BODY_NOT_TEXT),
                              "send dates as YYYY-MM-DD and times as RFC 3339 strings")


def _day_in_calendar(value: date) -> date:
    if not day_in_calendar(value):
        raise PydanticCustomError(_suffix(Code.BODY_DATE_OUT_OF_RANGE),
                                  "{value} is outside the hub's calendar ({first} to {last})",
                                  {"value": value.isoformat(), "first": FIRST_DAY.isoformat(),
                                   "last": LAST_DAY.isoformat()})
    return value


def _moment_in_calendar(value: datetime) -> datetime:
    if not moment_in_calendar(value):
        raise PydanticCustomError(_suffix(Code.BODY_DATE_OUT_OF_RANGE),
                                  "{value} is outside the hub's calendar ({first} to {last})",
                                  {"value": value.isoformat(), "first": FIRST_DAY.isoformat(),
                                   "last": LAST_DAY.isoformat()})
    return value


NoControlCharacters = AfterValidator(refuse_control_characters)


def _bounded(max_length: int, min_length: int = 0) -> StringConstraints:
    return StringConstraints(min_length=min_length, max_length=max_length)


# Identifiers and codes a domain rule checks after the model (check digits, lists): only
# bounded here, so that the domain rule's own code says what is wrong with them.
PointId = Annotated[str, _bounded(18), NoControlCharacters]
"""A metering point id (GSRN, 18 digits; the check digit is domain.identifiers')."""
PartyId = Annotated[str, _bounded(13), NoControlCharacters]
"""A party's GLN (13 digits)."""
GridAreaId = Annotated[str, _bounded(16), NoControlCharacters]
"""A grid area's EIC (16 characters)."""
ShortCode = Annotated[str, _bounded(8), NoControlCharacters]
"""A consumption code, næringskode, resolution or such (checked against its list)."""
QualityName = Annotated[str, _bounded(32), NoControlCharacters]
"""A value's quality name (checked against domain.series.QUALITIES)."""
NationalId = Annotated[str, _bounded(11), NoControlCharacters]
OrganisationNumber = Annotated[str, _bounded(9), NoControlCharacters]

# Names and free text: bounded, at least one character, no control characters.
ProductionType = Annotated[str, _bounded(64, 1), NoControlCharacters]
PersonName = Annotated[str, _bounded(200, 1), NoControlCharacters]
ContactValue = Annotated[str, _bounded(254, 1), NoControlCharacters]
FreeText = Annotated[str, _bounded(500, 1), NoControlCharacters]
#: A customer contact's kind and what it is for (BRS-NO-301), in the API and in the queues.
ContactKind = Literal["mobile", "phone", "email", "fax"]
ContactPurpose = Literal["contract", "notification"]


CALENDAR = {"x-earliest": FIRST_DAY.isoformat(), "x-latest": LAST_DAY.isoformat()}
"""The calendar's bounds in the OpenAPI document (minimum/maximum are numbers only there)."""

HubDate = Annotated[date, BeforeValidator(_text_only), AfterValidator(_day_in_calendar),
                    Field(json_schema_extra=CALENDAR)]
"""A day in the hub's calendar, sent as ``YYYY-MM-DD``."""

HubDateTime = Annotated[AwareDatetime, BeforeValidator(_text_only),
                        AfterValidator(_moment_in_calendar), Field(json_schema_extra=CALENDAR)]
"""An instant with its UTC offset, in the hub's calendar (RFC 3339)."""

Quantity = Annotated[StrictFloat, Field(json_schema_extra={"minimum": 0,
                                                          "maximum": MAX_QUANTITY_KWH})]
"""kWh of one interval: a JSON number (not a string or a boolean). Its range (finite, 0 to
MAX_QUANTITY_KWH) is the series rule ``series.quantity`` (domain.series), reported with the
rest of the series' problems; the schema states it."""
