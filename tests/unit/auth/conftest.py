from __future__ import annotations

import pytest
from auth_testkit import PEPPER, SteppedClock

from perceo.auth import ApiKeyService, InMemoryKeyStore


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
def store() -> InMemoryKeyStore:
    return InMemoryKeyStore()


@pytest.fixture
def service(store: InMemoryKeyStore, clock: SteppedClock) -> ApiKeyService:
    return ApiKeyService(store, PEPPER, clock)
