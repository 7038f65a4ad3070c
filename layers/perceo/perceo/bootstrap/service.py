"""Entry points shared by the CLI's local backend and the cloud handlers."""

from __future__ import annotations

from perceo.graph.port import FlowGraph
from perceo.models import Project


def ensure_project(graph: FlowGraph, *, project_id: str, name: str, framework: str) -> Project:
    """The stored project with this id, created when missing. An existing project is left as it is."""
    return graph.get_project(project_id) or graph.create_project(Project(id=project_id, name=name, framework=framework))
