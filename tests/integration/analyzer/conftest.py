"""Fixtures for the analyzer on the real graph: a FalkorFlowGraph on the session's FalkorDB, a fresh graph key per
test, with an injected clock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from analyzer_kit import Clock
from falkordb import FalkorDB

from perceo.graph.falkor import FalkorFlowGraph
from perceo_cli.local.server import ServerProcess


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def graph(falkordb_server: ServerProcess, clock: Clock) -> Iterator[FalkorFlowGraph]:
    client = FalkorDB(host=falkordb_server.host, port=falkordb_server.port)
    name = f"analyzer-test-{uuid.uuid4().hex[:12]}"
    falkor = FalkorFlowGraph(client, name, clock=clock)
    falkor.ensure_schema()
    try:
        yield falkor
    finally:
        client.connection.delete(name)
        client.close()
