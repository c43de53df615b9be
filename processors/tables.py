"""The tables the processors keep, per metering point, with their changelog topics.

The changelogs keep the names and record formats of the earlier Faust tables, so every reader
(replay, reports, the comparison) reads them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.consent import AuthorizationSet
from domain.metering_point import MeteringPoint
from domain.metering_point import from_record as point_from_record
from domain.metering_point import to_record as point_to_record
from domain.norgespris import Contract
from domain.shared_production import Membership
from domain.versions import SeriesVersion
from domain.versions import from_record as history_from_record
from domain.versions import to_record as history_to_record
from processors.consent_records import decode_set, encode_set
from processors.contract_records import contract_from, contract_record
from processors.shared_production_records import (
    Calculation,
    Day,
    decode_calculation,
    decode_day,
    decode_memberships,
    encode_calculation,
    encode_day,
    encode_memberships,
)
from streams.engine import TableSpec
from streams.serialisation import CONTRACT_SET, METERING_POINT_STATE, SERIES_HISTORY, codec
from streams.topics import TopicCatalogue


@dataclass(frozen=True)
class ContractSet:
    """A point's Norgespris contracts, and the partition they live in."""

    partition: int
    contracts: tuple[Contract, ...]


def _encode_point(point: MeteringPoint) -> bytes:
    return codec(METERING_POINT_STATE).encode(point_to_record(point))


def _decode_point(raw: bytes) -> MeteringPoint:
    return point_from_record(codec(METERING_POINT_STATE).decode(raw))


def _encode_history(history: list[SeriesVersion]) -> bytes:
    return codec(SERIES_HISTORY).encode(history_to_record(history))


def _decode_history(raw: bytes) -> list[SeriesVersion]:
    return history_from_record(codec(SERIES_HISTORY).decode(raw))


def _encode_contracts(value: ContractSet) -> bytes:
    return codec(CONTRACT_SET).encode({
        "partition": value.partition,
        "contracts": [contract_record(c, None) for c in value.contracts]})


def _decode_contracts(raw: bytes) -> ContractSet:
    record = codec(CONTRACT_SET).decode(raw)
    return ContractSet(record["partition"], tuple(contract_from(c) for c in record["contracts"]))


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

    @classmethod
    def of(cls, catalogue: TopicCatalogue) -> Tables:
        return cls(
            TableSpec("metering-points", catalogue.metering_point_changelog,
                      _encode_point, _decode_point),
            TableSpec("series-versions", catalogue.series_versions_changelog,
                      _encode_history, _decode_history),
            TableSpec("contracts", catalogue.contracts_changelog,
                      _encode_contracts, _decode_contracts),
            TableSpec("authorizations", catalogue.authorizations_changelog,
                      encode_set, decode_set),
            TableSpec("shared-production", catalogue.shared_production_changelog,
                      encode_calculation, decode_calculation),
            TableSpec("shared-production-days", catalogue.shared_production_days_changelog,
                      encode_day, decode_day),
            TableSpec("shared-production-memberships",
                      catalogue.shared_production_memberships_changelog,
                      encode_memberships, decode_memberships),
        )

    def all(self) -> list[TableSpec[object]]:
        return [self.metering_points, self.series_versions, self.contracts,  # type: ignore[list-item]
                self.authorizations, self.calculations, self.calculation_days,  # type: ignore[list-item]
                self.memberships]  # type: ignore[list-item]
