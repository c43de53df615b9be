"""Authorization requests and grants as Avro ``Authorization`` records (the consent table,
the read view the API follows, and the replies), and the API's commands and their replies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NotRequired, TypedDict

from domain.consent import (
    AuthorizationGrant,
    AuthorizationRequest,
    AuthorizationSet,
    GrantStatus,
    RequestStatus,
    RequestType,
)
from streams.records.typed import TypedRecord
from streams.serialisation import (
    AUTHORIZATION,
    AUTHORIZATION_COMMAND,
    AUTHORIZATION_REPLY,
    AUTHORIZATION_SET,
    codec,
)


class AuthorizationCommand(TypedDict):
    """What the API asks the consent processor (Avro ``AuthorizationCommand``): create a
    request (its fields) or answer one (``status``). A field not given is null in the record.
    """

    correlationId: str
    action: str
    meteringPointId: str
    requestId: str
    caller: str
    requestType: NotRequired[str | None]
    requestedBy: NotRequired[str | None]
    requestedFrom: NotRequired[str | None]
    requestedTo: NotRequired[str | None]
    requestedFromName: NotRequired[str | None]
    meteringPointAddress: NotRequired[str | None]
    balanceSupplierName: NotRequired[str | None]
    balanceSupplierContractName: NotRequired[str | None]
    moveInDate: NotRequired[date | None]
    status: NotRequired[str | None]
    receivedAt: datetime


class AuthorizationReply(TypedDict):
    """The processor's answer (Avro ``AuthorizationReply``), keyed by correlation id: the
    changed requests and grants as their records, or the refusal."""

    errorCode: str | None
    errorTitle: str | None
    errorDetail: str | None
    errorPointer: str | None
    items: list[dict[str, Any]]


def request_record(r: AuthorizationRequest) -> dict[str, Any]:
    return {"kind": "request", "id": r.id, "meteringPointId": r.metering_point_id,
            "type": r.request_type.value, "status": r.status.value, "supplier": r.requested_by,
            "endUser": r.requested_from, "requestedTo": r.requested_to,
            "answeredBy": r.approved_by, "requestedFromName": r.requested_from_name,
            "meteringPointAddress": r.metering_point_address,
            "balanceSupplierName": r.balance_supplier_name,
            "balanceSupplierContractName": r.balance_supplier_contract_name,
            "moveInDate": r.move_in_date, "requestId": None, "grantId": r.grant_id,
            "usedBy": None, "grantedAt": None, "validFrom": None, "validTo": r.valid_to,
            "createdAt": r.created_at, "updatedAt": r.updated_at}


def grant_record(g: AuthorizationGrant) -> dict[str, Any]:
    return {"kind": "grant", "id": g.id, "meteringPointId": g.metering_point_id,
            "type": g.permission_type.value, "status": g.status.value, "supplier": g.granted_to,
            "endUser": g.granted_for, "requestedTo": None, "answeredBy": g.granted_by,
            "requestedFromName": None, "meteringPointAddress": None,
            "balanceSupplierName": None, "balanceSupplierContractName": None,
            "moveInDate": None, "requestId": g.request_id, "grantId": None,
            "usedBy": g.used_by, "grantedAt": g.granted_at, "validFrom": g.valid_from,
            "validTo": g.valid_to, "createdAt": g.created_at, "updatedAt": g.updated_at}


def request_from(r: dict[str, Any]) -> AuthorizationRequest:
    return AuthorizationRequest(
        id=r["id"], request_type=RequestType(r["type"]), status=RequestStatus(r["status"]),
        requested_by=r["supplier"], requested_from=r["endUser"],
        requested_to=r["requestedTo"] or r["endUser"],
        requested_from_name=r["requestedFromName"] or "",
        metering_point_id=r["meteringPointId"],
        metering_point_address=r["meteringPointAddress"] or "",
        balance_supplier_name=r["balanceSupplierName"] or "",
        balance_supplier_contract_name=r["balanceSupplierContractName"] or "",
        move_in_date=r["moveInDate"], created_at=r["createdAt"], updated_at=r["updatedAt"],
        valid_to=r["validTo"], approved_by=r["answeredBy"], grant_id=r["grantId"])


def grant_from(r: dict[str, Any]) -> AuthorizationGrant:
    return AuthorizationGrant(
        id=r["id"], request_id=r["requestId"] or "", permission_type=RequestType(r["type"]),
        status=GrantStatus(r["status"]), granted_for=r["endUser"],
        granted_by=r["answeredBy"] or r["endUser"], granted_to=r["supplier"],
        metering_point_id=r["meteringPointId"], granted_at=r["grantedAt"] or r["createdAt"],
        valid_from=r["validFrom"] or r["createdAt"], valid_to=r["validTo"],
        created_at=r["createdAt"], updated_at=r["updatedAt"], used_by=r["usedBy"])


def record_of(item: AuthorizationRequest | AuthorizationGrant) -> dict[str, Any]:
    return request_record(item) if isinstance(item, AuthorizationRequest) else grant_record(item)


def encode_authorization(item: AuthorizationRequest | AuthorizationGrant) -> bytes:
    return codec(AUTHORIZATION).encode(record_of(item))


def encode_set(value: AuthorizationSet) -> bytes:
    return codec(AUTHORIZATION_SET).encode({"items": [
        *(request_record(r) for r in value.requests), *(grant_record(g) for g in value.grants)]})


def decode_set(raw: bytes | None) -> AuthorizationSet:
    items = codec(AUTHORIZATION_SET).decode(raw)["items"]
    return AuthorizationSet(tuple(request_from(i) for i in items if i["kind"] == "request"),
                            tuple(grant_from(i) for i in items if i["kind"] == "grant"))


def decode_authorization_record(raw: bytes | None) -> dict[str, Any]:
    """An authorizations-topic record as the API's read view keeps it (see request_from,
    grant_from)."""
    return codec(AUTHORIZATION).decode(raw)


_COMMAND = TypedRecord[AuthorizationCommand](AUTHORIZATION_COMMAND)
encode_command, decode_command = _COMMAND.encode, _COMMAND.decode


_REPLY = TypedRecord[AuthorizationReply](AUTHORIZATION_REPLY)
encode_reply, decode_reply = _REPLY.encode, _REPLY.decode
