"""Unit tests for domain.identifiers: the edge validators of the datahub."""

from __future__ import annotations

import datetime
import itertools

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.identifiers import (
    IdentifierError,
    NationalIdCheck,
    NationalIdRule,
    eic_check_character,
    gs1_check_digit,
    mask_national_ids,
    validate_eic,
    validate_gln,
    validate_gsrn,
    validate_national_id,
    validate_norwegian_gsrn,
    validate_organisation_number,
)

BOTH_RULES = frozenset({NationalIdRule.PRE_2032, NationalIdRule.RULE_2032})
ONLY_2032 = frozenset({NationalIdRule.RULE_2032})


def _code(exc: pytest.ExceptionInfo[IdentifierError]) -> str:
    return exc.value.code


# --- GS1: GSRN and GLN ------------------------------------------------------


def test_gs1_check_digit_of_norwegian_gsrn_body() -> None:
    # Worked by hand: weights 3,1,3,... from the right give 82, so 10 - 2 = 8.
    assert gs1_check_digit("70705750000000001") == 8


def test_gs1_check_digit_rejects_non_digits() -> None:
    with pytest.raises(IdentifierError):
        gs1_check_digit("7070575a")
    with pytest.raises(IdentifierError):
        gs1_check_digit("")


def test_valid_gsrn() -> None:
    body = "70705750000000001"
    gsrn = body + str(gs1_check_digit(body))
    assert gsrn == "707057500000000018"
    assert validate_gsrn(gsrn) == gsrn


def test_gsrn_with_wrong_check_digit() -> None:
    with pytest.raises(IdentifierError) as exc:
        validate_gsrn("707057500000000017")
    assert _code(exc) == "gsrn.check_digit"


@pytest.mark.parametrize(
    "value",
    [
        "70705750000000001",  # 17 digits
        "7070575000000000189",  # 19 digits
        "70705750000000001A",
        " 707057500000000018",
        "707057500000000018 ",
        "".join(chr(ord(c) + 0xFEE0) for c in "707057500000000018"),  # full-width digits
        "",
    ],
)
def test_gsrn_format(value: str) -> None:
    with pytest.raises(IdentifierError) as exc:
        validate_gsrn(value)
    assert _code(exc) == "gsrn.format"


@given(st.text(alphabet="0123456789", min_size=17, max_size=17), st.integers(1, 9))
def test_gsrn_property_computed_check_digit_validates_and_any_other_fails(
    body: str, shift: int
) -> None:
    check = gs1_check_digit(body)
    assert validate_gsrn(f"{body}{check}") == f"{body}{check}"
    with pytest.raises(IdentifierError) as exc:
        validate_gsrn(f"{body}{(check + shift) % 10}")
    assert _code(exc) == "gsrn.check_digit"


def _gsrn(body: str) -> str:
    return body + str(gs1_check_digit(body))


def test_norwegian_gsrn_is_taken() -> None:
    assert validate_norwegian_gsrn("707057500000000018") == "707057500000000018"


@pytest.mark.parametrize("body", [
    "73599910000000001",  # a Swedish point's range
    "57131310000000001",  # a Danish one
    "70705750010000001",  # 7070575 with another tenth digit
    "07070575000000001",  # the prefix shifted by one
])
def test_valid_gsrn_outside_the_norwegian_prefix_is_refused(body: str) -> None:
    value = _gsrn(body)
    assert validate_gsrn(value) == value
    with pytest.raises(IdentifierError) as exc:
        validate_norwegian_gsrn(value)
    assert _code(exc) == "gsrn.not_norwegian"
    assert "7070575000" in exc.value.message


def test_norwegian_gsrn_reports_the_gsrn_problem_first() -> None:
    with pytest.raises(IdentifierError) as exc:
        validate_norwegian_gsrn("707057500000000017")
    assert _code(exc) == "gsrn.check_digit"
    with pytest.raises(IdentifierError) as exc:
        validate_norwegian_gsrn("7070575000")
    assert _code(exc) == "gsrn.format"


def test_valid_gln() -> None:
    body = "708001000000"
    gln = body + str(gs1_check_digit(body))
    assert validate_gln(gln) == gln


def test_gln_with_wrong_check_digit() -> None:
    body = "708001000000"
    wrong = body + str((gs1_check_digit(body) + 1) % 10)
    with pytest.raises(IdentifierError) as exc:
        validate_gln(wrong)
    assert _code(exc) == "gln.check_digit"


@pytest.mark.parametrize("value", ["708001000000", "70800100000000", "70800100000O5"])
def test_gln_format(value: str) -> None:
    with pytest.raises(IdentifierError) as exc:
        validate_gln(value)
    assert _code(exc) == "gln.format"


def test_gsrn_is_not_a_gln_and_vice_versa() -> None:
    with pytest.raises(IdentifierError) as exc:
        validate_gln("707057500000000018")
    assert _code(exc) == "gln.format"
    gln = "708001000000" + str(gs1_check_digit("708001000000"))
    with pytest.raises(IdentifierError) as exc:
        validate_gsrn(gln)
    assert _code(exc) == "gsrn.format"


# --- EIC ----------------------------------------------------------------------

# Official ENTSO-E Y-codes of the Norwegian bidding zones (NO0 is the whole country).
REAL_EICS = [
    "10YNO-0--------C",  # Norway
    "10YNO-1--------2",  # NO1
    "10YNO-2--------T",  # NO2
    "10YNO-3--------J",  # NO3
    "10YNO-4--------9",  # NO4
    "10Y1001A1001A48H",  # NO5
]


@pytest.mark.parametrize("eic", REAL_EICS)
def test_real_norwegian_eic_codes_validate(eic: str) -> None:
    assert validate_eic(eic) == eic
    assert eic_check_character(eic[:15]) == eic[15]


def test_eic_wrong_check_character() -> None:
    with pytest.raises(IdentifierError) as exc:
        validate_eic("10YNO-1--------3")
    assert _code(exc) == "eic.check_character"


def test_eic_accepts_other_type_letters() -> None:
    body = "10XNO-TEST-----"
    check = eic_check_character(body)
    if check == "-":  # pragma: no cover - guards the fixture, not the code
        pytest.skip("fixture body has no valid check character")
    assert validate_eic(body + check) == body + check


@pytest.mark.parametrize(
    "value",
    [
        "10yno-1--------2",  # lowercase is not how EICs are issued
        "10YNO-1--------",  # 15 characters
        "10YNO-1--------22",  # 17 characters
        "101NO-1--------2",  # third character must be the type letter
        "X0YNO-1--------2",  # issuing office is two digits
        "10YNO_1--------2",
    ],
)
def test_eic_format(value: str) -> None:
    with pytest.raises(IdentifierError) as exc:
        validate_eic(value)
    assert _code(exc) == "eic.format"


def test_eic_body_whose_check_character_would_be_dash_is_rejected() -> None:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    body = next(
        b
        for b in ("10YTEST" + "".join(t) + "----" for t in itertools.product(alphabet, repeat=4))
        if eic_check_character(b) == "-"
    )
    with pytest.raises(IdentifierError) as exc:
        validate_eic(body + "-")
    assert _code(exc) == "eic.check_character"


@given(
    st.text(alphabet="0123456789", min_size=2, max_size=2),
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=12, max_size=12),
)
def test_eic_property_computed_check_character_validates(office: str, kind: str, rest: str) -> None:
    body = office + kind + rest
    check = eic_check_character(body)
    if check == "-":
        with pytest.raises(IdentifierError):
            validate_eic(body + check)
    else:
        assert validate_eic(body + check) == body + check


# --- Organisasjonsnummer ----------------------------------------------------


def test_valid_organisation_number_bronnoysund() -> None:
    assert validate_organisation_number("974760673") == "974760673"


def test_organisation_number_wrong_check_digit() -> None:
    with pytest.raises(IdentifierError) as exc:
        validate_organisation_number("974760674")
    assert _code(exc) == "orgnr.check_digit"


def test_organisation_number_whose_check_would_be_10_is_invalid() -> None:
    weights = (3, 2, 7, 6, 5, 4, 3, 2)
    body = next(
        f"{n:08d}"
        for n in range(10_000_000, 99_999_999)
        if sum(w * int(d) for w, d in zip(weights, f"{n:08d}", strict=True)) % 11 == 1
    )
    for last in "0123456789":
        with pytest.raises(IdentifierError) as exc:
            validate_organisation_number(body + last)
        assert _code(exc) == "orgnr.check_digit"


@pytest.mark.parametrize("value", ["97476067", "9747606733", "97476067X", "974 760 673"])
def test_organisation_number_format(value: str) -> None:
    with pytest.raises(IdentifierError) as exc:
        validate_organisation_number(value)
    assert _code(exc) == "orgnr.format"


# --- Fødselsnummer / D-nummer -----------------------------------------------
# Numbers are built here from the published weights, independently of the module.

S1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _s1(first9: str) -> int:
    return sum(w * int(d) for w, d in zip(S1_WEIGHTS, first9, strict=True))


def _k2(first10: str) -> int | None:
    k2 = (11 - sum(w * int(d) for w, d in zip(K2_WEIGHTS, first10, strict=True)) % 11) % 11
    return None if k2 == 10 else k2


def _with_k2(first10: str) -> str | None:
    k2 = _k2(first10)
    return None if k2 is None else f"{first10}{k2}"


def _old_rule_number(date6: str, individuals: range = range(1000)) -> str:
    """First number for `date6` whose k1 follows the pre-2032 rule."""
    for i in individuals:
        first9 = f"{date6}{i:03d}"
        k1 = (11 - _s1(first9) % 11) % 11
        if k1 == 10:
            continue
        number = _with_k2(f"{first9}{k1}")
        if number is not None:
            return number
    raise AssertionError("no old-rule number found")


def _new_only_number(date6: str) -> str:
    """A number whose k1 comes from a 2032 remainder of 1, 2 or 3 only.

    With S1 mod 11 == 1 the old rule has no k1 at all (it would be 10).
    """
    for i in range(1000):
        first9 = f"{date6}{i:03d}"
        if _s1(first9) % 11 != 1:
            continue
        for remainder in (1, 2, 3):
            k1 = (11 + remainder - _s1(first9) % 11) % 11  # S1 + k1 ≡ remainder
            number = _with_k2(f"{first9}{k1}")
            if number is not None:
                return number
    raise AssertionError("no 2032-only number found")


def _k1_failing_number(date6: str) -> str:
    """A number whose k1 fails both rules but whose k2 is right for that k1."""
    for i in range(1000):
        first9 = f"{date6}{i:03d}"
        for k1 in range(10):
            if (_s1(first9) + k1) % 11 <= 3:
                continue
            number = _with_k2(f"{first9}{k1}")
            if number is not None:
                return number
    raise AssertionError("no k1-failing number found")


def test_old_rule_number_satisfies_both_rules() -> None:
    # The old k1 is always one of the 2032 values (remainder 0), so no number is
    # valid under the old rule only: PRE_2032 always comes with RULE_2032.
    number = _old_rule_number("150588")
    assert validate_national_id(number) == NationalIdCheck("fodselsnummer", BOTH_RULES)


def test_number_valid_only_under_2032_rule() -> None:
    number = _new_only_number("150588")
    assert validate_national_id(number) == NationalIdCheck("fodselsnummer", ONLY_2032)


@pytest.mark.parametrize("remainder", [1, 2, 3])
def test_each_2032_remainder_is_accepted(remainder: int) -> None:
    for i in range(1000):
        first9 = f"010203{i:03d}"
        k1 = (11 + remainder - _s1(first9) % 11) % 11
        if k1 == 10:
            continue
        number = _with_k2(f"{first9}{k1}")
        if number is not None:
            break
    else:  # pragma: no cover
        raise AssertionError("no fixture found")
    assert validate_national_id(number).rules == ONLY_2032


def test_d_nummer() -> None:
    number = _old_rule_number("410190")  # day 01 + 40
    result = validate_national_id(number)
    assert result.kind == "d-nummer"
    assert result.rules == BOTH_RULES
    assert validate_national_id(_new_only_number("710190")).kind == "d-nummer"  # day 31


def test_k1_failing_both_rules() -> None:
    with pytest.raises(IdentifierError) as exc:
        validate_national_id(_k1_failing_number("150588"))
    assert _code(exc) == "national_id.k1"


def test_k2_failing() -> None:
    number = _old_rule_number("150588")
    wrong = number[:10] + str((int(number[10]) + 1) % 10)
    with pytest.raises(IdentifierError) as exc:
        validate_national_id(wrong)
    assert _code(exc) == "national_id.k2"


def test_future_birth_date_is_accepted() -> None:
    # Individual numbers 500-749 with year 00-39 read as 2000-2039 under the
    # old century scheme: 1 Jan 2039 is in the future, and must not matter.
    number = _old_rule_number("010139", range(500, 750))
    assert validate_national_id(number).kind == "fodselsnummer"


@pytest.mark.parametrize("date6", [
    "310490", "310690", "310990", "311190",  # 31 in a 30-day month
    "300296", "310296",  # never in February
    "290201", "290290", "290299",  # 29 February where no century makes a leap year
    "710490", "690201",  # the same as D-nummer (day + 40)
])
def test_day_that_cannot_exist_in_its_month_is_refused_under_both_rules(date6: str) -> None:
    for number in (_old_rule_number(date6), _new_only_number(date6)):
        with pytest.raises(IdentifierError) as exc:
            validate_national_id(number)
        assert _code(exc) == "national_id.date"
        assert number not in str(exc.value)


@pytest.mark.parametrize("date6", ["290296", "290204", "290240", "690296", "300490", "310190"])
def test_29_february_of_a_leap_year_and_last_days_of_months_are_accepted(date6: str) -> None:
    assert validate_national_id(_old_rule_number(date6)).rules == BOTH_RULES
    assert validate_national_id(_new_only_number(date6)).rules == ONLY_2032


def test_29_february_00_is_accepted_whatever_the_individual_number() -> None:
    # Under the old rules 500-999 with 00 is 2000, a leap year. 000-499 is 1900, which is not,
    # but from 2032 the individual number no longer names the century: it can be 2000.
    assert validate_national_id(_old_rule_number("290200", range(500, 1000))).rules == BOTH_RULES
    assert validate_national_id(_old_rule_number("290200", range(500))).rules == BOTH_RULES


@pytest.mark.parametrize("date6", ["000190", "320190", "400190", "720190", "010090", "011390"])
def test_date_out_of_range(date6: str) -> None:
    with pytest.raises(IdentifierError) as exc:
        validate_national_id(date6 + "12345")
    assert _code(exc) == "national_id.date"


@pytest.mark.parametrize("value", ["1505881234", "150588123456", "15058812a45", "150588 12345"])
def test_national_id_format(value: str) -> None:
    with pytest.raises(IdentifierError) as exc:
        validate_national_id(value)
    assert _code(exc) == "national_id.format"


def _exists_in_some_century(day: int, month: int, year: int) -> bool:
    for century in (1800, 1900, 2000):
        try:
            datetime.date(century + year, month, day)
        except ValueError:
            continue
        return True
    return False


@given(
    st.integers(1, 31),
    st.integers(1, 12),
    st.integers(0, 99),
    st.integers(0, 999),
    st.integers(0, 9),
    st.booleans(),
)
def test_national_id_property_rules_match_the_published_formulas(
    day: int, month: int, year: int, individual: int, k1: int, d_nummer: bool
) -> None:
    first9 = f"{day + (40 if d_nummer else 0):02d}{month:02d}{year:02d}{individual:03d}"
    number = _with_k2(f"{first9}{k1}")
    assume(number is not None)
    assert number is not None
    remainder = (_s1(first9) + k1) % 11
    if not _exists_in_some_century(day, month, year):
        with pytest.raises(IdentifierError) as exc:
            validate_national_id(number)
        assert _code(exc) == "national_id.date"
        return
    if remainder > 3:
        with pytest.raises(IdentifierError) as exc:
            validate_national_id(number)
        assert _code(exc) == "national_id.k1"
        return
    result = validate_national_id(number)
    assert result.kind == ("d-nummer" if d_nummer else "fodselsnummer")
    # Old rule means remainder 0, which the 2032 rule also allows.
    assert result.rules == (BOTH_RULES if remainder == 0 else ONLY_2032)


# --- Masking --------------------------------------------------------------------


def test_mask_national_id_in_sentence_leaves_gln_and_gsrn() -> None:
    fnr = _new_only_number("150588")
    gln = "708001000000" + str(gs1_check_digit("708001000000"))
    gsrn = "707057500000000018"
    text = f"Kunde {fnr} flytter; part {gln}, målepunkt {gsrn}."
    masked = mask_national_ids(text)
    assert masked == f"Kunde <national-id> flytter; part {gln}, målepunkt {gsrn}."
    assert fnr not in masked


def test_mask_leaves_invalid_eleven_digit_runs() -> None:
    invalid = _k1_failing_number("150588")
    assert mask_national_ids(f"ref {invalid}") == f"ref {invalid}"


def test_mask_handles_multiple_and_adjacent_text() -> None:
    a = _old_rule_number("150588")
    b = _old_rule_number("410190")
    assert mask_national_ids(f"{a},{b}x") == "<national-id>,<national-id>x"


def test_mask_ignores_valid_id_inside_longer_digit_run() -> None:
    fnr = _old_rule_number("150588")
    assert mask_national_ids(f"1{fnr}") == f"1{fnr}"
    assert mask_national_ids(f"{fnr}0") == f"{fnr}0"


@given(st.text(alphabet="0123456789", min_size=12, max_size=30))
def test_mask_never_touches_longer_digit_runs(digits: str) -> None:
    assert mask_national_ids(f"id={digits};") == f"id={digits};"
