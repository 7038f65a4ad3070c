"""Real-graph helpers for the bootstrap and `perceo init` tests (imported as `bootstrap_kit`).

- `RecordingFalkorGraph`: the real FalkorFlowGraph, keeping the text of every write query it sends, so a test
  can say "this run sent no write at all" (not only "the data came out the same").
- `snapshot(graph)`: every node and edge of one graph key with all their properties, so a test can say
  "nothing changed", `updatedAt` included, and compare node and edge counts.
- `fresh_graph(server)`: a FalkorFlowGraph on a graph key of its own, deleted afterwards.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from falkordb import FalkorDB

from perceo.graph.falkor import FalkorFlowGraph
from perceo_cli.local.server import ServerProcess


class RecordingFalkorGraph(FalkorFlowGraph):
    """FalkorFlowGraph that remembers each write query it runs (the Cypher text, as in `perceo.graph.queries`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writes: list[str] = []

    def _write(self, query: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        self.writes.append(query)
        return super()._write(query, params)


@dataclass(frozen=True)
class GraphSnapshot:
    nodes: int
    edges: int
    rows: list[str] = field(repr=False)


def snapshot(graph: FalkorFlowGraph) -> GraphSnapshot:
    """The whole graph key: every node (labels + properties) and every edge (type, ends, properties)."""
    nodes = graph._read("MATCH (n) RETURN labels(n) AS labels, properties(n) AS props", {})
    edges = graph._read(
        "MATCH (a)-[r]->(b) RETURN type(r) AS type, properties(a) AS a, properties(b) AS b, properties(r) AS r", {}
    )
    rows = sorted(json.dumps(row, sort_keys=True) for row in [*nodes, *edges])
    return GraphSnapshot(nodes=len(nodes), edges=len(edges), rows=rows)


def updated_at(graph: FalkorFlowGraph, project_id: str) -> dict[str, int]:
    """Flow name -> updatedAt, straight from the stored properties."""
    rows = graph._read(
        "MATCH (f:Flow {projectId: $projectId}) RETURN f.name AS name, f.updatedAt AS updatedAt",
        {"projectId": project_id},
    )
    return {row["name"]: row["updatedAt"] for row in rows}


def graph_name() -> str:
    return f"boot-{uuid.uuid4().hex[:12]}"


@contextmanager
def fresh_graph(server: ServerProcess, *, recording: bool = True, batch_size: int = 1000) -> Iterator[FalkorFlowGraph]:
    """A graph key of its own on the session's FalkorDB (schema bootstrapped), deleted when the test ends."""
    client = FalkorDB(host=server.host, port=server.port)
    name = graph_name()
    kind = RecordingFalkorGraph if recording else FalkorFlowGraph
    graph = kind(client, name, batch_size=batch_size)
    graph.ensure_schema()
    try:
        yield graph
    finally:
        client.connection.delete(name)
        client.close()
