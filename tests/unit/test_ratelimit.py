"""Per-actor token buckets: bursts allowed, then 429 with an honest Retry-After."""

from __future__ import annotations

from connectors.http.ratelimit import RateLimiter


def limiter(rate: float, burst: int) -> tuple[RateLimiter, list[float]]:
    clock = [1000.0]
    limits = RateLimiter(rate, burst)
    limits._now = lambda: clock[0]
    return limits, clock


def test_burst_then_wait_then_refill() -> None:
    limits, clock = limiter(rate=2, burst=3)
    assert [limits.retry_after("a") for _ in range(3)] == [None, None, None]
    assert limits.retry_after("a") == 1
    clock[0] += 0.5  # one token back at 2 per second
    assert limits.retry_after("a") is None
    assert limits.retry_after("a") == 1


def test_actors_have_their_own_buckets() -> None:
    limits, _ = limiter(rate=1, burst=1)
    assert limits.retry_after("a") is None
    assert limits.retry_after("a") == 1
    assert limits.retry_after("b") is None


def test_zero_rate_means_no_limit() -> None:
    limits, _ = limiter(rate=0, burst=1)
    assert all(limits.retry_after("a") is None for _ in range(1000))


def test_retry_after_covers_the_missing_token() -> None:
    limits, _ = limiter(rate=0.1, burst=1)
    limits.retry_after("a")
    assert limits.retry_after("a") == 10
