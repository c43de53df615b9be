"""The Norgespris contracts processor: the one writer of contracts, per metering point.

Contract requests from the API arrive keyed by metering point, so they are handled in order
beside the point's master data (co-partitioned): eligibility reads the point's consumption
code, and two requests for one point can never both create a contract. Each change is written
to the table, to the contracts topic the API reads, to the supplier's queue as NotifyContract,
and answered on the replies topic. A timer moves contracts through their lifecycle on time
(activation after the regret period, expiry), whether or not anyone calls the API.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domain import norgespris
from domain.messages import MARKET_PROCESSES, Outbound, outbound_message_id
from domain.metering_point import from_record as point_from_record
from domain.norgespris import Change, Contract, ContractError, ContractStatus
from domain.series import HUB_TIMEZONE
from processors.outbound import outbound_records
from processors.output import Record, dead_letter, now, produce_durably
from straum.logging import get_logger
from streams.app import (
    app,
    catalogue,
    contract_commands_topic,
    contracts_table,
    metering_points,
    settings,
)
from streams.serialisation import (
    CONTRACT,
    CONTRACT_COMMAND,
    CONTRACT_REPLY,
    CONTRACT_SET,
    METERING_POINT_STATE,
    codec,
)

log = get_logger(__name__)
PROCESSOR = "contracts"
NOTIFY = "NotifyContract"


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


def load_contracts(key: bytes) -> list[Contract]:
    raw = contracts_table.get(key)
    return [contract_from(c) for c in codec(CONTRACT_SET).decode(raw)["contracts"]] if raw else []


def supplier_today(point_id: str, moment: datetime) -> str | None:
    raw = metering_points.get(point_id.encode())
    if not raw:
        return None
    point = point_from_record(codec(METERING_POINT_STATE).decode(raw))
    return point.supplier_on(moment.astimezone(HUB_TIMEZONE).date())


def publish(contract: Contract, supplier: str | None, moment: datetime) -> list[Record]:
    """The contracts-topic record and the supplier's NotifyContract for one change."""
    records = [Record(catalogue.contracts, contract.id.encode(),
                      codec(CONTRACT).encode(contract_record(contract, supplier)), 0)]
    if supplier is not None:
        change = contract.changes[-1].what if contract.changes else contract.status.value
        notice = Outbound(
            message_id=outbound_message_id(contract.id, supplier, NOTIFY,
                                           f"{contract.updated_at.isoformat()}|{change}"),
            recipient=supplier, queue=MARKET_PROCESSES, document_type=NOTIFY,
            payload_type="ContractNotice",
            payload={"contractId": contract.id, "meteringPointId": contract.metering_point_id,
                     "contractType": contract.contract_type, "status": contract.status.value,
                     "startDate": contract.start_date, "endDate": contract.end_date,
                     "updatedAt": contract.updated_at, "change": change},
            created_at=moment)
        records += outbound_records([notice])
    return records


def reply(correlation_id: str, contract: Contract | None, error: ContractError | None,
          supplier: str | None = None) -> Record:
    value = codec(CONTRACT_REPLY).encode({
        "contractId": contract.id if contract else None,
        "errorStatus": error.status if error else None,
        "errorCode": error.code if error else None,
        "errorTitle": getattr(error, "title", None) if error else None,
        "errorDetail": error.detail if error else None,
        "errorPointer": getattr(error, "pointer", None) if error else None,
        "contract": contract_record(contract, supplier) if contract else None})
    return Record(catalogue.contract_replies, correlation_id.encode(), value, 0)


def apply(command: dict[str, Any], contracts: list[Contract], moment: datetime) -> Contract:
    """The contract after one command; raises ContractError when refused."""
    point_id, sender = command["meteringPointId"], command["sender"]
    raw = metering_points.get(point_id.encode())
    point = point_from_record(codec(METERING_POINT_STATE).decode(raw)) if raw else None
    if point is None:
        raise ContractError("METERING_POINT_NOT_FOUND", f"metering point {point_id} is not "
                            "known", 422, title="Unknown metering point",
                            pointer="/data/relationships/meteringPoint")
    if point.grid_owner != sender:
        raise ContractError("FORBIDDEN", "only the metering point's grid owner writes its "
                            "Norgespris contracts", 403, title="Not the grid owner")
    contracts = [norgespris.advance(c, moment) for c in contracts]
    if command["action"] == "create":
        code = point.characteristics_on(moment.astimezone(HUB_TIMEZONE).date()).consumption_code
        return norgespris.create(
            contract_id=command["contractId"], metering_point_id=point_id,
            grid_owner=point.grid_owner, start_date=command["startDate"],
            end_date=command["endDate"], consumption_code=code,
            has_active_contract=norgespris.has_open_contract(contracts, moment), by=sender,
            now=moment)
    current = next((c for c in contracts if c.id == command["contractId"]), None)
    if current is None:
        raise ContractError("CONTRACT_NOT_FOUND", "no such contract on this metering point",
                            404, title="Contract not found")
    if command["action"] == "cancel":
        return norgespris.cancel(current, by=sender, now=moment)
    changes: dict[str, date | None] = {}
    if command["startDate"] is not None:
        changes["start_date"] = command["startDate"]
    if command["endDate"] is not None or command["clearEndDate"]:
        changes["end_date"] = command["endDate"]
    return norgespris.edit(current, by=sender, now=moment, **changes)  # type: ignore[arg-type]


def store(key: bytes, partition: int, contracts: list[Contract]) -> None:
    value = codec(CONTRACT_SET).encode({
        "partition": partition, "contracts": [contract_record(c, None) for c in contracts]})
    contracts_table.set_in_partition(key, value, partition)


@app.agent(contract_commands_topic, name="contracts")
async def process_contract_commands(stream: Any) -> None:
    async for event in stream.events():
        update: list[Contract] | None = None
        try:
            command = codec(CONTRACT_COMMAND).decode(event.message.value)
            key = command["meteringPointId"].encode()
            moment = now()
            contracts = load_contracts(key)
            try:
                changed = apply(command, contracts, moment)
            except ContractError as error:
                records = [reply(command["correlationId"], None, error)]
            else:
                update = [changed if c.id == changed.id else norgespris.advance(c, moment)
                          for c in contracts]
                if all(c.id != changed.id for c in contracts):
                    update.append(changed)
                supplier = supplier_today(command["meteringPointId"], moment)
                records = [*publish(changed, supplier, moment),
                           reply(command["correlationId"], changed, None, supplier)]
                log.info("contract changed", contract=changed.id, status=changed.status.value,
                         metering_point=changed.metering_point_id, actor=command["sender"])
        except Exception as exc:  # one bad command must not stop the stream
            records = [dead_letter(PROCESSOR, event, exc)]
        await produce_durably(records, PROCESSOR)
        if update is not None:
            store(key, event.message.partition, update)


@app.timer(interval=settings.contract_timer_seconds)
async def advance_lifecycles() -> None:
    """Activate and expire contracts on time, on the partitions this worker holds."""
    moment = now()
    for key, raw in list(contracts_table.items()):
        if raw is None:
            continue
        record = codec(CONTRACT_SET).decode(raw)
        contracts = [contract_from(c) for c in record["contracts"]]
        advanced = [norgespris.advance(c, moment) for c in contracts]
        moved = [a for a, c in zip(advanced, contracts, strict=True) if a != c]
        if not moved:
            continue
        supplier = supplier_today(moved[0].metering_point_id, moment)
        records = [r for c in moved for r in publish(c, supplier, moment)]
        await produce_durably(records, PROCESSOR)
        store(key, record["partition"], advanced)
        for c in moved:
            log.info("contract moved on", contract=c.id, status=c.status.value,
                     metering_point=c.metering_point_id)
