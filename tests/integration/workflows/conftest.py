"""Fixtures for the workflows on moto: one moto server, git server and function set per session (per xdist
worker); per test, the state machines re-registered (idempotent: another test's `mock_aws` may have reset moto's
backends) and a fresh step runtime."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from workflow_support import Harness, Session, harness_for, start_session

from perceo_cli.local.server import ServerProcess


@pytest.fixture(scope="session")
def workflow_session(tmp_path_factory: pytest.TempPathFactory, falkordb_server: ServerProcess) -> Iterator[Session]:
    url = f"redis://{falkordb_server.host}:{falkordb_server.port}"
    yield from start_session(tmp_path_factory.mktemp("workflows"), url)


@pytest.fixture
def harness(workflow_session: Session, redis_client: redis.Redis, tmp_path: Path) -> Iterator[Harness]:
    with harness_for(workflow_session, redis_client, tmp_path) as made:
        yield made
