"""CoordinatorService on the real FalkorDB graph and the in-memory bus: suites recorded per flow, uploads,
predictions validated by outcomes, flaky tests from history, and synthetic runs in real Chromium."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from perceo.bus.memory import InMemoryBus
from perceo.coordinator.browser import PlaywrightSyntheticRunner
from perceo.coordinator.model import SuiteReport, Totals
from perceo.coordinator.outcomes import RunContext, flow_outcomes
from perceo.coordinator.service import CoordinatorService
from perceo.errors import FlowNotFoundError, InvalidReportError
from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import (
    ChangeAnalysis,
    EventType,
    ExpectedState,
    Flow,
    ImpactedFlow,
    Project,
    Step,
    StepAction,
    TestCase,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        self.now += 1
        return self.now


def _project(graph: FalkorFlowGraph) -> tuple[Project, Flow, Flow]:
    project = graph.create_project(Project(id=f"p-{uuid.uuid4().hex[:10]}", name="Shop"))
    checkout, browse = graph.upsert_flows(
        project.id, [Flow(project_id=project.id, name="Checkout"), Flow(project_id=project.id, name="Browse")]
    )
    return project, checkout, browse


def _suite(checkout: Flow, browse: Flow, *, cart_passes: bool, suite_id: str) -> SuiteReport:
    tests = [
        TestCase(id="tests/test_cart.py::test_add", name="test_add", file="tests/test_cart.py",
                 status="passed" if cart_passes else "failed", message=None if cart_passes else "assert 0",
                 flow_ids=[checkout.id]),
        TestCase(id="tests/test_home.py::test_home", name="test_home", file="tests/test_home.py", status="passed",
                 flow_ids=[browse.id]),
    ]  # fmt: skip
    names = {checkout.id: checkout.name, browse.id: browse.name}
    return SuiteReport(
        id=suite_id,
        runner="pytest",
        status="passed" if cart_passes else "failed",
        tests=tests,
        totals=Totals.of(tests),
        flows=flow_outcomes(tests, names),
    )


def test_a_suite_is_recorded_per_flow_with_events_and_validated_predictions(flow_graph: FalkorFlowGraph) -> None:
    project, checkout, browse = _project(flow_graph)
    bus = InMemoryBus()
    service = CoordinatorService(flow_graph, bus, clock=Clock())
    analysis = ChangeAnalysis(
        project_id=project.id, base_sha="base000", head_sha="head111",
        flows=[ImpactedFlow(id=checkout.id, name="Checkout", risk_score=0.9, confidence=0.8)],
    )  # fmt: skip
    flow_graph.record_analysis(analysis)
    # stored at once: the affected flow's prediction; Browse's "not affected" one comes with its run at the commit
    assert service.record_predictions(analysis) == 1

    recorded = service.record_suite(
        project.id,
        _suite(checkout, browse, cart_passes=False, suite_id="suite-1"),
        RunContext(triggered_by="ci", commit_sha="head111"),
        coverage={checkout.id: 1.0, browse.id: 0.5},
    )

    runs = {r.flow_id: r for r in flow_graph.list_test_runs(project.id)}
    assert runs[checkout.id].status == "failed" and runs[browse.id].status == "passed"
    assert runs[checkout.id].failure_message == "test_add: assert 0"
    assert runs[checkout.id].triggered_by == "ci" and runs[checkout.id].suite_id == "suite-1"
    assert {f.flow_id: f.test_run_id for f in recorded.flows} == {k: v.id for k, v in runs.items()}
    events = [e.type for _, e in bus.replay(project.id)]
    assert events == [EventType.TEST_FAILED, EventType.TESTS_COMPLETED]
    assert bus.replay(project.id)[0][1].data["flowId"] == checkout.id
    quality = service.prediction_quality(project.id, since=0)
    assert (quality.true_positives, quality.true_negatives, quality.precision, quality.recall) == (1, 1, 1.0, 1.0)
    assert quality.brier_score == pytest.approx(((0.9 - 1) ** 2 + 0) / 2, abs=1e-4)
    coverage = {f.id: f.coverage_score for f in flow_graph.list_flows(project.id)}
    assert coverage == {checkout.id: 1.0, browse.id: 0.5}
    assert set(service.latest_results(project.id)) == {checkout.id, browse.id}


def test_flaky_tests_are_found_from_history_on_the_same_commit(flow_graph: FalkorFlowGraph) -> None:
    project, checkout, browse = _project(flow_graph)
    service = CoordinatorService(flow_graph, clock=Clock())
    context = RunContext(triggered_by="ci", commit_sha="same123")
    service.record_suite(project.id, _suite(checkout, browse, cart_passes=False, suite_id="s1"), context)
    service.record_suite(project.id, _suite(checkout, browse, cart_passes=True, suite_id="s2"), context)
    other = RunContext(triggered_by="ci", commit_sha="fixed456")
    service.record_suite(project.id, _suite(checkout, browse, cart_passes=True, suite_id="s3"), other)

    flaky = service.flaky_tests(project.id, since=0)

    assert [t.id for t in flaky.tests] == ["tests/test_cart.py::test_add"]
    assert flaky.tests[0].commits == ["same123"] and flaky.tests[0].flow_ids == [checkout.id]
    assert [(f.flow_id, f.commits) for f in flaky.flows] == [(checkout.id, ["same123"])]


def test_an_uploaded_junit_report_is_mapped_by_file_and_recorded(flow_graph: FalkorFlowGraph) -> None:
    project, checkout, browse = _project(flow_graph)
    service = CoordinatorService(flow_graph, clock=Clock(), new_suite_id=lambda: "upload-1")
    junit = b"""<?xml version="1.0"?>
<testsuites><testsuite name="e2e">
  <testcase classname="cart" name="adds" file="e2e/cart.spec.ts" time="1.5"><failure message="no button"/></testcase>
  <testcase classname="home" name="opens" file="e2e/home.spec.ts" time="0.5"/>
  <testcase classname="misc" name="unmapped" file="e2e/misc.spec.ts" time="0.1"/>
</testsuite></testsuites>"""

    report = service.ingest_report(
        project.id, junit, "junit", RunContext(triggered_by="ci"),
        flows_of={"e2e/cart.spec.ts": [checkout.id], "e2e/home.spec.ts": [browse.id], "e2e/misc.spec.ts": ["nope"]},
    )  # fmt: skip

    assert report.id == "upload-1" and report.selection == "report" and report.totals.total == 3
    assert {f.name: f.status for f in report.flows} == {"Checkout": "failed", "Browse": "passed"}
    assert {r.flow_id for r in flow_graph.list_test_runs(project.id, suite_id="upload-1")} == {checkout.id, browse.id}
    with pytest.raises(InvalidReportError):
        service.ingest_report(project.id, b"<html/>", "junit", RunContext(), flows_of={})


def test_flows_run_in_chromium_are_recorded_and_a_failure_is_published(
    flow_graph: FalkorFlowGraph, chromium: str, shop_url: str, tmp_path: Path
) -> None:
    project, checkout, browse = _project(flow_graph)
    flow_graph.replace_steps(project.id, browse.id, [
        Step(flow_id=browse.id, order=1, name="Open", actions=[StepAction(type="navigate", target="/products")],
             expected_state=ExpectedState(text={"h1": "Products"}), timeout_ms=3000),
    ])  # fmt: skip
    flow_graph.replace_steps(project.id, checkout.id, [
        Step(flow_id=checkout.id, order=1, name="Cart", actions=[StepAction(type="navigate", target="/cart")],
             timeout_ms=3000),
        Step(flow_id=checkout.id, order=2, name="Pay", actions=[StepAction(type="click", target="#pay")],
             timeout_ms=1500),
    ])  # fmt: skip
    bus = InMemoryBus()
    service = CoordinatorService(flow_graph, bus, synthetic=PlaywrightSyntheticRunner(chromium), clock=Clock())
    seen: list[str] = []

    report = service.run_synthetic(
        project.id, None, shop_url, tmp_path, RunContext(triggered_by="manual", commit_sha="abc1234"),
        on_result=lambda r: seen.append(r.name),
    )  # fmt: skip

    assert seen == ["Browse", "Checkout"]
    assert report.status == "failed"
    assert {r.name: r.status for r in report.flows} == {"Browse": "passed", "Checkout": "failed"}
    runs = {r.flow_id: r for r in flow_graph.list_test_runs(project.id, suite_id=report.suite_id)}
    failed = runs[checkout.id]
    assert failed.runner == "synthetic" and failed.failed_step_id is not None
    assert failed.artifacts and failed.artifacts[0].endswith("step-2-failure.png")
    assert [t.status for t in failed.tests] == ["passed", "failed"]
    kinds = [e.type for _, e in bus.replay(project.id)]
    assert kinds == [EventType.TESTS_STARTED, EventType.TEST_FAILED, EventType.TESTS_COMPLETED]
    with pytest.raises(FlowNotFoundError):
        service.run_synthetic_flow(project.id, "missing", shop_url, tmp_path, RunContext(), suite_id="x")
