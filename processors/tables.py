"""The tables the processors keep, per metering point, with their changelog topics.

The changelogs keep the names and record formats of the earlier Faust tables, so every reader
(replay, reports, the comparison) reads them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.consent import AuthorizationSet
from domain.metering_point import MeteringPoint
from domain.point_values import PointDay
from domain.shared_production import Membership
from domain.versions import SeriesVersion
from streams.engine import TableSpec
from streams.records import consent, contracts, metering_point, point_day, series_history
from streams.records.contracts import ContractSet
from streams.records.shared_production import (
    Calculation,
    Day,
    decode_calculation,
    decode_day,
    decode_memberships,
    encode_calculation,
    encode_day,
    encode_memberships,
)
from streams.topics import TopicCatalogue


@dataclass(frozen=True)
class Tables:
    """The table specs of one deployment (changelog names carry the topic prefix)."""

    metering_points: TableSpec[MeteringPoint]
    series_versions: TableSpec[list[SeriesVersion]]
    contracts: TableSpec[ContractSet]
    authorizations: TableSpec[AuthorizationSet]
    calculations: TableSpec[Calculation]  # shared production, by calculation
    calculation_days: TableSpec[Day]  # shared production, by calculation and day
    memberships: TableSpec[tuple[Membership, ...]]  # shared production, by metering point
    point_values: TableSpec[PointDay]  # the forwarder's, by point and day, on disk

    @classmethod
    def of(cls, catalogue: TopicCatalogue) -> Tables:
        return cls(
            TableSpec("metering-points", catalogue.metering_point_changelog,
                      metering_point.encode, metering_point.decode),
            TableSpec("series-versions", catalogue.series_versions_changelog,
                      series_history.encode, series_history.decode),
            TableSpec("contracts", catalogue.contracts_changelog,
                      contracts.encode_set, contracts.decode_set),
            TableSpec("authorizations", catalogue.authorizations_changelog,
                      consent.encode_set, consent.decode_set),
            TableSpec("shared-production", catalogue.shared_production_changelog,
                      encode_calculation, decode_calculation),
            TableSpec("shared-production-days", catalogue.shared_production_days_changelog,
                      encode_day, decode_day),
            TableSpec("shared-production-memberships",
                      catalogue.shared_production_memberships_changelog,
                      encode_memberships, decode_memberships),
            TableSpec("point-values", catalogue.point_values_changelog,
                      point_day.encode, point_day.decode, on_disk=True),
        )

    def all(self) -> list[TableSpec[object]]:
        return [self.metering_points, self.series_versions, self.contracts,  # type: ignore[list-item]
                self.authorizations, self.calculations, self.calculation_days,  # type: ignore[list-item]
                self.memberships, self.point_values]  # type: ignore[list-item]
