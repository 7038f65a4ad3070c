"""WorkflowService over an in-memory Step Functions stand-in: what a client sees when starting and following."""

from __future__ import annotations

import itertools
import json
from typing import Any

import botocore.exceptions
import pytest

from perceo.errors import ConflictError
from perceo.workflows.bundle import InMemoryBundleStore, get_json, request_key
from perceo.workflows.errors import (
    GitUrlRejectedError,
    LLMOutputError,
    LLMUnavailableError,
    WorkflowBackendError,
    WorkflowNotFoundError,
)
from perceo.workflows.failures import StrictLLM, workflow_error
from perceo.workflows.model import BootstrapRequest, WorkflowError, is_workflow_id, new_workflow_id
from perceo.workflows.progress import InMemoryProgressStore
from perceo.workflows.service import WorkflowService, execution_arn

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:perceo-dev-bootstrap"
URL = "https://github.com/acme/shop.git"


class FakeStepFunctions:
    """Executions by ARN with a status the test sets, as boto3's `stepfunctions` client shapes them."""

    def __init__(self) -> None:
        self.executions: dict[str, dict[str, Any]] = {}
        self.started: list[dict[str, Any]] = []
        self.refuse: str | None = None
        self.describes = 0

    def start_execution(self, *, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:  # noqa: N803, A002
        if self.refuse:
            raise botocore.exceptions.ClientError({"Error": {"Code": self.refuse}}, "StartExecution")
        self.started.append({"stateMachineArn": stateMachineArn, "name": name, "input": json.loads(input)})
        arn = execution_arn(stateMachineArn, name)
        self.executions[arn] = {"executionArn": arn, "status": "RUNNING"}
        return {"executionArn": arn}

    def describe_execution(self, *, executionArn: str) -> dict[str, Any]:  # noqa: N803
        self.describes += 1
        if executionArn not in self.executions:
            raise botocore.exceptions.ClientError({"Error": {"Code": "ExecutionDoesNotExist"}}, "DescribeExecution")
        return self.executions[executionArn]


@pytest.fixture
def sfn() -> FakeStepFunctions:
    return FakeStepFunctions()


@pytest.fixture
def progress() -> InMemoryProgressStore:
    return InMemoryProgressStore()


@pytest.fixture
def bundles() -> InMemoryBundleStore:
    return InMemoryBundleStore()


@pytest.fixture
def service(sfn: FakeStepFunctions, progress: InMemoryProgressStore, bundles: InMemoryBundleStore) -> WorkflowService:
    counter = itertools.count()
    return WorkflowService(
        sfn,
        progress,
        bundles,
        bootstrap_state_machine_arn=ARN,
        allowed_git_hosts=("github.com",),
        max_concurrency=3,
        new_id=lambda: f"wf-{next(counter):032x}",
    )


def test_starting_stores_the_request_and_starts_an_execution_with_ids_only(
    service: WorkflowService, sfn: FakeStepFunctions, bundles: InMemoryBundleStore
) -> None:
    started = service.start_bootstrap("proj-1", "prc_AbCdEfGh", BootstrapRequest(repo_url=URL, branch="main"))

    assert started.status == "RUNNING" and started.kind == "bootstrap"
    assert sfn.started == [
        {
            "stateMachineArn": ARN,
            "name": started.workflow_id,
            "input": {"projectId": "proj-1", "workflowId": started.workflow_id, "maxConcurrency": 3},
        }
    ]
    stored = get_json(bundles, request_key("proj-1", started.workflow_id))
    assert stored["repoUrl"] == URL and stored["keyPrefix"] == "prc_AbCdEfGh"


def test_a_refused_url_starts_nothing(
    service: WorkflowService, sfn: FakeStepFunctions, bundles: InMemoryBundleStore
) -> None:
    with pytest.raises(GitUrlRejectedError):
        service.start_bootstrap("proj-1", "prc_AbCdEfGh", BootstrapRequest(repo_url="file:///etc"))

    assert sfn.started == [] and bundles.objects == {}


def test_one_bootstrap_per_project_runs_at_a_time_until_the_first_has_ended(
    service: WorkflowService, sfn: FakeStepFunctions
) -> None:
    first = service.start_bootstrap("proj-1", "prc_AbCdEfGh", BootstrapRequest(repo_url=URL))
    with pytest.raises(ConflictError):
        service.start_bootstrap("proj-1", "prc_AbCdEfGh", BootstrapRequest(repo_url=URL))
    service.start_bootstrap("proj-2", "prc_AbCdEfGh", BootstrapRequest(repo_url=URL))  # other projects are free

    sfn.executions[execution_arn(ARN, first.workflow_id)]["status"] = "TIMED_OUT"  # ended without its clean-up
    second = service.start_bootstrap("proj-1", "prc_AbCdEfGh", BootstrapRequest(repo_url=URL))

    assert second.workflow_id != first.workflow_id


def test_a_refused_start_leaves_no_claim_and_no_bundle(
    service: WorkflowService, sfn: FakeStepFunctions, bundles: InMemoryBundleStore, progress: InMemoryProgressStore
) -> None:
    sfn.refuse = "ExecutionLimitExceeded"

    with pytest.raises(WorkflowBackendError, match="ExecutionLimitExceeded"):
        service.start_bootstrap("proj-1", "prc_AbCdEfGh", BootstrapRequest(repo_url=URL))

    assert bundles.objects == {} and progress.claims == {}


def test_status_reads_progress_while_running_and_caches_the_end(
    service: WorkflowService, sfn: FakeStepFunctions, progress: InMemoryProgressStore
) -> None:
    workflow_id = service.start_bootstrap("proj-1", "prc_AbCdEfGh", BootstrapRequest(repo_url=URL)).workflow_id
    progress.report(
        "proj-1", workflow_id, stage="identify_flows", percentage=20, message="identifying", counts={"routes": 12}
    )

    running = service.status("proj-1", workflow_id)
    sfn.executions[execution_arn(ARN, workflow_id)].update(status="SUCCEEDED", output=json.dumps({"counts": {}}))
    progress.set_result("proj-1", workflow_id, {"flows": 4})
    ended = service.status("proj-1", workflow_id)
    calls = sfn.describes
    again = service.status("proj-1", workflow_id)

    assert (running.status, running.progress.stage, running.progress.counts) == (
        "RUNNING",
        "identify_flows",
        {"routes": 12},
    )
    assert (ended.status, ended.result) == ("SUCCEEDED", {"flows": 4})
    assert again == ended and sfn.describes == calls  # an ended workflow costs no Step Functions call


@pytest.mark.parametrize(
    ("status", "error", "cause", "expected"),
    [
        (
            "FAILED",
            "LLMUnavailableError",
            json.dumps({"errorType": "LLMUnavailableError", "errorMessage": "down"}),
            ("LLMUnavailableError", "down"),
        ),
        ("TIMED_OUT", None, None, ("States.TimedOut", "the workflow ran longer than its time limit and was stopped")),
        ("ABORTED", "Stopped", "by an operator", ("Stopped", "by an operator")),
        ("FAILED", "States.Runtime", "boom", ("States.Runtime", "boom")),
    ],
)
def test_an_execution_that_ended_without_recording_its_error_reports_step_functions_error(
    service: WorkflowService,
    sfn: FakeStepFunctions,
    status: str,
    error: str | None,
    cause: str | None,
    expected: tuple[str, str],
) -> None:
    workflow_id = service.start_bootstrap("proj-1", "prc_AbCdEfGh", BootstrapRequest(repo_url=URL)).workflow_id
    sfn.executions[execution_arn(ARN, workflow_id)].update(status=status, error=error, cause=cause)

    view = service.status("proj-1", workflow_id)

    assert view.status == status
    assert view.error is not None and (view.error.type, view.error.message) == expected


def test_a_recorded_error_wins_over_the_executions_summary(
    service: WorkflowService, sfn: FakeStepFunctions, progress: InMemoryProgressStore
) -> None:
    workflow_id = service.start_bootstrap("proj-1", "prc_AbCdEfGh", BootstrapRequest(repo_url=URL)).workflow_id
    progress.set_error("proj-1", workflow_id, WorkflowError(type="CloneFailedError", message="repository not found"))
    sfn.executions[execution_arn(ARN, workflow_id)].update(status="FAILED", error="CloneFailedError", cause="{}")

    assert service.status("proj-1", workflow_id).error == WorkflowError(
        type="CloneFailedError", message="repository not found"
    )


def test_unknown_malformed_and_other_projects_workflows_are_not_found(service: WorkflowService) -> None:
    workflow_id = service.start_bootstrap("proj-1", "prc_AbCdEfGh", BootstrapRequest(repo_url=URL)).workflow_id

    for project, wanted in (("proj-2", workflow_id), ("proj-1", new_workflow_id()), ("proj-1", "../../etc")):
        with pytest.raises(WorkflowNotFoundError):
            service.status(project, wanted)


def test_workflow_ids_are_random_and_well_formed() -> None:
    ids = {new_workflow_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(is_workflow_id(i) and len(i) == 35 for i in ids)


def test_a_caught_lambda_error_becomes_its_type_and_message() -> None:
    caught = {
        "Error": "CloneFailedError",
        "Cause": json.dumps({"errorType": "CloneFailedError", "errorMessage": "git clone failed: not found"}),
    }
    assert workflow_error(caught) == WorkflowError(type="CloneFailedError", message="git clone failed: not found")
    assert workflow_error({"Error": "States.Timeout", "Cause": "Task timed out"}) == WorkflowError(
        type="States.Timeout", message="Task timed out"
    )


@pytest.mark.parametrize(
    ("details", "kind"),
    [
        ({"reason": "connection_error"}, LLMUnavailableError),
        ({"reason": "timeout"}, LLMUnavailableError),
        ({"reason": "http_error", "status": 503}, LLMUnavailableError),
        ({"reason": "http_error", "status": 429}, LLMUnavailableError),
        ({"reason": "http_error", "status": 401}, LLMOutputError),
        ({"reason": "invalid_output"}, LLMOutputError),
    ],
)
def test_llm_failures_are_retryable_only_when_transient(details: dict[str, Any], kind: type[Exception]) -> None:
    from perceo.errors import LLMError

    class Failing:
        def complete(self, request: Any, response_model: Any) -> Any:
            raise LLMError("it failed", details=details)

    strict = StrictLLM(Failing())
    with pytest.raises(LLMError):
        strict.complete(object(), object)

    with pytest.raises(kind, match="it failed"):
        strict.raise_if_failed()
