"""The master-data processor: applies BRS documents to the metering-point table and sends
acknowledgements and notifications."""

from __future__ import annotations

from typing import Any

from connectors.reference_data import ReferenceData
from domain.characteristics import change_characteristics
from domain.customer_information import update_customer_information
from domain.metering_point import Contact, from_record, to_record
from domain.outcome import Outcome
from domain.series import HUB_TIMEZONE
from domain.supply import register_metering_point, start_of_supply
from domain.third_party import approve_access, delete_access, request_access
from processors.heartbeats import is_heartbeat, pass_on
from processors.outbound import outbound_records
from processors.output import Record, dead_letter, now, produce_durably
from straum.logging import get_logger
from streams.app import app, master_data_topic, metering_points, settings
from streams.serialisation import MASTER_DATA_EVENT, METERING_POINT_STATE, codec

log = get_logger(__name__)
PROCESSOR = "master-data"
reference = ReferenceData(settings)


@app.task
async def load_reference_data() -> None:
    """Load imported reference data (næringskode lists) when the worker starts."""
    await reference.start()


def apply(record: dict[str, Any]) -> Outcome:
    """The outcome of one master-data event against the point's current state."""
    key = record["meteringPointId"].encode()
    raw = metering_points.get(key)
    current = from_record(codec(METERING_POINT_STATE).decode(raw)) if raw else None
    kind, document = record["document"]
    moment = now()
    common = {"message_id": record["messageId"], "sender": record["sender"],
              "metering_point_id": record["meteringPointId"], "now": moment}
    today = moment.astimezone(HUB_TIMEZONE).date()
    name = kind.rsplit(".", 1)[-1]
    if name == "MeteringPointRegistration":
        return register_metering_point(current, document=document,
                                       code_lists=reference.industry_codes(), **common)
    if name == "StartOfSupply":
        return start_of_supply(current, start_date=document["startDate"], today=today,
                               **common)
    if name == "ChangeOfCharacteristics":
        fields = {k: v for k, v in document.items() if k != "effectiveFrom"}
        return change_characteristics(current, effective_from=document["effectiveFrom"],
                                      fields=fields, today=today,
                                      code_lists=reference.industry_codes(), **common)
    if name == "CustomerInformationUpdate":
        contacts = [Contact(c["kind"], c["value"], c["purpose"]) for c in document["contacts"]]
        return update_customer_information(current, contacts=contacts, today=today, **common)
    if name == "ThirdPartyAccessRequest":
        if document["action"] == "delete":
            return delete_access(current, **common)
        return request_access(current, valid_from=document["validFrom"],
                              valid_to=document["validTo"], **common)
    if name == "ThirdPartyAccessApproval":
        return approve_access(current, message_id=record["messageId"],
                              request_id=document["requestId"],
                              metering_point_id=record["meteringPointId"],
                              approver=record["sender"], now=moment)
    raise ValueError(f"unsupported master-data document {kind}")


def handle(event: Any) -> tuple[list[Record], tuple[bytes, bytes] | None]:
    """Records for one event, and the table update to make once they are durable."""
    record = codec(MASTER_DATA_EVENT).decode(event.message.value)
    outcome = apply(record)
    update = None
    if outcome.state is not None:
        update = (record["meteringPointId"].encode(),
                  codec(METERING_POINT_STATE).encode(to_record(outcome.state)))
    log.info("master-data document handled", message_id=record["messageId"],
             metering_point=record["meteringPointId"], actor=record["sender"],
             status="rejected" if outcome.reasons else "accepted",
             reasons=[r.code for r in outcome.reasons])
    return outbound_records(outcome.messages), update


@app.agent(master_data_topic, name="master-data")
async def process_master_data(stream: Any) -> None:
    """One document at a time: the table update needs Faust's current event, and master data
    is low-volume next to metering values."""
    async for event in stream.events():
        update = None
        try:
            if is_heartbeat(event):
                records = [pass_on(event, now())]
            else:
                records, update = handle(event)
        except Exception as exc:  # one bad document must not stop the stream
            records = [dead_letter(PROCESSOR, event, exc)]
        if update is not None:
            # State first and durable, then the answers: whoever is told "accepted" finds
            # the state there, also after a crash (a document processed twice gets the same
            # answer again: the rules are idempotent on its message id).
            metering_points[update[0]] = update[1]
            await app.producer.flush()
        await produce_durably(records, PROCESSOR)
