"""`open_flow_graph` against the real FalkorDB: the embedded and falkordb types, and an unreachable server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from falkordb import FalkorDB

from perceo.config.model import FlowGraphSection
from perceo.errors import BackendUnavailableError
from perceo.graph.factory import open_flow_graph
from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import Project
from perceo_cli.local.server import ServerProcess, free_port


@pytest.fixture
def graph_name(falkordb_server: ServerProcess) -> Iterator[str]:
    name = f"graph-factory-{uuid.uuid4().hex[:12]}"
    yield name
    with redis.Redis(host=falkordb_server.host, port=falkordb_server.port) as client:
        client.delete(name)


def test_the_embedded_type_opens_falkordb_at_the_embedded_url_on_the_configured_graph(
    falkordb_server: ServerProcess, graph_name: str
) -> None:
    graph = open_flow_graph(FlowGraphSection(type="embedded", database=graph_name), embedded_url=falkordb_server.url)
    try:
        assert isinstance(graph, FalkorFlowGraph) and graph.ping()
        graph.ensure_schema()
        project = graph.create_project(Project(name="Embedded"))

        with FalkorDB(host=falkordb_server.host, port=falkordb_server.port) as client:
            assert FalkorFlowGraph(client, graph_name).get_project(project.id) == project
    finally:
        graph.close()


def test_the_falkordb_type_opens_the_configured_uri(falkordb_server: ServerProcess, graph_name: str) -> None:
    section = FlowGraphSection(type="falkordb", uri=falkordb_server.url, database=graph_name)
    graph = open_flow_graph(section, embedded_url=None)
    try:
        assert isinstance(graph, FalkorFlowGraph) and graph.graph_name == graph_name
        assert graph.list_projects() == []  # a graph nothing was written to yet reads as empty
    finally:
        graph.close()


def test_an_unreachable_falkordb_is_backend_unavailable_naming_host_and_port() -> None:
    port = free_port()
    section = FlowGraphSection(type="falkordb", uri=f"redis://user:hunter2@127.0.0.1:{port}")

    with pytest.raises(BackendUnavailableError) as raised:
        open_flow_graph(section, embedded_url=None)

    assert f"127.0.0.1:{port}" in raised.value.message and "hunter2" not in raised.value.message
