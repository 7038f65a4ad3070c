"""The insight rules on in-memory snapshots: each speaks at its threshold and stays quiet below it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from perceo.analyzer.anomaly import Anomaly
from perceo.analyzer.rules import (
    Snapshot,
    Thresholds,
    coverage_gaps,
    discrepancies,
    failure_probability,
    predictions,
    regressions,
    ux_issues,
)
from perceo.models import ChangeAnalysis, FlowMetrics, FlowView, ImpactedFlow, TestRun

TODAY = "2026-03-10"
T = Thresholds()


def _day(offset: int) -> str:
    return (dt.date.fromisoformat(TODAY) - dt.timedelta(days=offset)).isoformat()


def _ms(offset: int) -> int:
    return int(dt.datetime.fromisoformat(_day(offset)).replace(tzinfo=dt.UTC).timestamp() * 1000) + 3_600_000


FLOW = FlowView(id="f1", project_id="p", name="Checkout", priority="medium")


def _metrics(days: int = 35, **fields: Any) -> list[FlowMetrics]:
    values: dict[str, Any] = {"sessions": 1000, "completions": 800, "prod_success_rate": 0.8, "prod_daily_users": 900}
    values.update(fields)
    return [FlowMetrics(project_id="p", flow_id="f1", day=_day(n), **values) for n in range(days)]


def _snapshot(**parts: Any) -> Snapshot:
    values: dict[str, Any] = {"flows": [FLOW], "metrics": [], "runs": [], "analyses": [], "anomalies": []}
    values.update(parts)
    return Snapshot("p", TODAY, **values)


def _run(offset: int, status: str, sha: str = "a" * 40) -> TestRun:
    return TestRun(project_id="p", flow_id="f1", status=status, commit_sha=sha, created_at=_ms(offset))  # type: ignore[arg-type]


def _drop(change: float = -0.3, at: str = TODAY, metric: str = "success_rate") -> Anomaly:
    return Anomaly("f1", metric, at, "drop", "down", 0.56, 0.8, -8.0, change, 1000)  # type: ignore[arg-type]


def test_coverage_gap_needs_the_users_and_no_recent_run() -> None:
    busy = _metrics(7)

    assert [i.subject for i in coverage_gaps(_snapshot(metrics=busy), T)] == ["coverage-gap:f1:no-test"]
    assert coverage_gaps(_snapshot(metrics=_metrics(7, prod_daily_users=T.coverage_min_users - 1)), T) == []
    assert coverage_gaps(_snapshot(metrics=busy, runs=[_run(T.stale_run_days - 1, "passed")]), T) == []
    [stale] = coverage_gaps(_snapshot(metrics=busy, runs=[_run(T.stale_run_days + 1, "passed")]), T)
    assert stale.subject == "coverage-gap:f1:stale" and stale.evidence["runs"]["idleDays"] == T.stale_run_days + 1


def test_discrepancy_needs_passing_tests_and_enough_sessions() -> None:
    fell = [m.model_copy(update={"completions": 500, "prod_success_rate": 0.5}) if m.day >= _day(2) else m
            for m in _metrics()]  # fmt: skip
    passing = [_run(1, "passed"), _run(2, "passed")]

    [found] = discrepancies(_snapshot(metrics=fell, runs=passing), T)
    assert found.type == "discrepancy" and found.severity == "critical"  # -37.5%
    assert discrepancies(_snapshot(metrics=fell, runs=[_run(1, "failed"), _run(2, "passed")]), T) == []
    few = [m.model_copy(update={"sessions": 10, "completions": 5}) if m.day >= _day(2) else m for m in fell]
    assert discrepancies(_snapshot(metrics=few, runs=passing), T) == []
    assert discrepancies(_snapshot(metrics=_metrics(), runs=passing), T) == []  # production holds


def test_failing_tests_with_steady_production_point_at_the_test() -> None:
    [found] = discrepancies(_snapshot(metrics=_metrics(), runs=[_run(1, "failed"), _run(2, "failed")]), T)

    assert found.subject == "discrepancy:f1:tests-fail-production-works" and found.severity == "medium"


def test_dropoff_must_be_concentrated_and_large_enough() -> None:
    concentrated = _metrics(7, drop_off={"3": 150, "2": 50})
    spread = _metrics(7, drop_off={"2": 70, "3": 70, "4": 60})

    [found] = ux_issues(_snapshot(metrics=concentrated), T)
    assert found.subject == "ux-issue:f1:drop-off:3" and found.evidence["dropOff"]["shareOfDropOffs"] == 0.75
    assert ux_issues(_snapshot(metrics=spread), T) == []  # no step holds half of the drop-offs
    small = _metrics(7, drop_off={"3": 2})
    assert ux_issues(_snapshot(metrics=small), T) == []


def test_a_step_slowdown_needs_both_the_ratio_and_the_milliseconds() -> None:
    def history(recent_ms: float) -> list[FlowMetrics]:
        return [m.model_copy(update={"step_median_ms": [None, recent_ms if m.day >= _day(6) else 400.0]})
                for m in _metrics()]  # fmt: skip

    assert ux_issues(_snapshot(metrics=history(1200.0)), T) == []  # +200% but only 800 ms
    [found] = ux_issues(_snapshot(metrics=history(1500.0)), T)
    assert found.subject == "ux-issue:f1:step-time:2" and found.severity == "high"


def test_a_test_regression_names_the_first_failing_commit() -> None:
    runs = [_run(5, "passed", "1" * 40), _run(4, "failed", "b" * 40), _run(1, "failed", "c" * 40)]

    [found] = regressions(_snapshot(runs=runs), T)

    assert found.subject == f"regression:f1:tests:{'b' * 40}" and found.evidence["failingRuns"] == 2
    assert regressions(_snapshot(runs=[*runs, _run(0, "passed", "d" * 40)]), T) == []  # fixed
    assert regressions(_snapshot(runs=[_run(2, "failed"), _run(1, "failed")]), T) == []  # never passed


def test_a_production_regression_names_the_change_that_reached_the_flow_first() -> None:
    other = ChangeAnalysis(project_id="p", base_sha="0" * 40, head_sha="e" * 40, created_at=_ms(0) + 1000)
    mine = ChangeAnalysis(project_id="p", base_sha="0" * 40, head_sha="a" * 40, created_at=_ms(1),
                          flows=[ImpactedFlow(id="f1", name="Checkout", risk_score=0.4, confidence=0.9)])  # fmt: skip
    old = ChangeAnalysis(project_id="p", base_sha="0" * 40, head_sha="9" * 40, created_at=_ms(5))

    [found] = regressions(_snapshot(anomalies=[_drop(at=TODAY)], analyses=[other, mine, old]), T)

    assert found.evidence["commit"] == "a" * 40
    assert [c["commit"] for c in found.evidence["commits"]] == ["a" * 40, "e" * 40]  # not the one 5 days before
    assert found.severity == "critical"
    assert regressions(_snapshot(anomalies=[_drop(at=_day(T.recent_days))]), T) == []  # not recent


def test_predictions_skip_changes_already_tested_and_unlikely_failures() -> None:
    risky = ChangeAnalysis(project_id="p", base_sha="0" * 40, head_sha="c" * 40, created_at=_ms(0),
                           flows=[ImpactedFlow(id="f1", name="Checkout", risk_score=0.95, confidence=0.9)])  # fmt: skip
    mild = risky.model_copy(update={"head_sha": "d" * 40, "flows": [
        ImpactedFlow(id="f1", name="Checkout", risk_score=0.3, confidence=0.9)]})  # fmt: skip

    [found] = predictions(_snapshot(analyses=[risky, mild]), T)
    assert found.subject == f"prediction:f1:{'c' * 16}"
    assert found.evidence["probability"] == pytest.approx(1 - (1 - 0.6 * 0.95) * (1 - 0.1), abs=1e-3)
    assert predictions(_snapshot(analyses=[risky], runs=[_run(0, "passed", "c" * 40)]), T) == []


def test_failure_probability_learns_from_the_flows_history() -> None:
    never_fails = [_run(n, "passed") for n in range(30)]
    often_fails = [_run(n, "failed" if n % 2 else "passed") for n in range(30)]

    calm, _ = failure_probability(0.5, never_fails)
    shaky, history = failure_probability(0.5, often_fails)

    assert calm < failure_probability(0.5, [])[0] < shaky
    assert history == pytest.approx((15 + 1) / (30 + 10))
