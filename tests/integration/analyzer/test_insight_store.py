"""Insights in the real graph (FalkorDB): one per subject and day, statuses, filters, and project isolation."""

from __future__ import annotations

import uuid

import pytest
from analyzer_kit import Clock

from perceo.errors import ConflictError, InsightNotFoundError, ProjectNotFoundError, ValidationFailed
from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import Flow, Insight, Project


def _project(graph: FalkorFlowGraph) -> Project:
    return graph.create_project(Project(id=f"p-{uuid.uuid4().hex[:10]}", name="Shop", framework="nextjs"))


def _insight(project: Project, flow_id: str | None, *, day: str = "2026-02-25", **fields: object) -> Insight:
    values: dict[str, object] = {
        "project_id": project.id,
        "flow_id": flow_id,
        "type": "coverage-gap",
        "severity": "high",
        "title": "Checkout has 900 users a day and no test",
        "message": "No test is mapped to Checkout.",
        "suggested_action": "Map a test to Checkout.",
        "evidence": {"users": {"median": 900, "days": ["2026-02-19", "2026-02-25"]}, "runs": []},
        "subject": f"coverage-gap:{flow_id}",
        "day": day,
    }
    values.update(fields)
    return Insight.model_validate(values)


def _about_edges(graph: FalkorFlowGraph, project_id: str) -> list[tuple[str, str]]:
    rows = graph._read(
        "MATCH (i:Insight {projectId: $projectId})-[:ABOUT]->(f:Flow) RETURN i.id AS i, f.id AS f",
        {"projectId": project_id},
    )
    return [(row["i"], row["f"]) for row in rows]


def test_an_insight_reads_back_whole_with_its_flow_linked(graph: FalkorFlowGraph, clock: Clock) -> None:
    project = _project(graph)
    (checkout,) = graph.upsert_flows(project.id, [Flow(project_id=project.id, name="Checkout")])
    finding = _insight(project, checkout.id, revenue_impact={"estimatedMonthlyLoss": 120.5, "confidence": 0.6,
                                                             "affectedUsers": 40})  # fmt: skip

    [stored] = graph.store_insights(project.id, [finding])

    assert stored.created
    assert stored.insight == finding.model_copy(update={"created_at": clock.now, "updated_at": clock.now,
                                                        "last_seen_day": "2026-02-25"})  # fmt: skip
    assert graph.list_insights(project.id) == [stored.insight]
    assert _about_edges(graph, project.id) == [(finding.id, checkout.id)]


def test_running_again_the_same_day_updates_instead_of_duplicating(graph: FalkorFlowGraph, clock: Clock) -> None:
    project = _project(graph)
    [first] = graph.store_insights(project.id, [_insight(project, "f1")])
    clock.now += 3_600_000

    [again] = graph.store_insights(project.id, [_insight(project, "f1", severity="critical", title="worse")])

    assert not again.created
    assert again.insight.id == first.insight.id
    assert (again.insight.severity, again.insight.title) == ("critical", "worse")
    assert again.insight.created_at == first.insight.created_at and again.insight.updated_at == clock.now
    assert [i.id for i in graph.list_insights(project.id)] == [first.insight.id]


def test_a_live_insight_found_on_a_later_day_is_updated_and_keeps_its_status(graph: FalkorFlowGraph) -> None:
    project = _project(graph)
    [first] = graph.store_insights(project.id, [_insight(project, "f1", day="2026-02-24")])
    graph.set_insight_status(project.id, first.insight.id, "acknowledged")

    [later] = graph.store_insights(project.id, [_insight(project, "f1", day="2026-02-25")])

    assert not later.created and later.insight.id == first.insight.id
    assert later.insight.status == "acknowledged"
    assert (later.insight.day, later.insight.last_seen_day) == ("2026-02-24", "2026-02-25")


def test_a_resolved_problem_found_again_the_next_day_opens_a_new_insight(graph: FalkorFlowGraph) -> None:
    project = _project(graph)
    [first] = graph.store_insights(project.id, [_insight(project, "f1", day="2026-02-24")])
    graph.set_insight_status(project.id, first.insight.id, "resolved")

    [same_day] = graph.store_insights(project.id, [_insight(project, "f1", day="2026-02-24")])
    [next_day] = graph.store_insights(project.id, [_insight(project, "f1", day="2026-02-25")])

    assert same_day.insight.id == first.insight.id and same_day.insight.status == "resolved"
    assert next_day.created and next_day.insight.id != first.insight.id and next_day.insight.status == "open"
    assert len(graph.list_insights(project.id)) == 2


def test_acknowledge_and_resolve_record_when(graph: FalkorFlowGraph, clock: Clock) -> None:
    project = _project(graph)
    [stored] = graph.store_insights(project.id, [_insight(project, "f1")])
    clock.now += 1000

    acked = graph.set_insight_status(project.id, stored.insight.id[:8], "acknowledged")
    clock.now += 1000
    resolved = graph.set_insight_status(project.id, stored.insight.id, "resolved")

    assert (acked.status, acked.acknowledged_at, acked.resolved_at) == ("acknowledged", clock.now - 1000, None)
    assert (resolved.status, resolved.acknowledged_at) == ("resolved", clock.now - 1000)
    assert resolved.resolved_at == clock.now
    with pytest.raises(ConflictError):
        graph.set_insight_status(project.id, stored.insight.id, "acknowledged")


def test_lists_filter_by_type_status_severity_flow_and_day(graph: FalkorFlowGraph) -> None:
    project = _project(graph)
    stored = graph.store_insights(
        project.id,
        [
            _insight(project, "f1", day="2026-02-20"),
            _insight(project, "f2", type="performance", severity="medium", subject="performance:f2"),
        ],
    )
    old, perf = (s.insight for s in stored)
    graph.set_insight_status(project.id, old.id, "resolved")

    assert [i.id for i in graph.list_insights(project.id, types=["performance"])] == [perf.id]
    assert [i.id for i in graph.list_insights(project.id, statuses=["resolved"])] == [old.id]
    assert [i.id for i in graph.list_insights(project.id, severities=["high"])] == [old.id]
    assert [i.id for i in graph.list_insights(project.id, flow_id="f2")] == [perf.id]
    assert [i.id for i in graph.list_insights(project.id, since_day="2026-02-21")] == [perf.id]


def test_another_project_can_neither_see_nor_change_an_insight(graph: FalkorFlowGraph) -> None:
    mine, theirs = _project(graph), _project(graph)
    [stored] = graph.store_insights(mine.id, [_insight(mine, "f1")])

    assert graph.list_insights(theirs.id) == []
    with pytest.raises(InsightNotFoundError):
        graph.find_insight(theirs.id, stored.insight.id)
    with pytest.raises(InsightNotFoundError):
        graph.set_insight_status(theirs.id, stored.insight.id, "resolved")
    with pytest.raises(ValidationFailed):
        graph.store_insights(theirs.id, [_insight(mine, "f1")])
    assert graph.find_insight(mine.id, stored.insight.id).status == "open"


def test_bad_input_is_refused_before_anything_is_written(graph: FalkorFlowGraph) -> None:
    project = _project(graph)

    with pytest.raises(ValidationFailed):
        graph.store_insights(project.id, [_insight(project, "f1"), _insight(project, "f1")])
    with pytest.raises(ValidationFailed):
        graph.find_insight(project.id, "abc")  # too short a prefix
    with pytest.raises(ProjectNotFoundError):
        graph.store_insights("p-missing", [_insight(Project(id="p-missing", name="x"), "f1")])
    assert graph.list_insights(project.id) == []
