"""Usage telemetry per project per day (UTC): stores and the report `perceo usage` prints.

Redis layout, per project and day (the braces are literal: a Redis Cluster hash tag, so that the one MULTI that
records a call writes both keys in one slot):
- hash `perceo:usage:{<projectId>}:<YYYY-MM-DD>` with fields `<model>|<counter>` (calls, cachedCalls,
  failedCalls, unpricedCalls, tokensIn, tokensOut, latencyMs, costUsd);
- list `perceo:usage:{<projectId>}:<YYYY-MM-DD>:recent`: the latest calls as JSON, newest first, capped.
Both expire `retention_days` after the last write. Until version 2 the names had no braces; reads add what is
still stored under those (it expires with the retention), so a report spanning the upgrade stays whole.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import redis

from perceo.errors import BackendUnavailableError
from perceo.llm.model import MAX_REPORT_DAYS, LLMCall, ModelUsage, UsageReport, UsageTotals
from perceo.llm.port import UsageStore

if TYPE_CHECKING:
    from perceo.redis_client import RedisClient

USAGE_PREFIX = "perceo:usage:"
FAILED_OUTCOMES = frozenset({"invalid_output", "failed"})
_COUNTERS = ("calls", "cachedCalls", "failedCalls", "unpricedCalls", "tokensIn", "tokensOut", "latencyMs")
_COST_DIGITS = 9


def day_of(at_ms: int) -> str:
    """The UTC day (`YYYY-MM-DD`) of an epoch-milliseconds timestamp."""
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).date().isoformat()


def usage_key(project_id: str, day: str) -> str:
    return f"{USAGE_PREFIX}{{{project_id}}}:{day}"


def recent_key(project_id: str, day: str) -> str:
    return f"{usage_key(project_id, day)}:recent"


def legacy_usage_key(project_id: str, day: str) -> str:
    """The name of layout 1 (no hash tag), read until it expires."""
    return f"{USAGE_PREFIX}{project_id}:{day}"


def _increments(call: LLMCall) -> dict[str, int]:
    return {
        "calls": 1,
        "cachedCalls": int(call.cached),
        "failedCalls": int(call.outcome in FAILED_OUTCOMES),
        "unpricedCalls": int(call.cost_usd is None),
        "tokensIn": call.tokens_in,
        "tokensOut": call.tokens_out,
        "latencyMs": call.latency_ms,
    }


def _model_usage(day: str, model: str, counters: dict[str, float]) -> ModelUsage:
    calls = int(counters.get("calls", 0))
    unpriced = int(counters.get("unpricedCalls", 0))
    cost = round(counters.get("costUsd", 0.0), _COST_DIGITS) if calls > unpriced else None
    return ModelUsage(
        day=day,
        model=model,
        calls=calls,
        cached_calls=int(counters.get("cachedCalls", 0)),
        failed_calls=int(counters.get("failedCalls", 0)),
        tokens_in=int(counters.get("tokensIn", 0)),
        tokens_out=int(counters.get("tokensOut", 0)),
        cost_usd=cost,
        unpriced_calls=unpriced,
        latency_ms=int(counters.get("latencyMs", 0)),
    )


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class RedisUsageStore:
    def __init__(self, client: RedisClient, *, recent_limit: int = 200, retention_days: int = MAX_REPORT_DAYS) -> None:
        self._redis = client
        self._recent_limit = recent_limit
        self._retention_s = retention_days * 24 * 3600

    def record(self, call: LLMCall) -> None:
        day = day_of(call.at)
        key, recent = usage_key(call.project_id, day), recent_key(call.project_id, day)
        try:
            with self._redis.pipeline(transaction=True) as pipe:
                for counter, amount in _increments(call).items():
                    pipe.hincrby(key, f"{call.model}|{counter}", amount)
                if call.cost_usd is not None:
                    pipe.hincrbyfloat(key, f"{call.model}|costUsd", call.cost_usd)
                pipe.lpush(recent, call.model_dump_json())
                pipe.ltrim(recent, 0, self._recent_limit - 1)
                pipe.expire(key, self._retention_s)
                pipe.expire(recent, self._retention_s)
                pipe.execute()
        except (redis.RedisError, redis.exceptions.RedisClusterException) as exc:
            raise BackendUnavailableError(
                f"usage store unavailable: {type(exc).__name__}", dependency="the LLM usage store (Redis)"
            ) from exc

    def daily(self, project_id: str, day: str) -> list[ModelUsage]:
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                pipe.hgetall(usage_key(project_id, day))
                pipe.hgetall(legacy_usage_key(project_id, day))
                replies = pipe.execute()
        except (redis.RedisError, redis.exceptions.RedisClusterException) as exc:
            raise BackendUnavailableError(
                f"usage store unavailable: {type(exc).__name__}", dependency="the LLM usage store (Redis)"
            ) from exc
        per_model: dict[str, dict[str, float]] = {}
        for raw in replies:
            for field, value in (raw or {}).items():
                model, _, counter = _text(field).rpartition("|")
                if model:
                    counters = per_model.setdefault(model, {})
                    counters[counter] = counters.get(counter, 0.0) + float(_text(value))
        return [_model_usage(day, model, per_model[model]) for model in sorted(per_model)]

    def recent(self, project_id: str, day: str, limit: int = 50) -> list[LLMCall]:
        last = max(limit, 1) - 1
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                pipe.lrange(recent_key(project_id, day), 0, last)
                pipe.lrange(f"{legacy_usage_key(project_id, day)}:recent", 0, last)
                current, legacy = pipe.execute()
        except (redis.RedisError, redis.exceptions.RedisClusterException) as exc:
            raise BackendUnavailableError(
                f"usage store unavailable: {type(exc).__name__}", dependency="the LLM usage store (Redis)"
            ) from exc
        return [LLMCall.model_validate_json(_text(item)) for item in [*current, *legacy][: last + 1]]


class InMemoryUsageStore:
    """The same aggregation in process memory (one CLI run, unit tests)."""

    def __init__(self, *, recent_limit: int = 200) -> None:
        self._counters: dict[tuple[str, str], dict[str, dict[str, float]]] = {}
        self._recent: dict[tuple[str, str], deque[LLMCall]] = {}
        self._recent_limit = recent_limit
        self._lock = threading.Lock()

    def record(self, call: LLMCall) -> None:
        slot = (call.project_id, day_of(call.at))
        with self._lock:
            counters = self._counters.setdefault(slot, {}).setdefault(call.model, {})
            for counter, amount in _increments(call).items():
                counters[counter] = counters.get(counter, 0) + amount
            if call.cost_usd is not None:
                counters["costUsd"] = counters.get("costUsd", 0.0) + call.cost_usd
            self._recent.setdefault(slot, deque(maxlen=self._recent_limit)).appendleft(call)

    def daily(self, project_id: str, day: str) -> list[ModelUsage]:
        with self._lock:
            per_model = {model: dict(c) for model, c in self._counters.get((project_id, day), {}).items()}
        return [_model_usage(day, model, per_model[model]) for model in sorted(per_model)]

    def recent(self, project_id: str, day: str, limit: int = 50) -> list[LLMCall]:
        with self._lock:
            return list(self._recent.get((project_id, day), ()))[:limit]


def usage_report(store: UsageStore, project_id: str, days: int, *, today: date | None = None) -> UsageReport:
    """Usage of the last `days` UTC days (today included), newest day first, models by name, with totals."""
    if days < 1:
        raise ValueError("days must be at least 1")
    until = today or datetime.now(tz=UTC).date()
    since = until - timedelta(days=days - 1)
    rows: list[ModelUsage] = []
    for offset in range(days):
        rows.extend(store.daily(project_id, (until - timedelta(days=offset)).isoformat()))
    priced = [row.cost_usd for row in rows if row.cost_usd is not None]
    totals = UsageTotals(
        calls=sum(row.calls for row in rows),
        cached_calls=sum(row.cached_calls for row in rows),
        failed_calls=sum(row.failed_calls for row in rows),
        tokens_in=sum(row.tokens_in for row in rows),
        tokens_out=sum(row.tokens_out for row in rows),
        cost_usd=round(sum(priced), _COST_DIGITS) if priced else None,
        unpriced_calls=sum(row.unpriced_calls for row in rows),
    )
    return UsageReport(
        project_id=project_id, days=days, since=since.isoformat(), until=until.isoformat(), rows=rows, totals=totals
    )
