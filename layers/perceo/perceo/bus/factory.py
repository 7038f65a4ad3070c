"""The one place that picks the event bus adapter from the config."""

from __future__ import annotations

from perceo.bus.port import DurableEventBus
from perceo.config.model import EventBusSection
from perceo.errors import BackendUnavailableError, ConfigError

#: Pub/sub connections sit idle for a long time; a periodic PING notices a connection that died quietly.
HEALTH_CHECK_INTERVAL_S = 30


def open_event_bus(section: EventBusSection, *, embedded_url: str | None) -> DurableEventBus:
    """The bus `eventBus` asks for. "embedded" uses the embedded store's Redis at `embedded_url`."""
    if section.type == "in-memory":
        from perceo.bus.memory import InMemoryBus

        return InMemoryBus(max_len=section.stream_max_len)
    if section.type == "redis":
        if not section.redis_url:
            raise ConfigError('eventBus.redisUrl is required when eventBus.type is "redis"')
        url = section.redis_url
    else:
        if not embedded_url:
            raise BackendUnavailableError("the embedded event bus needs the embedded store; it is not running")
        url = embedded_url
    return _redis_bus(url, section.stream_max_len)


def _redis_bus(url: str, stream_max_len: int) -> DurableEventBus:
    """One node, or a cluster for `redis+cluster://` / `rediss+cluster://` (see `perceo.redis_client`)."""
    from perceo.bus.redis import RedisBus
    from perceo.redis_client import open_redis

    client = open_redis(
        url, where="eventBus.redisUrl", decode_responses=True, health_check_interval=HEALTH_CHECK_INTERVAL_S
    )
    return RedisBus(client, stream_max_len, owns_client=True)
