"""Shared fixtures: real servers on loopback, started here and stopped by their own PID."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from bootstrap_kit import graph_name
from falkordb import FalkorDB
from redis_cluster_kit import REDIS_SHAPES, LocalCluster, open_test_redis, start_cluster, stop_cluster

from perceo.graph.falkor import FalkorFlowGraph
from perceo.redis_client import RedisClient
from perceo_cli.local.server import ServerProcess, start_server, stop_server

#: `tests/` is on sys.path (rootdir conftest), so the fakes package imports as `fakes`.
pytest_plugins = ["fakes.plugin"]


@pytest.fixture(scope="session")
def falkordb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One FalkorDB (Redis 8 + graph module) process for the test session (RESP only).

    The neo4j-driver tests start their own server with a Bolt listener (tests/integration/graph/conftest.py):
    the listener is experimental, binds every interface and must not take the shared server down with it.
    """
    data_dir: Path = tmp_path_factory.mktemp("falkordb")
    server = start_server(data_dir, persistent=False)
    try:
        yield server
    finally:
        stop_server(server.pid)


@pytest.fixture
def redis_client(falkordb_server: ServerProcess) -> Iterator[redis.Redis]:
    client = redis.Redis(host=falkordb_server.host, port=falkordb_server.port, decode_responses=True)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A real three-master Redis Cluster on loopback for the session (started when a test first asks, ~2 s)."""
    cluster = start_cluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


@pytest.fixture(params=REDIS_SHAPES)
def any_redis(request: pytest.FixtureRequest) -> Iterator[RedisClient]:
    """A decoding client of the one-node Redis, then of the three-node cluster."""
    client = open_test_redis(request, request.param)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def graph(falkordb_server: ServerProcess) -> Iterator[FalkorFlowGraph]:
    """A graph key of its own on the session's FalkorDB, deleted afterwards (the commands under test create the
    schema; folders whose tests need it first override this fixture)."""
    client = FalkorDB(host=falkordb_server.host, port=falkordb_server.port)
    name = graph_name()
    try:
        yield FalkorFlowGraph(client, name)
    finally:
        client.connection.delete(name)
        client.close()
