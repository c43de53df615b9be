"""The tables the processors keep, per metering point, with their changelog topics.

The changelogs keep the names and record formats of the earlier Faust tables, so every reader
(replay, reports, the comparison) reads them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.metering_point import MeteringPoint
from domain.metering_point import from_record as point_from_record
from domain.metering_point import to_record as point_to_record
from domain.norgespris import Contract
from domain.point_values import PointDay
from domain.versions import SeriesVersion
from domain.versions import from_record as history_from_record
from domain.versions import to_record as history_to_record
from processors.contract_records import contract_from, contract_record
from schemas.records import point_day
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
    point_values: TableSpec[PointDay]  # the forwarder's, by point and day, on disk

    @classmethod
    def of(cls, catalogue: TopicCatalogue) -> Tables:
        return cls(
            TableSpec("metering-points", catalogue.metering_point_changelog,
                      _encode_point, _decode_point),
            TableSpec("series-versions", catalogue.series_versions_changelog,
                      _encode_history, _decode_history),
            TableSpec("contracts", catalogue.contracts_changelog,
                      _encode_contracts, _decode_contracts),
            TableSpec("point-values", catalogue.point_values_changelog,
                      point_day.encode, point_day.decode, on_disk=True),
        )

    def all(self) -> list[TableSpec[object]]:
        return [self.metering_points, self.series_versions, self.contracts,  # type: ignore[list-item]
                self.point_values]  # type: ignore[list-item]
