"""From test results to flow outcomes and TestRun records, and from a run's history to flaky tests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import Field

from perceo.coordinator.model import FlowOutcome, FlowRunResult, SuiteReport, clip, outcome_status
from perceo.models.common import EntityId, Model
from perceo.models.runs import MAX_TESTS_PER_RUN, TestCase, TestRun
from perceo.models.vocab import TestTrigger


@dataclass(frozen=True)
class RunContext:
    """Where a run comes from: recorded on every TestRun of it."""

    triggered_by: TestTrigger = "manual"
    commit_sha: str | None = None
    branch_name: str | None = None
    pr_number: int | None = None


def flow_outcomes(tests: Sequence[TestCase], names: Mapping[str, str]) -> list[FlowOutcome]:
    """One outcome per flow that has tests among `tests` (by `TestCase.flow_ids`), in `names` order.

    Flows of `names` without any test are left out: they were not tested, which is not the same as passing.
    """
    by_flow: dict[str, list[TestCase]] = defaultdict(list)
    for test in tests:
        for flow_id in test.flow_ids:
            by_flow[flow_id].append(test)
    outcomes = []
    for flow_id, name in names.items():
        cases = by_flow.get(flow_id)
        if not cases:
            continue
        broken = [c for c in cases if c.status in ("failed", "error")]
        outcomes.append(
            FlowOutcome(
                flow_id=flow_id,
                name=name,
                status=outcome_status([c.status for c in cases]),
                tests=len(cases),
                failed=len(broken),
                flaky=any(c.flaky for c in cases),
                retries=sum(c.attempts - 1 for c in cases),
                duration_ms=sum(c.duration_ms for c in cases),
                failure_message=clip(_first_failure(broken)),
            )
        )
    return outcomes


def _first_failure(broken: Sequence[TestCase]) -> str | None:
    if not broken:
        return None
    first = broken[0]
    more = f" (and {len(broken) - 1} more failing test(s))" if len(broken) > 1 else ""
    return f"{first.name}: {first.message or first.status}{more}"


def runs_from_report(report: SuiteReport, project_id: str, context: RunContext, *, completed_at: int) -> list[TestRun]:
    """One TestRun per flow outcome of the report, carrying the flow's tests (at most MAX_TESTS_PER_RUN)."""
    runs = []
    for outcome in report.flows:
        tests = [t for t in report.tests if outcome.flow_id in t.flow_ids][:MAX_TESTS_PER_RUN]
        runs.append(
            TestRun(
                project_id=project_id,
                flow_id=outcome.flow_id,
                suite_id=report.id,
                status=outcome.status,
                duration_ms=outcome.duration_ms,
                retries=outcome.retries,
                flaky=outcome.flaky,
                runner=report.runner,
                failure_message=outcome.failure_message,
                artifacts=list(dict.fromkeys(a for t in tests for a in t.artifacts)),
                tests=tests,
                triggered_by=context.triggered_by,
                commit_sha=context.commit_sha,
                branch_name=context.branch_name,
                pr_number=context.pr_number,
                agent_type="playwright",
                created_at=report.started_at,
                started_at=report.started_at,
                completed_at=completed_at,
            )
        )
    return runs


def run_from_synthetic(
    result: FlowRunResult, project_id: str, suite_id: str, context: RunContext, *, started_at: int
) -> TestRun:
    """The TestRun of one synthetic flow run: its steps become its tests."""
    tests = [
        TestCase(
            id=f"{result.flow_id}::step-{step.order}",
            name=f"{step.order}. {step.name}",
            status=step.status,
            duration_ms=step.duration_ms,
            message=step.message,
            artifacts=step.artifacts,
            flow_ids=[result.flow_id],
        )
        for step in result.steps
    ]
    return TestRun(
        project_id=project_id,
        flow_id=result.flow_id,
        suite_id=suite_id,
        status=result.status,
        duration_ms=result.duration_ms,
        runner="synthetic",
        failure_message=result.failure_message,
        failed_step_id=result.failed_step_id,
        artifacts=result.artifacts,
        tests=tests,
        triggered_by=context.triggered_by,
        commit_sha=context.commit_sha,
        branch_name=context.branch_name,
        pr_number=context.pr_number,
        agent_type="playwright",
        created_at=started_at,
        started_at=started_at,
        completed_at=started_at + result.duration_ms,
    )


class FlakyTest(Model):
    """A test that both passed and failed on one commit, or passed only on a retry."""

    id: str
    name: str
    flow_ids: list[EntityId] = Field(default_factory=list)
    #: Commits on which it both passed and failed (or passed after a failed attempt).
    commits: list[str] = Field(default_factory=list)
    passes: int = 0
    failures: int = 0


class FlakyFlow(Model):
    flow_id: EntityId
    commits: list[str] = Field(default_factory=list)


class FlakyReport(Model):
    tests: list[FlakyTest] = Field(default_factory=list)
    flows: list[FlakyFlow] = Field(default_factory=list)
    runs_read: int = 0


def flaky_from_history(runs: Sequence[TestRun]) -> FlakyReport:
    """Flaky tests and flows in recorded runs: a pass and a failure on the same commit, or a pass on retry.

    Runs without a commit are only read for their retry flags (a pass and a failure on unknown commits may be
    a real fix in between).
    """
    outcomes: dict[tuple[str, str], set[str]] = defaultdict(set)  # (test id, commit) -> statuses
    names: dict[str, TestCase] = {}
    flows_of: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    retried: dict[str, set[str]] = defaultdict(set)
    flow_statuses: dict[tuple[str, str], set[str]] = defaultdict(set)
    for run in runs:
        if run.flow_id and run.commit_sha:
            flow_statuses[(run.flow_id, run.commit_sha)].add(run.status)
        for test in run.tests:
            names.setdefault(test.id, test)
            if run.flow_id:
                flows_of[test.id].add(run.flow_id)
            counts[test.id][0] += test.status == "passed"
            counts[test.id][1] += test.status in ("failed", "error")
            if test.flaky:
                retried[test.id].add(run.commit_sha or "")
            if run.commit_sha:
                outcomes[(test.id, run.commit_sha)].add(test.status)
    commits: dict[str, set[str]] = defaultdict(set)
    for (test_id, sha), statuses in outcomes.items():
        if "passed" in statuses and statuses & {"failed", "error"}:
            commits[test_id].add(sha)
    for test_id, shas in retried.items():
        commits[test_id].update(sha for sha in shas if sha)
        commits.setdefault(test_id, set())
    tests = [
        FlakyTest(
            id=test_id,
            name=names[test_id].name,
            flow_ids=sorted(flows_of[test_id]),
            commits=sorted(shas),
            passes=counts[test_id][0],
            failures=counts[test_id][1],
        )
        for test_id, shas in sorted(commits.items())
    ]
    flaky_flows: dict[str, list[str]] = defaultdict(list)
    for (flow_id, sha), statuses in sorted(flow_statuses.items()):
        if "passed" in statuses and statuses & {"failed", "error"}:
            flaky_flows[flow_id].append(sha)
    flows = [FlakyFlow(flow_id=flow_id, commits=shas) for flow_id, shas in sorted(flaky_flows.items())]
    return FlakyReport(tests=tests, flows=flows, runs_read=len(runs))
