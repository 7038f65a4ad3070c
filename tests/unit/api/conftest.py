"""Unit fixtures for the API: the real handlers over in-memory key store and rate limiter (no sockets)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_unit_kit import ADMIN_KEY, ORIGIN, PEPPER, MakeKey, SteppedClock

from perceo import wiring
from perceo.auth import ApiKeyService, InMemoryKeyStore, InMemoryRateLimiter, Principal
from perceo.config.settings import Settings
from perceo.models.vocab import Scope


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
def settings() -> Settings:
    # Unit tests never reach the graph or Redis: these URLs only satisfy the settings model.
    return Settings.from_env(
        {
            "STAGE": "test",
            "POWERTOOLS_SERVICE_NAME": "perceo",
            "GRAPH_URI": "redis://127.0.0.1:9",
            "REDIS_URL": "redis://127.0.0.1:9",
            "ALLOWED_CORS_ORIGIN": ORIGIN,
        }
    )


@pytest.fixture
def keys(clock: SteppedClock) -> ApiKeyService:
    return ApiKeyService(InMemoryKeyStore(), PEPPER, clock)


@pytest.fixture
def limiter(clock: SteppedClock) -> InMemoryRateLimiter:
    return InMemoryRateLimiter(rate_per_s=1.0, burst=3, clock=clock)


@pytest.fixture
def deps(settings: Settings, keys: ApiKeyService, limiter: InMemoryRateLimiter) -> Iterator[wiring.Services]:
    installed = wiring.build_services(settings, keys=keys, limiter=limiter, admin_key=ADMIN_KEY)
    wiring.install(installed)
    try:
        yield installed
    finally:
        wiring.reset()


@pytest.fixture
def make_key(keys: ApiKeyService) -> MakeKey:
    """A real key of a project and the principal the authorizer would derive from it."""
    counter = iter(range(1_000_000))

    def make(scopes: list[Scope], project_id: str = "proj-a") -> tuple[str, Principal]:
        raw, _ = keys.create(project_id, f"key-{next(counter)}", scopes, created_by="test")
        return raw, keys.authenticate(raw)

    return make
