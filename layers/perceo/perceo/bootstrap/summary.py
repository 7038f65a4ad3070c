"""The result of a bootstrap as people and machines read it (`perceo init --json` is a versioned contract)."""

from __future__ import annotations

from typing import Any

from perceo.bootstrap.pipeline import BootstrapState
from perceo.graph.port import FlowGraph

#: Bump when the shape of `init --json` changes incompatibly.
INIT_JSON_VERSION = 1


def bootstrap_summary(
    state: BootstrapState, graph: FlowGraph, *, project_name: str, config_path: str | None = None
) -> dict[str, Any]:
    """What is stored now (read back from the graph), what this run changed, and what it warned about."""
    project_id = state.input.project_id
    flows = graph.list_flows(project_id, include_steps=True)
    personas = graph.list_personas(project_id)
    report = state.report
    discovery = state.discovery
    return {
        "version": INIT_JSON_VERSION,
        "projectId": project_id,
        "projectName": project_name,
        "framework": state.framework,
        "mode": "llm" if state.flow_source == "llm" else "heuristic",
        "configPath": config_path,
        "counts": {
            "routes": len([r for r in discovery.routes if r.kind == "page"]) if discovery else 0,
            "navigationEdges": len(discovery.navigation) if discovery else 0,
            "flows": report.flows.model_dump(mode="json"),
            "personas": report.personas.model_dump(mode="json"),
            "steps": report.steps.model_dump(mode="json"),
            "pagesWritten": report.pages_written,
            "pagesRemoved": report.pages_removed,
            "linksWritten": report.links_written,
            "linksRemoved": report.links_removed,
        },
        "personas": [
            {
                "id": p.id,
                "name": p.name,
                "source": p.source,
                "flows": sorted(f.name for f in flows if p.name in f.personas),
            }
            for p in sorted(personas, key=lambda p: p.name.casefold())
        ],
        "flows": [
            {
                "id": f.id,
                "name": f.name,
                "priority": f.priority,
                "source": f.source,
                "userEdited": f.user_edited,
                "status": report.flow_status.get(f.name, "unchanged"),
                "personas": sorted(f.personas),
                "pages": f.pages,
                "steps": len(f.steps),
            }
            for f in sorted(flows, key=lambda f: f.name.casefold())
        ],
        "removed": {"flows": report.removed_flows, "personas": report.removed_personas, "pages": report.removed_pages},
        "warnings": state.warnings,
        "limits": state.limits_hit,
        "llm": {
            "failedUnits": state.llm_units_failed,
            "droppedItems": state.llm_dropped,
            "heuristicFlowsKept": state.heuristic_kept,
        },
        "timingsMs": state.stage_ms,
    }
