"""FlowGraph contract for daily flow metrics, on FalkorDB (and a smoke subset on the neo4j driver over FalkorDB's
Bolt listener): one node per flow and day, replaced on rewrite, read back by day range, scoped by project."""

from __future__ import annotations

import pytest
from graph_testkit import flow, new_project

from perceo.errors import ValidationFailed
from perceo.graph.cypher import CypherFlowGraph
from perceo.models import FlowMetrics

BOTH_ADAPTERS = pytest.mark.parametrize(
    "graph", ["falkordb", pytest.param("neo4j_driver", marks=pytest.mark.neo4j_driver)], indirect=True
)


def metrics(project_id: str, flow_id: str, day: str, **fields: object) -> FlowMetrics:
    base: dict[str, object] = {
        "sessions": 40,
        "completions": 30,
        "prod_success_rate": 0.75,
        "prod_daily_users": 35,
        "prod_top_exit_step": 3,
        "median_duration_ms": 42_000.0,
        "drop_off": {"2": 4, "3": 6},
        "step_median_ms": [None, 5_000.0, 12_500.5],
        "revenue_at_risk": 499.0,
        "gap_score": 0.4,
        "updated_at": 1_700_000_000_000,
    }
    base.update(fields)
    return FlowMetrics(project_id=project_id, flow_id=flow_id, day=day, **base)


@BOTH_ADAPTERS
def test_metrics_written_for_a_flow_read_back_equal_by_day_range(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    checkout, browse = graph.upsert_flows(project.id, [flow(project, "Checkout"), flow(project, "Browse")])
    written = [
        metrics(project.id, checkout.id, "2026-03-01"),
        metrics(project.id, checkout.id, "2026-03-02", sessions=10, drop_off={}, revenue_at_risk=None),
        metrics(project.id, browse.id, "2026-03-02", basis="pages", step_median_ms=[]),
    ]

    assert graph.upsert_flow_metrics(project.id, written) == 3

    assert graph.list_flow_metrics(project.id, since="2026-03-01", until="2026-03-02") == [
        written[0],
        *sorted(written[1:], key=lambda m: m.flow_id),
    ]
    assert graph.list_flow_metrics(project.id, since="2026-03-02", until="2026-03-31", flow_ids=[checkout.id]) == [
        written[1]
    ]
    assert graph.list_flow_metrics(project.id, since="2026-02-01", until="2026-02-28") == []


def test_rewriting_a_day_replaces_its_metrics_and_clears_what_became_unknown(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    (checkout,) = graph.upsert_flows(project.id, [flow(project, "Checkout")])
    graph.upsert_flow_metrics(project.id, [metrics(project.id, checkout.id, "2026-03-01")])

    again = metrics(project.id, checkout.id, "2026-03-01", sessions=0, completions=0, prod_success_rate=None)
    graph.upsert_flow_metrics(project.id, [again])

    assert graph.list_flow_metrics(project.id, since="2026-03-01", until="2026-03-01") == [again]
    rows = graph._read(
        "MATCH (f:Flow {projectId: $projectId})-[:HAS_METRICS]->(m:FlowMetrics) RETURN count(m) AS n",
        {"projectId": project.id},
    )
    assert rows[0]["n"] == 1


def test_metrics_of_flows_the_project_lacks_are_skipped_and_foreign_ones_refused(graph: CypherFlowGraph) -> None:
    a, b = new_project(graph, "A"), new_project(graph, "B")
    (a_flow,) = graph.upsert_flows(a.id, [flow(a, "Checkout")])
    (b_flow,) = graph.upsert_flows(b.id, [flow(b, "Checkout")])

    assert graph.upsert_flow_metrics(a.id, [metrics(a.id, b_flow.id, "2026-03-01")]) == 0
    with pytest.raises(ValidationFailed):
        graph.upsert_flow_metrics(a.id, [metrics(b.id, b_flow.id, "2026-03-01")])
    with pytest.raises(ValidationFailed):
        graph.upsert_flow_metrics(a.id, [metrics(a.id, a_flow.id, "2026-03-01")] * 2)

    assert graph.list_flow_metrics(b.id, since="2026-01-01", until="2026-12-31") == []
    assert graph.list_flow_metrics(a.id, since="2026-01-01", until="2026-12-31") == []


@BOTH_ADAPTERS
def test_project_a_never_reads_or_overwrites_project_b_metrics(graph: CypherFlowGraph) -> None:
    # Built alike on purpose: same flow names and days, so a query without its projectId filter would cross over.
    a, b = new_project(graph, "Same"), new_project(graph, "Same")
    (a_flow,) = graph.upsert_flows(a.id, [flow(a, "Checkout")])
    (b_flow,) = graph.upsert_flows(b.id, [flow(b, "Checkout")])
    b_metrics = metrics(b.id, b_flow.id, "2026-03-01", sessions=99)
    graph.upsert_flow_metrics(b.id, [b_metrics])

    graph.upsert_flow_metrics(a.id, [metrics(a.id, a_flow.id, "2026-03-01", sessions=1)])

    a_read = graph.list_flow_metrics(a.id, since="2026-03-01", until="2026-03-01")
    assert [(m.project_id, m.flow_id, m.sessions) for m in a_read] == [(a.id, a_flow.id, 1)]
    assert graph.list_flow_metrics(a.id, since="2026-03-01", until="2026-03-01", flow_ids=[b_flow.id]) == []
    assert graph.list_flow_metrics(b.id, since="2026-03-01", until="2026-03-01") == [b_metrics]


def test_deleting_a_project_deletes_its_metrics(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    (checkout,) = graph.upsert_flows(project.id, [flow(project, "Checkout")])
    graph.upsert_flow_metrics(project.id, [metrics(project.id, checkout.id, "2026-03-01")])

    assert graph.delete_project(project.id)

    rows = graph._read("MATCH (m:FlowMetrics {projectId: $projectId}) RETURN count(m) AS n", {"projectId": project.id})
    assert rows[0]["n"] == 0
