"""Checks of the codes a metering point carries: NVE consumption codes and SSB næringskoder."""

from __future__ import annotations

from datetime import date

from domain.industry_codes import CodeLists, check_industry_code, is_subclass_code
from domain.messages import Reason

CONSUMPTION_CODES = frozenset({"1", "1a", *(str(n) for n in range(2, 37))})
"""NVE's sluttbrukergrupper: 1, 1a, 2–34, 35 households, 36 holiday homes."""


def check_consumption_code(code: str | None) -> Reason | None:
    if code is None or code in CONSUMPTION_CODES:
        return None
    return Reason("consumption_code.unknown",
                  f"{code} is not an NVE consumption code (1, 1a, 2-36)")


def check_industry(code: str | None, effective: date, lists: CodeLists | None,
                   today: date) -> Reason | None:
    """Against the imported code lists; without them only the format can be checked.

    ``today`` is the day the hub decides: from 2026 it takes SN2025 codes only, even for a
    change taking effect in 2025, which would otherwise make an SN2007 code current.
    """
    if code is None:
        return None
    if lists is None:
        return None if is_subclass_code(code) else Reason(
            "industry_code.format", f"{code!r} is not a næringskode of the form NN.NNN")
    return check_industry_code(code, effective, lists, today=today)
