"""Rate limiter curves (client-go default_rate_limiters.go)."""

from __future__ import annotations

import pytest

from raykube.runtime.clock import FakeClock
from raykube.runtime.ratelimit import (
    BucketRateLimiter,
    ItemExponentialBackoff,
    MaxOf,
    TokenBucket,
    default_controller_rate_limiter,
)


def test_item_backoff_doubles_from_5ms_and_caps_at_1000s() -> None:
    limiter = ItemExponentialBackoff()
    delays = [limiter.when("a") for _ in range(20)]
    assert delays[:4] == pytest.approx([0.005, 0.01, 0.02, 0.04])
    assert delays[17] == pytest.approx(655.36)
    assert delays[18] == 1000.0 and delays[19] == 1000.0


def test_item_backoff_is_per_item_and_reset_by_forget() -> None:
    limiter = ItemExponentialBackoff()
    limiter.when("a")
    limiter.when("a")
    assert limiter.when("b") == pytest.approx(0.005)
    limiter.forget("a")
    assert limiter.when("a") == pytest.approx(0.005)


def test_item_backoff_survives_very_many_failures() -> None:
    limiter = ItemExponentialBackoff()
    for _ in range(200):
        delay = limiter.when("a")
    assert delay == 1000.0


def test_token_bucket_allows_a_burst_then_spaces_requests_by_one_over_qps() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, 3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0, 0, 0]
    assert bucket.reserve() == pytest.approx(0.1)
    assert bucket.reserve() == pytest.approx(0.2)


def test_token_bucket_refills_with_time_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, 3, clock=clock)
    for _ in range(3):
        bucket.reserve()
    clock.advance(100)
    assert [bucket.reserve() for _ in range(3)] == [0, 0, 0]
    assert bucket.reserve() == pytest.approx(0.1)


def test_default_limiter_is_the_slower_of_item_backoff_and_overall_bucket() -> None:
    clock = FakeClock()
    limiter = default_controller_rate_limiter(clock=clock)
    delays = [limiter.when(f"key-{i}") for i in range(101)]
    assert delays[:100] == pytest.approx([0.005] * 100)
    assert delays[100] == pytest.approx(0.1)  # bucket of 100 exhausted, 10 qps


def test_max_of_forgets_in_every_member() -> None:
    backoff = ItemExponentialBackoff()
    limiter = MaxOf(backoff, BucketRateLimiter(TokenBucket(1, 1, clock=FakeClock())))
    limiter.when("a")
    assert limiter.num_requeues("a") == 1
    limiter.forget("a")
    assert backoff.num_requeues("a") == 0
