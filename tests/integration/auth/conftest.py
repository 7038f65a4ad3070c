from __future__ import annotations

from collections.abc import Iterator

import pytest
from auth_redis_testkit import PEPPER, SteppedClock
from redis_cluster_kit import open_test_redis

from perceo.auth import ApiKeyService, RedisKeyStore
from perceo.redis_client import RedisClient


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture(params=["str-replies", "byte-replies", "cluster"])
def key_redis(request: pytest.FixtureRequest) -> Iterator[RedisClient]:
    """The real Redis, through clients that decode replies and that do not (the store must handle both), and a
    real three-node cluster (ElastiCache Serverless runs in cluster mode)."""
    shape = "cluster" if request.param == "cluster" else "node"
    client = open_test_redis(request, shape, decode_responses=request.param != "byte-replies")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def redis_store(key_redis: RedisClient) -> RedisKeyStore:
    return RedisKeyStore(key_redis)


@pytest.fixture
def service(redis_store: RedisKeyStore, clock: SteppedClock) -> ApiKeyService:
    return ApiKeyService(redis_store, PEPPER, clock)
