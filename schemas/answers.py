"""Pydantic models of what the API answers: the response schemas of /openapi.json.

Routes render their answers themselves (a poll joins stored bytes, operator views pass the
monitor's records through); these models say what those answers hold, field by field, in the
contract's camelCase, so that a client can be generated from the document and schemathesis can
check every answer against it (tests/integration/test_fuzz_api.py). Problem details and the
queue messages' payloads have their own modules (:mod:`schemas.problems`,
:mod:`schemas.queue_payloads`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


def camel_case(value: Any) -> Any:
    """``value`` with every dict key in the contract's camelCase (``energy_kwh`` ->
    ``energyKwh``): answers built from the domain's dataclasses."""
    if isinstance(value, dict):
        return {to_camel(k) if isinstance(k, str) else k: camel_case(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [camel_case(v) for v in value]
    return value


class Answer(BaseModel):
    """An answer body: camelCase on the wire; further members may be added later."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


# -- health -------------------------------------------------------------------------------------


class Health(Answer):
    status: Literal["ok"] = "ok"


class Readiness(Answer):
    """``200`` when the broker answers and the processors have their partitions, else ``503``
    with the same body saying which is missing."""

    broker: Literal["ok", "unreachable"]
    processors: Literal["ok", "not assigned"]


# -- queues -------------------------------------------------------------------------------------


class Acknowledged(Answer):
    poll_id: str
    status: Literal["acknowledged", "already_acknowledged"] = Field(
        description="``already_acknowledged`` for a repeated acknowledgement of the same poll")


# -- operations: the monitor's view -----------------------------------------------------------


class PartitionLag(Answer):
    topic: str
    partition: int
    committed: int | None = Field(description="the processors' committed offset; null before "
                                              "they commit")
    log_end: int
    lag: int
    lag_seconds: float | None = Field(description="age of the oldest unprocessed record")
    status: str = Field(description="Burrow's verdict: OK, WARN, ERR, STOP, STALL, REWIND")
    reason: str


class HeartbeatAge(Answer):
    source_topic: str
    partition: int
    age_seconds: float | None = Field(description="null: no heartbeat came back yet")


class Throughput(Answer):
    topic: str
    in_per_second: float
    processed_per_second: float


class PartitionReplicas(Answer):
    topic: str
    partition: int
    leader: int = Field(description="-1: no leader (offline)")
    replicas: list[int]
    isr: list[int]


class Replication(Answer):
    """Replica state of every partition in the cluster, internal topics included."""

    brokers: int
    partitions: int
    under_replicated: int
    below_min_insync: int
    offline: int
    affected: list[PartitionReplicas] = Field(description="at most 100 partitions")


class LagReport(Answer):
    """The monitor's latest round (``stale`` when it is older than 30 s: a silent monitor never
    looks like zero lag). Before the first round only ``monitor`` and ``stale`` are given."""

    stale: bool
    monitor: str | None = Field(default=None, description="why the figures are not current")
    report_age_seconds: float | None = None
    taken_at: datetime | None = None
    monitor_started_at: datetime | None = None
    broker_up: bool | None = None
    group: str | None = None
    group_status: str | None = None
    partitions: list[PartitionLag] = Field(default_factory=list)
    heartbeats: list[HeartbeatAge] = Field(default_factory=list)
    throughput: list[Throughput] = Field(default_factory=list)
    newest_processed_age_seconds: float | None = None
    catch_up_eta_seconds: float | None = None
    dead_letters: int | None = None
    replication: Replication | None = None


class AlertOut(Answer):
    id: str = Field(description="the alert's name and what it is about, e.g. "
                                "ForwardingStopped:straum.metering-values.intake:3")
    name: str
    severity: Literal["critical", "warning"]
    state: Literal["firing", "resolved"]
    since: datetime | None
    summary: str
    runbook: str = Field(description="absolute URL of the runbook section")


class Alerts(Answer):
    alerts: list[AlertOut] = Field(description="open alerts first, newest first")


class QueueDepth(Answer):
    actor: str
    queue: Literal["metering-values", "market-processes"]
    depth: int
    oldest_age_seconds: float | None


class OpsQueues(Answer):
    queues: list[QueueDepth]


class MigrationPoint(Answer):
    metering_point_id: str
    sn2007_code: str = Field(alias="sn2007Code")
    sn2025_candidates: list[str] = Field(alias="sn2025Candidates")


class MigrationOwner(Answer):
    grid_owner: str
    points: int
    details: list[MigrationPoint]


class IndustryCodeMigration(Answer):
    imported: bool = Field(description="false until SSB's code lists are imported")
    grid_owners: list[MigrationOwner]


class MaintenanceWindowOut(Answer):
    id: str
    start: datetime
    end: datetime
    reason: str


class MaintenanceWindows(Answer):
    windows: list[MaintenanceWindowOut]


class AvailabilityPeriod(Answer):
    period: str = Field(description="a day (YYYY-MM-DD) or a month (YYYY-MM), Norwegian time")
    minutes: int
    observed_minutes: int
    up_minutes: int
    planned_down_minutes: int
    unplanned_down_minutes: int
    unobserved_minutes: int
    availability_percent: float | None = Field(
        description="up share of the observed minutes outside planned maintenance")


class AvailabilityReport(Answer):
    days: list[AvailabilityPeriod]
    months: list[AvailabilityPeriod]


class HistorySample(Answer):
    """One step of the history: the worst lag and catch-up time, mean rates, last counts."""

    at: datetime
    lag_messages: int
    max_lag_seconds: float | None
    in_per_second: float
    processed_per_second: float
    catch_up_eta_seconds: float | None
    dead_letters: int
    firing_alerts: int
    forwarding_up: bool
    queue_messages: int


class OpsHistory(Answer):
    from_: datetime = Field(alias="from")
    to: datetime
    step_seconds: float = Field(description="the period each sample stands for, at least")
    samples: list[HistorySample]


class AlertPeriod(Answer):
    id: str
    name: str
    severity: str
    start: datetime
    end: datetime | None = Field(description="null while it still fires")
    summary: str
    runbook: str


class AlertTimeline(Answer):
    from_: datetime = Field(alias="from")
    to: datetime
    periods: list[AlertPeriod] = Field(description="every period an alert fired in the "
                                                   "window, earliest first")


# -- operations: replays ----------------------------------------------------------------------


class ReplayJobOut(Answer):
    id: str
    kind: str = Field(description="replay or redelivery")
    status: str = Field(description="running, stopped, done or failed")
    operator: str
    created_at: datetime
    from_: datetime = Field(alias="from")
    to: datetime
    by: str
    planned_series: int
    planned_messages: int
    sent_series: int
    sent_messages: int
    rate: float
    note: str


class ReplayPlanOut(Answer):
    series: int
    messages: int
    per_recipient: dict[str, int]


class ReplayStarted(Answer):
    """``202``: the replay runs in the background (``replay``); ``200`` for a dry run or an
    empty window: only the plan (``dryRun: true``)."""

    plan: ReplayPlanOut
    replay: ReplayJobOut | None = None
    dry_run: bool | None = None


class ReplayJobs(Answer):
    replays: list[ReplayJobOut]


# -- Norgespris -------------------------------------------------------------------------------


class PricesAccepted(Answer):
    accepted: int


class ComparisonFigures(Answer):
    """kWh rounded to Wh, money in NOK to øre (VAT included where it applies)."""

    energy_kwh: float
    norgespris_kwh: float
    above_cap_kwh: float
    kwh_within_support_cap: float
    spot_cost: float
    support: float
    cost_without: float
    cost_with: float
    difference: float
    intervals: int
    missing_values: int
    missing_prices: int
    lead_in_missing_values: int


class ComparisonMonth(ComparisonFigures):
    month: str = Field(description="YYYY-MM")
    first_day: date
    last_day: date
    tariffs_year: int


class ComparisonFlag(Answer):
    start: datetime
    end: datetime
    reason: Literal["no_value", "quality_missing", "quality_rejected", "no_price",
                    "not_readable"]
    intervals: int
    in_period: bool


class ComparisonTariffs(Answer):
    year: int
    norgespris_ore: float
    norgespris_cap_household_kwh: float
    norgespris_cap_holiday_home_kwh: float
    support_threshold_ore: float
    support_share: float
    support_cap_kwh: float
    support_for_holiday_homes: bool
    vat_rate: float
    support_basis: str
    unconfirmed: list[str]
    notes: list[str]


class ReadablePeriod(Answer):
    start: datetime
    end: datetime


class NorgesprisComparison(Answer):
    """What the point's energy would have cost with and without Norgespris, per month."""

    metering_point_id: str
    price_area: str
    computed_at: datetime
    complete: bool
    first: date
    last: date
    consumption_code: str
    vat_exempt: bool
    resolution: str
    months: list[ComparisonMonth]
    totals: ComparisonFigures
    flags: list[ComparisonFlag]
    tariffs: list[ComparisonTariffs]
    method: list[str]
    readable_periods: list[ReadablePeriod]


# -- Contracts (Elhub's JSON:API) ----------------------------------------------------------------


class ResourceId(BaseModel):
    type: str
    id: str


class Relationship(BaseModel):
    data: ResourceId


class ContractAttributes(Answer):
    contract_type: Literal["Norgespris"]
    start_date: date
    end_date: date | None
    status: str
    is_cancelled: bool


class ContractRelationships(Answer):
    created_by: Relationship
    updated_by: Relationship
    metering_point: Relationship


class ContractMeta(Answer):
    created_at: datetime
    updated_at: datetime


class ContractResource(Answer):
    type: Literal["contract"]
    id: str
    attributes: ContractAttributes
    relationships: ContractRelationships
    meta: ContractMeta


class ContractDocument(Answer):
    data: ContractResource


class ContractsDocument(Answer):
    data: list[ContractResource]


class NewContractAttributes(Answer):
    contract_type: Literal["Norgespris"]
    start_date: date
    end_date: date | None = None


class NewContractRelationships(Answer):
    metering_point: Relationship


class NewContract(Answer):
    type: Literal["contract"]
    attributes: NewContractAttributes
    relationships: NewContractRelationships


class NewContractsDocument(Answer):
    """``POST /v1/contracts``: one contract resource object or a list of up to 100."""

    data: NewContract | list[NewContract]


class ContractChangeAttributes(Answer):
    start_date: date | None = None
    end_date: date | None = Field(default=None, description="null removes the end date")
    is_cancelled: bool | None = Field(default=None, description="true cancels the contract "
                                                                "within the regret period")


class ContractChange(Answer):
    type: Literal["contract"] = "contract"
    id: str | None = None
    attributes: ContractChangeAttributes


class ContractChangeDocument(Answer):
    data: ContractChange


# -- Consent (Elhub's Access API, JSON:API) ------------------------------------------------------


class ToOne(BaseModel):
    data: ResourceId | None


class SelfLink(BaseModel):
    self: str


class AuthorizationRequestAttributes(Answer):
    request_type: Literal["ChangeOfBalanceSupplierForPerson",
                          "MoveInAndChangeOfBalanceSupplierForPerson"]
    status: Literal["Pending", "Accepted", "Rejected", "Expired"]
    created_at: datetime
    updated_at: datetime
    valid_to: datetime


class AuthorizationRequestRelationships(Answer):
    requested_by: ToOne
    requested_from: ToOne
    requested_to: ToOne
    approved_by: ToOne
    authorization_grant: ToOne


class AuthorizationRequestMeta(Answer):
    requested_from_name: str
    requested_for_metering_point_id: str
    requested_for_metering_point_address: str
    balance_supplier_name: str
    balance_supplier_contract_name: str
    move_in_date: date | None = None


class AuthorizationRequestResource(Answer):
    type: Literal["AuthorizationRequest"]
    id: str
    attributes: AuthorizationRequestAttributes
    relationships: AuthorizationRequestRelationships
    meta: AuthorizationRequestMeta
    links: SelfLink


class GrantScopesLink(BaseModel):
    related: str


class GrantScopes(BaseModel):
    data: list[ResourceId]
    links: GrantScopesLink


class AuthorizationGrantAttributes(Answer):
    status: Literal["Active", "Exhausted", "Revoked", "Expired"]
    granted_at: datetime
    valid_from: datetime
    valid_to: datetime
    created_at: datetime
    updated_at: datetime


class AuthorizationGrantRelationships(Answer):
    granted_for: ToOne
    granted_by: ToOne
    granted_to: ToOne
    source: ToOne
    scopes: GrantScopes


class AuthorizationGrantResource(Answer):
    type: Literal["AuthorizationGrant"]
    id: str
    attributes: AuthorizationGrantAttributes
    relationships: AuthorizationGrantRelationships
    links: SelfLink


class AuthorizationRequestDocument(BaseModel):
    """One request; answering it (PATCH) includes the grant an acceptance created."""

    data: AuthorizationRequestResource
    included: list[AuthorizationGrantResource] | None = None


class AuthorizationRequestsDocument(BaseModel):
    data: list[AuthorizationRequestResource]


class AuthorizationGrantDocument(BaseModel):
    data: AuthorizationGrantResource


class AuthorizationGrantsDocument(BaseModel):
    data: list[AuthorizationGrantResource]


class ScopeAttributes(Answer):
    permission_type: str
    authorized_resources: list[ResourceId]


class AuthorizationScopeResource(Answer):
    type: Literal["AuthorizationScope"]
    id: str
    attributes: ScopeAttributes


class AuthorizationScopesDocument(BaseModel):
    data: list[AuthorizationScopeResource]
