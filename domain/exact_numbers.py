"""Exact decimal numbers as integers: ``k × 10^-scale``.

The comparison's figures are sums of products of quantities and prices, rounded to øre once at
the end. Carried as Python integers at a common scale they stay exact (as exact as Decimal
arithmetic with unlimited precision) and cost a fraction of a Decimal operation. A float is
read as the shortest decimal that gives it back (``repr``), as ``Decimal(str(x))`` reads it:
0.1 is one tenth, not the binary fraction nearest to it.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Final

#: Decimals tried by the fast path of a float before falling back to its repr.
FAST_SCALES: Final = (0, 1, 2, 3, 4, 5, 6)
_POWERS: Final[tuple[int, ...]] = tuple(10**s for s in range(64))
_FLOAT_INTS: Final = 2**53


def power(scale: int) -> int:
    """``10 ** scale`` (cached for the usual scales)."""
    return _POWERS[scale] if 0 <= scale < len(_POWERS) else int(10**scale)


def float_scaled(value: float) -> tuple[int, int]:
    """``(k, s)`` with ``k × 10^-s`` the decimal ``repr(value)`` says, ``s`` as small as it can
    be. ValueError for NaN and infinities.

    Fast path: when ``round(value × 10^s) / 10^s`` gives ``value`` back for some ``s`` ≤ 6
    and the integer is exact in a float, the decimal ``k × 10^-s`` is the one whose nearest
    float is ``value``; no other decimal with that many places is (floats of magnitude below
    2^53 / 10^6 are closer together than 10^-6), so it is the shortest repr's value.
    """
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    for s in FAST_SCALES:
        scaled = value * _POWERS[s]
        k = round(scaled)
        if abs(k) < _FLOAT_INTS and k / _POWERS[s] == value:
            return k, s
    return decimal_scaled(Decimal(repr(value)))


def decimal_scaled(value: Decimal) -> tuple[int, int]:
    """``(k, s)`` of a finite Decimal, ``s`` ≥ 0 and as small as the Decimal's exponent."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite number")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    k = int("".join(map(str, digits)) or "0")
    if exponent >= 0:
        k *= power(exponent)
        exponent = 0
    return (-k if sign else k), -exponent


def number_scaled(value: object, name: str) -> tuple[int, int]:
    """``(k, s)`` of an int, float, str or Decimal; TypeError for anything else (bools too),
    ValueError for a non-finite value, with ``name`` in the message."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, not {value!r}")
    if isinstance(value, int):
        return value, 0
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, not {value!r}")
        return float_scaled(value)
    if isinstance(value, str):
        value = Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{name} must be finite, not {value!r}")
        return decimal_scaled(value)
    raise TypeError(f"{name} must be a number, not {value!r}")


def rescale(k: int, scale: int, to: int) -> int:
    """``k × 10^-scale`` as an integer at ``to`` ≥ ``scale``."""
    return k * power(to - scale) if to != scale else k


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to an integer, ties away from zero (Decimal's
    ROUND_HALF_UP); ``denominator`` > 0."""
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return -q if numerator < 0 else q


def as_decimal(k: int, places: int, negative: bool = False) -> Decimal:
    """``k × 10^-places`` as a Decimal with exactly ``places`` decimals. ``negative`` marks a
    zero that came from rounding a negative amount (``-0.00``, as Decimal's quantize gives)."""
    digits = tuple(int(c) for c in str(abs(k)))
    return Decimal((1 if k < 0 or (negative and k == 0) else 0, digits, -places))
