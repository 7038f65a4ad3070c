"""Choosing the flow graph adapter from `flowGraph`, and the errors a user sees when it is incomplete.

Only paths that do no I/O are here (the Neo4j driver connects lazily); opening FalkorDB connects, so the
FalkorDB paths are in tests/integration/graph/test_flow_graph_factory.py.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from perceo.config.model import FlowGraphSection
from perceo.errors import BackendUnavailableError, ConfigError
from perceo.graph.factory import open_flow_graph
from perceo.graph.neo4j import Neo4jFlowGraph
from perceo.graph.port import FlowGraph

SECRET = "s3cr3t-password"


def test_neo4j_is_chosen_with_its_database_and_satisfies_the_port() -> None:
    section = FlowGraphSection(
        type="neo4j", uri="neo4j+s://abc.databases.neo4j.io", username="neo4j", password=SecretStr(SECRET), database="p"
    )

    graph = open_flow_graph(section, embedded_url=None)

    try:
        assert isinstance(graph, Neo4jFlowGraph) and isinstance(graph, FlowGraph)
        assert graph.database == "p"
    finally:
        graph.close()


def test_neo4j_database_defaults_to_neo4j() -> None:
    section = FlowGraphSection(type="neo4j", uri="bolt://127.0.0.1:7687", username="u", password=SecretStr(SECRET))

    graph = open_flow_graph(section, embedded_url=None)

    assert isinstance(graph, Neo4jFlowGraph) and graph.database == "neo4j"
    graph.close()


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({}, ["flowGraph.uri", "flowGraph.username", "flowGraph.password"]),
        ({"uri": "neo4j+s://x.io", "username": "u"}, ["flowGraph.password"]),
        ({"uri": "neo4j+s://x.io", "password": SecretStr(SECRET)}, ["flowGraph.username"]),
        ({"username": "u", "password": SecretStr(SECRET)}, ["flowGraph.uri"]),
    ],
)
def test_missing_neo4j_settings_name_every_missing_key(fields: dict[str, object], named: list[str]) -> None:
    with pytest.raises(ConfigError) as raised:
        open_flow_graph(FlowGraphSection.model_validate({"type": "neo4j", **fields}), embedded_url=None)

    assert all(key in raised.value.message for key in named)
    assert raised.value.details["keys"] == named
    assert SECRET not in raised.value.message


def test_a_neo4j_uri_with_another_scheme_is_a_config_error_without_the_password() -> None:
    section = FlowGraphSection(type="neo4j", uri=f"https://u:{SECRET}@x.io", username="u", password=SecretStr(SECRET))

    with pytest.raises(ConfigError) as raised:
        open_flow_graph(section, embedded_url=None)

    assert "flowGraph.uri" in raised.value.message and "https://" in raised.value.message
    assert SECRET not in raised.value.message


def test_falkordb_without_a_uri_names_the_key() -> None:
    with pytest.raises(ConfigError) as raised:
        open_flow_graph(FlowGraphSection(type="falkordb"), embedded_url=None)

    assert raised.value.details == {"key": "flowGraph.uri"}
    assert "flowGraph.uri" in raised.value.message


def test_the_embedded_graph_needs_a_running_embedded_store() -> None:
    with pytest.raises(BackendUnavailableError):
        open_flow_graph(FlowGraphSection(type="embedded"), embedded_url=None)
