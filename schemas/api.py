"""Pydantic models of the outside contract (../shared/reference/market-api.md).

JSON field names are camelCase, as the contract says; Python attributes are snake_case.
These models check shape, strict types and bounds (schemas.fields); the domain rules (check
digits, DST point counts, hub state) run after them so that every problem can be reported at
once. Every field is bounded so that a document the API accepts always fits one Kafka record
(see MAX_RECORD_BYTES) and can be processed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from domain.series import MAX_POINTS_PER_SERIES
from schemas.fields import (
    ContactKind,
    ContactPurpose,
    ContactValue,
    FreeText,
    GridAreaId,
    HubDate,
    HubDateTime,
    NationalId,
    NoControlCharacters,
    OrganisationNumber,
    PersonName,
    PointId,
    ProductionType,
    QualityName,
    Quantity,
    ShortCode,
)

MAX_SERIES_PER_DOCUMENT = 10_000

MAX_RECORD_BYTES = 1_000_000
"""The largest Kafka record straum may write: Kafka's default ``message.max.bytes`` (1 MB) and
the stream processors' producer limit (``max.request.size``, 1,000,000 bytes). The field bounds
below keep every intake record and every record the processors derive from it (outbound
messages, the point's state) far below it; tests/unit/test_field_bounds.py checks the largest
document each model accepts against it."""


class ContractModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class MeteringValuePoint(ContractModel):
    quantity: Quantity
    quality: QualityName


class MeteringValueSeriesIn(ContractModel):
    transaction_id: UUID
    metering_point_id: PointId
    start: HubDateTime
    end: HubDateTime
    resolution: ShortCode
    unit: Literal["kWh"] = "kWh"
    points: list[MeteringValuePoint] = Field(max_length=MAX_POINTS_PER_SERIES)


class MeteringValuesDocument(ContractModel):
    """``POST /v1/metering-values``: one or more series from a grid owner."""

    message_id: UUID
    series: list[MeteringValueSeriesIn] = Field(min_length=1, max_length=MAX_SERIES_PER_DOCUMENT)


class MeteringPointRegistrationIn(ContractModel):
    """``POST /v1/metering-points``: BRS-NO-121, a new metering point."""

    message_id: UUID
    metering_point_id: PointId
    grid_area: GridAreaId
    price_area: Literal["NO1", "NO2", "NO3", "NO4", "NO5"]
    type: Literal["consumption", "production", "exchange"]
    resolution: Literal["PT15M", "PT1H"]
    consumption_code: ShortCode | None = None
    industry_code: ShortCode | None = None
    production_type: ProductionType | None = None
    valid_from: HubDate


class EndUser(ContractModel):
    name: PersonName
    national_id: NationalId | None = None
    organisation_number: OrganisationNumber | None = None


GrantId = Annotated[str, Field(min_length=1, max_length=64), NoControlCharacters]
"""The end user's consent: the id of an Active authorization grant (required for a person
from Settings.consent_required_from)."""


class StartOfSupplyIn(ContractModel):
    """``POST /v1/start-of-supply``: BRS-NO-101, a supplier starts supplying a point."""

    message_id: UUID
    metering_point_id: PointId
    start_date: HubDate
    end_user: EndUser
    authorization_grant_id: GrantId | None = None


class Accepted(BaseModel):
    """The answer to an intake call once the document is durably in Kafka."""

    message_id: str = Field(serialization_alias="messageId")
    status: Literal["accepted", "duplicate"] = "accepted"


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

    start: HubDateTime
    end: HubDateTime
    reason: FreeText


class MasterDataChangeIn(ContractModel):
    """``POST /v1/master-data``: BRS-NO-302, characteristics that change from a date."""

    message_id: UUID
    metering_point_id: PointId
    effective_from: HubDate
    grid_area: GridAreaId | None = None
    price_area: Literal["NO1", "NO2", "NO3", "NO4", "NO5"] | None = None
    type: Literal["consumption", "production", "exchange"] | None = None
    resolution: Literal["PT15M", "PT1H"] | None = None
    consumption_code: ShortCode | None = None
    industry_code: ShortCode | None = None
    production_type: ProductionType | None = None


class ContactIn(ContractModel):
    kind: ContactKind
    value: ContactValue
    purpose: ContactPurpose


class CustomerInformationIn(ContractModel):
    """``POST /v1/customer-information``: BRS-NO-301, the customer's contacts on a point."""

    message_id: UUID
    metering_point_id: PointId
    contacts: list[ContactIn] = Field(min_length=1, max_length=10)


class ThirdPartyAccessIn(ContractModel):
    """``POST /v1/third-party-access``: BRS-NO-622, ask for access (add) or end it (delete)."""

    message_id: UUID
    metering_point_id: PointId
    action: Literal["add", "delete"]
    valid_from: HubDateTime | None = None
    valid_to: HubDateTime | None = None


class AccessApprovalIn(ContractModel):
    """``POST /v1/third-party-access/{id}/approval``: the end user approved (operator)."""

    message_id: UUID
    metering_point_id: PointId


#: Documents in one bulk intake call: enough for a first load at thousands a second, small
#: enough for one answer (and well inside the body limit).
MAX_BULK_DOCUMENTS = 1000


class BulkRegistrationsIn(ContractModel):
    """``POST /v1/metering-points/bulk``: many BRS-NO-121 registrations in one call."""

    documents: list[MeteringPointRegistrationIn] = Field(min_length=1,
                                                         max_length=MAX_BULK_DOCUMENTS)


class BulkChangesIn(ContractModel):
    """``POST /v1/master-data/bulk``: many BRS-NO-302 changes of characteristics in one call."""

    documents: list[MasterDataChangeIn] = Field(min_length=1, max_length=MAX_BULK_DOCUMENTS)


class BulkAccepted(BaseModel):
    """Each document of a bulk call, in order: written (``accepted``) or a message id this
    sender already used (``duplicate``)."""

    documents: list[Accepted]


# Moving in and out (issue 16) ------------------------------------------------------------------



class MoveInIn(ContractModel):
    """``POST /v1/move-in``: BRS-NO-102 (ahead) / BRS-NO-103 (backdated), a new end user takes
    over a point with the sending supplier."""

    message_id: UUID
    metering_point_id: PointId
    start_date: HubDate
    end_user: EndUser
    authorization_grant_id: GrantId | None = None


class MoveOutIn(ContractModel):
    """``POST /v1/move-out``: BRS-NO-201, the end user leaves; its supplier's supply ends at the
    start of ``endDate``."""

    message_id: UUID
    metering_point_id: PointId
    end_date: HubDate


# Shared production (BRS-NO-701) -----------------------------------------------------------------

class SharedProductionReceiverIn(ContractModel):
    metering_point_id: PointId
    share: Decimal | None = Field(default=None, allow_inf_nan=False,
                                  description="Manual split only: a share between 0 and 1; "
                                              "the receivers' shares sum to exactly 1.")


class SharedProductionIn(ContractModel):
    """``POST /v1/shared-production``: BRS-NO-701, a grid owner sets up (``create``), changes
    from a date (``change``, sent in full) or ends (``end``) a calculation, known by its name."""

    message_id: UUID
    action: Literal["create", "change", "end"] = "create"
    name: Annotated[str, Field(min_length=1, max_length=100), NoControlCharacters]
    description: FreeText | Literal[""] = ""
    distribution_type: Literal["manual", "equal", "dynamic"] = "equal"
    valid_from: HubDate
    contributors: list[PointId] = Field(default_factory=list, max_length=500)
    receivers: list[SharedProductionReceiverIn] = Field(default_factory=list, max_length=500)


class MeteringValuesRequestIn(ContractModel):
    """``POST /v1/requests/metering-values``: BRS-NO-315, a point's values over a period,
    answered into the caller's metering-values queue."""

    message_id: UUID
    metering_point_id: PointId
    start: HubDateTime
    end: HubDateTime


class MeteringValuesRequestAccepted(BaseModel):
    """The answer is in the caller's metering-values queue: how many messages, and the parts
    of the period the caller may read."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    message_id: str
    status: Literal["accepted", "duplicate"] = "accepted"
    messages: int | None = None
    readable_periods: list[dict[str, datetime]] | None = None
