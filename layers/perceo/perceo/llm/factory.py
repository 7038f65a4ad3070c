"""Wire a `StructuredLLM` with its stores: Redis when there is one, process memory otherwise."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from perceo.config.model import PerceoConfig
from perceo.llm.cache import InMemoryResponseCache, RedisResponseCache
from perceo.llm.client import StructuredLLM
from perceo.llm.settings import LLMSettings
from perceo.llm.usage import InMemoryUsageStore, RedisUsageStore

if TYPE_CHECKING:
    from perceo.redis_client import RedisClient


def open_llm(settings: LLMSettings, *, redis_client: RedisClient | None = None) -> StructuredLLM:
    """A `StructuredLLM` caching answers (TTL `llm.cacheTtlS`) and recording usage in `redis_client`.

    Without Redis, cache and usage live in this process only (they vanish when it exits).
    """
    if redis_client is None:
        return StructuredLLM(settings, usage=InMemoryUsageStore(), cache=InMemoryResponseCache(settings.cache_ttl_s))
    return StructuredLLM(
        settings,
        usage=RedisUsageStore(redis_client),
        cache=RedisResponseCache(redis_client, settings.cache_ttl_s),
    )


def llm_redis_url(config: PerceoConfig, *, embedded_url: Callable[[], str]) -> str | None:
    """The Redis that holds LLM answers and usage for a project: the same one as its event bus.

    `eventBus.redisUrl` when the bus is Redis, else the FalkorDB server's URL (it is Redis), else the embedded
    store's (`embedded_url()` is called only then, as it may start the server). None when there is no Redis.
    """
    if config.event_bus.type == "redis" and config.event_bus.redis_url:
        return config.event_bus.redis_url
    if config.flow_graph.type == "falkordb" and config.flow_graph.uri:
        return config.flow_graph.uri
    if config.event_bus.type == "embedded" or config.flow_graph.type == "embedded":
        return embedded_url()
    return None
