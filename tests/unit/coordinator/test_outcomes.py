"""Flow outcomes, flaky detection, prediction quality and observation mode: pure computations."""

from __future__ import annotations

import pytest

from perceo.coordinator.model import SuiteReport, Totals, outcome_status
from perceo.coordinator.observation import observe
from perceo.coordinator.outcomes import RunContext, flaky_from_history, flow_outcomes, runs_from_report
from perceo.coordinator.predictions import prediction_quality, predictions_from
from perceo.models import ChangeAnalysis, Flow, ImpactedFlow, Prediction, Reason, TestCase, TestRun


def case(test_id: str, status: str, *flows: str, ms: int = 100, **fields: object) -> TestCase:
    return TestCase.model_validate(
        {"id": test_id, "name": test_id, "file": test_id.split("::")[0], "status": status, "duration_ms": ms,
         "flow_ids": list(flows), **fields}
    )  # fmt: skip


def test_a_flow_fails_when_any_of_its_tests_fails_and_untested_flows_are_left_out() -> None:
    tests = [
        case("a.py::t1", "passed", "checkout"),
        case("a.py::t2", "failed", "checkout", "browse", message="boom"),
        case("b.py::t3", "passed", "browse", flaky=True, attempts=2),
        case("c.py::t4", "skipped", "search"),
    ]

    outcomes = flow_outcomes(tests, {"checkout": "Checkout", "browse": "Browse", "search": "Search", "idle": "Idle"})

    assert [(o.name, o.status, o.tests, o.failed, o.flaky, o.retries) for o in outcomes] == [
        ("Checkout", "failed", 2, 1, False, 0),
        ("Browse", "failed", 2, 1, True, 1),
        ("Search", "skipped", 1, 0, False, 0),
    ]
    assert outcomes[0].failure_message == "a.py::t2: boom"
    assert outcome_status(["passed", "error"]) == "error" and outcome_status([]) == "skipped"


def test_each_flow_outcome_becomes_a_test_run_with_its_own_tests() -> None:
    tests = [case("a.py::t1", "passed", "checkout"), case("b.py::t2", "failed", "browse")]
    report = SuiteReport(
        id="suite-9", runner="pytest", status="failed", tests=tests, totals=Totals.of(tests), started_at=5,
        flows=flow_outcomes(tests, {"checkout": "Checkout", "browse": "Browse"}),
    )  # fmt: skip

    runs = runs_from_report(
        report, "p1", RunContext(triggered_by="pr", commit_sha="abc1234", pr_number=3), completed_at=9
    )

    assert [(r.flow_id, r.status, [t.id for t in r.tests]) for r in runs] == [
        ("checkout", "passed", ["a.py::t1"]),
        ("browse", "failed", ["b.py::t2"]),
    ]
    assert all(r.suite_id == "suite-9" and r.pr_number == 3 and r.completed_at == 9 for r in runs)


def _run(commit: str | None, *tests: TestCase, flow: str = "checkout") -> TestRun:
    statuses = [t.status for t in tests]
    return TestRun(project_id="p1", flow_id=flow, commit_sha=commit, tests=list(tests), status=outcome_status(statuses))


def test_flaky_means_pass_and_fail_on_one_commit_or_a_pass_on_retry() -> None:
    history = [
        _run("c1", case("a.py::t1", "failed"), case("a.py::t2", "passed")),
        _run("c1", case("a.py::t1", "passed"), case("a.py::t2", "passed")),
        _run("c2", case("a.py::t2", "failed")),  # failed on c2 only: a real failure, not flakiness
        _run("c3", case("a.py::t3", "passed", flaky=True, attempts=2)),
        _run(None, case("a.py::t2", "passed")),
    ]

    report = flaky_from_history(history)

    assert [(t.id, t.commits, t.passes, t.failures) for t in report.tests] == [
        ("a.py::t1", ["c1"], 1, 1),
        ("a.py::t3", ["c3"], 1, 0),
    ]
    assert [(f.flow_id, f.commits) for f in report.flows] == [("checkout", ["c1"])]
    assert report.runs_read == 5


def test_one_prediction_per_active_flow_with_the_risk_as_probability() -> None:
    flows = [Flow(id="f1", project_id="p", name="A"), Flow(id="f2", project_id="p", name="B"),
             Flow(id="f3", project_id="p", name="C", is_active=False)]  # fmt: skip
    analysis = ChangeAnalysis(
        id="an1", project_id="p", base_sha="b", head_sha="h", created_at=7,
        flows=[ImpactedFlow(id="f1", name="A", risk_score=0.7, confidence=0.6,
                            reasons=[Reason(changed_file="src/cart.ts")])],
    )  # fmt: skip

    made = predictions_from(analysis, flows, pr_number=12)

    assert [(p.flow_id, p.affected, p.probability, p.commit_sha, p.analysis_id) for p in made] == [
        ("f1", True, 0.7, "h", "an1"),
        ("f2", False, 0.0, "h", "an1"),
    ]
    assert made[0].reasoning == "changed: src/cart.ts" and made[0].pr_number == 12


def _pred(affected: bool, probability: float, result: str | None) -> Prediction:
    return Prediction.model_validate(
        {"project_id": "p", "flow_id": "f", "affected": affected, "probability": probability, "confidence": 1.0,
         "actual_result": result}
    )  # fmt: skip


def test_precision_recall_brier_and_reliability_over_decided_outcomes() -> None:
    predictions = [
        _pred(True, 0.9, "failed"),  # TP
        _pred(True, 0.7, "passed"),  # FP
        _pred(False, 0.0, "failed"),  # FN
        _pred(False, 0.0, "passed"),  # TN
        _pred(False, 0.1, "passed"),  # TN
        _pred(True, 0.5, "error"),  # validated, decides nothing
        _pred(True, 0.5, None),  # not validated
    ]

    quality = prediction_quality(predictions)

    assert (quality.predictions, quality.validated, quality.decided) == (7, 6, 5)
    assert (quality.true_positives, quality.false_positives, quality.false_negatives, quality.true_negatives) == (
        1, 1, 1, 2,
    )  # fmt: skip
    assert (quality.precision, quality.recall) == (0.5, 0.5)
    expected_brier = ((0.9 - 1) ** 2 + 0.7**2 + (0 - 1) ** 2 + 0 + 0.1**2) / 5
    assert quality.brier_score == pytest.approx(expected_brier, abs=1e-4)
    buckets = {(b.low, b.high): b for b in quality.reliability}
    assert (buckets[(0.0, 0.2)].count, buckets[(0.0, 0.2)].observed_failure_rate) == (3, pytest.approx(1 / 3, abs=1e-4))
    assert (buckets[(0.8, 1.0)].count, buckets[(0.8, 1.0)].mean_predicted) == (1, 0.9)
    assert buckets[(0.4, 0.6)].count == 0 and buckets[(0.4, 0.6)].mean_predicted is None
    assert prediction_quality([]).precision is None


def test_observation_measures_what_the_selection_would_have_caught_and_saved() -> None:
    tests = [
        case("cart.py::t1", "failed", "checkout", ms=400),
        case("cart.py::t2", "passed", "checkout", ms=100),
        case("home.py::t3", "failed", "browse", ms=300),
        case("misc.py::t4", "failed", ms=200),  # mapped to no flow: no selection can catch it
    ]
    full = SuiteReport(runner="pytest", selection="observe", status="failed", tests=tests, totals=Totals.of(tests))

    report = observe(full, ["cart.py"], ["checkout"], {"checkout": "Checkout", "browse": "Browse"})

    assert (report.full_duration_ms, report.selected_duration_ms, report.saved_duration_ms) == (1000, 500, 500)
    assert report.saved_ratio == 0.5
    assert (report.failures, report.caught, report.recall) == (3, 1, pytest.approx(1 / 3, abs=1e-4))
    assert report.missed == ["home.py::t3", "misc.py::t4"]
    by_flow = {f.name: f for f in report.flows}
    assert (by_flow["Checkout"].selected, by_flow["Checkout"].recall) == (True, 1.0)
    assert (by_flow["Browse"].selected, by_flow["Browse"].recall, by_flow["Browse"].missed) == (
        False, 0.0, ["home.py::t3"],
    )  # fmt: skip
