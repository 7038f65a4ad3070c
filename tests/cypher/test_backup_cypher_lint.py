"""The restore query is built per export (one `FOREACH` per label and per edge shape, names from the allow-list),
so it is no constant that test_cypher_lint.py finds: here Neo4j's linter checks the queries built for an export
holding every label and every relationship type (with and without `--replace`), and the export's own queries."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from perceo.backup.format import EDGE_TYPES, NODE_KEYS, EdgeRecord, NodeRecord, ProjectExport
from perceo.graph import backup

pytestmark = pytest.mark.xdist_group("cypher-lint")

HERE = Path(__file__).resolve().parent


def _lint_module() -> ModuleType:
    """test_cypher_lint.py's `lint` (node + Neo4j's language support), loaded by path: tests/cypher is no package."""
    spec = importlib.util.spec_from_file_location("cypher_lint_runner", HERE / "test_cypher_lint.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _every_kind() -> ProjectExport:
    export = ProjectExport(project_id="p1")
    for label, keys in NODE_KEYS.items():
        props: dict[str, Any] = {name: f"{label}-{name}" for name in keys}
        if label == "Project":
            props["id"] = "p1"
        else:
            props["projectId"] = "p1"
        node_id = "/".join(str(props[name]) for name in keys)
        export.nodes.append(NodeRecord(record="node", type=label, id=node_id, properties=props))
    refs = {n.type: {"type": n.type, "id": n.id} for n in export.nodes}
    pairs = [("Project", "Flow"), ("Flow", "Page"), ("FlowMetrics", "Flow"), ("Page", "Page")]
    for index, kind in enumerate(EDGE_TYPES):
        source, target = pairs[index % len(pairs)]
        export.edges.append(
            EdgeRecord.model_validate(
                {"record": "edge", "type": kind, "from": refs[source], "to": refs[target], "properties": {"order": 1}}
            )
        )
    return export


def test_the_backup_queries_pass_neo4js_linter() -> None:
    export = _every_kind()
    queries = {
        "backup.restore": backup.restore_statement(export, replace=False)[0],
        "backup.restore_replace": backup.restore_statement(export, replace=True)[0],
    }

    problems = _lint_module().lint(queries)

    errors = [p for p in problems if p["severity"] == 1]
    assert errors == [], "\n".join(f"{p['name']}:{p['line']}:{p['column']}: {p['message']}" for p in errors)
    assert (
        "MERGE (a:FlowMetrics {flowId: row.a.flowId, day: row.a.day, projectId: row.a.projectId})"
        in (queries["backup.restore"])
    )
