"""Norgespris contracts as Avro records: the contracts topic (``Contract``), the processor's
table (``ContractSet``), and the API's commands and their replies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypedDict

from domain.norgespris import Change, Contract, ContractStatus
from streams.records.typed import TypedRecord
from streams.serialisation import CONTRACT, CONTRACT_COMMAND, CONTRACT_REPLY, CONTRACT_SET, codec


@dataclass(frozen=True)
class ContractSet:
    """A point's Norgespris contracts, and the partition they live in."""

    partition: int
    contracts: tuple[Contract, ...]


class ContractCommand(TypedDict):
    """What the API asks the contracts processor (Avro ``ContractCommand``)."""

    correlationId: str
    action: str
    sender: str
    meteringPointId: str
    contractId: str
    startDate: date | None
    endDate: date | None
    clearEndDate: bool
    receivedAt: datetime


class ContractReply(TypedDict):
    """The processor's answer to a command (Avro ``ContractReply``), keyed by correlation id:
    the changed contract as its record, or the refusal."""

    contractId: str | None
    errorCode: str | None
    errorTitle: str | None
    errorDetail: str | None
    errorPointer: str | None
    contract: dict[str, Any] | None


def contract_record(c: Contract, supplier: str | None) -> dict[str, Any]:
    return {"id": c.id, "meteringPointId": c.metering_point_id, "gridOwner": c.grid_owner,
            "supplier": supplier, "contractType": c.contract_type, "status": c.status.value,
            "startDate": c.start_date, "endDate": c.end_date, "createdAt": c.created_at,
            "updatedAt": c.updated_at, "createdBy": c.created_by, "updatedBy": c.updated_by,
            "changes": [{"at": ch.at, "by": ch.by, "what": ch.what} for ch in c.changes]}


def contract_from(r: dict[str, Any]) -> Contract:
    return Contract(r["id"], r["meteringPointId"], r["gridOwner"], ContractStatus(r["status"]),
                    r["startDate"], r["endDate"], r["createdAt"], r["updatedAt"],
                    r["createdBy"], r["updatedBy"],
                    tuple(Change(ch["at"], ch["by"], ch["what"]) for ch in r["changes"]),
                    r["contractType"])


def encode_contract(contract: Contract, supplier: str | None) -> bytes:
    """The contracts-topic record: the contract with the point's supplier today."""
    return codec(CONTRACT).encode(contract_record(contract, supplier))


def decode_contract_record(raw: bytes | None) -> dict[str, Any]:
    """A contracts-topic record as the API's index renders it (the supplier included)."""
    return codec(CONTRACT).decode(raw)


def encode_set(value: ContractSet) -> bytes:
    return codec(CONTRACT_SET).encode({
        "partition": value.partition,
        "contracts": [contract_record(c, None) for c in value.contracts]})


def decode_set(raw: bytes | None) -> ContractSet:
    record = codec(CONTRACT_SET).decode(raw)
    return ContractSet(record["partition"], tuple(contract_from(c) for c in record["contracts"]))


_COMMAND = TypedRecord[ContractCommand](CONTRACT_COMMAND)
encode_command, decode_command = _COMMAND.encode, _COMMAND.decode


_REPLY = TypedRecord[ContractReply](CONTRACT_REPLY)
encode_reply, decode_reply = _REPLY.encode, _REPLY.decode
