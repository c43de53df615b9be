"""The catalogue of problem and rejection codes: one named member per rule.

A code is what a caller's program branches on (``code`` in a problem body, ``reasons[].code``
in a rejection), so each rule has exactly one, spelled once, here. Members are strings
(``StrEnum``) and go on the wire as their value. Nothing here knows HTTP: the HTTP layer maps
a code to a status (connectors/http), the processors put it in an acknowledgement.

One catalogue per API: :class:`Code` for the problem-details API (with
:class:`PointReadCode`, the codes a point read is refused with), :class:`ContractCode` for
the Contracts API, :class:`AccessCode` for the Access API (JSON:API error objects).

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
    PROCESSING_FAILED = "processing.failed"
    """The task that holds the point could not read its values (its dead letter says why)."""


class PointReadCode(StrEnum):
    """The codes a point's task refuses a read with (processors/point_values.py): a subset of
    :class:`Code`, spelled there once."""

    METERING_POINT_UNKNOWN = Code.METERING_POINT_UNKNOWN.value
    """No metering point with that id that the caller may see in the period."""
    PROCESSING_FAILED = Code.PROCESSING_FAILED.value


class ContractCode(StrEnum):
    """Elhub's Contracts API (Norgespris): the spec's codes where it has one, spelled as there."""

    METERING_POINT_NOT_FOUND = "METERING_POINT_NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    """Only the metering point's grid owner writes its contracts."""
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    """Only households (35) and holiday homes (36) may have Norgespris."""
    CONTRACT_ALREADY_EXISTS = "CONTRACT_ALREADY_EXISTS"
    CONTRACT_NOT_FOUND = "CONTRACT_NOT_FOUND"
    INVALID_END_DATE = "INVALID_END_DATE"
    """``endDate`` before ``startDate``."""
    INVALID_STATUS_TRANSITION = "INVALID_STATUS_TRANSITION"
    METERING_POINT_MISMATCH = "METERING_POINT_MISMATCH"
    CONTRACT_TYPE_MISMATCH = "CONTRACT_TYPE_MISMATCH"
    PROCESSING_FAILED = "PROCESSING_FAILED"
    """The contracts processor could not handle the command (its dead letter says why)."""


class AccessCode(StrEnum):
    """Elhub's Access API (authorization requests and grants): Elhub's own codes
    (auth-grant-manager), spelled as there."""

    INVALID_INPUT = "invalid_input"
    """A field of the wrong JSON type (malformed)."""
    INVALID_REQUEST_TYPE = "invalid_request_type"
    MISSING_REQUESTED_BY = "missing_requested_by"
    INVALID_REQUESTED_BY = "invalid_requested_by"
    INVALID_REQUESTED_FROM = "invalid_requested_from"
    INVALID_REQUESTED_TO = "invalid_requested_to"
    REQUESTED_TO_REQUESTED_FROM_MISMATCH = "requested_to_requested_from_mismatch"
    MISSING_REQUESTED_FROM_NAME = "missing_requested_from_name"
    MISSING_METERING_POINT_ID = "missing_metering_point_id"
    INVALID_METERING_POINT_ID = "invalid_metering_point_id"
    MISSING_METERING_POINT_ADDRESS = "missing_metering_point_address"
    MISSING_BALANCE_SUPPLIER_NAME = "missing_balance_supplier_name"
    MISSING_BALANCE_SUPPLIER_CONTRACT_NAME = "missing_balance_supplier_contract_name"
    INVALID_MOVE_IN_DATE = "invalid_move_in_date"
    MOVE_IN_DATE_NOT_BACK_IN_TIME = "move_in_date_not_back_in_time"
    REQUESTED_BY_NOT_CALLER = "requested_by_not_caller"
    """A supplier asking in another supplier's name."""
    METERING_POINT_NOT_FOUND = "metering_point_not_found"
    REQUESTED_FROM_NOT_METERING_POINT_END_USER = "requested_from_not_metering_point_end_user"
    REQUESTED_FROM_IS_METERING_POINT_END_USER = "requested_from_is_metering_point_end_user"
    INVALID_STATUS = "invalid_status"
    """An answer other than Accepted or Rejected."""
    AUTHORIZATION_REQUEST_NOT_FOUND = "authorization_request_not_found"
    AUTHORIZATION_REQUEST_EXPIRED = "authorization_request_expired"
    AUTHORIZATION_REQUEST_NOT_PENDING = "authorization_request_not_pending"
    UNEXPECTED_ERROR = "unexpected_error"
    """The consent processor could not handle the command (its dead letter says why)."""
