from __future__ import annotations

import pytest
from auth_testkit import SteppedClock

from perceo.auth import InMemoryRateLimiter, RateDecision, enforce_rate_limit
from perceo.errors import ConfigError, RateLimitedError


def test_burst_is_allowed_then_the_next_request_waits_one_token(clock: SteppedClock) -> None:
    limiter = InMemoryRateLimiter(rate_per_s=2, burst=3, clock=clock)

    decisions = [limiter.check("k1") for _ in range(4)]

    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert decisions[3].retry_after_s == pytest.approx(0.5)
    assert decisions[3].retry_after_header == "1"


def test_tokens_refill_with_time_up_to_the_burst(clock: SteppedClock) -> None:
    limiter = InMemoryRateLimiter(rate_per_s=2, burst=3, clock=clock)
    for _ in range(3):
        limiter.check("k1")

    clock.advance(500)
    assert limiter.check("k1").allowed
    assert not limiter.check("k1").allowed

    clock.advance(60_000)
    assert limiter.check("k1").remaining == 2


def test_buckets_are_per_key(clock: SteppedClock) -> None:
    limiter = InMemoryRateLimiter(rate_per_s=1, burst=1, clock=clock)

    assert limiter.check("k1").allowed
    assert not limiter.check("k1").allowed
    assert limiter.check("k2").allowed


def test_a_clock_that_steps_back_mints_no_tokens(clock: SteppedClock) -> None:
    limiter = InMemoryRateLimiter(rate_per_s=1, burst=1, clock=clock)
    limiter.check("k1")

    clock.advance(-10_000)
    assert not limiter.check("k1").allowed
    clock.advance(10_000)
    assert not limiter.check("k1").allowed


def test_enforce_raises_rate_limited_with_retry_after(clock: SteppedClock) -> None:
    limiter = InMemoryRateLimiter(rate_per_s=0.5, burst=1, clock=clock)
    enforce_rate_limit(limiter, "k1")

    with pytest.raises(RateLimitedError) as caught:
        enforce_rate_limit(limiter, "k1")
    assert caught.value.retry_after_s == pytest.approx(2.0)


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0), (float("inf"), 1)])
def test_nonsense_settings_are_a_config_error(rate: float, burst: int) -> None:
    with pytest.raises(ConfigError):
        InMemoryRateLimiter(rate_per_s=rate, burst=burst)


def test_retry_after_header_is_zero_when_allowed() -> None:
    assert RateDecision(allowed=True, retry_after_s=0.0, remaining=1).retry_after_header == "0"
