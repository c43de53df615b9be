"""Shared production (BRS-NO-701): two processors and a saga between them.

A calculation spans several metering points, which may live in other partitions than each
other and than the calculation. So the calculation has a partition of its own (its topic is
keyed by ``<grid owner>|<name>``, with the input topics' partition count) and a table there,
and it talks to its points through a topic keyed by metering point:

1. the grid owner's setup reaches the calculation, which checks the setup's own rules and
   asks every point to join (``JoinRequest``), remembering the setup as pending;
2. each point checks its own rules in its partition, beside its state (it exists, is the
   sender's, produces or not, and is in no other calculation from that day: the first
   calculation to ask reserves it) and answers (``JoinAnswer``);
3. with every answer in, the calculation commits (``JoinDecision``: the points' memberships
   become active, their grid owner and supplier get a master-data update, and values the
   point already had from the first day on are read back and sent to the calculation) or
   aborts (reservations released), and the grid owner gets the answer: a rejection with every
   reason, or the whole calculation.

Then the forwarder sends each member's accepted values (new ones and corrections) to the
calculation, which keeps them per day, calculates every whole slot whose values are all in
(``domain.shared_production``), and sends each receiver's results that are new or changed, with
their version, to the receiver's partition, where they are routed like metering values to the
supplier and grid owner of the time. Every step is a record in a topic written in its task's
transaction, so the saga survives a crash at any point and nothing is done twice.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from domain.forwarding import NOTIFY_VALUES
from domain.messages import (
    MARKET_PROCESSES,
    METERING_VALUES,
    Outbound,
    Reason,
    acknowledgement,
    not_processed,
    outbound_message_id,
)
from domain.metering_point import MeteringPoint
from domain.routing import route_series
from domain.series import HUB_TIMEZONE, hub_days
from domain.shared_production import (
    CONTRIBUTOR,
    RECEIVER,
    SHARE_UNITS,
    Action,
    DayInput,
    DistributionType,
    Member,
    Membership,
    ReceiverIn,
    Setup,
    Version,
    calculate_day,
    changed_runs,
    intervals_in_day,
    overlap_reasons,
    point_reasons,
    setup_reasons,
    values_by_day,
)
from domain.versions import epoch_ms, latest_versions
from processors.outputs import queue_outputs
from processors.tables import Tables
from streams.engine import Context, Incoming, Output
from streams.logging import get_logger
from streams.records import series as intake_series
from streams.records import shared_production as records
from streams.records.series import Series
from streams.records.shared_production import Answer, Calculation, Day, Pending
from streams.topics import TopicCatalogue

log = get_logger(__name__)

NAMESPACE = uuid.UUID("2f1c7a9e-8d4b-5e3f-a6c2-1b9d0e7f4a83")
DOCUMENT = "SharedProductionCalculation"
NOTIFY_CALCULATION = "NotifySharedProductionCalculation"
NOTIFY_CHARACTERISTICS = "NotifyMeteringPointCharacteristics"

#: The receiver's channels a result fills (flytdiagram delt produksjon): name, product code,
#: direction, settled in Elhub, and which of (allocated, net consumption, net production).
CHANNELS = (("virtual_net_consumption", "4700000000303", "out", True, 1),
            ("virtual_net_production", "4700000000303", "in", True, 2),
            ("virtual_distributed_production", "4700000000301", "in", False, 0))


def calculation_key(grid_owner: str, name: str) -> str:
    """A calculation is known by its grid owner and its name (unique per grid owner)."""
    return f"{grid_owner}|{name}"


def calculation_id(key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, key))


def _day_key(key: str, day: date) -> bytes:
    return f"{key}|{day.isoformat()}".encode()


def _today(ctx: Context) -> date:
    return ctx.now.astimezone(HUB_TIMEZONE).date()


class Emit:
    """Records for the other side of the saga (partition by key, as the API writes them)."""

    def __init__(self, catalogue: TopicCatalogue) -> None:
        self.catalogue = catalogue

    def to_calculation(self, key: str, kind: str, fields: dict[str, Any]) -> Output:
        return Output(self.catalogue.shared_production, key.encode(),
                      records.encode_calculation_event(key, kind, fields), None)

    def to_point(self, point: str, kind: str, fields: dict[str, Any]) -> Output:
        return Output(self.catalogue.shared_production_points, point.encode(),
                      records.encode_point_event(point, kind, fields), None)

    def values(self, key: str, series: Series) -> Output:
        return self.to_calculation(key, "ParticipantValues", {
            "meteringPointId": series["meteringPointId"],
            "transactionId": series["transactionId"], "start": series["start"],
            "end": series["end"], "resolution": series["resolution"],
            "quantities": series["quantities"], "qualities": series["qualities"]})


def participant_outputs(emit: Emit, memberships: tuple[Membership, ...] | None,
                        series: Series) -> list[Output]:
    """The forwarder's part: a member's accepted values go to each calculation it is active
    in on any day the series covers."""
    if not memberships:
        return []
    days = hub_days(series["start"], series["end"])
    keys = {m.calculation_key for m in memberships
            if m.active and any(m.covers(d) for d in days)}
    return [emit.values(key, series) for key in sorted(keys)]


# The calculation's side ------------------------------------------------------------------------

def calculation_json(calc: Calculation) -> dict[str, Any]:
    """The whole calculation, as the grid owner is told it."""
    return {"calculationId": calc.id, "name": calc.name, "gridOwner": calc.grid_owner,
            "versions": [{
                "version": v.number, "validFrom": v.valid_from, "validTo": v.valid_to,
                "distributionType": v.distribution_type.value, "description": v.description,
                "contributors": [m.metering_point_id for m in v.contributors],
                "receivers": [{"meteringPointId": m.metering_point_id,
                               "share": None if m.share is None
                               else str(Decimal(m.share) / SHARE_UNITS)}
                              for m in v.receivers]} for v in calc.versions]}


def setup_of(record: dict[str, Any]) -> Setup:
    return Setup(
        Action(record["action"]), record["name"], record["description"],
        DistributionType(record["distributionType"]), record["validFrom"],
        tuple(record["contributors"]),
        tuple(ReceiverIn(r["meteringPointId"],
                         None if r["share"] is None else Decimal(r["share"]))
              for r in record["receivers"]))


class SharedProduction:
    """Handler of the calculations' topic: setups, points' answers, participants' values."""

    name = "shared-production"

    def __init__(self, catalogue: TopicCatalogue, tables: Tables,
                 dynamic_fallback: str = "equal") -> None:
        self.catalogue = catalogue
        self.tables = tables
        self.dynamic_fallback = dynamic_fallback
        self.emit = Emit(catalogue)
        self._decode = records.decode_calculation_event

    def handle(self, record: Incoming, ctx: Context) -> list[Output]:
        key, kind, fields = self._decode(record.value)
        if kind == "SharedProductionSetup":
            return self._setup(key, fields, ctx)
        if kind == "JoinAnswer":
            return self._answer(key, fields, ctx)
        return self._values(key, fields, ctx)

    def reject(self, record: Incoming, reason: str, ctx: Context) -> list[Output]:
        _, kind, fields = self._decode(record.value)
        if kind != "SharedProductionSetup":
            return []
        return queue_outputs(self.catalogue, [not_processed(
            original_message_id=fields["messageId"], original_document_type=DOCUMENT,
            sender=fields["sender"], reason=reason, created_at=ctx.now)])

    # The setup ----------------------------------------------------------------------------

    def _answer_grid_owner(self, sender: str, message_id: str, reasons: list[Reason],
                           calc: Calculation | None, now: datetime) -> list[Output]:
        messages = [acknowledgement(original_message_id=message_id,
                                    original_document_type=DOCUMENT, sender=sender,
                                    reasons=reasons, created_at=now)]
        if not reasons and calc is not None:
            messages.append(Outbound(
                message_id=outbound_message_id(message_id, sender, NOTIFY_CALCULATION),
                recipient=sender, queue=MARKET_PROCESSES, document_type=NOTIFY_CALCULATION,
                payload_type=NOTIFY_CALCULATION,
                payload={"originalMessageId": message_id, **calculation_json(calc)},
                created_at=now))
        return queue_outputs(self.catalogue, messages)

    def _setup(self, key: str, record: dict[str, Any], ctx: Context) -> list[Output]:
        table = ctx.table(self.tables.calculations)
        calc: Calculation | None = table.get(key.encode())
        setup = setup_of(record)
        sender, message_id = record["sender"], record["messageId"]
        reasons = setup_reasons(setup)
        latest = calc.versions[-1] if calc is not None and calc.versions else None
        if calc is not None and calc.pending is not None:
            reasons.append(Reason("shared_production.change_in_progress",
                                  "the calculation's last setup is still being checked"))
        if setup.action == Action.CREATE and latest is not None:
            reasons.append(Reason("shared_production.name_not_unique",
                                  f"this grid owner has a calculation named {setup.name!r}; "
                                  "change or end it"))
        if setup.action != Action.CREATE:
            if latest is None:
                reasons.append(Reason("shared_production.unknown_calculation",
                                      f"no calculation named {setup.name!r}"))
            else:
                if latest.valid_to is not None:
                    reasons.append(Reason("shared_production.calculation_ended",
                                          f"the calculation ended on {latest.valid_to}"))
                if setup.valid_from <= latest.valid_from:
                    reasons.append(Reason("shared_production.change_before_current",
                                          "a change applies after the version in force"))
            if setup.valid_from < _today(ctx):
                reasons.append(Reason("shared_production.change_backdated",
                                      "a change or end applies from today or later"))
        if reasons:
            log.info("shared production setup rejected", calculation=key,
                     message_id=message_id, reasons=[r.code for r in reasons])
            return self._answer_grid_owner(sender, message_id, reasons, None, ctx.now)
        if setup.action == Action.END:
            assert calc is not None and latest is not None
            ended = replace(calc, versions=(*calc.versions[:-1],
                                            replace(latest, valid_to=setup.valid_from)))
            table.put(key.encode(), ended)
            leaves = [self.emit.to_point(m.metering_point_id, "Leave", {
                "calculationKey": key, "endDate": setup.valid_from}) for m in latest.members]
            return [*leaves, *self._answer_grid_owner(sender, message_id, [], ended, ctx.now)]
        members = tuple([Member(p, CONTRIBUTOR, "") for p in setup.contributors]
                        + [Member(r.metering_point_id, RECEIVER, "",
                                  None if r.share is None else int(r.share * SHARE_UNITS))
                           for r in setup.receivers])
        version = Version((latest.number if latest else 0) + 1, message_id, setup.valid_from,
                          setup.distribution_type, setup.description, members)
        calc = calc or Calculation(key, calculation_id(key), sender, setup.name)
        table.put(key.encode(), replace(calc, pending=Pending(message_id, setup.action.value,
                                                              version)))
        return [self.emit.to_point(m.metering_point_id, "JoinRequest", {
            "calculationKey": key, "calculationId": calc.id, "name": calc.name,
            "version": version.number, "role": m.role, "validFrom": version.valid_from,
            "sender": sender, "messageId": message_id}) for m in members]

    def _answer(self, key: str, record: dict[str, Any], ctx: Context) -> list[Output]:
        table = ctx.table(self.tables.calculations)
        calc: Calculation | None = table.get(key.encode())
        if (calc is None or calc.pending is None
                or calc.pending.version.number != record["version"]):
            return []  # an answer to a setup already decided
        pending = calc.pending
        answer = Answer(record["meteringPointId"], record["accepted"],
                        tuple(Reason(r["code"], r["text"]) for r in record["reasons"]),
                        record["resolution"])
        answers = (*(a for a in pending.answers
                     if a.metering_point_id != answer.metering_point_id), answer)
        expected = [m.metering_point_id for m in pending.version.members]
        if {a.metering_point_id for a in answers} != set(expected):
            table.put(key.encode(), replace(calc, pending=replace(pending, answers=answers)))
            return []
        by_point = {a.metering_point_id: a for a in answers}
        reasons = [r for p in expected for r in by_point[p].reasons]
        if reasons:
            kept = replace(calc, pending=None)
            table.put(key.encode(), kept if kept.versions else None)
            log.info("shared production setup rejected by its points", calculation=key,
                     reasons=[r.code for r in reasons])
            releases = [self.emit.to_point(p, "JoinDecision", {
                "calculationKey": key, "version": pending.version.number, "commit": False,
                "validFrom": pending.version.valid_from})
                for p in expected if by_point[p].accepted]
            return [*releases, *self._answer_grid_owner(
                calc.grid_owner, pending.message_id, reasons, None, ctx.now)]
        version = replace(pending.version, members=tuple(
            replace(m, resolution=by_point[m.metering_point_id].resolution or "PT1H")
            for m in pending.version.members))
        previous = calc.versions[-1] if calc.versions else None
        versions = calc.versions if previous is None else (
            *calc.versions[:-1], replace(previous, valid_to=version.valid_from))
        committed = replace(calc, versions=(*versions, version), pending=None)
        table.put(key.encode(), committed)
        staying = {m.metering_point_id for m in version.members}
        outputs = [self.emit.to_point(p, "JoinDecision", {
            "calculationKey": key, "version": version.number, "commit": True,
            "validFrom": version.valid_from}) for p in expected]
        if previous is not None:
            outputs += [self.emit.to_point(m.metering_point_id, "Leave", {
                "calculationKey": key, "endDate": version.valid_from})
                for m in previous.members if m.metering_point_id not in staying]
        log.info("shared production calculation set up", calculation=key,
                 version=version.number, points=len(expected))
        return [*outputs, *self._answer_grid_owner(calc.grid_owner, pending.message_id, [],
                                                   committed, ctx.now)]

    # Values and the calculation ------------------------------------------------------------

    def _values(self, key: str, record: dict[str, Any], ctx: Context) -> list[Output]:
        calc: Calculation | None = ctx.table(self.tables.calculations).get(key.encode())
        if calc is None:
            return []
        days_table = ctx.table(self.tables.calculation_days)
        point = record["meteringPointId"]
        outputs: list[Output] = []
        converted: dict[str, dict[date, dict[int, tuple[int, bool]]]] = {}
        for day in hub_days(record["start"], record["end"]):
            version = calc.version_on(day)
            if version is None or point not in {m.metering_point_id for m in version.members}:
                continue
            resolution = version.resolution
            if resolution not in converted:
                converted[resolution] = values_by_day(
                    record["start"], record["resolution"], record["quantities"],
                    record["qualities"], resolution)
            values = converted[resolution].get(day)
            if not values:
                continue
            stored: Day | None = days_table.get(_day_key(key, day))
            held = Day(dict(stored.inputs), {r: dict(v) for r, v in stored.sent.items()}) \
                if stored is not None else Day()
            count = intervals_in_day(day, resolution)
            res, before = held.inputs.get(point, (resolution, None))
            wh: list[int | None] = (list(before.wh) if before is not None and res == resolution
                                    else [None] * count)
            estimated = (list(before.estimated) if before is not None and res == resolution
                         else [False] * count)
            for index, (value, est) in values.items():
                if index < count:
                    wh[index], estimated[index] = value, est
            held.inputs[point] = (resolution, DayInput(tuple(wh), tuple(estimated)))
            outputs += self._calculate(calc, version, day, held, ctx)
            days_table.put(_day_key(key, day), held)
        return outputs

    def _calculate(self, calc: Calculation, version: Version, day: date, held: Day,
                   ctx: Context) -> list[Output]:
        inputs = {p: values for p, (res, values) in held.inputs.items()
                  if res == version.resolution}
        results = calculate_day(version, day, inputs, self.dynamic_fallback)
        resolutions = {r.metering_point_id: r.resolution for r in version.receivers}
        outputs = []
        for run in changed_runs(results, held.sent, resolutions):
            start, end = run.period(day)
            transaction = str(uuid.uuid5(NAMESPACE, f"{calc.id}|{run.receiver}|{day}|"
                                                    f"{run.first}-{run.end}|v{run.version}"))
            outputs.append(self.emit.to_point(run.receiver, "CalculationResult", {
                "calculationKey": calc.key, "calculationId": calc.id, "name": calc.name,
                "transactionId": transaction, "setupMessageId": version.message_id,
                "version": run.version, "start": start, "end": end,
                "resolution": run.resolution, "allocated": [v[0] for v in run.values],
                "netConsumption": [v[1] for v in run.values],
                "netProduction": [v[2] for v in run.values],
                "estimated": [v[3] for v in run.values]}))
            sent = held.sent.setdefault(run.receiver, {})
            for offset, value in enumerate(run.values):
                sent[run.first + offset] = (*value, run.version)
        return outputs


# The points' side -----------------------------------------------------------------------------

def channels_of(role: str | None, shared: bool) -> list[dict[str, Any]]:
    """A point's channels and whether each is settled, in or out of a calculation."""
    if role == CONTRIBUTOR:
        return [{"channel": "production", "productCode": "8716867000030", "direction": "in",
                 "settled": not shared}]
    channels = [{"channel": "consumption", "productCode": "8716867000030", "direction": "out",
                 "settled": not shared}]
    if shared:
        channels += [{"channel": name, "productCode": code, "direction": direction,
                      "settled": settled} for name, code, direction, settled, _ in CHANNELS]
    return channels


class SharedProductionPoints:
    """Handler of shared production's messages to metering points."""

    name = "shared-production-points"

    def __init__(self, catalogue: TopicCatalogue, tables: Tables) -> None:
        self.catalogue = catalogue
        self.tables = tables
        self.emit = Emit(catalogue)
        self._decode = records.decode_point_event

    def handle(self, record: Incoming, ctx: Context) -> list[Output]:
        point_id, kind, fields = self._decode(record.value)
        key = point_id.encode()
        table = ctx.table(self.tables.memberships)
        held: tuple[Membership, ...] = table.get(key) or ()
        point: MeteringPoint | None = ctx.table(self.tables.metering_points).get(key)
        if kind == "JoinRequest":
            reasons = [*point_reasons(point, point_id, fields["role"], fields["sender"],
                                      fields["validFrom"]),
                       *overlap_reasons(held, point_id, fields["calculationKey"],
                                        fields["validFrom"])]
            if not reasons:
                table.put(key, (*(m for m in held if not self._same(m, fields)), Membership(
                    fields["calculationKey"], fields["calculationId"], fields["name"],
                    fields["version"], fields["role"], fields["validFrom"])))
            resolution = point.characteristics_on(fields["validFrom"]).resolution \
                if point is not None else None
            return [self.emit.to_calculation(fields["calculationKey"], "JoinAnswer", {
                "meteringPointId": point_id, "version": fields["version"],
                "role": fields["role"], "accepted": not reasons,
                "reasons": [{"code": r.code, "text": r.text} for r in reasons],
                "resolution": resolution})]
        if kind == "JoinDecision":
            return self._decide(point_id, point, held, fields, ctx)
        if kind == "Leave":
            return self._leave(point_id, point, held, fields, ctx)
        return self._result(point_id, point, fields, ctx)

    def reject(self, record: Incoming, reason: str, ctx: Context) -> list[Output]:
        return []  # a calculation's own message: no market actor sent it

    @staticmethod
    def _same(m: Membership, fields: dict[str, Any]) -> bool:
        return bool(m.calculation_key == fields["calculationKey"]
                    and m.version == fields["version"])

    def _decide(self, point_id: str, point: MeteringPoint | None,
                held: tuple[Membership, ...], fields: dict[str, Any],
                ctx: Context) -> list[Output]:
        table = ctx.table(self.tables.memberships)
        key = point_id.encode()
        mine = next((m for m in held if self._same(m, fields)), None)
        if mine is None:
            return []
        if not fields["commit"]:
            table.put(key, tuple(m for m in held if m is not mine) or None)
            return []
        if mine.active:
            return []  # this decision again
        start = mine.valid_from
        kept = []
        for m in held:
            if m is mine:
                kept.append(replace(m, active=True))
            elif m.calculation_key == mine.calculation_key and m.overlaps(start, None):
                if m.valid_from < start:  # the version before ends where this one begins
                    kept.append(replace(m, valid_to=start))
            else:
                kept.append(m)
        table.put(key, tuple(kept))
        was_member = any(m.calculation_key == mine.calculation_key and m.active
                         for m in held)
        outputs = self._notice(point, point_id, mine, start, shared=True, ctx=ctx)
        if not was_member:
            outputs += self._read_back(key, mine.calculation_key, start, ctx)
        return outputs

    def _leave(self, point_id: str, point: MeteringPoint | None,
               held: tuple[Membership, ...], fields: dict[str, Any],
               ctx: Context) -> list[Output]:
        end: date = fields["endDate"]
        kept, left = [], None
        for m in held:
            if m.calculation_key == fields["calculationKey"] and m.overlaps(end, None):
                left = m
                if m.valid_from < end:
                    kept.append(replace(m, valid_to=end))
            else:
                kept.append(m)
        if left is None:
            return []
        ctx.table(self.tables.memberships).put(point_id.encode(), tuple(kept) or None)
        return self._notice(point, point_id, left, end, shared=False, ctx=ctx)

    def _notice(self, point: MeteringPoint | None, point_id: str, m: Membership, day: date,
                shared: bool, ctx: Context) -> list[Output]:
        """The master-data update to the point's grid owner and supplier: what is settled."""
        if point is None:
            return []
        supplier = point.supplier_on(max(day, _today(ctx)))
        payload = {"meteringPointId": point_id, "effectiveFrom": day,
                   "sharedProduction": {"calculationId": m.calculation_id, "name": m.name,
                                        "role": m.role, "member": shared},
                   "channels": channels_of(m.role, shared)}
        cause = f"{m.calculation_id}|v{m.version}|{point_id}|{'join' if shared else 'leave'}"
        return queue_outputs(self.catalogue, [Outbound(
            message_id=outbound_message_id(cause, recipient, NOTIFY_CHARACTERISTICS),
            recipient=recipient, queue=MARKET_PROCESSES,
            document_type=NOTIFY_CHARACTERISTICS, payload_type="SharedProductionMembership",
            payload=payload, created_at=ctx.now)
            for recipient in dict.fromkeys(r for r in (point.grid_owner, supplier) if r)])

    def _read_back(self, key: bytes, calculation: str, start: date,
                   ctx: Context) -> list[Output]:
        """Values the point had before it joined, from the calculation's first day on."""
        first = epoch_ms(datetime.combine(start, datetime.min.time(), HUB_TIMEZONE))
        for version in latest_versions(ctx.table(self.tables.series_versions).get(key) or []):
            if version.offset >= 0 and version.end > first:
                ctx.lookup(self.catalogue.metering_values, version.offset,
                           partial(self._send_back, calculation))
        return []

    def _send_back(self, calculation: str, record: Incoming | None, ctx: Context
                   ) -> list[Output]:
        if record is None:
            return []
        return [self.emit.values(calculation, intake_series.decode(record.value))]

    def _result(self, point_id: str, point: MeteringPoint | None, fields: dict[str, Any],
                ctx: Context) -> list[Output]:
        """A receiver's results, routed like metering values to the supplier and grid owner
        of the time, one series per channel."""
        if point is None:
            return []
        messages = []
        deliveries = [d for d in route_series(point, fields["start"], fields["end"],
                                              fields["resolution"])
                      if d.role in ("supplier", "grid_owner")]
        qualities = ["estimated" if e else "measured" for e in fields["estimated"]]
        for channel, code, direction, settled, column in CHANNELS:
            values = [fields["allocated"], fields["netConsumption"],
                      fields["netProduction"]][column]
            cause = f"{fields['transactionId']}|{channel}"
            for d in deliveries:
                messages.append(Outbound(
                    message_id=outbound_message_id(cause, d.recipient, NOTIFY_VALUES, d.part),
                    recipient=d.recipient, queue=METERING_VALUES, document_type=NOTIFY_VALUES,
                    payload_type=NOTIFY_VALUES, created_at=ctx.now, payload={
                        "transactionId": f"{fields['transactionId']}-{channel}",
                        "originalMessageId": fields["setupMessageId"],
                        "meteringPointId": point_id, "start": d.start, "end": d.stop,
                        "resolution": fields["resolution"], "unit": "kWh",
                        "registeredAt": ctx.now, "recipientRole": d.role,
                        "version": fields["version"], "correction": fields["version"] > 1,
                        "channel": channel, "productCode": code, "direction": direction,
                        "settled": settled,
                        "calculation": {"calculationId": fields["calculationId"],
                                        "name": fields["name"]},
                        "quantities": [v / 1000 for v in values[d.first:d.end]],
                        "qualities": qualities[d.first:d.end]}))
        log.info("shared production results forwarded", metering_point=point_id,
                 calculation=fields["calculationKey"], version=fields["version"],
                 recipients=sorted({m.recipient for m in messages}))
        return queue_outputs(self.catalogue, messages)
