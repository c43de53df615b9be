"""Per-actor request rate limits: a token bucket per party, answered with 429 and Retry-After.

One actor's runaway integration must not starve the others. Limits are per API process; with
N processes behind a load balancer an actor gets up to N times the rate.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``rate`` requests per second on average, bursts up to ``burst``, per key."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.buckets: dict[str, Bucket] = {}
        self._now = time.monotonic

    def retry_after(self, key: str) -> int | None:
        """None when the request may go ahead; else seconds to wait."""
        if self.rate <= 0:
            return None
        now = self._now()
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / self.rate))
