"""The one place that picks the flow graph adapter from the `flowGraph` config section."""

from __future__ import annotations

from urllib.parse import urlsplit

from perceo.config.model import FlowGraphSection
from perceo.errors import BackendUnavailableError, ConfigError
from perceo.graph.port import FlowGraph

DEFAULT_GRAPH_NAME = "perceo"
NEO4J_SCHEMES = ("neo4j+s", "neo4j", "bolt", "neo4j+ssc", "bolt+s", "bolt+ssc")


def open_flow_graph(section: FlowGraphSection, *, embedded_url: str | None) -> FlowGraph:
    """The graph `flowGraph` asks for.

    - `embedded`: FalkorDB in the embedded store at `embedded_url` (graph `flowGraph.database`, default "perceo").
    - `falkordb`: a running FalkorDB at `flowGraph.uri` (`redis://…`), optional username/password.
    - `neo4j`: Neo4j at `flowGraph.uri` (`neo4j+s://…`, `neo4j://…`, `bolt://…`) with `flowGraph.username` and
      `flowGraph.password`, database `flowGraph.database` (default "neo4j").

    ConfigError names the missing or wrong key. Drivers are imported here, not at module import.
    """
    if section.type == "neo4j":
        return _neo4j(section)
    from perceo.graph.falkor import FalkorFlowGraph

    graph_name = section.database or DEFAULT_GRAPH_NAME
    if section.type == "embedded":
        if not embedded_url:
            raise BackendUnavailableError("the embedded flow graph needs the embedded store; it is not running")
        return FalkorFlowGraph(embedded_url, graph_name, timeout_s=section.timeout_s)
    if not section.uri:
        raise ConfigError(
            'flowGraph.uri is required when flowGraph.type is "falkordb"', details={"key": "flowGraph.uri"}
        )
    password = section.password.get_secret_value() if section.password else None
    return FalkorFlowGraph(
        section.uri, graph_name, username=section.username, password=password, timeout_s=section.timeout_s
    )


def _neo4j(section: FlowGraphSection) -> FlowGraph:
    uri, username = section.uri, section.username
    password = section.password.get_secret_value() if section.password else None
    given = {"flowGraph.uri": uri, "flowGraph.username": username, "flowGraph.password": password}
    missing = [key for key, value in given.items() if not value]
    if missing or not (uri and username and password):
        verb = "is" if len(missing) == 1 else "are"
        raise ConfigError(
            f'{" and ".join(missing)} {verb} required when flowGraph.type is "neo4j"',
            details={"key": missing[0], "keys": missing},
        )
    scheme = urlsplit(uri).scheme
    if scheme not in NEO4J_SCHEMES:
        shown = f"{scheme}://" if scheme else "a URI without a scheme"
        raise ConfigError(
            f"flowGraph.uri must start with neo4j+s://, neo4j:// or bolt:// for Neo4j, not {shown}",
            details={"key": "flowGraph.uri"},
        )
    from perceo.graph.neo4j import DEFAULT_DATABASE, Neo4jFlowGraph

    try:
        return Neo4jFlowGraph(
            uri,
            auth=(username, password),
            database=section.database or DEFAULT_DATABASE,
            driver_config={
                "connection_timeout": section.timeout_s,
                "connection_acquisition_timeout": section.timeout_s,
            },
        )
    except ValueError:  # a malformed URI; its text is not repeated, it may hold credentials
        raise ConfigError("flowGraph.uri is not a valid Neo4j URI", details={"key": "flowGraph.uri"}) from None
