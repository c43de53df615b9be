"""Norgespris contracts as Avro records (the contracts topic and the contracts table)."""

from __future__ import annotations

from typing import Any

from domain.norgespris import Change, Contract, ContractStatus


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
