from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from auth_redis_testkit import PEPPER, SteppedClock

from perceo.auth import ApiKeyService, RedisKeyStore
from perceo_cli.local.server import ServerProcess


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture(params=["str-replies", "byte-replies"])
def key_redis(request: pytest.FixtureRequest, falkordb_server: ServerProcess) -> Iterator[redis.Redis]:
    """The real Redis, through clients that decode replies and that do not (the store must handle both)."""
    client = redis.Redis(
        host=falkordb_server.host, port=falkordb_server.port, decode_responses=request.param == "str-replies"
    )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def redis_store(key_redis: redis.Redis) -> RedisKeyStore:
    return RedisKeyStore(key_redis)


@pytest.fixture
def service(redis_store: RedisKeyStore, clock: SteppedClock) -> ApiKeyService:
    return ApiKeyService(redis_store, PEPPER, clock)
