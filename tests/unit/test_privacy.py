"""No personal data in logs: the structlog processor masks it wherever it appears."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from domain.privacy import mask_personal_data
from streams.logging import configure_logging, get_logger

FNR = "15058810042"  # a valid fødselsnummer (checked below), so the masking test means something


def test_the_test_number_is_a_valid_national_id() -> None:
    from domain.identifiers import validate_national_id

    validate_national_id(FNR)


def test_mask_personal_data_leaves_hub_identifiers_alone() -> None:
    text = (f"end user {FNR} at kari@example.no, +4791234567; point 707057500000000018, "
            "party 7080005051286")
    masked = mask_personal_data(text)
    assert FNR not in masked and "kari@example.no" not in masked and "+4791234567" not in masked
    assert "707057500000000018" in masked and "7080005051286" in masked


def test_every_log_line_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test")
    log = get_logger("privacy-test")
    log.info(f"started supply for {FNR}", contact={"value": "kari@example.no"},
             numbers=["+4791234567"], national_id=int(FNR))
    logging.getLogger("some.library").warning("library says %s", FNR)
    try:
        raise ValueError(f"bad end user {FNR}")
    except ValueError:
        log.exception("failed")
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert len(lines) == 3
    assert FNR not in err and "kari@example.no" not in err and "+4791234567" not in err
    assert "<national-id>" in err and "<email>" in err and "<phone>" in err
    structlog.reset_defaults()
