"""The Redis usage store and response cache on their own, with a real Redis."""

from __future__ import annotations

from datetime import date

import pytest
import redis
from llm_support import DAY, NOW_MS, new_project_id, unreachable_redis

from perceo.errors import BackendUnavailableError
from perceo.llm.cache import RedisResponseCache
from perceo.llm.model import LLMCall
from perceo.llm.usage import RedisUsageStore, legacy_usage_key, recent_key, usage_key, usage_report
from perceo.redis_client import RedisClient
from perceo_cli.local.server import ServerProcess


def a_call(project_id: str, *, model: str = "gpt-4.1-mini", cost: float | None = 0.5, at: int = NOW_MS) -> LLMCall:
    return LLMCall(
        project_id=project_id,
        model=model,
        unit="flows",
        schema_name="flows",
        outcome="ok",
        tokens_in=10,
        tokens_out=2,
        latency_ms=30,
        cost_usd=cost,
        requests=1,
        at=at,
    )


def test_usage_aggregates_per_model_with_odd_model_names(any_redis: RedisClient) -> None:
    project_id = new_project_id()
    store = RedisUsageStore(any_redis)
    for _ in range(3):
        store.record(a_call(project_id, model="meta-llama/llama-3.1-8b:free|beta", cost=None))
    store.record(a_call(project_id, cost=0.1))
    store.record(a_call(project_id, cost=0.2))

    rows = store.daily(project_id, DAY)

    assert [r.model for r in rows] == ["gpt-4.1-mini", "meta-llama/llama-3.1-8b:free|beta"]
    assert rows[0].cost_usd == pytest.approx(0.3)
    assert (rows[1].calls, rows[1].cost_usd, rows[1].unpriced_calls) == (3, None, 3)


def test_the_recent_list_is_capped_newest_first(any_redis: RedisClient) -> None:
    project_id = new_project_id()
    store = RedisUsageStore(any_redis, recent_limit=2)
    for offset in range(4):
        store.record(a_call(project_id, at=NOW_MS + offset))

    assert any_redis.llen(recent_key(project_id, DAY)) == 2
    assert [c.at for c in store.recent(project_id, DAY)] == [NOW_MS + 3, NOW_MS + 2]


def test_a_client_without_decoded_responses_reads_the_same(falkordb_server: ServerProcess) -> None:
    project_id = new_project_id()
    raw = redis.Redis(host=falkordb_server.host, port=falkordb_server.port)
    try:
        store = RedisUsageStore(raw)
        store.record(a_call(project_id))
        [row] = store.daily(project_id, DAY)
        [recent] = store.recent(project_id, DAY)
        cache = RedisResponseCache(raw, ttl_s=60)
        cache.put(f"perceo:llm:cache:test:{project_id}", '{"a": 1}')
        assert cache.get(f"perceo:llm:cache:test:{project_id}") == '{"a": 1}'
    finally:
        raw.close()
    assert (row.calls, recent.project_id) == (1, project_id)


def test_the_report_reads_redis_over_several_days(any_redis: RedisClient) -> None:
    project_id = new_project_id()
    store = RedisUsageStore(any_redis)
    day_ms = 86_400_000
    store.record(a_call(project_id, at=NOW_MS))
    store.record(a_call(project_id, at=NOW_MS - day_ms))
    store.record(a_call(project_id, at=NOW_MS - 3 * day_ms))

    report = usage_report(store, project_id, 3, today=date.fromisoformat(DAY))

    assert [r.day for r in report.rows] == ["2026-03-02", "2026-03-01"]
    assert report.totals.cost_usd == pytest.approx(1.0)
    assert any_redis.exists(usage_key(project_id, "2026-02-27")) == 1


def test_usage_recorded_under_the_names_before_hash_tags_is_still_reported(any_redis: RedisClient) -> None:
    project_id = new_project_id()
    store = RedisUsageStore(any_redis)
    old_call = a_call(project_id, cost=0.25)
    legacy = legacy_usage_key(project_id, DAY)  # as version 1 wrote it, without the hash tag
    any_redis.hset(legacy, mapping={"gpt-4.1-mini|calls": 2, "gpt-4.1-mini|costUsd": 0.5, "gpt-4.1-mini|tokensIn": 20})
    any_redis.lpush(f"{legacy}:recent", old_call.model_dump_json())
    store.record(a_call(project_id, cost=0.1))

    [row] = store.daily(project_id, DAY)
    recent = store.recent(project_id, DAY)

    assert legacy != usage_key(project_id, DAY)
    assert (row.calls, row.tokens_in, row.cost_usd) == (3, 30, pytest.approx(0.6))
    assert [c.cost_usd for c in recent] == [0.1, 0.25]


def test_an_unreachable_redis_is_a_backend_unavailable_error() -> None:
    down = unreachable_redis()

    with pytest.raises(BackendUnavailableError, match="usage store unavailable"):
        RedisUsageStore(down).daily("p", DAY)
    with pytest.raises(BackendUnavailableError, match="LLM cache unavailable"):
        RedisResponseCache(down, ttl_s=60).get("k")
