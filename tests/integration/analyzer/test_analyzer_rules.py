"""The analyzer on the real graph (FalkorDB): flows, 70 days of metrics, test runs and change analyses in; every
rule's insight out, with evidence; re-running never duplicates; events published; projects kept apart."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from analyzer_kit import TODAY, Clock, build_shop

from perceo.analyzer.insights import Analyzer
from perceo.bus.memory import InMemoryBus
from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import ChangeAnalysis, EventType, Flow, ImpactedFlow, Prediction, Project


@pytest.fixture
def bus() -> InMemoryBus:
    return InMemoryBus()


@pytest.fixture
def analyzer(graph: FalkorFlowGraph, bus: InMemoryBus, clock: Clock) -> Analyzer:
    return Analyzer(graph, graph, bus=bus, clock=clock)


def test_every_rule_speaks_with_evidence_on_a_shop_that_supports_it(graph: FalkorFlowGraph, analyzer: Analyzer) -> None:
    shop = build_shop(graph)
    checkout, search, signup, profile = (shop.flows[n] for n in ("Checkout", "Search", "Signup", "Profile"))

    run = analyzer.run(shop.project.id, today=TODAY)

    subjects = {i.subject: i for i in run.insights}
    assert {i.type for i in run.insights} == {
        "discrepancy", "coverage-gap", "ux-issue", "performance", "regression", "prediction",
    }  # fmt: skip
    assert run.created == len(run.insights) and run.updated == 0
    assert all(i.status == "open" and i.title and i.message and i.suggested_action for i in run.insights)

    discrepancy = subjects[f"discrepancy:{checkout.id}:tests-pass-production-fails"]
    assert discrepancy.severity == "critical"
    assert discrepancy.evidence["tests"]["passed"] == discrepancy.evidence["tests"]["runs"] >= 1
    assert discrepancy.evidence["production"]["change"] < -0.2  # 2 of the 3 recent days 40% down
    assert min(a["change"] for a in discrepancy.evidence["anomalies"]) < -0.3

    regression = subjects[f"regression:{checkout.id}:production"]
    assert regression.evidence["commit"] == "a" * 40  # analysed the day before the drop, touching Checkout
    assert "a" * 12 in regression.title

    gap = subjects[f"coverage-gap:{search.id}:no-test"]
    assert gap.evidence["users"]["perDay"] >= 900 and gap.evidence["runs"]["count"] == 0
    assert f"coverage-gap:{profile.id}:no-test" not in subjects  # 30 users a day: under the threshold

    perf = subjects[f"performance:{search.id}:duration"]
    assert perf.evidence["anomalies"][0]["change"] > 1.0 and perf.evidence["anomalies"][0]["at"] == TODAY

    dropoff = subjects[f"ux-issue:{signup.id}:drop-off:3"]
    assert dropoff.evidence["step"] == {"order": 3, "name": "Confirm email"}
    slower = subjects[f"ux-issue:{signup.id}:step-time:2"]
    assert slower.evidence["medianMs"]["growth"] > 1.0 and slower.evidence["step"]["name"] == "Fill the form"

    tests_regression = subjects[f"regression:{profile.id}:tests:{'b' * 40}"]
    assert tests_regression.evidence["lastPassingRun"]["commit"] == "1" * 40
    assert tests_regression.evidence["failingRuns"] == 2

    prediction = subjects[f"prediction:{checkout.id}:{'c' * 16}"]
    assert 0.5 <= prediction.evidence["probability"] < 1 and prediction.evidence["model"] == "heuristic"
    assert prediction.severity in ("high", "critical")
    assert not [i for i in run.insights if i.type == "prediction" and i.flow_id != checkout.id]


def test_running_again_updates_the_same_insights_and_publishes_nothing_new(
    graph: FalkorFlowGraph, analyzer: Analyzer, bus: InMemoryBus, clock: Clock
) -> None:
    shop = build_shop(graph)
    first = analyzer.run(shop.project.id, today=TODAY)
    generated = [e for _, e in bus.replay(shop.project.id, count=1000) if e.type == EventType.INSIGHT_GENERATED]
    clock.now += 60_000

    again = analyzer.run(shop.project.id, today=TODAY)

    assert again.created == 0 and again.updated == len(first.insights)
    assert sorted(i.id for i in again.insights) == sorted(i.id for i in first.insights)
    assert len(analyzer.insights(shop.project.id)) == len(first.insights)
    assert len(generated) == first.created
    after = [e for _, e in bus.replay(shop.project.id, count=1000) if e.type == EventType.INSIGHT_GENERATED]
    assert len(after) == len(generated)
    anomalies = [e for _, e in bus.replay(shop.project.id, count=1000) if e.type == EventType.ANOMALY_DETECTED]
    assert anomalies and all(e.source == "analyzer" for e in anomalies)


def test_acknowledged_insights_stay_acknowledged_when_found_again(graph: FalkorFlowGraph, analyzer: Analyzer) -> None:
    shop = build_shop(graph)
    first = analyzer.run(shop.project.id, today=TODAY)
    target = first.insights[0]

    analyzer.acknowledge(shop.project.id, target.id[:8])
    analyzer.run(shop.project.id, today=TODAY)

    assert graph.find_insight(shop.project.id, target.id).status == "acknowledged"
    assert [i.id for i in analyzer.insights(shop.project.id, statuses=["acknowledged"])] == [target.id]


def test_insights_sort_most_severe_first_and_filter_by_type_and_severity(
    graph: FalkorFlowGraph, analyzer: Analyzer
) -> None:
    shop = build_shop(graph)
    analyzer.run(shop.project.id, today=TODAY)

    everything = analyzer.insights(shop.project.id)
    ranks = ["critical", "high", "medium", "low", "info"]
    assert [ranks.index(i.severity) for i in everything] == sorted(ranks.index(i.severity) for i in everything)
    assert {i.type for i in analyzer.insights(shop.project.id, types=["ux-issue"])} == {"ux-issue"}
    assert all(i.severity in ("critical", "high") for i in analyzer.insights(shop.project.id, min_severity="high"))


def test_coverage_ranks_untested_flows_by_users_at_risk(graph: FalkorFlowGraph, analyzer: Analyzer) -> None:
    shop = build_shop(graph)

    report = analyzer.coverage(shop.project.id, today=TODAY)

    names = [row.name for row in report.flows]
    assert names[:2] == ["Search", "Signup"]  # untested, busiest first
    rows = {row.name: row for row in report.flows}
    assert rows["Checkout"].covered and rows["Checkout"].pass_rate == 1.0 and rows["Checkout"].users_at_risk == 0
    assert rows["Profile"].covered and rows["Profile"].last_run_status == "failed"
    assert report.uncovered == 2 and report.users_at_risk == rows["Search"].users_at_risk + rows["Signup"].users_at_risk


def test_another_project_sees_none_of_the_insights(graph: FalkorFlowGraph, analyzer: Analyzer) -> None:
    shop = build_shop(graph)
    other = build_shop(graph, seed=12)
    analyzer.run(shop.project.id, today=TODAY)

    assert analyzer.insights(other.project.id) == []
    assert analyzer.coverage(other.project.id, today=TODAY).flows[0].flow_id in {f.id for f in other.flows.values()}


def test_running_before_any_change_analysis_leaves_later_analyses_whole(
    graph: FalkorFlowGraph, analyzer: Analyzer
) -> None:
    """FalkorDB caches query plans: reading analyses before any AFFECTS edge existed once made every later read of
    them lose their flows (the schema bootstrap now registers every relationship type)."""
    project = graph.create_project(Project(id=f"p-{uuid.uuid4().hex[:10]}", name="Fresh"))
    (flow,) = graph.upsert_flows(project.id, [Flow(project_id=project.id, name="Checkout")])
    analyzer.run(project.id, today=TODAY)  # reads the (no) analyses first
    impacted = ImpactedFlow(id=flow.id, name="Checkout", risk_score=0.5, confidence=0.5)
    graph.record_analysis(ChangeAnalysis(project_id=project.id, base_sha="a" * 40, head_sha="b" * 40, flows=[impacted]))

    [analysis] = graph.list_analyses(project.id)

    assert [f.id for f in analysis.flows] == [flow.id]


def test_predictions_use_the_model_fitted_on_the_projects_outcomes(graph: FalkorFlowGraph, analyzer: Analyzer) -> None:
    shop = build_shop(graph)
    checkout = shop.flows["Checkout"]
    rng = np.random.default_rng(3)
    outcomes = []
    for i in range(120):  # past changes of Checkout: the risky ones broke it
        risk = float(rng.uniform(0, 1))
        failed = bool(rng.random() < (0.9 if risk > 0.6 else 0.05))
        outcomes.append(Prediction(project_id=shop.project.id, flow_id=checkout.id, probability=risk, confidence=0.85,
                                   affected=True, commit_sha=f"{i:040x}", created_at=1_000_000 + i,
                                   actual_result="failed" if failed else "passed"))  # fmt: skip
    graph.record_predictions(shop.project.id, outcomes)

    run = analyzer.run(shop.project.id, today=TODAY)

    [prediction] = [i for i in run.insights if i.type == "prediction" and i.evidence["commit"] == "c" * 40]
    calibration = prediction.evidence["calibration"]
    assert prediction.evidence["model"] == "logistic" and calibration["outcomes"] == 120
    assert calibration["brier"] < calibration["heuristicBrier"]
    heuristic = 1 - (1 - 0.6 * 0.9) * (1 - prediction.evidence["features"]["pastFailureRate"])
    assert prediction.evidence["probability"] > max(0.7, heuristic + 0.1)  # risky changes did break Checkout
