"""RunTests on moto: the template's state machine executed by moto's interpreter, its task Lambdas' real handlers in
process, each flow run step by step in real headless Chromium against the demo shop on loopback and recorded in the
real FalkorDB. The shop's payment is down on purpose: Checkout fails, Sign in passes."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import pytest
from workflow_support import Harness

from perceo.coordinator.api_models import RunContextInput, RunTestsRequest
from perceo.coordinator.service import artifact_link
from perceo.coordinator.synthetic import find_chromium
from perceo.errors import RunnerNotInstalledError
from perceo.models import ExpectedState, Flow, Step, StepAction
from perceo.workflows.model import TERMINAL_STATUSES, WorkflowView
from perceo.workflows.service import WorkflowService
from perceo_cli.demo.server import DemoServer

pytestmark = pytest.mark.slow

SHA = "9fceb02d0ae598e95dc970b74767f19372d61af8"


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return find_chromium(os.environ)
    except RunnerNotInstalledError as error:
        pytest.skip(f"no Chromium binary on this machine: {error.message}")


@pytest.fixture
def shop() -> Iterator[DemoServer]:
    with DemoServer() as server:
        yield server


def _service(harness: Harness) -> WorkflowService:
    machines = harness.sfn.list_state_machines()["stateMachines"]
    arn = next(m["stateMachineArn"] for m in machines if m["name"].endswith("-run-tests"))
    return WorkflowService(
        harness.sfn,
        harness.step_runtime.progress,
        harness.step_runtime.bundles,
        bootstrap_state_machine_arn=harness.bootstrap_arn,
        run_tests_state_machine_arn=arn,
        allowed_git_hosts=("127.0.0.1",),
        max_concurrency=4,
    )


def _flows(harness: Harness, project_id: str) -> dict[str, str]:
    flows = harness.graph.upsert_flows(
        project_id,
        [Flow(project_id=project_id, name="Sign in"), Flow(project_id=project_id, name="Checkout"),
         Flow(project_id=project_id, name="Browse", is_active=False)],
    )  # fmt: skip
    ids = {f.name: f.id for f in flows}
    steps = {
        "Sign in": [
            ("Open the sign-in page", [StepAction(type="navigate", target="/login")], ExpectedState(url="/login")),
            ("Sign in", [StepAction(type="fill", target="input[name=email]", value="a@example.com"),
                         StepAction(type="click", target="button:has-text('Sign in')")],
             ExpectedState(url="/dashboard", visible=["text=Dashboard"])),
        ],
        "Checkout": [
            ("Open the checkout", [StepAction(type="navigate", target="/checkout")], ExpectedState(url="/checkout")),
            ("Pay", [StepAction(type="fill", target="[data-testid=card-number]", value="4242"),
                     StepAction(type="click", target="button:has-text('Pay now')")],
             ExpectedState(url="/checkout/success")),
        ],
    }  # fmt: skip
    for name, specs in steps.items():
        flow_id = ids[name]
        harness.graph.replace_steps(
            project_id,
            flow_id,
            [
                Step(flow_id=flow_id, order=n, name=title, actions=actions, expected_state=expected, timeout_ms=5_000)
                for n, (title, actions, expected) in enumerate(specs, start=1)
            ],
        )
    return ids


def _wait(service: WorkflowService, project_id: str, workflow_id: str, timeout_s: float = 180) -> WorkflowView:
    deadline = time.monotonic() + timeout_s
    while (view := service.status(project_id, workflow_id)).status not in TERMINAL_STATUSES:
        assert time.monotonic() < deadline, view
        time.sleep(0.1)
    return view


def test_run_tests_runs_each_flow_in_chromium_and_records_the_results(
    harness: Harness, chromium: str, shop: DemoServer
) -> None:
    service = _service(harness)
    project_id, _ = harness.new_project()
    ids = _flows(harness, project_id)
    request = RunTestsRequest(base_url=shop.url, parallelism=2, context=RunContextInput(commit_sha=SHA))

    started = service.start_tests(project_id, request)
    view = _wait(service, project_id, started.workflow_id)

    assert view.status == "SUCCEEDED", view.error
    assert view.progress.percentage == 100
    assert view.result is not None and view.result["status"] == "failed"
    outcomes = {f["name"]: f["status"] for f in view.result["flows"]}
    assert outcomes == {"Sign in": "passed", "Checkout": "failed"}  # the inactive flow is not run
    runs = harness.graph.list_test_runs(project_id, suite_id=started.workflow_id)
    assert {r.flow_id: r.status for r in runs} == {ids["Sign in"]: "passed", ids["Checkout"]: "failed"}
    failed = next(r for r in runs if r.status == "failed")
    assert "the page is /checkout/pay" in (failed.failure_message or "") and failed.commit_sha == SHA
    assert failed.runner == "synthetic" and failed.triggered_by == "ci"
    # the failure's screenshot outlives the task's /tmp: stored in the bundle bucket, recorded by key, linked
    # for this project only
    prefix = f"artifacts/{project_id}/{started.workflow_id}/{ids['Checkout']}/"
    (shot,) = [a for a in failed.artifacts if a.endswith("failure.png")]
    assert shot.startswith(prefix), failed.artifacts
    assert (harness.step_runtime.bundles.get_bytes(shot) or b"")[:8] == b"\x89PNG\r\n\x1a\n"
    assert artifact_link(harness.step_runtime.bundles, project_id, shot) is not None
    other, _ = harness.new_project()
    assert artifact_link(harness.step_runtime.bundles, other, shot) is None
    # ids only in the execution input; the Map runs the caller's parallelism at a time
    assert harness.execution_input(project_id, started.workflow_id) == {
        "projectId": project_id, "workflowId": started.workflow_id, "maxConcurrency": 2,
    }  # fmt: skip


def test_run_tests_fails_with_the_reason_when_the_app_is_down_or_a_flow_is_unknown(harness: Harness) -> None:
    service = _service(harness)
    project_id, _ = harness.new_project()
    ids = _flows(harness, project_id)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]

    down = service.start_tests(project_id, RunTestsRequest(base_url=f"http://127.0.0.1:{closed}"))
    unknown = service.start_tests(
        project_id, RunTestsRequest(base_url=f"http://127.0.0.1:{closed}", flow_ids=[ids["Sign in"], "nope"])
    )

    view = _wait(service, project_id, down.workflow_id)
    assert view.status == "FAILED" and view.error is not None
    assert view.error.type == "BaseUrlUnreachableError" and "refused the connection" in view.error.message
    view = _wait(service, project_id, unknown.workflow_id)
    assert view.status == "FAILED" and view.error is not None and view.error.type == "FlowNotFoundError"
    assert harness.graph.list_test_runs(project_id) == []
