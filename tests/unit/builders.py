"""Test data shared by the domain tests: parties with valid GLNs, one metering point, Oslo days."""

from __future__ import annotations

from datetime import date, datetime

from domain.identifiers import gs1_check_digit
from domain.metering_point import MeteringPoint, SupplyPeriod, ThirdPartyAccess
from domain.series import HUB_TIMEZONE


def gln(body: str) -> str:
    """A GLN from its first 12 digits, with the GS1 check digit."""
    return body + str(gs1_check_digit(body))


POINT_ID = "707057500000000018"  # a valid Norwegian GSRN
GRID_OWNER = gln("708000000001")


def oslo_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=HUB_TIMEZONE)


def metering_point(*, resolution: str = "PT1H", supplies: tuple[tuple[str, date], ...] = (),
                   access: tuple[ThirdPartyAccess, ...] = (),
                   valid_from: date = date(2025, 1, 1),
                   supply_ids: str = "supply") -> MeteringPoint:
    """A consumption point in NO1 of :data:`GRID_OWNER`, with the given suppliers from their
    start dates (supply ids ``<supply_ids>-0``, ``-1``, …) and third-party grants."""
    return MeteringPoint(
        metering_point_id=POINT_ID, grid_owner=GRID_OWNER, grid_area="10YNO-1--------2",
        price_area="NO1", point_type="consumption", resolution=resolution,
        valid_from=valid_from, consumption_code="35", third_party_access=access,
        supplies=tuple(sorted((SupplyPeriod(supplier, start, f"{supply_ids}-{n}")
                               for n, (supplier, start) in enumerate(supplies)),
                              key=lambda period: period.start_date)))
