"""The coordinator's part of the FlowGraph contract: test runs, coverage scores and predictions, on real FalkorDB
(and the neo4j driver over FalkorDB's Bolt listener for the tests marked BOTH_ADAPTERS), incl. project isolation."""

from __future__ import annotations

import json
import uuid

import pytest
from graph_testkit import flow, new_project

from perceo.errors import ConflictError, ProjectNotFoundError, ValidationFailed
from perceo.graph.cypher import CypherFlowGraph
from perceo.models import Prediction, Project, TestCase, TestRun

BOTH_ADAPTERS = pytest.mark.parametrize(
    "graph", ["falkordb", pytest.param("neo4j_driver", marks=pytest.mark.neo4j_driver)], indirect=True
)


def _run(project: Project, flow_id: str | None, **fields: object) -> TestRun:
    values: dict[str, object] = {
        "project_id": project.id,
        "flow_id": flow_id,
        "status": "passed",
        "duration_ms": 1200,
        "runner": "pytest",
        "commit_sha": "abc1234",
        "triggered_by": "ci",
        "created_at": 1_000,
        "tests": [TestCase(id="tests/test_cart.py::test_add", name="test_add", status="passed", flow_ids=[])],
        "artifacts": ["runs/1/shot.png"],
    }
    values.update(fields)
    return TestRun.model_validate(values)


def _tests_edges(graph: CypherFlowGraph, project_id: str) -> list[tuple[str, str]]:
    rows = graph._read(
        "MATCH (r:TestRun {projectId: $projectId})-[:TESTS]->(f:Flow) RETURN r.id AS run, f.id AS flow ORDER BY run",
        {"projectId": project_id},
    )
    return [(row["run"], row["flow"]) for row in rows]


@BOTH_ADAPTERS
def test_recorded_runs_read_back_whole_and_link_their_flow(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    (checkout,) = graph.upsert_flows(project.id, [flow(project, "Checkout")])
    run = _run(project, checkout.id, retries=2, flaky=True, failure_message="first try timed out", pr_number=7)

    stored = graph.record_test_runs(project.id, [run])

    assert stored == [run]
    assert graph.list_test_runs(project.id) == [run]
    assert _tests_edges(graph, project.id) == [(run.id, checkout.id)]


def test_runs_filter_by_flow_commit_suite_and_time_newest_first(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    a, b = graph.upsert_flows(project.id, [flow(project, "A"), flow(project, "B")])
    runs = [
        _run(project, a.id, created_at=1_000, commit_sha="aaa1111", suite_id="s1"),
        _run(project, a.id, created_at=2_000, commit_sha="bbb2222", suite_id="s2", status="failed"),
        _run(project, b.id, created_at=3_000, commit_sha="bbb2222", suite_id="s2"),
    ]
    graph.record_test_runs(project.id, runs)

    assert [r.created_at for r in graph.list_test_runs(project.id)] == [3_000, 2_000, 1_000]
    assert [r.id for r in graph.list_test_runs(project.id, flow_id=a.id)] == [runs[1].id, runs[0].id]
    assert [r.id for r in graph.list_test_runs(project.id, commit_sha="bbb2222")] == [runs[2].id, runs[1].id]
    assert [r.id for r in graph.list_test_runs(project.id, suite_id="s1")] == [runs[0].id]
    assert [r.id for r in graph.list_test_runs(project.id, since=2_000, limit=1)] == [runs[2].id]
    latest = graph.latest_test_runs(project.id)
    assert {k: v.id for k, v in latest.items()} == {a.id: runs[1].id, b.id: runs[2].id}


def test_recording_a_run_again_replaces_it_and_its_flow_link(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    a, b = graph.upsert_flows(project.id, [flow(project, "A"), flow(project, "B")])
    run = _run(project, a.id, status="running")
    graph.record_test_runs(project.id, [run])

    done = run.model_copy(update={"status": "failed", "flow_id": b.id, "failure_message": "boom"})
    graph.record_test_runs(project.id, [done])

    assert graph.list_test_runs(project.id) == [done]
    assert _tests_edges(graph, project.id) == [(run.id, b.id)]


def test_a_run_of_a_flow_the_project_lacks_is_kept_without_flow(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    run = _run(project, "no-such-flow")

    stored = graph.record_test_runs(project.id, [run])

    assert stored[0].flow_id is None
    assert graph.list_test_runs(project.id)[0].flow_id is None
    assert graph.latest_test_runs(project.id) == {}


def test_runs_need_an_existing_project_and_their_own(graph: CypherFlowGraph) -> None:
    ghost = Project(id=f"p-{uuid.uuid4().hex[:12]}", name="Ghost")
    with pytest.raises(ProjectNotFoundError):
        graph.record_test_runs(ghost.id, [_run(ghost, None)])
    project = new_project(graph)
    with pytest.raises(ValidationFailed):
        graph.record_test_runs(project.id, [_run(ghost, None)])
    assert graph.list_test_runs(project.id) == []


def test_coverage_scores_set_and_clear(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    a, b = graph.upsert_flows(project.id, [flow(project, "A"), flow(project, "B", coverage_score=0.5)])
    graph.clock.now = 5_000  # type: ignore[attr-defined]

    assert graph.set_coverage_scores(project.id, {a.id: 0.75, b.id: None, "missing": 1.0}) == 2

    got = {f.id: f for f in graph.list_flows(project.id)}
    assert got[a.id].coverage_score == 0.75 and got[a.id].updated_at == 5_000
    assert got[b.id].coverage_score is None


@BOTH_ADAPTERS
def test_predictions_are_validated_by_the_outcome_at_their_commit(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    a, b, c = graph.upsert_flows(project.id, [flow(project, "A"), flow(project, "B"), flow(project, "C")])
    made = [
        Prediction(project_id=project.id, flow_id=a.id, analysis_id="an1", affected=True, probability=0.8,
                   confidence=0.9, commit_sha="head111", created_at=10),
        Prediction(project_id=project.id, flow_id=b.id, analysis_id="an1", affected=False, probability=0.0,
                   confidence=1.0, commit_sha="head111", created_at=10),
        Prediction(project_id=project.id, flow_id=c.id, analysis_id="an1", affected=True, probability=0.4,
                   confidence=0.5, commit_sha="head111", created_at=10),
        Prediction(project_id=project.id, flow_id=a.id, analysis_id="an0", affected=True, probability=0.3,
                   confidence=0.5, commit_sha="old0000", created_at=5),
    ]  # fmt: skip
    assert graph.record_predictions(project.id, made) == 4

    validated = graph.validate_predictions(
        project.id, [(a.id, "head111", "failed"), (b.id, "head111", "failed"), (c.id, "head111", "error")],
        validated_at=99,
    )  # fmt: skip

    assert validated == 3
    by_flow = {p.flow_id: p for p in graph.list_predictions(project.id, analysis_id="an1")}
    assert (by_flow[a.id].actual_result, by_flow[a.id].prediction_correct) == ("failed", True)
    assert (by_flow[b.id].actual_result, by_flow[b.id].prediction_correct) == ("failed", False)
    assert (by_flow[c.id].actual_result, by_flow[c.id].prediction_correct) == ("error", None)
    assert by_flow[a.id].validated_at == 99
    assert {p.analysis_id for p in graph.list_predictions(project.id, validated_only=True)} == {"an1"}
    # a later outcome at the same commit does not overwrite the first
    assert graph.validate_predictions(project.id, [(a.id, "head111", "passed")]) == 0
    assert graph.list_predictions(project.id, analysis_id="an1", limit=10)[0].actual_result is not None


def test_another_project_cannot_read_or_change_runs_and_predictions(graph: CypherFlowGraph) -> None:
    a, b = new_project(graph, "Same"), new_project(graph, "Same")
    (a_flow,) = graph.upsert_flows(a.id, [flow(a, "Checkout")])
    (b_flow,) = graph.upsert_flows(b.id, [flow(b, "Checkout")])
    b_run = _run(b, b_flow.id, commit_sha="shared1")
    graph.record_test_runs(b.id, [b_run])
    b_pred = Prediction(project_id=b.id, flow_id=b_flow.id, probability=0.5, confidence=0.5, commit_sha="shared1")
    graph.record_predictions(b.id, [b_pred])
    before = json.dumps([r.model_dump() for r in graph.list_test_runs(b.id)]) + json.dumps(
        [p.model_dump() for p in graph.list_predictions(b.id)]
    )

    # A sees none of B's records, even by B's ids and shared commit.
    assert graph.list_test_runs(a.id) == [] and graph.list_test_runs(a.id, flow_id=b_flow.id) == []
    assert graph.latest_test_runs(a.id) == {}
    assert graph.list_predictions(a.id) == []
    # A's writes that name B's ids change nothing of B's and link nothing of B's.
    with pytest.raises(ConflictError):
        graph.record_test_runs(a.id, [b_run.model_copy(update={"project_id": a.id, "status": "failed"})])
    with pytest.raises(ConflictError):
        graph.record_predictions(a.id, [b_pred.model_copy(update={"project_id": a.id})])
    assert graph.set_coverage_scores(a.id, {b_flow.id: 0.1}) == 0
    assert graph.validate_predictions(a.id, [(b_flow.id, "shared1", "failed")]) == 0
    mine = graph.record_test_runs(a.id, [_run(a, b_flow.id)])
    assert mine[0].flow_id is None and _tests_edges(graph, a.id) == []
    graph.record_test_runs(a.id, [_run(a, a_flow.id)])

    after = json.dumps([r.model_dump() for r in graph.list_test_runs(b.id)]) + json.dumps(
        [p.model_dump() for p in graph.list_predictions(b.id)]
    )
    assert after == before
    b_view = graph.get_flow(b.id, b_flow.id)
    assert b_view is not None and b_view.coverage_score is None
    # deleting A's project takes its runs and predictions, not B's
    graph.delete_project(a.id)
    assert len(graph.list_test_runs(b.id)) == 1 and len(graph.list_predictions(b.id)) == 1
