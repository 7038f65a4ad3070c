"""Rate limiting with a token bucket: per API key in Redis (one atomic Lua script) or in memory.

A bucket holds up to `burst` tokens and refills at `rate_per_s`. Each request takes one; a request that finds
less than one token is denied (and takes nothing) with the seconds until a token is back. The caller's clock
is passed into the script as an argument, so every Lambda agrees on the arithmetic and tests can step time.

`TokenBucket` is the one implementation of that arithmetic in Python: `InMemoryRateLimiter` (tests, one
process, the local API Gateway's stage throttle) uses it, and the Lua script runs the same steps inside Redis;
a test holds the two to the same decisions. Kept by hand: no maintained library offers a token bucket that
runs atomically in Redis with these semantics (pyrate-limiter and limits count requests in windows instead).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import redis

from perceo.errors import BackendUnavailableError, ConfigError, RateLimitedError
from perceo.models.common import now_ms

if TYPE_CHECKING:
    from perceo.redis_client import RedisClient

# KEYS[1] bucket hash {tokens, ts}; ARGV rate per second, burst, now (epoch ms), cost.
# Returns {allowed (0|1), tokens left, seconds until `cost` tokens are available} as strings (Lua numbers
# would be truncated to integers on the way out).
_TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
local elapsed = now - ts
if elapsed < 0 then elapsed = 0 end
tokens = math.min(burst, tokens + elapsed * rate / 1000)
if now > ts then ts = now end
local allowed = 0
local retry = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry = (cost - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(tokens), tostring(retry)}
"""


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after_s: float
    remaining: int

    @property
    def retry_after_header(self) -> str:
        """The HTTP `Retry-After` value: whole seconds, rounded up, at least 1 when denied."""
        return "0" if self.allowed else str(max(1, math.ceil(self.retry_after_s)))


class RateLimiterPort(Protocol):
    def check(self, key_id: str, *, cost: int = 1) -> RateDecision:
        """Take `cost` tokens from the key's bucket if it has them."""


def _check_settings(rate_per_s: float, burst: int) -> None:
    if not rate_per_s > 0 or not math.isfinite(rate_per_s):
        raise ConfigError("the API key rate limit must be a positive number of requests per second")
    if burst < 1:
        raise ConfigError("the API key rate limit burst must be at least 1")


class RateLimiter:
    """Token buckets in Redis under `{namespace}:{key_id}`; state expires once a bucket would be full again."""

    def __init__(
        self,
        client: RedisClient,
        rate_per_s: float,
        burst: int,
        *,
        clock: Callable[[], int] = now_ms,
        namespace: str = "perceo:ratelimit",
    ) -> None:
        _check_settings(rate_per_s, burst)
        self._rate = rate_per_s
        self._burst = burst
        self._clock = clock
        self._namespace = namespace
        self._script = client.register_script(_TOKEN_BUCKET)

    def check(self, key_id: str, *, cost: int = 1) -> RateDecision:
        try:
            allowed, tokens, retry = self._script(
                keys=[f"{self._namespace}:{key_id}"], args=[repr(self._rate), self._burst, self._clock(), cost]
            )
        except (redis.RedisError, redis.exceptions.RedisClusterException) as exc:
            raise BackendUnavailableError(
                f"the rate limiter (Redis) failed: {type(exc).__name__}: {exc}", dependency="the rate limiter (Redis)"
            ) from exc
        return RateDecision(
            allowed=int(allowed) == 1, retry_after_s=float(_text(retry)), remaining=math.floor(float(_text(tokens)))
        )


#: A bucket's state between requests: (tokens, epoch ms of the last refill).
BucketState = tuple[float, int]


@dataclass(frozen=True)
class TokenBucket:
    """The arithmetic of one bucket: refill for the time since the last request, then take `cost` if there."""

    rate_per_s: float
    burst: int

    def __post_init__(self) -> None:
        _check_settings(self.rate_per_s, self.burst)

    def take(self, state: BucketState | None, now_ms: int, cost: int = 1) -> tuple[BucketState, RateDecision]:
        """The bucket after this request, and the decision. `state` None is a full bucket. A clock that steps
        back mints nothing; a denied request takes nothing."""
        tokens, ts = state if state is not None else (float(self.burst), now_ms)
        tokens = min(float(self.burst), tokens + max(0, now_ms - ts) * self.rate_per_s / 1000)
        ts = max(ts, now_ms)
        if tokens >= cost:
            return (tokens - cost, ts), RateDecision(
                allowed=True, retry_after_s=0.0, remaining=math.floor(tokens - cost)
            )
        retry = (cost - tokens) / self.rate_per_s
        return (tokens, ts), RateDecision(allowed=False, retry_after_s=retry, remaining=math.floor(tokens))


class InMemoryRateLimiter:
    """Token buckets in a dict, one per key: for tests and a single process (thread-safe)."""

    def __init__(self, rate_per_s: float, burst: int, *, clock: Callable[[], int] = now_ms) -> None:
        self._bucket = TokenBucket(rate_per_s, burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, BucketState] = {}

    def check(self, key_id: str, *, cost: int = 1) -> RateDecision:
        with self._lock:
            self._buckets[key_id], decision = self._bucket.take(self._buckets.get(key_id), self._clock(), cost)
        return decision


def enforce_rate_limit(limiter: RateLimiterPort, key_id: str) -> RateDecision:
    """The decision if allowed; RateLimitedError (with retry_after_s) if not."""
    decision = limiter.check(key_id)
    if not decision.allowed:
        raise RateLimitedError(
            f"too many requests for this API key; retry after {decision.retry_after_header} s",
            retry_after_s=decision.retry_after_s,
        )
    return decision


def _text(value: object) -> str:
    return value.decode("ascii") if isinstance(value, bytes) else str(value)
