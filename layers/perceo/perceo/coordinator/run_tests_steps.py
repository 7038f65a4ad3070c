"""The RunTests workflow (Step Functions): flows run step by step in a browser, one Map iteration per flow.

`POST /coordinator/runs` stores the request (flows, base URL, run context) in the bundle store and starts the
execution with ids only. Tasks: `Select flows to run` (the flows, checked: active, with steps, reachable app) →
Map(`Run flow in the browser`, MaxConcurrency = the caller's parallelism) → `Summarize the results` (the
workflow's result, `coordinator.tests.completed`) → `Clean up`; failures are recorded like the other workflows'.

The same `CoordinatorService` records each flow's TestRun as `flows run` does in the CLI, with the workflow id as
the suite id, so `GET /coordinator/runs/{id}` reads the results by suite. Screenshots taken in the task's `/tmp` are
copied to the bundle bucket under `artifacts/{projectId}/{workflowId}/` first and recorded by key
(`GET /coordinator/artifacts?key=…` links to one).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from perceo.coordinator.api_models import RunTestsRequest
from perceo.coordinator.model import outcome_status
from perceo.coordinator.reachability import check_base_url
from perceo.coordinator.service import CoordinatorService
from perceo.coordinator.synthetic import SyntheticRunner
from perceo.errors import FlowNotFoundError, ValidationFailed
from perceo.models import EventType, PerceoEvent
from perceo.models.common import Model
from perceo.models.runs import TestRun
from perceo.models.vocab import TestOutcome
from perceo.workflows.bundle import get_json, put_json, tests_request_key, workflow_prefix
from perceo.workflows.model import StepInput
from perceo.workflows.runtime import StepRuntime

PROGRESS_SELECT = 10
PROGRESS_RUN_BASE = 15
PROGRESS_RUN_SPAN = 75
PROGRESS_SUMMARY = 95


class TestsPlan(Model):
    """The flows one execution runs, in Map order."""

    __test__ = False  # not a pytest test class

    flow_ids: list[str]
    names: list[str]


def _plan_key(step: StepInput) -> str:
    return workflow_prefix(step.project_id, step.workflow_id) + "tests-plan.json"


def _request(step: StepInput, runtime: StepRuntime) -> RunTestsRequest:
    return RunTestsRequest.model_validate(
        get_json(runtime.bundles, tests_request_key(step.project_id, step.workflow_id))
    )


def select(step: StepInput, runtime: StepRuntime) -> dict[str, Any]:
    """The flows to run (the request's, or every active flow with steps): the Map's items. FlowNotFoundError for
    a flow the project does not have, ValidationFailed for one without steps, BaseUrlUnreachableError when the app
    refuses connections: nothing runs then."""
    request = _request(step, runtime)
    graph = runtime.graph
    if request.flow_ids is None:
        flows = [f for f in graph.list_flows(step.project_id, include_steps=True) if f.is_active and f.steps]
    else:
        flows = []
        missing = []
        for flow_id in dict.fromkeys(request.flow_ids):
            flow = graph.get_flow(step.project_id, flow_id)
            if flow is None:
                missing.append(flow_id)
            else:
                flows.append(flow)
        if missing:
            raise FlowNotFoundError(f"no flow {', '.join(missing)} in this project", details={"flowIds": missing})
    without_steps = [f.name for f in flows if not f.steps]
    if without_steps:
        raise ValidationFailed(f"flow(s) without steps to run: {', '.join(without_steps)}")
    check_base_url(request.base_url)
    plan = TestsPlan(flow_ids=[f.id for f in flows], names=[f.name for f in flows])
    put_json(runtime.bundles, _plan_key(step), plan.model_dump(mode="json"))
    runtime.progress.plan_items(step.project_id, step.workflow_id, len(flows))
    runtime.progress.report(
        step.project_id,
        step.workflow_id,
        stage="select",
        percentage=PROGRESS_SELECT,
        message=f"{len(flows)} flow(s) to run against {request.base_url}",
        counts={"flows": len(flows)},
    )
    _publish(
        runtime,
        step.project_id,
        EventType.TESTS_STARTED,
        {"suiteId": step.workflow_id, "runner": "synthetic", "selection": "flows" if request.flow_ids else "all",
         "flowIds": plan.flow_ids[:500], "files": 0},
    )  # fmt: skip
    return {"items": [{"index": i} for i in range(len(flows))], "count": len(flows)}


def run_flow(step: StepInput, runtime: StepRuntime, synthetic: SyntheticRunner) -> dict[str, Any]:
    """One Map item: one flow's steps in the browser, recorded as a TestRun of the workflow's suite."""
    if step.index is None:
        raise ValueError("run_flow needs the map item's index")
    request = _request(step, runtime)
    plan = TestsPlan.model_validate(get_json(runtime.bundles, _plan_key(step)))
    coordinator = CoordinatorService(runtime.graph, runtime.bus, synthetic=synthetic, artifacts=runtime.bundles)
    artifacts = Path(tempfile.gettempdir()) / "perceo-artifacts" / step.workflow_id
    result = coordinator.run_synthetic_flow(
        step.project_id,
        plan.flow_ids[step.index],
        request.base_url,
        artifacts,
        request.context.to_context(),
        suite_id=step.workflow_id,
        publish_completed=False,
    )
    runtime.progress.item_done(
        step.project_id, step.workflow_id, step.index, stage="run", base=PROGRESS_RUN_BASE, span=PROGRESS_RUN_SPAN
    )
    return {"index": step.index, "status": result.status, "testRunId": result.test_run_id}


def summarize(step: StepInput, runtime: StepRuntime) -> dict[str, Any]:
    """The workflow's result: each flow's outcome, read from the runs recorded under the workflow's suite id."""
    plan = TestsPlan.model_validate(get_json(runtime.bundles, _plan_key(step)))
    runs = runtime.graph.list_test_runs(step.project_id, suite_id=step.workflow_id, limit=len(plan.flow_ids) + 10)
    latest: dict[str, TestRun] = {}
    for run in sorted(runs, key=lambda r: r.created_at):
        if run.flow_id:
            latest[run.flow_id] = run
    flows: list[dict[str, Any]] = []
    statuses: list[TestOutcome] = []
    for flow_id, name in zip(plan.flow_ids, plan.names, strict=True):
        found = latest.get(flow_id)
        outcome: TestOutcome = "error"
        if found is not None and found.status in ("passed", "failed", "error", "skipped"):
            outcome = found.status
        statuses.append(outcome)
        flows.append(
            {"flowId": flow_id, "name": name, "status": outcome, "testRunId": found.id if found else None,
             "failureMessage": found.failure_message if found else "the flow's run was not recorded",
             "durationMs": found.duration_ms if found else None}
        )  # fmt: skip
    status = outcome_status(statuses)
    result = {"suiteId": step.workflow_id, "status": status, "flows": flows}
    runtime.progress.set_result(step.project_id, step.workflow_id, result)
    runtime.progress.report(
        step.project_id,
        step.workflow_id,
        stage="summary",
        percentage=PROGRESS_SUMMARY,
        message=f"{sum(f['status'] == 'passed' for f in flows)} of {len(flows)} flow(s) passed",
        counts={"flows": len(flows), "failed": sum(f["status"] in ("failed", "error") for f in flows)},
    )
    _publish(
        runtime,
        step.project_id,
        EventType.TESTS_COMPLETED,
        {"suiteId": step.workflow_id, "runner": "synthetic", "status": status,
         "flows": [{"flowId": f["flowId"], "status": f["status"], "testRunId": f["testRunId"]} for f in flows][:100]},
    )  # fmt: skip
    return {"status": status, "flows": len(flows)}


def cleanup(step: StepInput, runtime: StepRuntime, *, succeeded: bool) -> dict[str, Any]:
    deleted = runtime.bundles.delete_prefix(workflow_prefix(step.project_id, step.workflow_id))
    if succeeded:
        runtime.progress.report(step.project_id, step.workflow_id, stage="complete", percentage=100, message="done")
    return {"projectId": step.project_id, "workflowId": step.workflow_id, "bundleObjectsDeleted": deleted}


def _publish(runtime: StepRuntime, project_id: str, event_type: EventType, data: dict[str, object]) -> None:
    bus = runtime.bus
    if bus is not None:
        bus.publish(PerceoEvent(type=event_type, source="coordinator", project_id=project_id, data=data))
