"""Who receives a series of metering values, and which part of it (BRS-NO-312/313).

Recipients are the supplier responsible at the time of the values (a series that straddles a
supplier change is split at the change, so yesterday's values go to yesterday's supplier), the
point's grid owner, and every third party with access at that time. Business validation of a
series against the hub's state lives here too: it needs the same state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from domain.messages import Reason
from domain.metering_point import MeteringPoint, ThirdPartyAccess
from domain.series import HUB_TIMEZONE, RESOLUTIONS, point_time, split_at

Role = Literal["supplier", "grid_owner", "third_party"]


@dataclass(frozen=True)
class Delivery:
    """Points [first, end) of a series, covering [start, stop), go to ``recipient``."""

    recipient: str
    role: Role
    first: int
    end: int
    start: datetime
    stop: datetime

    @property
    def part(self) -> str:
        """Distinguishes the pieces of a split series, and one party's roles, in the stable
        message id (a supplier may also be a third party of the same point)."""
        return f"{self.role}:{self.first}-{self.end}"


def check_series_against_point(
    point: MeteringPoint | None, sender: str, resolution: str, start: datetime
) -> list[Reason]:
    """Business rules that need hub state; an empty list means the series is accepted."""
    if point is None:
        return [Reason("metering_point.unknown", "the metering point is not known to the hub")]
    reasons = []
    if point.grid_owner != sender:
        reasons.append(Reason("sender.not_grid_owner",
                              "the sender is not the metering point's grid owner"))
    registered = point.characteristics_on(start.astimezone(HUB_TIMEZONE).date()).resolution
    if registered != resolution:
        reasons.append(Reason("series.resolution_mismatch",
                              f"the point is registered with resolution {registered}, "
                              f"the series has {resolution}"))
    if start.astimezone(HUB_TIMEZONE).date() < point.valid_from:
        reasons.append(Reason("series.before_valid_from",
                              "values start before the metering point's valid-from date"))
    return reasons


def route_series(
    point: MeteringPoint, start: datetime, end: datetime, resolution: str
) -> list[Delivery]:
    """Every (recipient, part) of an accepted series; suppliers per Norwegian day."""
    pieces = split_at(start, end, resolution, point.supply_changes_between(start, end))
    deliveries: list[Delivery] = []
    for first, stop_index, piece_start, piece_stop in pieces:
        supplier = point.supplier_on(piece_start.astimezone(HUB_TIMEZONE).date())
        if supplier is not None:
            deliveries.append(
                Delivery(supplier, "supplier", first, stop_index, piece_start, piece_stop))
    total = pieces[-1][1] if pieces else 0
    deliveries.append(Delivery(point.grid_owner, "grid_owner", 0, total, start, end))
    for access in point.third_party_access:
        window = access_window(access, start, end, resolution)
        if window is not None:
            deliveries.append(Delivery(access.party, "third_party", *window))
    return deliveries


def newly_routed(before: MeteringPoint | None, after: MeteringPoint, start: datetime,
                 end: datetime, resolution: str) -> list[Delivery]:
    """Deliveries of a series under ``after`` that ``before`` did not make: who a change of
    supply or access adds as a recipient of values already forwarded. A recipient that already
    got every point of a delivery (in one piece or a larger one) is not sent it again."""
    made = route_series(before, start, end, resolution) if before is not None else []

    def delivered(d: Delivery) -> bool:
        return any(m.recipient == d.recipient and m.role == d.role and m.first <= d.first
                   and d.end <= m.end for m in made)

    return [d for d in route_series(after, start, end, resolution) if not delivered(d)]


def access_window(access: ThirdPartyAccess, start: datetime, end: datetime, resolution: str
                  ) -> tuple[int, int, datetime, datetime] | None:
    """The whole points of a series that lie inside a third party's access, if any.

    Access granted or revoked part-way through a series gives only the intervals wholly
    inside it: a third party never sees a value from outside its grant.
    """
    step = RESOLUTIONS[resolution]
    start, end = start.astimezone(UTC), end.astimezone(UTC)  # elapsed time, not wall clock
    lo = max(start, access.valid_from)
    hi = end if access.valid_to is None else min(end, access.valid_to)
    first = math.ceil((lo - start) / step)
    stop = math.floor((hi - start) / step)
    if first >= stop:
        return None
    return first, stop, point_time(start, resolution, first), point_time(start, resolution, stop)
