"""Which processor reads which topic, the tables they share, and their timers."""

from __future__ import annotations

from processors.consent import Consent
from processors.contracts import Contracts
from processors.forwarder import Forwarder
from processors.master_data import CodeListsLookup, MasterData, ProcessRules
from processors.point_values import PointRequests
from processors.shared_production import SharedProduction, SharedProductionPoints
from processors.tables import Tables
from schemas.settings import Settings
from streams.engine import Topology
from streams.topics import TopicCatalogue


def topology(settings: Settings, catalogue: TopicCatalogue,
             code_lists: CodeListsLookup) -> Topology:
    """The worker's processors. Master data and contract commands come before metering values
    that carry the same timestamp: a value is routed on the state its time was sent in."""
    tables = Tables.of(catalogue)
    contracts = Contracts(catalogue, tables, settings.contract_timer_seconds)
    return Topology(
        handlers={
            catalogue.metering_values: Forwarder(catalogue, tables,
                                                 settings.series_history_days),
            catalogue.master_data: MasterData(catalogue, tables, code_lists,
                                              ProcessRules.of(settings)),
            catalogue.contract_commands: contracts,
            catalogue.authorization_commands: Consent(catalogue, tables, settings),
            catalogue.shared_production: SharedProduction(
                catalogue, tables, settings.dynamic_split_without_consumption),
            catalogue.shared_production_points: SharedProductionPoints(catalogue, tables),
            catalogue.point_requests: PointRequests(catalogue, tables),
        },
        tables=tables.all(),
        timers=[contracts],
        priority={catalogue.master_data: 0, catalogue.contract_commands: 1,
                  catalogue.authorization_commands: 1, catalogue.shared_production_points: 1,
                  catalogue.metering_values: 2, catalogue.shared_production: 3,
                  catalogue.point_requests: 4},
        transactional_inputs=frozenset({catalogue.shared_production,
                                        catalogue.shared_production_points}),
    )
