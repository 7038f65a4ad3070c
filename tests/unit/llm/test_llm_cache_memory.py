"""The response cache key and the in-memory cache's TTL."""

from __future__ import annotations

from perceo.llm.cache import InMemoryResponseCache, cache_key

SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}}


def test_the_key_changes_with_every_input_that_shapes_the_answer() -> None:
    base = cache_key("p1", "gpt-4.1-mini", "sys", "user", "flows", SCHEMA)

    assert cache_key("p2", "gpt-4.1-mini", "sys", "user", "flows", SCHEMA) != base
    assert cache_key("p1", "gpt-4.1-mini", "sys", "user", "flows", dict(SCHEMA)) == base
    assert cache_key("p1", "gpt-4o", "sys", "user", "flows", SCHEMA) != base
    assert cache_key("p1", "gpt-4.1-mini", "sys2", "user", "flows", SCHEMA) != base
    assert cache_key("p1", "gpt-4.1-mini", "sys", "user2", "flows", SCHEMA) != base
    assert cache_key("p1", "gpt-4.1-mini", "sys", "user", "steps", SCHEMA) != base
    assert cache_key("p1", "gpt-4.1-mini", "sys", "user", "flows", {**SCHEMA, "required": ["a"]}) != base
    assert base.startswith("perceo:llm:cache:p1:gpt-4.1-mini:")


def test_entries_expire_after_the_ttl() -> None:
    now = [1000.0]
    cache = InMemoryResponseCache(60, clock=lambda: now[0])
    cache.put("k", '{"a": "x"}')

    now[0] += 59.9
    assert cache.get("k") == '{"a": "x"}'
    now[0] += 0.1
    assert cache.get("k") is None


def test_a_zero_ttl_caches_nothing() -> None:
    cache = InMemoryResponseCache(0)
    cache.put("k", "{}")

    assert cache.get("k") is None
