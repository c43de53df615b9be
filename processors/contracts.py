"""The Norgespris contracts processor: the one writer of contracts, per metering point.

Contract requests from the API arrive keyed by metering point, so they are handled in order
beside the point's master data (co-partitioned): eligibility reads the point's consumption
code, and two requests for one point can never both create a contract. Each change is written
to the table, to the contracts topic the API reads, to the supplier's queue as NotifyContract,
and answered on the replies topic, all in the batch's transaction. A timer moves contracts
through their lifecycle on time (activation after the regret period, expiry), whether or not
anyone calls the API.
"""

from __future__ import annotations

from datetime import date, datetime

from domain import norgespris
from domain.messages import MARKET_PROCESSES, Outbound, outbound_message_id
from domain.metering_point import MeteringPoint
from domain.norgespris import Contract, ContractError
from domain.problem_codes import ContractCode
from domain.series import HUB_TIMEZONE
from processors.outputs import queue_outputs
from processors.tables import Tables
from streams.engine import Context, Incoming, Output
from streams.logging import get_logger
from streams.records import contracts as records
from streams.records.contracts import ContractCommand, ContractSet, contract_record
from streams.topics import TopicCatalogue

log = get_logger(__name__)
NOTIFY = "NotifyContract"


def notice(contract: Contract, supplier: str, moment: datetime) -> Outbound:
    """The supplier's NotifyContract for the contract's latest change."""
    change = contract.changes[-1].what if contract.changes else contract.status.value
    return Outbound(
        message_id=outbound_message_id(contract.id, supplier, NOTIFY,
                                       f"{contract.updated_at.isoformat()}|{change}"),
        recipient=supplier, queue=MARKET_PROCESSES, document_type=NOTIFY,
        payload_type="ContractNotice",
        payload={"contractId": contract.id, "meteringPointId": contract.metering_point_id,
                 "contractType": contract.contract_type, "status": contract.status.value,
                 "startDate": contract.start_date, "endDate": contract.end_date,
                 "updatedAt": contract.updated_at, "change": change},
        created_at=moment)


def decide(command: ContractCommand, point: MeteringPoint | None, contracts: list[Contract],
           moment: datetime) -> Contract:
    """The contract after one command; raises ContractError when refused."""
    point_id, sender = command["meteringPointId"], command["sender"]
    if point is None:
        raise ContractError(ContractCode.METERING_POINT_NOT_FOUND,
                            f"metering point {point_id} is not known",
                            title="Unknown metering point",
                            pointer="/data/relationships/meteringPoint")
    if point.grid_owner != sender:
        raise ContractError(ContractCode.FORBIDDEN, "only the metering point's grid owner "
                            "writes its Norgespris contracts", title="Not the grid owner")
    contracts = [norgespris.advance(c, moment) for c in contracts]
    if command["action"] == "create":
        if command["startDate"] is None:  # the API always sends one: a bug, rejected
            raise ValueError("a contract create command without a start date")
        code = point.characteristics_on(moment.astimezone(HUB_TIMEZONE).date()).consumption_code
        return norgespris.create(
            contract_id=command["contractId"], metering_point_id=point_id,
            grid_owner=point.grid_owner, start_date=command["startDate"],
            end_date=command["endDate"], consumption_code=code,
            has_active_contract=norgespris.has_open_contract(contracts, moment), by=sender,
            now=moment)
    current = next((c for c in contracts if c.id == command["contractId"]), None)
    if current is None:
        raise ContractError(ContractCode.CONTRACT_NOT_FOUND,
                            "no such contract on this metering point", title="Contract not found")
    if command["action"] == "cancel":
        return norgespris.cancel(current, by=sender, now=moment)
    changes: dict[str, date | None] = {}
    if command["startDate"] is not None:
        changes["start_date"] = command["startDate"]
    if command["endDate"] is not None or command["clearEndDate"]:
        changes["end_date"] = command["endDate"]
    return norgespris.edit(current, by=sender, now=moment, **changes)  # type: ignore[arg-type]


class Contracts:
    """Handler of the contract-commands topic, and the lifecycle timer."""

    name = "contracts"

    def __init__(self, catalogue: TopicCatalogue, tables: Tables, timer_seconds: float) -> None:
        self.catalogue = catalogue
        self.tables = tables
        self.interval_s = timer_seconds
        self._decode = records.decode_command

    def handle(self, record: Incoming, ctx: Context) -> list[Output]:
        command = self._decode(record.value)
        key = command["meteringPointId"].encode()
        table = ctx.table(self.tables.contracts)
        stored: ContractSet | None = table.get(key)
        contracts = list(stored.contracts) if stored else []
        point = ctx.table(self.tables.metering_points).get(key)
        try:
            changed = decide(command, point, contracts, ctx.now)
        except ContractError as error:
            return [self.reply(command["correlationId"], None, error)]
        update = [changed if c.id == changed.id else norgespris.advance(c, ctx.now)
                  for c in contracts]
        if all(c.id != changed.id for c in contracts):
            update.append(changed)
        table.put(key, ContractSet(ctx.partition, tuple(update)))
        supplier = _supplier_today(point, ctx.now)
        log.info("contract changed", contract=changed.id, status=changed.status.value,
                 metering_point=changed.metering_point_id, actor=command["sender"])
        return [*self.publish(changed, supplier, ctx.now),
                self.reply(command["correlationId"], changed, None, supplier)]

    def reject(self, record: Incoming, reason: str, ctx: Context) -> list[Output]:
        """The API waits for an answer: tell it the command failed."""
        command = self._decode(record.value)
        error = ContractError(ContractCode.PROCESSING_FAILED,
                              f"the hub could not process the request: {reason}",
                              title="Not processed")
        return [self.reply(command["correlationId"], None, error)]

    # The lifecycle timer ----------------------------------------------------------------------

    def fire(self, ctx: Context) -> list[Output]:
        """Activate and expire this partition's contracts on time."""
        table = ctx.table(self.tables.contracts)
        points = ctx.table(self.tables.metering_points)
        outputs: list[Output] = []
        for key in list(table.keys()):
            stored: ContractSet | None = table.get(key)
            if stored is None:
                continue
            advanced = tuple(norgespris.advance(c, ctx.now) for c in stored.contracts)
            moved = [a for a, c in zip(advanced, stored.contracts, strict=True) if a != c]
            if not moved:
                continue
            supplier = _supplier_today(points.get(key), ctx.now)
            outputs += [o for c in moved for o in self.publish(c, supplier, ctx.now)]
            table.put(key, ContractSet(stored.partition, advanced))
            for c in moved:
                log.info("contract moved on", contract=c.id, status=c.status.value,
                         metering_point=c.metering_point_id)
        return outputs

    # Outputs ----------------------------------------------------------------------------------

    def publish(self, contract: Contract, supplier: str | None, moment: datetime
                ) -> list[Output]:
        """The contracts-topic record and the supplier's NotifyContract for one change."""
        outputs = [Output(self.catalogue.contracts, contract.id.encode(),
                          records.encode_contract(contract, supplier), 0)]
        if supplier is not None:
            outputs += queue_outputs(self.catalogue, [notice(contract, supplier, moment)])
        return outputs

    def reply(self, correlation_id: str, contract: Contract | None,
              error: ContractError | None, supplier: str | None = None) -> Output:
        value = records.encode_reply({
            "contractId": contract.id if contract else None,
            "errorCode": error.code if error else None,
            "errorTitle": error.title if error else None,
            "errorDetail": error.detail if error else None,
            "errorPointer": error.pointer if error else None,
            "contract": contract_record(contract, supplier) if contract else None})
        return Output(self.catalogue.contract_replies, correlation_id.encode(), value, 0)


def _supplier_today(point: MeteringPoint | None, moment: datetime) -> str | None:
    return point.supplier_on(moment.astimezone(HUB_TIMEZONE).date()) if point else None
