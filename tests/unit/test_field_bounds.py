"""Finding 1 of issue 20: a master-data field of 1 MB was answered 202, then the worker could
not write what it derived from it (MessageSizeTooLargeError), exited and lost the document.

Every field is bounded at the edge now. What a user would check: a 1 MB field is refused by
the model with a pointer to it, and the largest document each model accepts still makes an
intake record far below a Kafka record's limit, so what the processors derive from it (a copy
per recipient, the point's state) fits too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from connectors.http.intake import (
    change_document,
    customer_information_document,
    master_data_record,
    registration_document,
    series_records,
    start_of_supply_document,
    third_party_access_document,
)
from domain.series import HUB_TIMEZONE, MAX_POINTS_PER_SERIES
from schemas.api import (
    MAX_RECORD_BYTES,
    CustomerInformationIn,
    MasterDataChangeIn,
    MeteringPointRegistrationIn,
    MeteringValuesDocument,
    StartOfSupplyIn,
    ThirdPartyAccessIn,
)

WIDE = "𝄞"  # four bytes in UTF-8: the longest a character gets
POINT = "707057500000000018"
SENDER = "7080005051286"
MARGIN = 20
"""The largest intake record stays under a twentieth of a Kafka record: the processors copy
a document into a few messages and the point's state, never twenty times."""


def wide(n: int) -> str:
    return WIDE * n


def largest_registration() -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "meteringPointId": POINT,
            "gridArea": "10YNO-1--------2", "priceArea": "NO1", "type": "production",
            "resolution": "PT15M", "consumptionCode": wide(8), "industryCode": wide(8),
            "productionType": wide(64), "validFrom": "2026-01-01"}


def largest_change() -> dict[str, Any]:
    body = largest_registration()
    body.pop("validFrom")
    return {**body, "effectiveFrom": "2026-01-01"}


def largest_start() -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "meteringPointId": POINT,
            "startDate": "2026-01-01",
            "endUser": {"name": wide(200), "nationalId": wide(11),
                        "organisationNumber": wide(9)}}


def largest_contacts() -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "meteringPointId": POINT,
            "contacts": [{"kind": "email", "value": wide(254), "purpose": "contract"}] * 10}


def largest_access() -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "meteringPointId": POINT, "action": "add",
            "validFrom": "2026-01-01T00:00:00+01:00", "validTo": "2099-12-30T00:00:00+01:00"}


LARGEST = [
    pytest.param(MeteringPointRegistrationIn, largest_registration, registration_document,
                 "MeteringPointRegistration", id="metering-points"),
    pytest.param(MasterDataChangeIn, largest_change, change_document,
                 "ChangeOfCharacteristics", id="master-data"),
    pytest.param(StartOfSupplyIn, largest_start, start_of_supply_document, "StartOfSupply",
                 id="start-of-supply"),
    pytest.param(CustomerInformationIn, largest_contacts, customer_information_document,
                 "CustomerInformationUpdate", id="customer-information"),
    pytest.param(ThirdPartyAccessIn, largest_access, third_party_access_document,
                 "ThirdPartyAccessRequest", id="third-party-access"),
]


@pytest.mark.parametrize(("model", "largest", "document", "record_type"), LARGEST)
def test_the_largest_accepted_master_data_document_is_a_small_record(
        model: type[BaseModel], largest: Any, document: Any, record_type: str) -> None:
    parsed = model.model_validate(largest())
    _, value = master_data_record(message_id=str(uuid.uuid4()), sender=SENDER,
                                  sender_role="grid_owner", metering_point_id=POINT,
                                  document_type=record_type, document=document(parsed))
    assert len(value) < MAX_RECORD_BYTES / MARGIN


def test_the_largest_accepted_series_is_a_small_record() -> None:
    """October at PT15M: 31 days and the hour the DST change adds, 2,980 points."""
    start = datetime(2026, 10, 1, tzinfo=HUB_TIMEZONE)
    end = datetime(2026, 11, 1, tzinfo=HUB_TIMEZONE)
    count = int((end.astimezone(UTC) - start.astimezone(UTC)) / timedelta(minutes=15))
    assert count == MAX_POINTS_PER_SERIES
    series = {"transactionId": str(uuid.uuid4()), "meteringPointId": POINT,
              "start": start.isoformat(), "end": end.isoformat(), "resolution": "PT15M",
              "points": [{"quantity": 9_999_999.999, "quality": "final_estimate"}] * count}
    document = MeteringValuesDocument.model_validate(
        {"messageId": str(uuid.uuid4()), "series": [series]})
    [(_, value)] = series_records(document, SENDER)
    assert len(value) < MAX_RECORD_BYTES / MARGIN


@pytest.mark.parametrize(("model", "largest", "field"), [
    (MeteringPointRegistrationIn, largest_registration, "productionType"),
    (MasterDataChangeIn, largest_change, "productionType"),
    (MasterDataChangeIn, largest_change, "consumptionCode"),
    (MasterDataChangeIn, largest_change, "gridArea"),
    (MeteringPointRegistrationIn, largest_registration, "meteringPointId"),
])
def test_a_one_megabyte_field_is_refused_with_its_pointer(
        model: type[BaseModel], largest: Any, field: str) -> None:
    body = largest()
    body[field] = "x" * 1_048_576
    with pytest.raises(ValidationError) as err:
        model.model_validate(body)
    [error] = err.value.errors()
    assert (error["type"], error["loc"]) == ("string_too_long", (field,))


def test_one_character_past_each_bound_is_refused() -> None:
    body = largest_start()
    body["endUser"]["name"] = wide(201)
    with pytest.raises(ValidationError) as err:
        StartOfSupplyIn.model_validate(body)
    assert [e["loc"] for e in err.value.errors()] == [("endUser", "name")]
    contacts = largest_contacts()
    contacts["contacts"] = contacts["contacts"] * 2
    with pytest.raises(ValidationError):
        CustomerInformationIn.model_validate(contacts)


def test_dates_of_the_largest_documents_are_in_the_calendar() -> None:
    assert MeteringPointRegistrationIn.model_validate(
        largest_registration()).valid_from == date(2026, 1, 1)
