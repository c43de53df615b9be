"""Intake documents as records: their structural problems and their encoding.

Structural checks that need no hub state happen at intake (the metering values' here, the
other documents' in connectors/http/intake_checks.py); everything that needs state is answered
asynchronously by the processors with an ``Acknowledgement``. Writing the records durably is
the intake service's (connectors/http/intake_service.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.http.values_body import ValuesIn, from_model
from domain.identifiers import IdentifierError, validate_norwegian_gsrn
from domain.series import check_values
from schemas.api import (
    CustomerInformationIn,
    MasterDataChangeIn,
    MeteringPointRegistrationIn,
    MeteringValuesDocument,
    StartOfSupplyIn,
    ThirdPartyAccessIn,
)
from streams.records import master_data
from streams.records import series as intake_series


def series_problems(document: ValuesIn | MeteringValuesDocument) -> list[dict[str, str]]:
    """Every structural problem of every series, with pointers into the body."""
    if isinstance(document, MeteringValuesDocument):
        document = from_model(document)
    problems: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, series in enumerate(document.series):
        base = f"/series/{i}"
        try:
            validate_norwegian_gsrn(series.metering_point_id)
        except IdentifierError as exc:
            problems.append({"code": exc.code, "pointer": f"{base}/meteringPointId",
                             "detail": str(exc)})
        if series.transaction_id in seen:
            problems.append({"code": "series.duplicate_transaction",
                             "pointer": f"{base}/transactionId",
                             "detail": "the same transactionId appears twice in the document"})
        seen.add(series.transaction_id)
        for problem in check_values(series.start, series.end, series.resolution,
                                    series.quantities, series.qualities):
            problems.append({"code": problem.code, "pointer": base + problem.pointer,
                             "detail": problem.detail})
    return problems


def series_records(document: ValuesIn | MeteringValuesDocument, sender: str
                   ) -> list[tuple[bytes, bytes]]:
    """One intake record per series of a valid document (:func:`series_problems` found
    none), keyed by metering point (streams/records/series.py: the Avro record's bytes
    without walking its schema)."""
    if isinstance(document, MeteringValuesDocument):
        document = from_model(document)
    encoder = intake_series.DocumentEncoder(document.message_id, sender, datetime.now(UTC))
    return [(s.metering_point_id.encode(), encoder.encode(
                transaction_id=s.transaction_id, metering_point_id=s.metering_point_id,
                start=s.start, end=s.end, resolution=s.resolution, unit=s.unit,
                quantities=s.quantities, qualities=s.qualities))
            for s in document.series]


def master_data_record(*, message_id: str, sender: str, sender_role: str,
                       metering_point_id: str, document_type: str,
                       document: dict[str, Any]) -> tuple[bytes, bytes]:
    """The intake record of one master-data document, keyed by metering point."""
    value = master_data.encode(
        message_id=message_id, sender=sender, sender_role=sender_role,
        received_at=datetime.now(UTC), metering_point_id=metering_point_id,
        document_type=document_type, document=document)
    return metering_point_id.encode(), value


# -- the master-data documents as the processors read them (MasterDataEvent's union) ---------


def registration_document(d: MeteringPointRegistrationIn) -> dict[str, Any]:
    return {"gridArea": d.grid_area, "priceArea": d.price_area, "pointType": d.type,
            "resolution": d.resolution, "consumptionCode": d.consumption_code,
            "industryCode": d.industry_code, "productionType": d.production_type,
            "validFrom": d.valid_from}


def start_of_supply_document(d: StartOfSupplyIn) -> dict[str, Any]:
    return {"startDate": d.start_date, "endUserName": d.end_user.name,
            "endUserNationalId": d.end_user.national_id,
            "endUserOrganisationNumber": d.end_user.organisation_number}


def characteristics_fields(d: MasterDataChangeIn) -> dict[str, Any]:
    """The characteristics a change names (None: unchanged)."""
    return {"gridArea": d.grid_area, "priceArea": d.price_area, "pointType": d.type,
            "resolution": d.resolution, "consumptionCode": d.consumption_code,
            "industryCode": d.industry_code, "productionType": d.production_type}


def change_document(d: MasterDataChangeIn) -> dict[str, Any]:
    return {"effectiveFrom": d.effective_from, **characteristics_fields(d)}


def customer_information_document(d: CustomerInformationIn) -> dict[str, Any]:
    return {"contacts": [c.model_dump() for c in d.contacts]}


def third_party_access_document(d: ThirdPartyAccessIn) -> dict[str, Any]:
    return {"action": d.action, "validFrom": d.valid_from, "validTo": d.valid_to}
