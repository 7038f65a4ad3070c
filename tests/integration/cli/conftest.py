"""Fixtures of the CLI's integration tests: the demo shop as a real git repository, configured for the session's
FalkorDB (its own graph key per test).
`tests/cli_kit.py` runs `perceo` through `main()`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from bootstrap_kit import graph_name
from falkordb import FalkorDB

from perceo.graph.falkor import FalkorFlowGraph
from perceo_cli.demo.shop import build_demo_app
from perceo_cli.local.server import ServerProcess


@pytest.fixture
def graph(falkordb_server: ServerProcess) -> Iterator[FalkorFlowGraph]:
    """The graph key the CLI will write to, read by the test."""
    client = FalkorDB(host=falkordb_server.host, port=falkordb_server.port)
    name = graph_name()
    try:
        yield FalkorFlowGraph(client, name)
    finally:
        client.connection.delete(name)
        client.close()


@pytest.fixture
def repo(tmp_path: Path, falkordb_server: ServerProcess, graph: FalkorFlowGraph) -> Path:
    """The demo shop, configured to use the session's FalkorDB for its flow graph and event bus."""
    root = build_demo_app(tmp_path / "shop").path
    url = f"redis://{falkordb_server.host}:{falkordb_server.port}"
    (root / ".perceo").mkdir()
    config = {
        "flowGraph": {"type": "falkordb", "uri": url, "database": graph.graph_name},
        "eventBus": {"type": "redis", "redisUrl": url},
    }
    (root / ".perceo" / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return root
