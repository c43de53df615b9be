"""Shared production as Avro records: the saga's events (by calculation, by metering point),
and its tables: calculations (by calculation), days of values (by calculation and day) and
memberships (by metering point)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, NamedTuple

from domain.messages import Reason
from domain.shared_production import DayInput, DistributionType, Member, Membership, Version
from streams.serialisation import (
    SHARED_PRODUCTION_CALCULATION,
    SHARED_PRODUCTION_DAY,
    SHARED_PRODUCTION_EVENT,
    SHARED_PRODUCTION_MEMBERSHIPS,
    SHARED_PRODUCTION_POINT_EVENT,
    codec,
)

#: The Avro namespace of the events' union members.
EVENT_NS: Final = "no.straum.sharedproduction."


class Event(NamedTuple):
    """One saga event: whom it is about (a calculation key or a metering point id), its kind
    (``SharedProductionSetup``, ``JoinRequest``, …) and its fields."""

    subject: str
    kind: str
    fields: dict[str, Any]


def _encode_event(stem: str, subject_field: str, subject: str, kind: str,
                  fields: dict[str, Any]) -> bytes:
    """An event record: its subject (``subject_field``) and one member of the event union."""
    return codec(stem).encode({subject_field: subject, "event": (EVENT_NS + kind, fields)})


def _decode_event(stem: str, subject_field: str, raw: bytes | None) -> Event:
    r = codec(stem).decode(raw)
    kind, fields = r["event"]
    return Event(r[subject_field], kind.rsplit(".", 1)[-1], fields)


def encode_calculation_event(key: str, kind: str, fields: dict[str, Any]) -> bytes:
    """A ``SharedProductionEvent`` for the calculation ``key``."""
    return _encode_event(SHARED_PRODUCTION_EVENT, "calculationKey", key, kind, fields)


def decode_calculation_event(raw: bytes | None) -> Event:
    return _decode_event(SHARED_PRODUCTION_EVENT, "calculationKey", raw)


def encode_point_event(point_id: str, kind: str, fields: dict[str, Any]) -> bytes:
    """A ``SharedProductionPointEvent`` for the metering point ``point_id``."""
    return _encode_event(SHARED_PRODUCTION_POINT_EVENT, "meteringPointId", point_id, kind, fields)


def decode_point_event(raw: bytes | None) -> Event:
    return _decode_event(SHARED_PRODUCTION_POINT_EVENT, "meteringPointId", raw)


@dataclass(frozen=True)
class Answer:
    metering_point_id: str
    accepted: bool
    reasons: tuple[Reason, ...] = ()
    resolution: str | None = None


@dataclass(frozen=True)
class Pending:
    """A setup waiting for its points' answers (the saga's state)."""

    message_id: str
    action: str
    version: Version
    answers: tuple[Answer, ...] = ()


@dataclass(frozen=True)
class Calculation:
    key: str
    id: str
    grid_owner: str
    name: str
    versions: tuple[Version, ...] = ()
    pending: Pending | None = None

    def version_on(self, day: date) -> Version | None:
        return next((v for v in reversed(self.versions) if v.covers(day)), None)


@dataclass
class Day:
    """One calculation's day: inputs per participant and what each receiver was sent."""

    inputs: dict[str, tuple[str, DayInput]] = field(default_factory=dict)  # point: (res, in)
    sent: dict[str, dict[int, tuple[int, int, int, bool, int]]] = field(default_factory=dict)


def _version_record(v: Version) -> dict[str, Any]:
    return {"number": v.number, "messageId": v.message_id, "validFrom": v.valid_from,
            "validTo": v.valid_to, "distributionType": v.distribution_type.value,
            "description": v.description,
            "members": [{"meteringPointId": m.metering_point_id, "role": m.role,
                         "resolution": m.resolution, "share": m.share} for m in v.members]}


def _version_from(r: dict[str, Any]) -> Version:
    return Version(r["number"], r["messageId"], r["validFrom"],
                   DistributionType(r["distributionType"]), r["description"],
                   tuple(Member(m["meteringPointId"], m["role"], m["resolution"], m["share"])
                         for m in r["members"]), r["validTo"])


def _reasons(reasons: tuple[Reason, ...]) -> list[dict[str, str]]:
    return [{"code": r.code, "text": r.text} for r in reasons]


def encode_calculation(c: Calculation) -> bytes:
    pending = None if c.pending is None else {
        "messageId": c.pending.message_id, "action": c.pending.action,
        "version": _version_record(c.pending.version),
        "answers": [{"meteringPointId": a.metering_point_id, "accepted": a.accepted,
                     "reasons": _reasons(a.reasons), "resolution": a.resolution}
                    for a in c.pending.answers]}
    return codec(SHARED_PRODUCTION_CALCULATION).encode({
        "key": c.key, "id": c.id, "gridOwner": c.grid_owner, "name": c.name,
        "versions": [_version_record(v) for v in c.versions], "pending": pending})


def decode_calculation(raw: bytes | None) -> Calculation:
    r = codec(SHARED_PRODUCTION_CALCULATION).decode(raw)
    p = r["pending"]
    pending = None if p is None else Pending(
        p["messageId"], p["action"], _version_from(p["version"]),
        tuple(Answer(a["meteringPointId"], a["accepted"],
                     tuple(Reason(x["code"], x["text"]) for x in a["reasons"]),
                     a["resolution"]) for a in p["answers"]))
    return Calculation(r["key"], r["id"], r["gridOwner"], r["name"],
                       tuple(_version_from(v) for v in r["versions"]), pending)


def encode_day(day: Day) -> bytes:
    return codec(SHARED_PRODUCTION_DAY).encode({
        "inputs": [{"meteringPointId": point, "resolution": res,
                    "wh": [-1 if v is None else v for v in values.wh],
                    "estimated": list(values.estimated)}
                   for point, (res, values) in day.inputs.items()],
        "sent": [{"receiver": receiver, "index": i, "allocated": v[0], "netConsumption": v[1],
                  "netProduction": v[2], "estimated": v[3], "version": v[4]}
                 for receiver, rows in day.sent.items() for i, v in rows.items()]})


def decode_day(raw: bytes | None) -> Day:
    r = codec(SHARED_PRODUCTION_DAY).decode(raw)
    day = Day()
    for i in r["inputs"]:
        day.inputs[i["meteringPointId"]] = (i["resolution"], DayInput(
            tuple(None if v < 0 else v for v in i["wh"]), tuple(i["estimated"])))
    for s in r["sent"]:
        day.sent.setdefault(s["receiver"], {})[s["index"]] = (
            s["allocated"], s["netConsumption"], s["netProduction"], s["estimated"],
            s["version"])
    return day


def encode_memberships(items: tuple[Membership, ...]) -> bytes:
    return codec(SHARED_PRODUCTION_MEMBERSHIPS).encode({"items": [
        {"calculationKey": m.calculation_key, "calculationId": m.calculation_id,
         "name": m.name, "version": m.version, "role": m.role, "validFrom": m.valid_from,
         "validTo": m.valid_to, "active": m.active} for m in items]})


def decode_memberships(raw: bytes | None) -> tuple[Membership, ...]:
    return tuple(Membership(m["calculationKey"], m["calculationId"], m["name"], m["version"],
                            m["role"], m["validFrom"], m["validTo"], m["active"])
                 for m in codec(SHARED_PRODUCTION_MEMBERSHIPS).decode(raw)["items"])
