"""The coordinator's domain service: record test results, run flows in a browser, check predictions.

Everything it needs comes through its constructor (ports only): the flow graph, the event bus, a synthetic
runner, an artifact store (the cloud's, for screenshots), a clock. The CLI (`ci test`, `ci report`, `flows run`,
`flows tests`, `analyze predictions`), the `/coordinator/…` routes and the `RunTests` state machine's task call it;
none of them records or publishes anything itself.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from perceo.bus.port import EventBus
from perceo.coordinator.artifacts import ArtifactStore, upload_artifacts
from perceo.coordinator.junit import parse_junit
from perceo.coordinator.model import (
    FlowRunResult,
    Selection,
    SuiteReport,
    SyntheticReport,
    Totals,
    outcome_status,
)
from perceo.coordinator.observation import ObservationReport, observe
from perceo.coordinator.outcomes import (
    FlakyReport,
    RunContext,
    flaky_from_history,
    flow_outcomes,
    run_from_synthetic,
    runs_from_report,
)
from perceo.coordinator.playwright_report import parse_playwright_json
from perceo.coordinator.predictions import (
    PredictionQuality,
    affected_predictions,
    prediction_quality,
    unaffected_prediction,
)
from perceo.coordinator.synthetic import SyntheticRunner
from perceo.errors import FlowNotFoundError, ValidationFailed
from perceo.graph.port import FlowGraph
from perceo.models import ChangeAnalysis, EventType, FlowView, PerceoEvent, TestRun, new_id, now_ms
from perceo.models.vocab import TestOutcome

log = logging.getLogger(__name__)

ReportFormat = Literal["junit", "playwright-json"]
#: Flows listed in one `coordinator.tests.completed` event (the rest are counted).
MAX_FLOWS_IN_EVENT = 100
#: History read for flaky tests and prediction quality, by default (90 days).
DEFAULT_HISTORY_MS = 90 * 24 * 3600 * 1000
#: Recent analyses searched for the one of a run's commit (CI tests right after it analyses).
ANALYSES_SEARCHED = 50


class CoordinatorService:
    def __init__(
        self,
        graph: FlowGraph,
        bus: EventBus | None = None,
        *,
        synthetic: SyntheticRunner | None = None,
        artifacts: ArtifactStore | None = None,
        clock: Callable[[], int] = now_ms,
        new_suite_id: Callable[[], str] = new_id,
    ) -> None:
        self.graph = graph
        self.bus = bus
        self.synthetic = synthetic
        #: Where screenshots outlive the process that took them (the cloud's bundle bucket); None keeps paths.
        self.artifacts = artifacts
        self.clock = clock
        self.new_suite_id = new_suite_id

    # -- test suites (ci test, ci report)

    def tests_started(
        self, project_id: str, suite_id: str, *, runner: str, selection: Selection, flow_ids: Sequence[str], files: int
    ) -> None:
        """Publish `coordinator.tests.started` for an invocation about to run."""
        self._publish(
            project_id,
            EventType.TESTS_STARTED,
            {"suiteId": suite_id, "runner": runner, "selection": selection, "flowIds": list(flow_ids)[:500],
             "files": files},
        )  # fmt: skip

    def record_suite(
        self, project_id: str, report: SuiteReport, context: RunContext, *, coverage: Mapping[str, float] | None = None
    ) -> SuiteReport:
        """Record one TestRun per tested flow, validate the predictions made for those flows at the run's commit,
        set the flows' coverage scores (when given), and publish `coordinator.test.failed` per failed flow and
        `coordinator.tests.completed`. Returns the report with each flow's `testRunId`."""
        completed_at = self.clock()
        runs = self.graph.record_test_runs(
            project_id, runs_from_report(report, project_id, context, completed_at=completed_at)
        )
        run_of = {run.flow_id: run.id for run in runs if run.flow_id}
        flows = [f.model_copy(update={"test_run_id": run_of.get(f.flow_id)}) for f in report.flows]
        recorded = report.model_copy(update={"flows": flows})
        self._validate(project_id, runs, context)
        if coverage:
            self.graph.set_coverage_scores(project_id, dict(coverage))
        for flow in flows:
            if flow.status in ("failed", "error"):
                self._publish(
                    project_id,
                    EventType.TEST_FAILED,
                    {"suiteId": report.id, "testRunId": flow.test_run_id, "flowId": flow.flow_id, "flowName": flow.name,
                     "status": flow.status, "failureMessage": flow.failure_message, "commitSha": context.commit_sha},
                )  # fmt: skip
        self._publish(project_id, EventType.TESTS_COMPLETED, _completed(recorded, context))
        return recorded

    def ingest_report(
        self,
        project_id: str,
        data: bytes,
        fmt: ReportFormat,
        context: RunContext,
        *,
        flows_of: Mapping[str, Sequence[str]],
        source: str = "the uploaded report",
    ) -> SuiteReport:
        """Results produced elsewhere (`ci report --junit FILE`, an upload to the API): parse, map each test to
        flows by its file (`flows_of`: test file -> flow ids, from the mapping), record as `record_suite` does."""
        tests = parse_junit(data, source=source) if fmt == "junit" else parse_playwright_json(data, source=source)
        names = {f.id: f.name for f in self.graph.list_flows(project_id)}
        mapped = [
            t.model_copy(update={"flow_ids": [i for i in _flows_for(t.file, flows_of) if i in names]}) for t in tests
        ]
        used = {i for t in mapped for i in t.flow_ids}
        now = self.clock()
        report = SuiteReport(
            id=self.new_suite_id(),
            runner=fmt,
            selection="report",
            status=outcome_status([t.status for t in mapped]),
            commit_sha=context.commit_sha,
            started_at=now,
            duration_ms=sum(t.duration_ms for t in mapped),
            totals=Totals.of(mapped),
            tests=mapped,
            flows=flow_outcomes(mapped, {i: n for i, n in names.items() if i in used}),
        )
        return self.record_suite(project_id, report, context)

    # -- synthetic runs (flows run, ci test --synthetic, the RunTests Map iteration)

    def run_synthetic_flow(
        self,
        project_id: str,
        flow_id: str,
        base_url: str,
        artifacts_dir: Path,
        context: RunContext,
        *,
        suite_id: str,
        publish_completed: bool = True,
    ) -> FlowRunResult:
        """Run one flow's steps in the browser and record the run (one RunTests iteration; the workflow publishes
        `coordinator.tests.completed` once for all its flows, so it passes `publish_completed=False`)."""
        runner = self._runner()
        flow = self.graph.get_flow(project_id, flow_id)
        if flow is None:
            raise FlowNotFoundError(f"no flow {flow_id} in this project", details={"flowId": flow_id})
        return self._run_one(
            project_id, flow, runner, base_url, artifacts_dir, context, suite_id, publish=publish_completed
        )

    def run_synthetic(
        self,
        project_id: str,
        flow_ids: Sequence[str] | None,
        base_url: str,
        artifacts_dir: Path,
        context: RunContext,
        *,
        on_result: Callable[[FlowRunResult], None] | None = None,
    ) -> SyntheticReport:
        """Run flows (all active flows with steps when `flow_ids` is None) one after the other, record each."""
        runner = self._runner()
        flows = self._flows_to_run(project_id, flow_ids)
        suite_id = self.new_suite_id()
        began = self.clock()
        self.tests_started(
            project_id, suite_id, runner="synthetic", selection="flows" if flow_ids else "all",
            flow_ids=[f.id for f in flows], files=0,
        )  # fmt: skip
        results = []
        for flow in flows:
            result = self._run_one(project_id, flow, runner, base_url, artifacts_dir, context, suite_id, publish=False)
            results.append(result)
            if on_result is not None:
                on_result(result)
        report = SyntheticReport(
            suite_id=suite_id,
            base_url=base_url,
            status=outcome_status([r.status for r in results if r.status in ("passed", "failed", "error", "skipped")]),
            duration_ms=max(0, self.clock() - began),
            flows=results,
        )
        self._publish(
            project_id,
            EventType.TESTS_COMPLETED,
            {"suiteId": suite_id, "runner": "synthetic", "status": report.status, "commitSha": context.commit_sha,
             "flows": [{"flowId": r.flow_id, "status": r.status, "testRunId": r.test_run_id} for r in results][
                 :MAX_FLOWS_IN_EVENT]},
        )  # fmt: skip
        return report

    def _flows_to_run(self, project_id: str, flow_ids: Sequence[str] | None) -> list[FlowView]:
        if flow_ids is None:
            return [f for f in self.graph.list_flows(project_id, include_steps=True) if f.is_active and f.steps]
        flows = []
        missing = []
        for flow_id in dict.fromkeys(flow_ids):
            flow = self.graph.get_flow(project_id, flow_id)
            if flow is None:
                missing.append(flow_id)
            else:
                flows.append(flow)
        if missing:
            raise FlowNotFoundError(f"no flow {', '.join(missing)} in this project", details={"flowIds": missing})
        return flows

    def _run_one(
        self,
        project_id: str,
        flow: FlowView,
        runner: SyntheticRunner,
        base_url: str,
        artifacts_dir: Path,
        context: RunContext,
        suite_id: str,
        *,
        publish: bool = True,
    ) -> FlowRunResult:
        if not flow.steps:
            raise ValidationFailed(
                f"flow {flow.name!r} has no steps to run: run perceo init to extract them, or add them",
                details={"flowId": flow.id},
            )
        started = self.clock()
        result = runner.run_flow(flow, base_url, artifacts_dir)
        if self.artifacts is not None:
            result = upload_artifacts(self.artifacts, project_id, suite_id, result)
        return self._record_flow_result(project_id, result, context, suite_id, started, publish=publish)

    def record_synthetic(self, project_id: str, report: SyntheticReport, context: RunContext) -> SyntheticReport:
        """Record flows run in a browser elsewhere (the CLI's `flows run` against the API): one TestRun per flow,
        `coordinator.test.failed` per failed flow and one `coordinator.tests.completed`. Returns the report with
        each flow's `testRunId`."""
        now = self.clock()
        flows = [
            self._record_flow_result(
                project_id, result, context, report.suite_id, max(0, now - result.duration_ms), publish=False
            )
            for result in report.flows
        ]
        self._publish(
            project_id,
            EventType.TESTS_COMPLETED,
            {"suiteId": report.suite_id, "runner": "synthetic", "status": report.status,
             "commitSha": context.commit_sha,
             "flows": [{"flowId": r.flow_id, "status": r.status, "testRunId": r.test_run_id} for r in flows][
                 :MAX_FLOWS_IN_EVENT]},
        )  # fmt: skip
        return report.model_copy(update={"flows": flows})

    def _record_flow_result(
        self,
        project_id: str,
        result: FlowRunResult,
        context: RunContext,
        suite_id: str,
        started: int,
        *,
        publish: bool,
    ) -> FlowRunResult:
        run = run_from_synthetic(result, project_id, suite_id, context, started_at=started)
        (stored,) = self.graph.record_test_runs(project_id, [run])
        result = result.model_copy(update={"test_run_id": stored.id})
        self._validate(project_id, [stored], context)
        if result.status in ("failed", "error"):
            self._publish(
                project_id,
                EventType.TEST_FAILED,
                {"suiteId": suite_id, "testRunId": stored.id, "flowId": result.flow_id, "flowName": result.name,
                 "status": result.status, "failureMessage": result.failure_message,
                 "failedStepId": result.failed_step_id, "commitSha": context.commit_sha},
            )  # fmt: skip
        if publish:
            self._publish(
                project_id,
                EventType.TESTS_COMPLETED,
                {"suiteId": suite_id, "runner": "synthetic", "status": result.status, "commitSha": context.commit_sha,
                 "flows": [{"flowId": result.flow_id, "status": result.status, "testRunId": stored.id}]},
            )  # fmt: skip
        return result

    def _runner(self) -> SyntheticRunner:
        if self.synthetic is None:
            raise ValidationFailed("this deployment has no browser for synthetic runs")
        return self.synthetic

    # -- history: results, flaky tests, predictions

    def results(
        self,
        project_id: str,
        *,
        flow_id: str | None = None,
        commit_sha: str | None = None,
        suite_id: str | None = None,
        limit: int = 100,
    ) -> list[TestRun]:
        """The project's recorded runs, newest first, by flow, commit or invocation (a RunTests run's id)."""
        return self.graph.list_test_runs(
            project_id, flow_id=flow_id, commit_sha=commit_sha, suite_id=suite_id, limit=limit
        )

    def latest_results(self, project_id: str) -> dict[str, TestRun]:
        """The newest run of each tested flow."""
        return self.graph.latest_test_runs(project_id)

    def flaky_tests(self, project_id: str, *, since: int | None = None, limit: int = 5000) -> FlakyReport:
        """Tests that passed and failed on the same commit (or passed on a retry) in the recorded runs."""
        start = self.clock() - DEFAULT_HISTORY_MS if since is None else since
        return flaky_from_history(self.graph.list_test_runs(project_id, since=max(0, start), limit=limit))

    def record_predictions(self, analysis: ChangeAnalysis, *, pr_number: int | None = None) -> int:
        """The analysis's predictions at its head commit: one per flow it names (affected). Flows it does not name
        get their "not affected" prediction when a run of them at that commit is recorded (`_validate`).

        A prediction's id is derived from (project, flow, commit), so analysing a commit again (a CI retry) replaces
        its predictions instead of counting them twice."""
        made = affected_predictions(analysis, pr_number=pr_number, created_at=self.clock())
        keyed = [p.model_copy(update={"id": _prediction_id(p.project_id, p.flow_id, p.commit_sha)}) for p in made]
        return self.graph.record_predictions(analysis.project_id, keyed)

    def prediction_quality(self, project_id: str, *, since: int | None = None) -> PredictionQuality:
        """Precision/recall of `affected` vs failed, Brier score and reliability table over validated predictions."""
        start = self.clock() - DEFAULT_HISTORY_MS if since is None else since
        validated = self.graph.list_predictions(project_id, validated_only=True, since=max(0, start), limit=5000)
        return prediction_quality(validated)

    @staticmethod
    def observe(
        full: SuiteReport, selected_files: Sequence[str], selected_flows: Sequence[str], names: Mapping[str, str]
    ) -> ObservationReport:
        """Observation mode: what the selection would have caught and saved, over a full run."""
        return observe(full, selected_files, selected_flows, names)

    # -- helpers

    def _validate(self, project_id: str, runs: Sequence[TestRun], context: RunContext) -> None:
        if not context.commit_sha:
            return
        outcomes: dict[str, TestOutcome] = {}
        for run in runs:
            if run.flow_id and run.status in ("passed", "failed", "error", "skipped"):
                outcomes[run.flow_id] = run.status
        if not outcomes:
            return
        now = self.clock()
        rows = [(flow_id, context.commit_sha, status) for flow_id, status in outcomes.items()]
        self.graph.validate_predictions(project_id, rows, validated_at=now)
        analysis = self._analysis_at(project_id, context.commit_sha)
        if analysis is None:
            return
        # Flows the analysis did not name: their "not affected" prediction, checked by this run (the first run at
        # the commit decides, as for the affected ones).
        have = {p.flow_id for p in self.graph.list_predictions(project_id, analysis_id=analysis.id, limit=5000)}
        negatives = [
            unaffected_prediction(analysis, flow_id, status, validated_at=now).model_copy(
                update={"id": _prediction_id(project_id, flow_id, analysis.head_sha)}
            )
            for flow_id, status in outcomes.items()
            if flow_id not in have
        ]
        if negatives:
            self.graph.record_predictions(project_id, negatives)

    def _analysis_at(self, project_id: str, commit_sha: str) -> ChangeAnalysis | None:
        """The newest recent analysis whose head is this commit."""
        for analysis in self.graph.list_analyses(project_id, limit=ANALYSES_SEARCHED):
            if analysis.head_sha == commit_sha:
                return analysis
        return None

    def _publish(self, project_id: str, event_type: EventType, data: dict[str, object]) -> None:
        if self.bus is None:
            return
        self.bus.publish(PerceoEvent(type=event_type, source="coordinator", project_id=project_id, data=data))


def _prediction_id(project_id: str, flow_id: str, commit_sha: str | None) -> str:
    key = f"{project_id}\0{flow_id}\0{commit_sha or ''}".encode()
    return "pr-" + hashlib.sha256(key).hexdigest()[:40]


def _flows_for(file: str | None, flows_of: Mapping[str, Sequence[str]]) -> Sequence[str]:
    if not file:
        return ()
    if file in flows_of:
        return flows_of[file]
    for candidate, ids in flows_of.items():
        if candidate.endswith("/" + file) or file.endswith("/" + candidate):
            return ids
    return ()


def _completed(report: SuiteReport, context: RunContext) -> dict[str, object]:
    return {
        "suiteId": report.id,
        "runner": report.runner,
        "selection": report.selection,
        "status": report.status,
        "commitSha": context.commit_sha,
        "totals": report.totals.model_dump(mode="json"),
        "durationMs": report.duration_ms,
        "flows": [
            {"flowId": f.flow_id, "status": f.status, "testRunId": f.test_run_id, "flaky": f.flaky}
            for f in report.flows[:MAX_FLOWS_IN_EVENT]
        ],
    }


def artifact_link(store: ArtifactStore, project_id: str, key: str) -> str | None:
    """A short-lived link to one of the project's stored screenshots; None for a key outside the project or
    an object that does not exist (both answer 404: another project's keys are not revealed)."""
    from perceo.coordinator.artifacts import LINK_SECONDS, is_project_artifact

    if not is_project_artifact(project_id, key):
        return None
    return store.presigned_url(key, LINK_SECONDS)
