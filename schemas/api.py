"""Pydantic models of the outside contract (../shared/reference/market-api.md).

JSON field names are camelCase, as the contract says; Python attributes are snake_case.
These models check shape and types only; the domain rules (check digits, DST point counts,
hub state) run after them so that every problem can be reported at once.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from domain.series import MAX_POINTS_PER_SERIES

MAX_SERIES_PER_DOCUMENT = 10_000


class ContractModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class MeteringValuePoint(ContractModel):
    quantity: float
    quality: str


class MeteringValueSeriesIn(ContractModel):
    transaction_id: UUID
    metering_point_id: str
    start: AwareDatetime
    end: AwareDatetime
    resolution: str
    unit: Literal["kWh"] = "kWh"
    points: list[MeteringValuePoint] = Field(max_length=MAX_POINTS_PER_SERIES)


class MeteringValuesDocument(ContractModel):
    """``POST /v1/metering-values``: one or more series from a grid owner."""

    message_id: UUID
    series: list[MeteringValueSeriesIn] = Field(min_length=1, max_length=MAX_SERIES_PER_DOCUMENT)


class MeteringPointRegistrationIn(ContractModel):
    """``POST /v1/metering-points``: BRS-NO-121, a new metering point."""

    message_id: UUID
    metering_point_id: str
    grid_area: str
    price_area: Literal["NO1", "NO2", "NO3", "NO4", "NO5"]
    type: Literal["consumption", "production", "exchange"]
    resolution: Literal["PT15M", "PT1H"]
    consumption_code: str | None = None
    industry_code: str | None = None
    production_type: str | None = None
    valid_from: date


class EndUser(ContractModel):
    name: str = Field(min_length=1, max_length=200)
    national_id: str | None = None
    organisation_number: str | None = None


class StartOfSupplyIn(ContractModel):
    """``POST /v1/start-of-supply``: BRS-NO-101, a supplier starts supplying a point."""

    message_id: UUID
    metering_point_id: str
    start_date: date
    end_user: EndUser
    authorization_grant_id: str | None = Field(default=None, min_length=1, max_length=64)


class Accepted(BaseModel):
    """The answer to an intake call once the document is durably in Kafka."""

    message_id: str = Field(serialization_alias="messageId")
    status: Literal["accepted", "duplicate"] = "accepted"


class QueueMessageOut(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    message_id: str
    document_type: str
    created_at: datetime
    replayed: bool = False
    payload: dict[str, Any]


class PollResult(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    poll_id: str
    messages: list[QueueMessageOut]


class AckRequest(ContractModel):
    poll_id: str = Field(min_length=1, max_length=64)


class QueueStatus(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    queue: str
    depth: int
    oldest_unacknowledged_age_seconds: float | None
    pending_poll_id: str | None = None


class QueuesOverview(BaseModel):
    queues: list[QueueStatus]


class MaintenanceIn(ContractModel):
    """``POST /v1/ops/maintenance``: planned maintenance, declared before it starts."""

    start: AwareDatetime
    end: AwareDatetime
    reason: str = Field(min_length=1, max_length=500)


class MasterDataChangeIn(ContractModel):
    """``POST /v1/master-data``: BRS-NO-302, characteristics that change from a date."""

    message_id: UUID
    metering_point_id: str
    effective_from: date
    grid_area: str | None = None
    price_area: Literal["NO1", "NO2", "NO3", "NO4", "NO5"] | None = None
    type: Literal["consumption", "production", "exchange"] | None = None
    resolution: Literal["PT15M", "PT1H"] | None = None
    consumption_code: str | None = None
    industry_code: str | None = None
    production_type: str | None = None


class ContactIn(ContractModel):
    kind: Literal["mobile", "phone", "email", "fax"]
    value: str = Field(min_length=1, max_length=254)
    purpose: Literal["contract", "notification"]


class CustomerInformationIn(ContractModel):
    """``POST /v1/customer-information``: BRS-NO-301, the customer's contacts on a point."""

    message_id: UUID
    metering_point_id: str
    contacts: list[ContactIn] = Field(min_length=1, max_length=10)


class ThirdPartyAccessIn(ContractModel):
    """``POST /v1/third-party-access``: BRS-NO-622, ask for access (add) or end it (delete)."""

    message_id: UUID
    metering_point_id: str
    action: Literal["add", "delete"]
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None


class AccessApprovalIn(ContractModel):
    """``POST /v1/third-party-access/{id}/approval``: the end user approved (operator)."""

    message_id: UUID
    metering_point_id: str


# Moving in and out (issue 16) ------------------------------------------------------------------

GrantId = Field(default=None, min_length=1, max_length=64,
                description="The end user's consent: the id of an Active authorization grant "
                            "(required for a person from Settings.consent_required_from).")


class MoveInIn(ContractModel):
    """``POST /v1/move-in``: BRS-NO-102 (ahead) / BRS-NO-103 (backdated), a new end user takes
    over a point with the sending supplier."""

    message_id: UUID
    metering_point_id: str
    start_date: date
    end_user: EndUser
    authorization_grant_id: str | None = GrantId


class MoveOutIn(ContractModel):
    """``POST /v1/move-out``: BRS-NO-201, the end user leaves; its supplier's supply ends at the
    start of ``endDate``."""

    message_id: UUID
    metering_point_id: str
    end_date: date


# Shared production (BRS-NO-701) -----------------------------------------------------------------

class SharedProductionReceiverIn(ContractModel):
    metering_point_id: str
    share: Decimal | None = Field(default=None, allow_inf_nan=False,
                                  description="Manual split only: a share between 0 and 1; "
                                              "the receivers' shares sum to exactly 1.")


class SharedProductionIn(ContractModel):
    """``POST /v1/shared-production``: BRS-NO-701, a grid owner sets up (``create``), changes
    from a date (``change``, sent in full) or ends (``end``) a calculation, known by its name."""

    message_id: UUID
    action: Literal["create", "change", "end"] = "create"
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)
    distribution_type: Literal["manual", "equal", "dynamic"] = "equal"
    valid_from: date
    contributors: list[str] = Field(default_factory=list, max_length=500)
    receivers: list[SharedProductionReceiverIn] = Field(default_factory=list, max_length=500)
