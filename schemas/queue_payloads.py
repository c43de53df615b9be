"""The messages a poll hands out: one schema per ``documentType``, with its payload.

A queue record is the message's JSON as :mod:`streams.records.queue_message` renders it from
an :class:`domain.messages.Outbound`; the payloads are what the domain rules put there
(domain/messages.py, domain/forwarding.py, domain/supply.py, domain/characteristics.py,
domain/customer_information.py, domain/third_party.py, processors/contracts.py).
``DOCUMENT_TYPES`` maps each document type to its payload; the poll answer's ``messages`` is a
union discriminated by ``documentType``. tests/unit/test_queue_payloads.py renders a message
of every type with the domain's own rules and checks it against these models, member by
member, so the document cannot drift from what is sent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.alias_generators import to_camel

from schemas.fields import ContactKind, ContactPurpose


class Payload(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ValuePoint(Payload):
    quantity: float = Field(description="kWh in the interval")
    quality: str


class CalculationRef(Payload):
    calculation_id: str
    name: str


class MeteringValuesPayload(Payload):
    """NotifyValidatedDataForBillingEnergy: one recipient's part of a series (the supplier's
    days of supply, the grid owner's, a third party's within its access). A shared-production
    result (BRS-NO-701) is one such series per channel, with ``channel``, ``productCode``,
    ``direction``, ``settled`` and ``calculation`` besides; an answer to a request for values
    (BRS-NO-315), with ``requestId``."""

    transaction_id: str
    original_message_id: str
    metering_point_id: str
    start: datetime
    end: datetime
    resolution: str
    unit: str
    registered_at: datetime = Field(description="when the hub received the series")
    recipient_role: str = Field(description="supplier, grid_owner or third_party")
    version: int = Field(description="1 for the first series of this point and period; a "
                                     "correction carries the next version")
    correction: bool
    points: list[ValuePoint]
    channel: str | None = Field(default=None, description="shared production: the channel, "
                                "e.g. virtual_net_consumption")
    product_code: str | None = None
    direction: Literal["in", "out"] | None = None
    settled: bool | None = Field(default=None, description="shared production: settled in "
                                 "the hub")
    calculation: CalculationRef | None = None
    request_id: str | None = Field(default=None, description="an answer to a request for "
                                   "historical values (BRS-NO-315): the request's messageId")


class Reason(Payload):
    code: str
    text: str


class AcknowledgementPayload(Payload):
    """The sender's answer to one document (or one series): accepted, or rejected with every
    reason."""

    original_message_id: str
    original_document_type: str
    metering_point_id: str | None
    transaction_id: str | None
    status: Literal["accepted", "rejected"]
    reasons: list[Reason]


class EndUserOut(Payload):
    name: str
    national_id: str | None = None
    organisation_number: str | None = None


class SupplyPayload(Payload):
    """A supply that starts or ends: a change of supplier (BRS-NO-101), a move-in (102/103) or
    a move-out (201), to the supplier, the grid owner and the previous supplier. A move-in
    tells the grid owner its new ``endUser``, the previous supplier its ``endDate``; a
    move-out has ``endDate`` and no ``startDate``."""

    original_message_id: str
    metering_point_id: str
    supplier: str
    start_date: date | None = None
    previous_supplier: str | None = None
    end_date: date | None = None
    process: str | None = Field(default=None, description="the BRS process, e.g. BRS-NO-103")
    reason: Literal["move_in", "move_out"] | None = None
    end_user: EndUserOut | None = None


class CharacteristicsPayload(Payload):
    """The point's characteristics in force from ``effectiveFrom`` (BRS-NO-302)."""

    original_message_id: str
    metering_point_id: str
    effective_from: date
    grid_area: str
    price_area: str
    point_type: str
    resolution: str
    consumption_code: str | None
    industry_code: str | None
    production_type: str | None


class Channel(Payload):
    channel: str
    product_code: str
    direction: Literal["in", "out"]
    settled: bool


class SharedProductionRef(Payload):
    calculation_id: str
    name: str
    role: Literal["contributor", "receiver"]
    member: bool


class SharedProductionMembershipPayload(Payload):
    """A point joins or leaves a shared-production calculation (BRS-NO-701): its channels and
    which of them the hub settles from ``effectiveFrom``."""

    metering_point_id: str
    effective_from: date
    shared_production: SharedProductionRef
    channels: list[Channel]


class Contact(Payload):
    kind: ContactKind
    value: str
    purpose: ContactPurpose


class CustomerInformationPayload(Payload):
    """The customer's contacts (BRS-NO-301), to the grid owner."""

    original_message_id: str
    metering_point_id: str
    supplier: str
    contacts: list[Contact]
    notification_contacts: list[Contact]


class ThirdPartyAccessPayload(Payload):
    """A third party's access (BRS-NO-622): pending approval, granted or ended."""

    original_message_id: str
    metering_point_id: str
    party: str
    status: str
    valid_from: datetime | None
    valid_to: datetime | None


class ContractPayload(Payload):
    """A Norgespris contract as it now stands, to the point's supplier."""

    contract_id: str
    metering_point_id: str
    contract_type: str
    status: str
    start_date: date
    end_date: date | None
    updated_at: datetime
    change: str


class CalculationReceiver(Payload):
    metering_point_id: str
    share: str | None = Field(description="the receiver's share as a decimal string (manual "
                                          "distribution); null otherwise")


class CalculationVersion(Payload):
    version: int
    valid_from: date
    valid_to: date | None
    distribution_type: str
    description: str | None
    contributors: list[str]
    receivers: list[CalculationReceiver]


class SharedProductionCalculationPayload(Payload):
    """A shared-production calculation as it now stands, to its grid owner."""

    original_message_id: str
    calculation_id: str
    name: str
    grid_owner: str
    versions: list[CalculationVersion]


DOCUMENT_TYPES: dict[str, Any] = {
    "NotifyValidatedDataForBillingEnergy": MeteringValuesPayload,
    "Acknowledgement": AcknowledgementPayload,
    "ConfirmStartOfSupply": SupplyPayload,
    "NotifyStartOfSupply": SupplyPayload,
    "NotifyEndOfSupply": SupplyPayload,
    "ConfirmEndOfSupply": SupplyPayload,
    "NotifyMeteringPointCharacteristics": CharacteristicsPayload
    | SharedProductionMembershipPayload,
    "NotifySharedProductionCalculation": SharedProductionCalculationPayload,
    "NotifyCustomerInformation": CustomerInformationPayload,
    "NotifyThirdPartyAccess": ThirdPartyAccessPayload,
    "NotifyContract": ContractPayload,
}
"""Every document type a queue holds, and its payload's model (or models)."""


class QueueMessageBase(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    message_id: str = Field(description="stable across redelivery and replay: de-duplicate "
                                        "on it")
    created_at: datetime
    replayed: bool = Field(description="sent again by an operator's replay")


def _message_model(document_type: str, payload: Any) -> type[QueueMessageBase]:
    tag: Any = Literal[document_type]  # one value: the union's discriminator
    fields: dict[str, Any] = {"document_type": (tag, Field(alias="documentType")),
                              "payload": (payload, ...)}
    model: type[QueueMessageBase] = create_model(
        document_type, __base__=QueueMessageBase, __doc__=f"A {document_type} message.",
        **fields)
    return model


MESSAGE_MODELS = {t: _message_model(t, p) for t, p in DOCUMENT_TYPES.items()}

_MESSAGES: Any = Union[tuple(MESSAGE_MODELS.values())]  # noqa: UP007 - built from the map
QueueMessage: Any = Annotated[_MESSAGES, Field(discriminator="document_type")]
"""One message of a poll: the member of the union its ``documentType`` names."""


class PollAnswer(BaseModel):
    """``200``: the messages of this poll, oldest first. Acknowledge them with ``pollId``;
    until then the same poll is handed out again."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    poll_id: str
    messages: list[QueueMessage]
