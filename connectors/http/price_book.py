"""Area prices as the comparison reads them: by area and interval start, as exact integers.

The API follows the compacted prices topic; every price is turned once, when it arrives, into
an integer of 10^-scale NOK/MWh (the decimal its float says, as Decimal(str(x)) reads it) in
its area's book, so a comparison looks up a year of prices without walking other areas' or
converting a number.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.exact_numbers import float_scaled, power, rescale
from domain.prices import AreaPrice


class AreaBook:
    """One area's prices (domain.comparison_core.ExactPrices)."""

    def __init__(self) -> None:
        self.scale = 0
        self._prices: dict[int, tuple[int, str]] = {}  # start → (price at scale, resolution)

    def __len__(self) -> int:
        return len(self._prices)

    def put(self, price: AreaPrice) -> None:
        k, s = float_scaled(price.nok_per_mwh)
        if s > self.scale:  # a finer price: every price of the area to the new scale
            grow = power(s - self.scale)
            self._prices = {at: (p * grow, r) for at, (p, r) in self._prices.items()}
            self.scale = s
        self._prices[_seconds(price)] = (rescale(k, s, self.scale), price.resolution)

    def remove(self, price: AreaPrice) -> None:
        held = self._prices.get(_seconds(price))
        if held is not None and held[1] == price.resolution:
            del self._prices[_seconds(price)]

    def quarters(self, hour_s: int) -> Sequence[int | None]:
        """The hour's four quarter prices; the resolution is that of the price at the hour's
        start (PT15M when there is none)."""
        prices = self._prices
        held = prices.get(hour_s)
        if held is not None and held[1] == "PT1H":
            return (held[0],) * 4
        first = held[0] if held is not None else None
        rest = [prices.get(hour_s + n * 900) for n in (1, 2, 3)]
        return (first, *(p[0] if p is not None else None for p in rest))


class PriceBook:
    """Every area's book, kept in step with the prices view (its on_change hook)."""

    def __init__(self) -> None:
        self.areas: dict[str, AreaBook] = {}

    def change(self, _key: str, old: AreaPrice | None, new: AreaPrice | None) -> None:
        if old is not None and old.area in self.areas:
            self.areas[old.area].remove(old)
        if new is not None:
            self.areas.setdefault(new.area, AreaBook()).put(new)

    def area(self, area: str) -> AreaBook:
        return self.areas.get(area) or AreaBook()


def _seconds(price: AreaPrice) -> int:
    return int(price.start.timestamp())
