"""The catalogue of problem and rejection codes: one named member per rule.

A code is what a caller's program branches on (``code`` in a problem body, ``reasons[].code``
in a rejection), so each rule has exactly one, spelled once, here. Members are strings
(``StrEnum``) and go on the wire as their value. Nothing here knows HTTP: the HTTP layer maps
a code to a status (connectors/http), the processors put it in an acknowledgement.

Codes written before this catalogue still appear as literals elsewhere; new rules are added
here, and older ones move here when their module is next changed.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    """Every rule's code, grouped by where the rule is checked."""

    # -- the request as a whole (HTTP edge) ---------------------------------------------------
    REQUEST_INVALID = "request.invalid"
    """The body or query did not match the model; ``problems`` lists each field."""
    REQUEST_TOO_LARGE = "request.too_large"
    """The body is over the size limit (declared or streamed, chunked included)."""
    BODY_INVALID_JSON = "body.invalid_json"
    """Not JSON as RFC 8259 defines it (NaN and Infinity are not JSON numbers)."""
    BODY_DUPLICATE_KEY = "body.duplicate_key"
    """One object names a member twice; JSON parsers disagree on which wins, so neither does."""
    BODY_TOO_DEEP = "body.too_deep"
    """Arrays and objects nested deeper than the documented limit."""
    BODY_CONTROL_CHARACTER = "body.control_character"
    """A name or free text holds a control, format or surrogate character (NUL, RTL override)."""
    BODY_DATE_OUT_OF_RANGE = "body.date_out_of_range"
    """A date or time outside the hub's calendar (see domain.calendar)."""
    BODY_NOT_TEXT = "body.not_text"
    """A date or time not sent as an RFC 3339 string (a number, a boolean, digits)."""
    ROUTE_NOT_FOUND = "route.not_found"
    METHOD_NOT_ALLOWED = "method.not_allowed"
    HTTP_ERROR = "http.error"
    INTERNAL_ERROR = "internal.error"
    """An answer no rule foresaw (a 500): its ``requestId`` finds the log lines."""
    BROKER_UNAVAILABLE = "broker.unavailable"
    """Kafka cannot take or give the data now (not reached yet, leaders being elected, too few
    in-sync replicas); answered 503 with Retry-After, and nothing was accepted."""

    # -- identity -----------------------------------------------------------------------------
    TOKEN_ISSUER = "token.issuer"  # noqa: S105 - a code, not a secret
    """The token's ``iss`` is missing or not the configured issuer."""
    TOKEN_ROLES = "token.roles"  # noqa: S105 - a code, not a secret
    """The token's ``roles`` is not a list of known role names."""

    # -- BRS-NO-101 start of supply -------------------------------------------------------------
    SUPPLY_TOO_FAR_AHEAD = "supply.too_far_ahead"
    """The start date lies further ahead than a switch may be reported."""
    SUPPLY_BACKDATED = "supply.backdated"
    SUPPLY_OVERLAP = "supply.overlap"
    """A supply period starting on or after this date exists (a later one is pending)."""
    START_OF_SUPPLY_INVALID = "start_of_supply.invalid"

    # -- metering values and prices -----------------------------------------------------------
    SERIES_QUANTITY = "series.quantity"
    PRICE_VALUE = "price.value"
    PRICE_EUR_NOK = "price.eur_nok"

    # -- reads ----------------------------------------------------------------------------------
    METERING_POINT_UNKNOWN = "metering_point.unknown"
    COMPARISON_PERIOD = "comparison.period"
    COMPARISON_UNAVAILABLE = "comparison.unavailable"
    VALUES_REQUEST_INVALID = "values_request.invalid"
    """A history request (BRS-NO-315) with problems; each is listed."""
    VALUES_REQUEST_PERIOD = "values_request.period"
    """A history request's end is not after its start, or it covers more than 366 days."""
    READ_DELAYED = "read.delayed"
    """The task that holds the point did not answer in time (busy or moving): ask again."""
