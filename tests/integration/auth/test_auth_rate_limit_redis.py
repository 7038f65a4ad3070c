from __future__ import annotations

import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from auth_redis_testkit import SteppedClock

from perceo.auth import InMemoryRateLimiter, RateLimiter, enforce_rate_limit
from perceo.errors import RateLimitedError


def _key_id() -> str:
    return f"key-{uuid.uuid4().hex}"


def test_the_burst_is_allowed_and_the_next_request_is_denied_with_retry_after(
    key_redis: redis.Redis, clock: SteppedClock
) -> None:
    limiter = RateLimiter(key_redis, rate_per_s=2, burst=5, clock=clock)
    key_id = _key_id()

    decisions = [limiter.check(key_id) for _ in range(6)]

    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0]
    assert decisions[-1].retry_after_s == pytest.approx(0.5)
    assert decisions[-1].retry_after_header == "1"


def test_tokens_come_back_as_the_injected_clock_advances(key_redis: redis.Redis, clock: SteppedClock) -> None:
    limiter = RateLimiter(key_redis, rate_per_s=2, burst=5, clock=clock)
    key_id = _key_id()
    for _ in range(5):
        limiter.check(key_id)

    clock.advance(250)
    half = limiter.check(key_id)
    clock.advance(250)
    one = limiter.check(key_id)

    assert not half.allowed and half.retry_after_s == pytest.approx(0.25)
    assert one.allowed and one.remaining == 0
    clock.advance(3_600_000)
    assert limiter.check(key_id).remaining == 4  # refilled to the burst, never beyond


def test_a_denied_request_takes_no_token(key_redis: redis.Redis, clock: SteppedClock) -> None:
    limiter = RateLimiter(key_redis, rate_per_s=1, burst=1, clock=clock)
    key_id = _key_id()
    limiter.check(key_id)

    for _ in range(10):
        assert not limiter.check(key_id).allowed
    clock.advance(1_000)

    assert limiter.check(key_id).allowed


def test_buckets_are_per_key_and_expire_once_full_again(key_redis: redis.Redis, clock: SteppedClock) -> None:
    limiter = RateLimiter(key_redis, rate_per_s=10, burst=20, clock=clock)
    first, second = _key_id(), _key_id()
    for _ in range(20):
        limiter.check(first)

    assert not limiter.check(first).allowed
    assert limiter.check(second).allowed
    ttl_ms = key_redis.pttl(f"perceo:ratelimit:{first}")
    assert 0 < ttl_ms <= 20 / 10 * 1000 + 1000


def test_concurrent_checks_never_exceed_the_burst(key_redis: redis.Redis, clock: SteppedClock) -> None:
    limiter = RateLimiter(key_redis, rate_per_s=1, burst=7, clock=clock)
    key_id = _key_id()

    with ThreadPoolExecutor(max_workers=8) as pool:
        decisions = list(pool.map(lambda _: limiter.check(key_id), range(64)))

    assert sum(d.allowed for d in decisions) == 7


def test_enforce_raises_rate_limited_with_the_retry_after(key_redis: redis.Redis, clock: SteppedClock) -> None:
    limiter = RateLimiter(key_redis, rate_per_s=0.2, burst=1, clock=clock)
    key_id = _key_id()
    enforce_rate_limit(limiter, key_id)

    with pytest.raises(RateLimitedError) as caught:
        enforce_rate_limit(limiter, key_id)

    assert caught.value.retry_after_s == pytest.approx(5.0)


def test_the_redis_script_and_the_python_bucket_decide_alike(key_redis: redis.Redis, clock: SteppedClock) -> None:
    """The Lua script mirrors `TokenBucket`: the same requests at the same times get the same decisions."""
    steps = random.Random(7)
    redis_limiter = RateLimiter(key_redis, rate_per_s=3.5, burst=6, clock=clock)
    memory_limiter = InMemoryRateLimiter(rate_per_s=3.5, burst=6, clock=clock)
    key_id = _key_id()

    for _ in range(300):
        clock.advance(steps.choice([0, 0, 0, 40, 125, 290, 1_000, 4_000]))
        cost = steps.choice([1, 1, 1, 2, 3])
        in_redis, in_memory = redis_limiter.check(key_id, cost=cost), memory_limiter.check(key_id, cost=cost)

        assert (in_redis.allowed, in_redis.remaining) == (in_memory.allowed, in_memory.remaining)
        assert in_redis.retry_after_s == pytest.approx(in_memory.retry_after_s)
