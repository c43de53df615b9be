"""Shared production (BRS-NO-701, "Oppsett av beregning i målepunkt") as pure rules: the
setup's checks, the checks in each metering point, and the per-interval calculation.

A grid owner sets up a calculation: contributors (points whose production is shared) and
receivers (points that get a part of it), with a distribution key: manual shares, equal split,
or dynamic (by each receiver's consumption in the interval). For every interval whose values
are all in, the production is allocated to the receivers and netted against each receiver's
consumption into net consumption and net production: the receiver's settled channels.

Everything is in whole watt-hours (kWh with three decimals, as values to and from Elhub are),
and the allocation is by largest remainder, so the parts always add up to the production
exactly. The choices where Elhub's rules are not public are in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from domain.messages import Reason
from domain.metering_point import MeteringPoint
from domain.series import HUB_TIMEZONE, RESOLUTIONS

SHARE_UNITS = 1_000_000
"""Manual shares are kept in millionths: six decimals, and a sum that is exactly 1 or not."""

CONTRIBUTOR, RECEIVER = "contributor", "receiver"


class DistributionType(StrEnum):
    MANUAL = "manual"  # Manuelle andeler
    EQUAL = "equal"  # Lik fordeling
    DYNAMIC = "dynamic"  # Dynamisk fordeling (volume-weighted)


class Action(StrEnum):
    CREATE = "create"
    CHANGE = "change"  # the calculation from validFrom on, sent in full
    END = "end"  # no calculation from validFrom on


@dataclass(frozen=True)
class ReceiverIn:
    metering_point_id: str
    share: Decimal | None = None


@dataclass(frozen=True)
class Setup:
    """What the grid owner sends (BRS-NO-701's fields)."""

    action: Action
    name: str
    description: str
    distribution_type: DistributionType
    valid_from: date
    contributors: tuple[str, ...]
    receivers: tuple[ReceiverIn, ...]


def share_units(share: Decimal) -> int | None:
    """A share in millionths, or None when it has more than six decimals."""
    scaled = share * SHARE_UNITS
    return int(scaled) if scaled == scaled.to_integral_value() else None


def setup_reasons(setup: Setup) -> list[Reason]:
    """The setup's own rules (no hub state needed): every reason at once."""
    reasons: list[Reason] = []
    if setup.action == Action.END:
        return reasons
    if not setup.contributors:
        reasons.append(Reason("shared_production.no_contributor", "name at least one contributor"))
    if not setup.receivers:
        reasons.append(Reason("shared_production.no_receiver", "name at least one receiver"))
    receivers = [r.metering_point_id for r in setup.receivers]
    for kind, points in (("contributor", setup.contributors), ("receiver", receivers)):
        twice = sorted({p for p in points if points.count(p) > 1})
        if twice:
            reasons.append(Reason("shared_production.duplicate_point",
                                  f"{kind}s named twice: {', '.join(twice)}"))
    both = sorted(set(setup.contributors) & set(receivers))
    if both:
        reasons.append(Reason("shared_production.contributor_is_receiver",
                              f"a contributor cannot receive a share: {', '.join(both)}"))
    shares = [r.share for r in setup.receivers]
    if setup.distribution_type == DistributionType.MANUAL:
        if any(s is None for s in shares):
            reasons.append(Reason("shared_production.shares_missing_or_extra",
                                  "manual split needs a share for every receiver"))
        given = [s for s in shares if s is not None]
        if any(not Decimal(0) <= s <= Decimal(1) or share_units(s) is None for s in given):
            reasons.append(Reason("shared_production.share_out_of_range",
                                  "a share lies between 0 and 1, with at most six decimals"))
        elif given and len(given) == len(shares) and sum(given) != Decimal(1):
            reasons.append(Reason("shared_production.shares_not_sum_to_one",
                                  f"the shares sum to {sum(given)}, not 1: all production must "
                                  "be distributed"))
    elif any(s is not None for s in shares):
        reasons.append(Reason("shared_production.shares_missing_or_extra",
                              "shares are given for manual split only"))
    return reasons


def point_reasons(point: MeteringPoint | None, metering_point_id: str, role: str, sender: str,
                  valid_from: date) -> list[Reason]:
    """A point's own rules, checked in its partition: it exists, it is the sender's, it is in
    force on the calculation's first day, a contributor produces and a receiver does not.

    Every straum point is interval-metered (PT15M or PT1H), which BRS-NO-701 requires.
    """
    if point is None:
        return [Reason("shared_production.point_unknown",
                       f"{metering_point_id}: the metering point is not known")]
    reasons = []
    if point.grid_owner != sender:
        reasons.append(Reason("shared_production.not_grid_owner",
                              f"{metering_point_id}: the sender is not its grid owner"))
    if point.valid_from > valid_from:
        reasons.append(Reason("shared_production.not_active",
                              f"{metering_point_id}: not active on {valid_from}"))
    kind = point.characteristics_on(valid_from)
    produces = kind.point_type == "production" or kind.production_type is not None
    if role == CONTRIBUTOR and not produces:
        reasons.append(Reason("shared_production.contributor_not_producing",
                              f"{metering_point_id}: a contributor is a production or "
                              "combination point"))
    if role == RECEIVER and (produces or kind.point_type != "consumption"):
        reasons.append(Reason("shared_production.receiver_has_production",
                              f"{metering_point_id}: a receiver is a consumption point with no "
                              "production of its own"))
    return reasons


# Membership in time ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Membership:
    """A point's part in one calculation over [valid_from, valid_to); ``active`` once the
    calculation was accepted (a reservation before)."""

    calculation_key: str
    calculation_id: str
    name: str
    version: int
    role: str
    valid_from: date
    valid_to: date | None = None
    active: bool = False

    def overlaps(self, start: date, end: date | None) -> bool:
        return ((end is None or self.valid_from < end)
                and (self.valid_to is None or start < self.valid_to))

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


def overlap_reasons(memberships: Sequence[Membership], metering_point_id: str,
                    calculation_key: str, valid_from: date) -> list[Reason]:
    """"A point in at most one calculation at a time" (reservations count)."""
    other = [m for m in memberships
             if m.calculation_key != calculation_key and m.overlaps(valid_from, None)]
    if not other:
        return []
    return [Reason("shared_production.point_in_another_calculation",
                   f"{metering_point_id}: already in calculation {other[0].name!r} from "
                   f"{other[0].valid_from}")]


# The calculation ------------------------------------------------------------------------------

def largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` in whole units that add up to ``total``:
    each gets the floor of its exact part, and what is left goes one unit at a time to the
    largest remainders (ties to the earlier one, so the answer never depends on chance)."""
    weight_sum = sum(weights)
    if total <= 0 or weight_sum <= 0:
        return [0] * len(weights)
    floors = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    left = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def allocate(production_wh: int, consumption_wh: Sequence[int], distribution: DistributionType,
             shares: Sequence[int] | None = None, dynamic_fallback: str = "equal") -> list[int]:
    """Each receiver's part of one interval's production.

    Manual: by share; equal: the same for each; dynamic: by each receiver's consumption in the
    interval, and when no receiver consumed anything, ``dynamic_fallback``: ``equal`` (all
    production must still be distributed) or ``none``. No production (or a negative sum) gives
    nobody anything.
    """
    n = len(consumption_wh)
    if distribution == DistributionType.MANUAL:
        weights = list(shares or [0] * n)
    elif distribution == DistributionType.EQUAL:
        weights = [1] * n
    else:
        weights = [max(c, 0) for c in consumption_wh]
        if sum(weights) == 0:
            weights = [1] * n if dynamic_fallback == "equal" else [0] * n
    return largest_remainder(max(production_wh, 0), weights)


def net(consumption_wh: int, allocated_wh: int) -> tuple[int, int]:
    """(net consumption, net production) of a receiver in one interval."""
    difference = consumption_wh - allocated_wh
    return max(difference, 0), max(-difference, 0)


# Intervals ------------------------------------------------------------------------------------

def step_of(resolution: str) -> timedelta:
    return RESOLUTIONS[resolution]


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, HUB_TIMEZONE).astimezone(UTC)


def intervals_in_day(day: date, resolution: str) -> int:
    """92/96/100 quarter-hours or 23/24/25 hours on Norwegian DST days."""
    return (day_start(day + timedelta(days=1)) - day_start(day)) // step_of(resolution)


def calculation_resolution(resolutions: Sequence[str]) -> str:
    """The calculation runs per quarter-hour when any participant is read per quarter-hour
    (hourly values are split flat into quarters), otherwise per hour."""
    return "PT15M" if "PT15M" in resolutions else "PT1H"


def slot_resolution(resolutions: Sequence[str]) -> str:
    """Results are made for whole hours when any participant is hourly, so every receiver's
    result can be given at its own resolution."""
    return "PT1H" if "PT1H" in resolutions else "PT15M"


def to_wh(quantity_kwh: float) -> int:
    return round(quantity_kwh * 1000)


@dataclass(frozen=True)
class DayInput:
    """One participant's values on one day, at the calculation's resolution (None: not in)."""

    wh: tuple[int | None, ...]
    estimated: tuple[bool, ...]


MISSING_QUALITIES = frozenset({"missing", "rejected"})


def values_by_day(start: datetime, resolution: str, quantities: Sequence[float],
                  qualities: Sequence[str], calc_resolution: str
                  ) -> dict[date, dict[int, tuple[int, bool]]]:
    """A series' values as ``{day: {interval index: (Wh, estimated)}}`` at the calculation's
    resolution: an hour split flat into four quarters (largest remainder), quarters summed
    into an hour (only when all four are there)."""
    out: dict[date, dict[int, tuple[int, bool]]] = {}
    step, calc_step = step_of(resolution), step_of(calc_resolution)
    utc = start.astimezone(UTC)
    parts: dict[datetime, list[tuple[int, bool]]] = {}
    for i, (quantity, quality) in enumerate(zip(quantities, qualities, strict=True)):
        if quality in MISSING_QUALITIES or not math.isfinite(quantity):
            continue
        moment = utc + i * step
        estimated = quality != "measured"
        wh = to_wh(quantity)
        if step > calc_step:  # an hour into quarters
            pieces = step // calc_step
            for j, piece in enumerate(largest_remainder(wh, [1] * pieces) if wh > 0
                                      else [0] * pieces):
                parts.setdefault(moment + j * calc_step, []).append((piece, estimated))
        else:
            anchor = moment - (moment - datetime(1970, 1, 1, tzinfo=UTC)) % calc_step
            parts.setdefault(anchor, []).append((wh, estimated))
    needed = max(calc_step // step, 1)
    for moment, values in parts.items():
        if len(values) < needed:
            continue  # an hour whose quarters are not all in
        day = moment.astimezone(HUB_TIMEZONE).date()
        index = (moment - day_start(day)) // calc_step
        out.setdefault(day, {})[index] = (sum(v for v, _ in values),
                                          any(e for _, e in values))
    return out


@dataclass(frozen=True)
class Member:
    metering_point_id: str
    role: str
    resolution: str
    share: int | None = None  # millionths, manual split


@dataclass(frozen=True)
class Version:
    """The calculation as it applies from ``valid_from`` (until the next version or end)."""

    number: int
    message_id: str
    valid_from: date
    distribution_type: DistributionType
    description: str
    members: tuple[Member, ...]
    valid_to: date | None = None

    @property
    def contributors(self) -> list[Member]:
        return [m for m in self.members if m.role == CONTRIBUTOR]

    @property
    def receivers(self) -> list[Member]:
        return [m for m in self.members if m.role == RECEIVER]

    @property
    def resolution(self) -> str:
        return calculation_resolution([m.resolution for m in self.members])

    @property
    def slot(self) -> str:
        return slot_resolution([m.resolution for m in self.members])

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


@dataclass(frozen=True)
class ReceiverResult:
    """One receiver's results on one day at its own resolution, per interval index:
    (allocated, net consumption, net production) in Wh, and whether any input was estimated."""

    values: dict[int, tuple[int, int, int, bool]] = field(default_factory=dict)


def calculate_day(version: Version, day: date, inputs: dict[str, DayInput],
                  dynamic_fallback: str = "equal") -> dict[str, ReceiverResult]:
    """Every receiver's results for the whole slots of ``day`` whose values are all in."""
    calc_res, slot_res = version.resolution, version.slot
    count = intervals_in_day(day, calc_res)
    per_slot = step_of(slot_res) // step_of(calc_res)
    contributors, receivers = version.contributors, version.receivers
    shares = [r.share or 0 for r in receivers]
    ids = [m.metering_point_id for m in version.members]
    complete = [all(inputs.get(p) is not None and inputs[p].wh[i] is not None for p in ids)
                for i in range(count)]
    results: dict[str, ReceiverResult] = {r.metering_point_id: ReceiverResult()
                                          for r in receivers}
    for slot in range(count // per_slot):
        indices = range(slot * per_slot, (slot + 1) * per_slot)
        if not all(complete[i] for i in indices):
            continue
        rows = []
        for i in indices:
            production = sum(inputs[c.metering_point_id].wh[i] or 0 for c in contributors)
            consumption = [inputs[r.metering_point_id].wh[i] or 0 for r in receivers]
            allocated = allocate(production, consumption, version.distribution_type, shares,
                                 dynamic_fallback)
            estimated = any(inputs[p].estimated[i] for p in ids)
            rows.append((i, [(a, *net(c, a)) for a, c in zip(allocated, consumption,
                                                             strict=True)], estimated))
        for k, receiver in enumerate(receivers):
            own = step_of(receiver.resolution) // step_of(calc_res)  # 1, or 4 for hourly
            for first in range(0, len(rows), own):
                group = rows[first:first + own]
                index = group[0][0] // own
                alloc = sum(r[1][k][0] for r in group)
                consumed = sum(inputs[receiver.metering_point_id].wh[r[0]] or 0
                               for r in group)
                # net over the receiver's own interval, from the summed parts
                net_consumption, net_production = net(consumed, alloc)
                results[receiver.metering_point_id].values[index] = (
                    alloc, net_consumption, net_production, any(r[2] for r in group))
    return results


@dataclass(frozen=True)
class Run:
    """Consecutive intervals of one receiver's day to send (again) as one series."""

    receiver: str
    resolution: str
    first: int
    end: int
    version: int
    values: tuple[tuple[int, int, int, bool], ...]

    def period(self, day: date) -> tuple[datetime, datetime]:
        start = day_start(day)
        step = step_of(self.resolution)
        return start + self.first * step, start + self.end * step


def changed_runs(results: dict[str, ReceiverResult], sent: dict[str, dict[int, tuple[
        int, int, int, bool, int]]], resolutions: dict[str, str]) -> list[Run]:
    """The runs of intervals whose results are new or differ from what was sent, each with
    its version: one more than the highest version already sent for any of its intervals."""
    runs = []
    for receiver, result in results.items():
        before = sent.get(receiver, {})
        changed = sorted(i for i, v in result.values.items()
                         if i not in before or before[i][:4] != v)
        start = 0
        while start < len(changed):
            end = start
            while end + 1 < len(changed) and changed[end + 1] == changed[end] + 1:
                end += 1
            indices = changed[start:end + 1]
            version = 1 + max((before[i][4] for i in indices if i in before), default=0)
            runs.append(Run(receiver, resolutions[receiver], indices[0], indices[-1] + 1,
                            version, tuple(result.values[i] for i in indices)))
            start = end + 1
    return runs
