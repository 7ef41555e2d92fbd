"""Rate limiters: a token bucket, per-item exponential backoff, and their maximum.

These follow client-go's ``workqueue/default_rate_limiters.go``:

* :class:`TokenBucket` is ``golang.org/x/time/rate`` reduced to what we use: ``reserve()`` takes a
  token and returns how long the caller must wait for it. Tokens may go negative, which is how a
  reservation books a future slot; a burst of ``burst`` is free, then one slot every ``1/qps``.
  The same class limits the API client (20 qps, burst 30, controller-runtime's client defaults)
  and the work queue (10 qps, burst 100).
* :class:`ItemExponentialBackoff` delays the n-th consecutive failure of one item by
  ``base * 2**n``, capped (5 ms .. 1000 s); ``forget`` resets the item.
* :class:`MaxOf` answers the largest delay of its members, so the queue default
  (:func:`default_controller_rate_limiter`) is "per-item backoff, but never faster than the overall
  bucket" — client-go's ``DefaultControllerRateLimiter``.

Every limiter is a small value with the :class:`RateLimiter` protocol; time comes from an injected
:class:`~raykube.runtime.clock.Clock`.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from raykube.runtime.clock import Clock, RealClock


class RateLimiter(Protocol):
    """Decides how long an item waits before it is re-added (client-go ``RateLimiter``)."""

    def when(self, item: Hashable) -> float:
        """Record one more failure of ``item`` and return the delay, in seconds, before its retry."""
        ...

    def forget(self, item: Hashable) -> None:
        """Stop tracking ``item``: its next failure starts from the smallest delay again."""
        ...

    def num_requeues(self, item: Hashable) -> int:
        """How many failures of ``item`` are being tracked."""
        ...


class TokenBucket:
    """A token bucket refilling at ``qps`` tokens a second up to ``burst`` tokens.

    Parameters:
        qps: refill rate, tokens per second (must be > 0).
        burst: bucket size; the first ``burst`` reservations wait nothing.
        clock: time source.
    """

    def __init__(self, qps: float, burst: int, *, clock: Clock | None = None) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError("TokenBucket needs qps > 0 and burst >= 1")
        self.qps = qps
        self.burst = burst
        self._clock = clock or RealClock()
        self._tokens = float(burst)
        self._last = self._clock.monotonic()

    def reserve(self) -> float:
        """Take one token and return the wait, in seconds, before it may be used (0 when available)."""
        now = self._clock.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    async def acquire(self) -> None:
        """Take one token, sleeping on the clock until it is available."""
        delay = self.reserve()
        if delay > 0:
            await self._clock.sleep(delay)


class BucketRateLimiter:
    """A :class:`RateLimiter` backed by one shared :class:`TokenBucket` (items are not tracked)."""

    def __init__(self, bucket: TokenBucket) -> None:
        self._bucket = bucket

    def when(self, item: Hashable) -> float:
        return self._bucket.reserve()

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


class ItemExponentialBackoff:
    """Per-item exponential backoff: ``base * 2**failures``, capped at ``maximum``.

    Parameters:
        base: delay of the first retry, seconds (client-go: 5 ms).
        maximum: upper bound, seconds (client-go: 1000 s).
    """

    def __init__(self, base: float = 0.005, maximum: float = 1000.0) -> None:
        self.base = base
        self.maximum = maximum
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        failures = self._failures.get(item, 0)
        self._failures[item] = failures + 1
        if failures >= 64:  # 2**64 * base overflows any sane cap
            return self.maximum
        delay: float = self.base * float(2**failures)
        return min(delay, self.maximum)

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class MaxOf:
    """The largest delay any member limiter asks for; ``forget`` and counts go to every member."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOf needs at least one limiter")
        self._limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self._limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self._limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self._limiters)


def default_controller_rate_limiter(*, clock: Clock | None = None) -> RateLimiter:
    """client-go's default: per-item 5 ms .. 1000 s backoff, at most 10 qps with a burst of 100 overall."""
    return MaxOf(ItemExponentialBackoff(0.005, 1000.0), BucketRateLimiter(TokenBucket(10, 100, clock=clock)))
