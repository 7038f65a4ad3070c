"""Builders and raw-graph probes shared by the flow graph tests (imported as `graph_testkit`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from perceo.graph.cypher import CypherFlowGraph
from perceo.models import (
    AffectedRoute,
    ChangeAnalysis,
    ChangedFile,
    ExpectedState,
    Flow,
    ImpactedFlow,
    Persona,
    Project,
    Reason,
    Step,
    StepAction,
)


@dataclass
class FakeClock:
    """An injectable clock in epoch ms, so updatedAt is asserted exactly."""

    now: int = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now


def new_project(graph: CypherFlowGraph, name: str = "Shop") -> Project:
    return graph.create_project(Project(id=f"p-{uuid.uuid4().hex[:12]}", name=name, framework="nextjs"))


def persona(project: Project, name: str, **fields: Any) -> Persona:
    return Persona(project_id=project.id, name=name, **fields)


def flow(project: Project, name: str, **fields: Any) -> Flow:
    return Flow(project_id=project.id, name=name, **fields)


def step(flow_id: str, order: int, name: str | None = None, *, typed: str = "shoes size 42") -> Step:
    """A step with nested actions and expected state (both stored as JSON). Its text stays clear of quotes and
    backslashes because FalkorDB's Bolt listener garbles those (see conftest); `typed` can carry them on RESP."""
    return Step(
        flow_id=flow_id,
        order=order,
        name=name or f"step {order}",
        actions=[
            StepAction(type="click", target=f"#button-{order}", options={"nested": [1, {"deep": "yes"}]}),
            StepAction(type="fill", target="input[name=q]", value=typed),
        ],
        expected_state=ExpectedState(url=f"/page/{order}", visible=["#ok"], text={"h1": "Héllo ✓"}),
        timeout_ms=10_000 + order,
        retry_count=order % 4,
    )


def next_chain(graph: CypherFlowGraph, project_id: str, flow_id: str) -> list[tuple[int, int]]:
    rows = graph._read(
        "MATCH (a:Step {projectId: $projectId, flowId: $flowId})-[:NEXT]->(b:Step) "
        "RETURN a.order AS a, b.order AS b ORDER BY a",
        {"projectId": project_id, "flowId": flow_id},
    )
    return [(row["a"], row["b"]) for row in rows]


def step_nodes(graph: CypherFlowGraph, project_id: str, flow_id: str) -> int:
    rows = graph._read(
        "MATCH (s:Step {projectId: $projectId, flowId: $flowId}) RETURN count(s) AS n",
        {"projectId": project_id, "flowId": flow_id},
    )
    return int(rows[0]["n"])


def nodes_of(graph: CypherFlowGraph, project_id: str) -> int:
    rows = graph._read("MATCH (n) WHERE n.projectId = $projectId RETURN count(n) AS n", {"projectId": project_id})
    return int(rows[0]["n"])


def analysis(project: Project, flows: list[ImpactedFlow], *, created_at: int = 1_000) -> ChangeAnalysis:
    return ChangeAnalysis(
        project_id=project.id,
        base_sha="a1b2c3d",
        head_sha="d4e5f6a",
        risk_level="high",
        risk_score=0.75,
        files=[ChangedFile(path="src/cart.tsx", status="modified", additions=3, deletions=1)],
        affected_routes=[
            AffectedRoute(
                route="/cart",
                files=["app/cart/page.tsx"],
                reasons=[Reason(changed_file="src/cart.tsx", chain=["src/cart.tsx", "app/cart/page.tsx"])],
                distance=1,
            )
        ],
        flows=flows,
        created_at=created_at,
    )


def impacted(flow_id: str, name: str, risk: float = 0.8) -> ImpactedFlow:
    return ImpactedFlow(
        id=flow_id,
        name=name,
        priority="critical",
        risk_score=risk,
        confidence=0.9,
        affected_pages=["/cart"],
        reasons=[Reason(changed_file="src/cart.tsx", chain=["src/cart.tsx", "app/cart/page.tsx"], kind="import")],
    )


def wait_for_constraints(graph: CypherFlowGraph) -> None:
    """FalkorDB builds unique constraints in the background; poll (bounded) until all are operational."""
    for _ in range(500):
        rows = graph._read("CALL db.constraints() YIELD status RETURN status", {})
        if rows and all(row["status"] == "OPERATIONAL" for row in rows):
            return
    raise AssertionError(f"constraints not operational: {rows}")
