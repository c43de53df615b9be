"""Industry codes: the SN2007 → SN2025 move, and reading KLASS exports (test fixture lists)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from connectors.klass import (
    decode_export,
    load_code_lists,
    parse_codes_csv,
    parse_correspondence_csv,
)
from domain.industry_codes import (
    CodeLists,
    IndustryCode,
    check_industry_code,
    migration_candidates,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "klass"
SN2007_CSV = FIXTURES / "sn2007-codes.csv"
SN2025_CSV = FIXTURES / "sn2025-codes.csv"
CORRESPONDENCE_CSV = FIXTURES / "sn2007-sn2025-correspondence.csv"

IN_2026 = date(2026, 2, 1)
LATE_2025 = date(2025, 12, 15)


@pytest.fixture(scope="module")
def lists() -> CodeLists:
    return load_code_lists(SN2007_CSV, SN2025_CSV, CORRESPONDENCE_CSV)


def _code(reason: object) -> str | None:
    return getattr(reason, "code", None)


# --- check_industry_code ---------------------------------------------------------------------


def test_sn2007_code_in_2026_is_refused_naming_the_sn2025_candidates(lists: CodeLists) -> None:
    reason = check_industry_code("35.111", IN_2026, lists)
    assert reason is not None
    assert reason.code == "industry_code.sn2007_expired"
    assert reason.text == (
        "35.111 is an SN2007 code, invalid from 2026-01-01; "
        "use one of the SN2025 codes 35.121, 35.160"
    )


def test_sn2007_code_moved_to_one_number_names_it(lists: CodeLists) -> None:
    reason = check_industry_code("62.010", IN_2026, lists)
    assert reason is not None
    assert reason.code == "industry_code.sn2007_expired"
    assert reason.text.endswith("use the SN2025 code 62.100")


def test_same_sn2007_code_in_december_2025_is_accepted(lists: CodeLists) -> None:
    # KLASS ends SN2007 at 2025-09-01 in the fixture; the hub's cut-off is what counts.
    assert check_industry_code("35.111", LATE_2025, lists) is None
    assert check_industry_code("62.010", date(2025, 1, 15), lists) is None


def test_cut_off_is_a_parameter(lists: CodeLists) -> None:
    reason = check_industry_code("35.111", LATE_2025, lists, sn2007_invalid_from=date(2025, 12, 1))
    assert _code(reason) == "industry_code.sn2007_expired"


def test_sn2007_code_backdated_into_2025_is_refused_once_2026_has_begun(
        lists: CodeLists) -> None:
    # Taking effect in December 2025, but decided in 2026: it would become the current code.
    reason = check_industry_code("35.111", LATE_2025, lists, today=IN_2026)
    assert reason is not None
    assert reason.code == "industry_code.sn2007_expired"
    assert "2025-12-15" in reason.text
    assert reason.text.endswith("use one of the SN2025 codes 35.121, 35.160")


def test_sn2007_code_decided_in_2025_for_2025_is_still_accepted(lists: CodeLists) -> None:
    assert check_industry_code("35.111", date(2025, 11, 1), lists, today=LATE_2025) is None


def test_backdated_codes_valid_in_2026_are_accepted_in_2026(lists: CodeLists) -> None:
    # An SN2025 code, and a number SN2025 kept (it means the SN2025 subclass from 2026).
    assert check_industry_code("62.100", LATE_2025, lists, today=IN_2026) is None
    assert check_industry_code("47.111", date(2025, 6, 1), lists, today=IN_2026) is None


def test_from_2026_an_sn2025_code_is_taken_for_a_date_before_sn2025_began(
        lists: CodeLists) -> None:
    # No SN2007 code can be given any more, so the code in force now is the one to give.
    assert check_industry_code("62.100", date(2024, 6, 1), lists, today=IN_2026) is None
    # Decided before the cut-off, the same change still needs a code in force on its date.
    assert _code(check_industry_code("62.100", date(2024, 6, 1), lists, today=LATE_2025)) == (
        "industry_code.not_valid_on_date"
    )


def test_code_withdrawn_since_its_effective_date_stays_accepted() -> None:
    lists = CodeLists.build(
        [IndustryCode("10.002", "old", "SN2007", date(2009, 1, 1), date(2025, 9, 1))],
        [IndustryCode("10.100", "short-lived", "SN2025", date(2025, 9, 1), date(2026, 6, 1))],
        {"10.002": ["10.100"]},
    )
    assert check_industry_code("10.100", date(2026, 2, 1), lists, today=date(2026, 8, 1)) is None
    assert _code(check_industry_code("10.002", LATE_2025, lists, today=date(2026, 8, 1))) == (
        "industry_code.sn2007_expired"
    )


def test_unknown_code_stays_unknown_when_decided_in_2026(lists: CodeLists) -> None:
    assert _code(check_industry_code("99.999", LATE_2025, lists, today=IN_2026)) == (
        "industry_code.unknown"
    )


def test_sn2025_code_is_accepted_in_2026_and_late_2025(lists: CodeLists) -> None:
    assert check_industry_code("35.121", IN_2026, lists) is None
    assert check_industry_code("62.100", LATE_2025, lists) is None


def test_number_in_both_versions_is_decided_by_the_date(lists: CodeLists) -> None:
    # 47.111 is in both lists: SN2007 before the cut-off, SN2025 after it.
    assert check_industry_code("47.111", date(2024, 6, 1), lists) is None
    assert check_industry_code("47.111", IN_2026, lists) is None


def test_sn2025_only_code_before_sn2025_started_is_not_valid_on_date(lists: CodeLists) -> None:
    reason = check_industry_code("35.160", date(2024, 6, 1), lists)
    assert reason is not None
    assert reason.code == "industry_code.not_valid_on_date"
    assert "2025-09-01" in reason.text


def test_sn2007_code_before_its_valid_from_is_not_valid_on_date(lists: CodeLists) -> None:
    assert _code(check_industry_code("62.010", date(2008, 6, 1), lists)) == (
        "industry_code.not_valid_on_date"
    )


def test_sn2007_code_withdrawn_inside_sn2007_keeps_its_own_end() -> None:
    lists = CodeLists.build(
        [
            IndustryCode("10.001", "withdrawn early", "SN2007", date(2009, 1, 1), date(2015, 1, 1)),
            IndustryCode("10.002", "ended by SN2025", "SN2007", date(2009, 1, 1), date(2025, 9, 1)),
        ],
        [IndustryCode("10.100", "new", "SN2025", date(2025, 9, 1))],
        {"10.002": ["10.100"]},
    )
    assert _code(check_industry_code("10.001", date(2020, 1, 1), lists)) == (
        "industry_code.not_valid_on_date"
    )
    assert check_industry_code("10.002", LATE_2025, lists) is None


def test_unknown_code(lists: CodeLists) -> None:
    reason = check_industry_code("99.999", IN_2026, lists)
    assert reason is not None
    assert reason.code == "industry_code.unknown"
    assert "99.999" in reason.text


@pytest.mark.parametrize(
    "code", ["47111", "47.11", "47.1111", "D", "35", "4.7111", "47.11a", " 47.111", "٤٧.١١١", ""]
)
def test_malformed_code(lists: CodeLists, code: str) -> None:
    assert _code(check_industry_code(code, IN_2026, lists)) == "industry_code.format"


# --- migration_candidates ------------------------------------------------------------------------


def test_migration_report_lists_exactly_the_points_with_sn2007_codes(lists: CodeLists) -> None:
    points = [
        ("7080000000001", "707057500000000017", "62.010"),  # SN2007 only: moved
        ("7080000000001", "707057500000000024", "62.100"),  # already SN2025
        ("7080000000002", "707057500000000031", "35.111"),  # SN2007 only: split
        ("7080000000001", "707057500000000048", None),  # no code
        ("7080000000002", "707057500000000055", "56.101"),  # same number, 1:1: nothing to do
        ("7080000000002", "707057500000000062", "47.111"),  # same number, split: confirm
        ("7080000000001", "707057500000000079", "35.130"),  # reused number: confirm
        ("7080000000001", "707057500000000086", "99.999"),  # unknown: not this report's
        ("7080000000001", "707057500000000093", "4711"),  # malformed: not this report's
    ]
    assert migration_candidates(points, lists) == [
        ("7080000000001", "707057500000000017", "62.010", ("62.100",)),
        ("7080000000001", "707057500000000079", "35.130", ("35.140",)),
        ("7080000000002", "707057500000000031", "35.111", ("35.121", "35.160")),
        ("7080000000002", "707057500000000062", "47.111", ("47.111", "47.112")),
    ]


# --- reading KLASS exports -----------------------------------------------------------------------


def test_fixture_keeps_only_level_5_codes(lists: CodeLists) -> None:
    assert "35.11" not in lists.sn2007 and "D" not in lists.sn2007
    assert len(lists.sn2007) == 13 and len(lists.sn2025) == 15
    (hydro,) = lists.sn2007["35.111"]
    assert hydro == IndustryCode(
        "35.111",
        "Produksjon av elektrisitet fra vannkraft",
        "SN2007",
        date(2009, 1, 1),
        date(2025, 9, 1),
    )
    assert lists.sn2025_start == date(2025, 9, 1)
    assert lists.correspondence["47.111"] == ("47.111", "47.112")


def test_headers_are_case_insensitive_and_columns_may_be_missing() -> None:
    text = 'CODE;Name;LEVEL\n"47.111";"Butikkhandel";"5"\n'
    (code,) = parse_codes_csv(text, "SN2007")
    assert code == IndustryCode("47.111", "Butikkhandel", "SN2007", None, None)


def test_correspondence_skips_coarser_levels_and_keeps_codes_without_successor() -> None:
    text = (
        "sourceCode,sourceName,targetCode,targetName\n"
        "35.1,x,35.1,y\n"
        "10.001,gone,,\n"
        ",,10.200,new without predecessor\n"
        "10.002,a,10.100,b\n"
        "10.002,a,10.100,b\n"
    )
    assert parse_correspondence_csv(text) == {"10.001": (), "10.002": ("10.100",)}


@pytest.mark.parametrize(
    ("body", "line", "what"),
    [
        ('"47.111";"Butikk";"5";"2025-13-01"\n', 3, "validFrom '2025-13-01' is not a date"),
        ('"47.111";"";"5";""\n', 3, "has no name"),
        ('"4711";"Butikk";"5";""\n', 3, "'4711' is not of the form NN.NNN"),
        ('"01.110";"Korn";"5";""\n"47.111";"Butikk";"five";""\n', 4, "level 'five'"),
        ('"47.111";"Butikk";"5";"";"extra"\n', 3, "5 fields, header has 4"),
    ],
)
def test_parse_errors_name_file_and_line(tmp_path: Path, body: str, line: int, what: str) -> None:
    bad = tmp_path / "sn2007-bad.csv"
    bad.write_text('# comment\n"code";"name";"level";"validFrom"\n' + body, encoding="utf-8")
    with pytest.raises(ValueError, match=rf"^sn2007-bad\.csv, line {line}: .*") as exc:
        load_code_lists(bad, SN2025_CSV, CORRESPONDENCE_CSV)
    assert what in str(exc.value)


def test_missing_column_is_reported_at_the_header(tmp_path: Path) -> None:
    bad = tmp_path / "codes.csv"
    bad.write_text('"kode";"name"\n"47.111";"x"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"^codes\.csv, line 1: missing column\(s\) code"):
        load_code_lists(bad, SN2025_CSV, CORRESPONDENCE_CSV)


def test_correspondence_must_fit_the_code_lists(tmp_path: Path) -> None:
    bad = tmp_path / "corr.csv"
    bad.write_text('"sourceCode";"targetCode"\n"47.111";"47.111"\n"62.010";"62.999"\n')
    with pytest.raises(ValueError, match=r"^corr\.csv, line 3: targetCode 62\.999 is not in"):
        load_code_lists(SN2007_CSV, SN2025_CSV, bad)


def test_iso_8859_1_export_is_read(tmp_path: Path) -> None:
    # KLASS's default CSV charset; 'æøå' in ISO-8859-1 is not valid UTF-8.
    latin = tmp_path / "sn2007-latin1.csv"
    latin.write_bytes(
        (
            '"code";"parentCode";"level";"name";"validFrom";"validTo"\n'
            '"35.120";"35.12";"5";"Overføring av elektrisitet";"2009-01-01";"2025-09-01"\n'
            '"01.110";"01.11";"5";"Dyrking av korn, særlig på åker";"2009-01-01";"2025-09-01"\n'
        ).encode("iso-8859-1")
    )
    with pytest.raises(UnicodeDecodeError):
        latin.read_bytes().decode("utf-8")
    lists = load_code_lists(latin, SN2025_CSV, _latin1_correspondence(tmp_path))
    assert lists.sn2007["35.120"][0].name == "Overføring av elektrisitet"
    assert lists.sn2007["01.110"][0].name == "Dyrking av korn, særlig på åker"


def _latin1_correspondence(tmp_path: Path) -> Path:
    """A correspondence export matching the two-code list above, itself in ISO-8859-1."""
    path = tmp_path / "corr-latin1.csv"
    path.write_bytes(
        '"sourceCode";"sourceName";"targetCode";"targetName"\n'
        '"35.120";"Overføring";"35.130";"Overføring"\n'.encode("iso-8859-1")
    )
    return path


def test_utf8_with_bom_is_read() -> None:
    assert decode_export("\ufeffcode;name\n".encode()) == "code;name\n"
