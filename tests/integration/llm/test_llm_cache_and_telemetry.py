"""The response cache and usage telemetry in real Redis, and the API key kept out of every log and record."""

from __future__ import annotations

import logging

import pytest
from fakes.openai_server import FakeOpenAI, Reply
from llm_support import (
    API_KEY,
    DAY,
    GOOD_ANSWER,
    FlowsAnswer,
    MakeLLM,
    flows_request,
    new_project_id,
    unreachable_redis,
)

from perceo.errors import LLMError
from perceo.llm.cache import RedisResponseCache, cache_key
from perceo.llm.model import LLMRequest
from perceo.llm.schema import strict_json_schema
from perceo.llm.usage import RedisUsageStore, recent_key, usage_key
from perceo.redis_client import RedisClient


def key_of(request: LLMRequest) -> str:
    schema = strict_json_schema(FlowsAnswer)
    return cache_key(
        request.project_id, "gpt-4.1-mini", request.system_prompt, request.user_prompt, request.schema_name, schema
    )


def test_a_repeated_call_is_answered_from_the_cache_without_http(
    fake_openai: FakeOpenAI, make_llm: MakeLLM, any_redis: RedisClient
) -> None:
    usage = RedisUsageStore(any_redis)
    llm = make_llm(usage=usage, cache=RedisResponseCache(any_redis, ttl_s=3600))
    fake_openai.enqueue(Reply.json(GOOD_ANSWER, prompt_tokens=500, completion_tokens=50))
    request = flows_request()

    first = llm.complete(request, FlowsAnswer)
    again = llm.complete(request, FlowsAnswer)

    assert again == first
    assert len(fake_openai.requests) == 1
    key = cache_key(
        request.project_id,
        "gpt-4.1-mini",
        request.system_prompt,
        request.user_prompt,
        "flows",
        strict_json_schema(FlowsAnswer),
    )
    assert 3590 <= any_redis.ttl(key) <= 3600
    cached_call, paid_call = usage.recent(request.project_id, DAY)
    assert (cached_call.cached, cached_call.outcome, cached_call.cost_usd, cached_call.requests) == (
        True,
        "cached",
        0.0,
        0,
    )
    assert (cached_call.tokens_in, cached_call.tokens_out) == (0, 0)
    assert (paid_call.cached, paid_call.tokens_in) == (False, 500)
    [row] = usage.daily(request.project_id, DAY)
    assert (row.calls, row.cached_calls, row.tokens_in) == (2, 1, 500)


def test_a_changed_prompt_or_model_misses_the_cache(
    fake_openai: FakeOpenAI, make_llm: MakeLLM, any_redis: RedisClient
) -> None:
    cache = RedisResponseCache(any_redis, ttl_s=3600)
    request = flows_request()
    fake_openai.enqueue(Reply.json(GOOD_ANSWER), Reply.json(GOOD_ANSWER), Reply.json(GOOD_ANSWER))

    make_llm(cache=cache).complete(request, FlowsAnswer)
    make_llm(cache=cache).complete(flows_request(marker="another"), FlowsAnswer)
    make_llm(cache=cache, model="gpt-4o").complete(request, FlowsAnswer)

    assert len(fake_openai.requests) == 3


def test_a_zero_ttl_disables_the_cache(fake_openai: FakeOpenAI, make_llm: MakeLLM, any_redis: RedisClient) -> None:
    llm = make_llm(cache=RedisResponseCache(any_redis, ttl_s=0))
    request = flows_request()
    fake_openai.enqueue(Reply.json(GOOD_ANSWER), Reply.json(GOOD_ANSWER))

    llm.complete(request, FlowsAnswer)
    llm.complete(request, FlowsAnswer)

    assert len(fake_openai.requests) == 2


def test_failed_units_are_not_cached(fake_openai: FakeOpenAI, make_llm: MakeLLM, any_redis: RedisClient) -> None:
    llm = make_llm(cache=RedisResponseCache(any_redis, ttl_s=3600))
    request = flows_request()
    fake_openai.enqueue(Reply.text("{"), Reply.text("{"), Reply.json(GOOD_ANSWER))

    with pytest.raises(LLMError):
        llm.complete(request, FlowsAnswer)
    answer = llm.complete(request, FlowsAnswer)

    assert answer.flows[0].name == "Checkout"
    assert len(fake_openai.requests) == 3


def test_a_cached_answer_that_no_longer_validates_is_asked_again_and_replaced(
    fake_openai: FakeOpenAI, make_llm: MakeLLM, any_redis: RedisClient
) -> None:
    request = flows_request()
    key = cache_key(
        request.project_id,
        "gpt-4.1-mini",
        request.system_prompt,
        request.user_prompt,
        "flows",
        strict_json_schema(FlowsAnswer),
    )
    any_redis.set(key, '{"flows": [{"title": "written by an older model"}]}', ex=60)
    fake_openai.enqueue(Reply.json(GOOD_ANSWER))

    make_llm(cache=RedisResponseCache(any_redis, ttl_s=3600)).complete(request, FlowsAnswer)

    assert len(fake_openai.requests) == 1
    assert FlowsAnswer.model_validate_json(any_redis.get(key)) == FlowsAnswer.model_validate(GOOD_ANSWER)


def test_usage_is_stored_per_project_per_day_in_redis(
    fake_openai: FakeOpenAI, make_llm: MakeLLM, any_redis: RedisClient
) -> None:
    project_id, other_project = new_project_id(), new_project_id()
    usage = RedisUsageStore(any_redis)
    llm = make_llm(usage=usage)
    fake_openai.enqueue(
        Reply.json(GOOD_ANSWER, prompt_tokens=1000, completion_tokens=100),
        Reply.text("oops", finish_reason="stop"),
        Reply.json(GOOD_ANSWER, prompt_tokens=2000, completion_tokens=200),
        Reply.json(GOOD_ANSWER, prompt_tokens=7, completion_tokens=7),
    )

    llm.complete(flows_request(project_id, unit="flows"), FlowsAnswer)
    llm.complete(flows_request(project_id, unit="personas"), FlowsAnswer)  # repaired: 2 requests
    llm.complete(flows_request(other_project), FlowsAnswer)

    stored = any_redis.hgetall(usage_key(project_id, DAY))
    assert stored["gpt-4.1-mini|calls"] == "2"
    assert stored["gpt-4.1-mini|tokensIn"] == str(1000 + 120 + 2000)
    assert stored["gpt-4.1-mini|tokensOut"] == str(100 + 30 + 200)
    assert float(stored["gpt-4.1-mini|costUsd"]) == pytest.approx((3120 * 0.40 + 330 * 1.60) / 1e6)
    assert 0 < any_redis.ttl(usage_key(project_id, DAY)) <= 90 * 86400
    assert 0 < any_redis.ttl(recent_key(project_id, DAY)) <= 90 * 86400
    recent = usage.recent(project_id, DAY)
    assert [(c.unit, c.outcome, c.requests) for c in recent] == [("personas", "repaired", 2), ("flows", "ok", 1)]
    assert all(c.latency_ms >= 0 and c.model == "gpt-4.1-mini" for c in recent)
    [other] = usage.daily(other_project, DAY)
    assert (other.calls, other.tokens_in) == (1, 7)


def test_an_unreachable_redis_costs_no_answer_only_a_warning(
    fake_openai: FakeOpenAI, make_llm: MakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    down = unreachable_redis()
    llm = make_llm(usage=RedisUsageStore(down), cache=RedisResponseCache(down, ttl_s=60))
    fake_openai.enqueue(Reply.json(GOOD_ANSWER))
    caplog.set_level(logging.WARNING, logger="perceo.llm")

    answer = llm.complete(flows_request(), FlowsAnswer)

    assert answer.flows[0].name == "Checkout"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.startswith("LLM cache not read") for m in warnings)
    assert any(m.startswith("LLM answer not cached") for m in warnings)
    assert any(m.startswith("LLM usage not recorded") for m in warnings)


def test_the_api_key_never_reaches_logs_telemetry_or_errors(
    fake_openai: FakeOpenAI, make_llm: MakeLLM, any_redis: RedisClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    project_id = new_project_id()
    usage = RedisUsageStore(any_redis)
    llm = make_llm(usage=usage, cache=RedisResponseCache(any_redis, ttl_s=60))
    fake_openai.enqueue(
        Reply.rate_limited(retry_after="1"),
        Reply.text("{broken"),
        Reply.json(GOOD_ANSWER),
        # A gateway that echoes the key in its error message.
        Reply.error(401, f"Incorrect API key provided: {API_KEY}", "invalid_api_key"),
    )

    llm.complete(flows_request(project_id), FlowsAnswer)
    with pytest.raises(LLMError) as raised:
        llm.complete(flows_request(project_id), FlowsAnswer)

    assert all(r.headers["authorization"] == f"Bearer {API_KEY}" for r in fake_openai.requests)  # it was used
    assert any(r.name.startswith("openai") for r in caplog.records)  # the openai client's debug logs were captured
    assert API_KEY not in caplog.text
    assert all(API_KEY not in r.getMessage() for r in caplog.records)
    assert API_KEY not in raised.value.message and API_KEY not in str(raised.value.details)
    assert "HTTP 401" in raised.value.message
    stored = [
        *any_redis.hgetall(usage_key(project_id, DAY)).items(),
        *any_redis.lrange(recent_key(project_id, DAY), 0, -1),
    ]
    assert stored and API_KEY not in str(stored)
