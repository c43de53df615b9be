"""The hub's calendar: the days and instants any straum rule can work with.

Every date and time that enters the hub is checked against these bounds at the edge, so that
no accepted document can fail later: a date in year 1 with a +01:00 offset has no UTC instant
(Python raises ``OverflowError``), Avro's timestamp-millis and Kafka's record timestamps are
counted from 1970, and day arithmetic near year 9999 overflows. A real metering point, supply,
access or price lies well inside 1970-2099; a date outside it is a mistake, answered at once.
"""

from __future__ import annotations

from datetime import date, datetime

FIRST_DAY = date(1970, 1, 1)
"""The earliest day the hub accepts (the Unix epoch, where Kafka and Avro time starts)."""

LAST_DAY = date(2099, 12, 31)
"""The latest day the hub accepts."""


def day_in_calendar(day: date) -> bool:
    """Whether ``day`` lies in the hub's calendar (FIRST_DAY..LAST_DAY, inclusive)."""
    return FIRST_DAY <= day <= LAST_DAY


def moment_in_calendar(moment: datetime) -> bool:
    """Whether ``moment`` lies in the hub's calendar, judged on its own wall-clock date.

    Deliberately no conversion to UTC: that conversion is what overflows for year 1. One day of
    margin on each side keeps every offset's UTC instant inside the calendar, too.
    """
    return FIRST_DAY < moment.date() < LAST_DAY


def calendar_text() -> str:
    """The bounds, for error messages."""
    return f"{FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"
