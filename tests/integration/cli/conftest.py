"""Fixtures of the CLI's integration tests: the demo shop as a real git repository, configured for the session's
FalkorDB (its own graph key per test).
`tests/cli_kit.py` runs `perceo` through `main()`."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_kit import use_session_store

from perceo.graph.falkor import FalkorFlowGraph
from perceo_cli.demo.shop import build_demo_app
from perceo_cli.local.server import ServerProcess


@pytest.fixture
def repo(tmp_path: Path, falkordb_server: ServerProcess, graph: FalkorFlowGraph) -> Path:
    """The demo shop, configured to use the session's FalkorDB for its flow graph and event bus."""
    root = build_demo_app(tmp_path / "shop").path
    use_session_store(root, falkordb_server.host, falkordb_server.port, graph.graph_name)
    return root
