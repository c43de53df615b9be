"""Validators for the identifiers the datahub accepts at its edge.

Pure functions over strings: no I/O, no clock, stdlib only. Each validator
returns the value unchanged when it is valid and raises `IdentifierError`
otherwise, so callers can both validate and pass the value on in one step.
Nothing is normalised (no stripping, no case folding): an identifier that
needs cleaning is a caller's input problem, not something to guess at here.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "NORWEGIAN_GSRN_PREFIX",
    "IdentifierError",
    "NationalIdCheck",
    "NationalIdRule",
    "eic_check_character",
    "gs1_check_digit",
    "mask_national_ids",
    "validate_eic",
    "validate_gln",
    "validate_gsrn",
    "validate_national_id",
    "validate_norwegian_gsrn",
    "validate_organisation_number",
]


class IdentifierError(ValueError):
    """An identifier failed validation.

    `code` is machine-readable (e.g. 'gsrn.check_digit') so APIs can map it to
    an error response without parsing the human-readable message.
    """

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


# ASCII only on purpose: `str.isdigit` and a plain `\d` also accept other
# scripts' digits, which no datahub identifier may contain.
_DIGITS = re.compile(r"[0-9]+")


def _is_digits(value: str, length: int) -> bool:
    return len(value) == length and _DIGITS.fullmatch(value) is not None


# --- GS1 (GSRN, GLN) -------------------------------------------------------


def gs1_check_digit(body: str) -> int:
    """GS1 mod-10 check digit for `body` (all digits except the check digit).

    Weights 3,1,3,1,... are applied from the right, so the same function
    serves every GS1 key length (GLN 13, GSRN 18).
    """
    if not body or _DIGITS.fullmatch(body) is None:
        raise IdentifierError("gs1.format", "GS1 body must be one or more ASCII digits")
    # the digits' byte values summed at C speed (each is its digit plus 48), every point of
    # intake checks one: weight 3 from the rightmost digit, then every other one
    raw = body.encode()
    tripled, single = raw[-1::-2], raw[-2::-2]
    total = 3 * (sum(tripled) - 48 * len(tripled)) + sum(single) - 48 * len(single)
    return (10 - total % 10) % 10


def _validate_gs1(value: str, length: int, kind: str, label: str) -> str:
    if not _is_digits(value, length):
        raise IdentifierError(f"{kind}.format", f"{label} must be exactly {length} digits")
    expected = gs1_check_digit(value[:-1])
    if int(value[-1]) != expected:
        raise IdentifierError(
            f"{kind}.check_digit",
            f"{label} check digit is {value[-1]}, expected {expected}",
        )
    return value


NORWEGIAN_GSRN_PREFIX = "7070575000"
"""The GS1 company prefix every Norwegian metering point id starts with."""


def validate_gsrn(value: str) -> str:
    """Validate a metering point id (GSRN: 18 digits, GS1 check digit).

    Any GS1 prefix is accepted: this is the identifier's validity. Whether a
    point belongs to the Norwegian market is `validate_norwegian_gsrn`.
    """
    return _validate_gs1(value, 18, "gsrn", "GSRN")


def validate_norwegian_gsrn(value: str) -> str:
    """Validate the id of a Norwegian metering point: a valid GSRN with the
    Norwegian prefix 7070575000.

    This is what the hub takes on intake: a valid GSRN from another country's
    range names no point of this market, so it is refused at the edge with
    its own code (``gsrn.not_norwegian``) instead of as an unknown point later.
    """
    validate_gsrn(value)
    if not value.startswith(NORWEGIAN_GSRN_PREFIX):
        raise IdentifierError(
            "gsrn.not_norwegian",
            f"metering point id must be a Norwegian GSRN, starting {NORWEGIAN_GSRN_PREFIX}",
        )
    return value


def validate_gln(value: str) -> str:
    """Validate a party id (GLN: 13 digits, GS1 check digit)."""
    return _validate_gs1(value, 13, "gln", "GLN")


# --- ENTSO-E EIC -----------------------------------------------------------

_EIC_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-"
# Two-digit issuing office, one object-type letter, then 13 characters of
# which the last is the check character. Uppercase only, as issued.
_EIC_FORMAT = re.compile(r"[0-9]{2}[A-Z][0-9A-Z-]{13}")


def eic_check_character(first15: str) -> str:
    """Check character for the first 15 characters of an EIC.

    ENTSO-E EIC reference algorithm: characters map to 0-9, A-Z=10-35, '-'=36;
    position i (1-based) is weighted 17-i (16 down to 2); the check value is
    36 - ((sum - 1) mod 37), mapped back through the same alphabet.

    May return '-': ENTSO-E never issues such codes, so `validate_eic` rejects
    them, but computing the value is still well defined.
    """
    if len(first15) != 15 or any(c not in _EIC_ALPHABET for c in first15):
        raise IdentifierError("eic.format", "EIC body must be 15 characters from 0-9, A-Z and '-'")
    total = sum((16 - i) * _EIC_ALPHABET.index(c) for i, c in enumerate(first15))
    return _EIC_ALPHABET[36 - (total - 1) % 37]


def validate_eic(value: str) -> str:
    """Validate an ENTSO-E Energy Identification Code (16 characters).

    Any object-type letter (3rd character) is accepted, because parties (X),
    areas (Y), metering points (Z) and others all share this format. Grid
    areas and bidding zones are Y-codes (e.g. 10YNO-1--------2 for NO1);
    callers that need an area must check the type letter themselves.
    """
    if _EIC_FORMAT.fullmatch(value) is None:
        raise IdentifierError(
            "eic.format",
            "EIC must be 16 characters: two digits, a type letter, then 0-9, A-Z or '-'",
        )
    expected = eic_check_character(value[:15])
    if expected == "-" or value[15] != expected:
        raise IdentifierError(
            "eic.check_character",
            f"EIC check character is {value[15]!r}, expected {expected!r}"
            + (" (no valid EIC has this body)" if expected == "-" else ""),
        )
    return value


# --- Organisasjonsnummer ---------------------------------------------------

_ORGNR_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def validate_organisation_number(value: str) -> str:
    """Validate a Norwegian organisasjonsnummer (9 digits, mod-11).

    A computed check digit of 10 means no valid number has that body, so such
    numbers are rejected rather than mapped to some digit.
    """
    if not _is_digits(value, 9):
        raise IdentifierError("orgnr.format", "organisation number must be exactly 9 digits")
    remainder = sum(w * int(d) for w, d in zip(_ORGNR_WEIGHTS, value[:8], strict=True)) % 11
    expected = (11 - remainder) % 11
    if expected == 10 or int(value[8]) != expected:
        raise IdentifierError(
            "orgnr.check_digit",
            "organisation number check digit does not match (mod-11)",
        )
    return value


# --- Fødselsnummer / D-nummer ----------------------------------------------


class NationalIdRule(enum.Enum):
    """The k1 rule a national id satisfies; both are valid in parallel."""

    PRE_2032 = "pre-2032"
    RULE_2032 = "2032"


@dataclass(frozen=True)
class NationalIdCheck:
    """Outcome of a successful national id validation.

    `rules` says which k1 rules hold. Every number valid under the old rule
    is also valid under the 2032 rule (the old k1 is one of the up to four
    2032 values), so the set is {PRE_2032, RULE_2032} or {RULE_2032}.
    """

    kind: Literal["fodselsnummer", "d-nummer"]
    rules: frozenset[NationalIdRule]


_S1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K1_FULL_WEIGHTS = (*_S1_WEIGHTS, 1)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_NATIONAL_ID_RUN = re.compile(r"(?<!\d)\d{11}(?!\d)")


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(w * int(d) for w, d in zip(weights, digits, strict=True))


def _k1_rules(value: str) -> frozenset[NationalIdRule]:
    rules: set[NationalIdRule] = set()
    s1 = _weighted(value[:9], _S1_WEIGHTS)
    old_k1 = (11 - s1 % 11) % 11  # 11 means 0; 10 means "no valid k1"
    if old_k1 != 10 and int(value[9]) == old_k1:
        rules.add(NationalIdRule.PRE_2032)
    # 2032: k1 in {11,12,13,14} - (S1 mod 11), i.e. the full mod-11 over the
    # first ten digits leaves 0..3. k1 is a single digit, so 10 cannot occur.
    if _weighted(value[:10], _K1_FULL_WEIGHTS) % 11 in (0, 1, 2, 3):
        rules.add(NationalIdRule.RULE_2032)
    return frozenset(rules)


_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _day_exists(day: int, month: int, year_digits: int) -> bool:
    """Whether ``day`` exists in ``month`` of some year ending in ``year_digits``.

    Only 29 February depends on the year. The two digits leave the century open: under the
    old rules the individual number names it (000-499 1900s, 500-749 1854-1899, 500-999
    2000-2039, 900-999 1940-1999), under the 2032 rules nothing does, and every number valid
    under the old k1 rule is valid under the 2032 rule too. So the day exists if some century
    makes the year a leap year: digits divisible by 4, ``00`` counting as 2000. (A 29 February
    ``00`` with individual number 000-499 reads as 1900 under the old rules alone, but from 2032
    it can be the number of someone born on 29 February 2000, so it is not refused.)
    """
    if day > _DAYS_IN_MONTH[month - 1]:
        return False
    return not (month == 2 and day == 29) or year_digits % 4 == 0


def validate_national_id(value: str) -> NationalIdCheck:
    """Validate a fødselsnummer or D-nummer under the old and 2032 rules.

    From 2032 neither century nor gender can be read from a number, and both
    k1 rules are valid in parallel, so the date is checked against the
    calendar of every century the number may belong to (see `_day_exists`),
    never against today's date: a birth date in the future is not refused.
    """
    if not _is_digits(value, 11):
        raise IdentifierError("national_id.format", "national id must be exactly 11 digits")
    kind: Literal["fodselsnummer", "d-nummer"] = (
        "d-nummer" if int(value[0]) >= 4 else "fodselsnummer"
    )
    day = int(value[0:2]) - (40 if kind == "d-nummer" else 0)
    month = int(value[2:4])
    if not (1 <= day <= 31 and 1 <= month <= 12):
        raise IdentifierError("national_id.date", "national id day must be 1-31 and month 1-12")
    if not _day_exists(day, month, int(value[4:6])):
        raise IdentifierError(
            "national_id.date",
            "national id day does not exist in its month "
            "(29 February only where the year digits allow a leap year)",
        )
    rules = _k1_rules(value)
    if not rules:
        raise IdentifierError(
            "national_id.k1",
            "national id first check digit (k1) fails both the old and the 2032 rule",
        )
    k2 = (11 - _weighted(value[:10], _K2_WEIGHTS) % 11) % 11
    if k2 == 10 or int(value[10]) != k2:
        raise IdentifierError(
            "national_id.k2", "national id second check digit (k2) does not match"
        )
    return NationalIdCheck(kind=kind, rules=rules)


def _is_national_id(candidate: str) -> bool:
    try:
        validate_national_id(candidate)
    except IdentifierError:
        return False
    return True


def mask_national_ids(text: str) -> str:
    """Replace every valid national id in `text` with '<national-id>'.

    Only standalone 11-digit runs are candidates, so GLNs (13) and GSRNs (18)
    are never touched; runs that fail validation are left as they are, to keep
    other 11-digit numbers readable. Nothing of a masked number is kept.
    """
    return _NATIONAL_ID_RUN.sub(
        lambda m: "<national-id>" if _is_national_id(m.group(0)) else m.group(0),
        text,
    )
