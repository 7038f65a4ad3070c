"""The response cache: a re-run with unchanged prompts and schema makes no HTTP call.

Keys are the project, the model and a SHA-256 of (system prompt, user prompt, schema name, schema). Values are
the validated JSON text of the answer. The project is part of the key so that, like everything Perceo stores,
cached answers belong to one tenant: identical prompts of two projects never share an entry.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis

from perceo.errors import BackendUnavailableError

if TYPE_CHECKING:
    from perceo.redis_client import RedisClient

CACHE_PREFIX = "perceo:llm:cache:"


def cache_key(
    project_id: str, model: str, system_prompt: str, user_prompt: str, schema_name: str, schema: dict[str, Any]
) -> str:
    material = json.dumps([system_prompt, user_prompt, schema_name, schema], sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()
    return f"{CACHE_PREFIX}{project_id}:{model}:{digest}"


class RedisResponseCache:
    """Answers in Redis strings with a TTL (`llm.cacheTtlS`); a TTL of 0 turns caching off."""

    def __init__(self, client: RedisClient, ttl_s: int) -> None:
        self._redis = client
        self._ttl_s = ttl_s

    def get(self, key: str) -> str | None:
        if self._ttl_s <= 0:
            return None
        try:
            value = self._redis.get(key)
        except (redis.RedisError, redis.exceptions.RedisClusterException) as exc:
            raise BackendUnavailableError(
                f"LLM cache unavailable: {type(exc).__name__}", dependency="the LLM cache (Redis)"
            ) from exc
        if value is None:
            return None
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    def put(self, key: str, value: str) -> None:
        if self._ttl_s <= 0:
            return
        try:
            self._redis.set(key, value, ex=self._ttl_s)
        except (redis.RedisError, redis.exceptions.RedisClusterException) as exc:
            raise BackendUnavailableError(
                f"LLM cache unavailable: {type(exc).__name__}", dependency="the LLM cache (Redis)"
            ) from exc


class InMemoryResponseCache:
    """A process-local cache with the same TTL behaviour (single CLI process, unit tests)."""

    def __init__(self, ttl_s: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires_at, value = entry
            if self._clock() >= expires_at:
                del self._entries[key]
                return None
            return value

    def put(self, key: str, value: str) -> None:
        if self._ttl_s <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + self._ttl_s, value)
