"""Start workflows and report on them (what `POST /observer/bootstrap` and `GET /workflows/{id}` call).

Starting: the request is checked (URL policy, branch) before anything runs, stored in the bundle store, a progress
record is created under the caller's project, and the execution is started with ids only
(`{projectId, workflowId, maxConcurrency}`): no URL, no key, no secret reaches Step Functions history. One
bootstrap per project runs at a time (a claim in Redis, released by the workflow's clean-up).

Status: the progress record says what the steps wrote (stage, percentage, counts, result, error); Step Functions
says whether the execution is still running. A terminal status is cached in the record, so polling an ended
workflow costs one Redis read. A workflow of another project is not found: records are keyed by project.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from perceo.errors import ConfigError, ConflictError, PerceoError
from perceo.models.common import now_ms
from perceo.workflows.bundle import BundleStore, put_json, request_key, review_request_key, workflow_prefix
from perceo.workflows.errors import WorkflowBackendError, WorkflowNotFoundError
from perceo.workflows.gitremote import check_branch, parse_git_remote
from perceo.workflows.model import (
    TERMINAL_STATUSES,
    BootstrapRequest,
    ExecutionInput,
    StoredBootstrapRequest,
    WorkflowError,
    WorkflowKind,
    WorkflowProgress,
    WorkflowRecord,
    WorkflowStarted,
    WorkflowView,
    flows_to_review,
    is_workflow_id,
    new_workflow_id,
)
from perceo.workflows.progress import ProgressStore

if TYPE_CHECKING:
    from perceo.coordinator.api_models import RunTestsRequest
    from perceo.models import ChangeAnalysis
    from perceo.models.api import AnalysisReview

logger = logging.getLogger(__name__)

_DEFAULT_MESSAGES = {
    "TIMED_OUT": "the workflow ran longer than its time limit and was stopped",
    "ABORTED": "the workflow was stopped before it finished",
    "FAILED": "the workflow failed",
}


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN Step Functions gives execution `name` of a state machine."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


class WorkflowService:
    def __init__(
        self,
        sfn: Any,
        progress: ProgressStore,
        bundles: BundleStore,
        *,
        bootstrap_state_machine_arn: str | None,
        analyze_state_machine_arn: str | None = None,
        run_tests_state_machine_arn: str | None = None,
        allowed_git_hosts: tuple[str, ...],
        max_concurrency: int = 4,
        claim_ttl_s: int = 2 * 3600,
        new_id: Callable[[], str] = new_workflow_id,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._sfn = sfn
        self._progress = progress
        self._bundles = bundles
        self._arns: dict[WorkflowKind, str | None] = {
            "bootstrap": bootstrap_state_machine_arn,
            "analyze": analyze_state_machine_arn,
            "tests": run_tests_state_machine_arn,
        }
        self._allowed_git_hosts = allowed_git_hosts
        self._max_concurrency = max_concurrency
        self._claim_ttl_s = claim_ttl_s
        self._new_id = new_id
        self._clock = clock

    def _state_machine(self, kind: WorkflowKind) -> str:
        arn = self._arns[kind]
        if arn is None:
            variable = {"bootstrap": "BOOTSTRAP", "analyze": "ANALYZE", "tests": "RUN_TESTS"}[
                kind
            ] + "_STATE_MACHINE_ARN"
            raise ConfigError(f"environment variable {variable} is not set (needed to start {kind} workflows)")
        return arn

    # ------------------------------------------------------------------------------------------------ start
    def start_bootstrap(self, project_id: str, key_prefix: str, request: BootstrapRequest) -> WorkflowStarted:
        """Check and store the request, then start BootstrapProject. ValidationFailed (422) for a refused URL or
        branch; ConflictError (409) while another bootstrap of the project runs."""
        parse_git_remote(request.repo_url, self._allowed_git_hosts)
        if request.branch is not None:
            check_branch(request.branch)
        arn = self._state_machine("bootstrap")
        workflow_id = self._new_id()
        holder = self._progress.claim(project_id, "bootstrap", workflow_id, self._claim_ttl_s)
        if holder is not None:
            holder_record = self._progress.get(project_id, holder)
            if holder_record is None or not self._ended(holder_record):
                raise ConflictError(
                    f"a bootstrap of this project is already running ({holder})", details={"workflowId": holder}
                )
            self._progress.release(project_id, "bootstrap", holder)
            if self._progress.claim(project_id, "bootstrap", workflow_id, self._claim_ttl_s) is not None:
                raise ConflictError("a bootstrap of this project was started at the same moment")
        stored = StoredBootstrapRequest(
            **request.model_dump(), project_id=project_id, workflow_id=workflow_id, key_prefix=key_prefix
        )
        try:
            put_json(self._bundles, request_key(project_id, workflow_id), stored.model_dump(mode="json"))
            return self._start(project_id, workflow_id, "bootstrap", arn)
        except BaseException:
            self._progress.release(project_id, "bootstrap", workflow_id)
            self._bundles.delete_prefix(workflow_prefix(project_id, workflow_id))
            raise

    def start_analyze_review(self, project_id: str, analysis_id: str, llm_threshold: float) -> WorkflowStarted:
        """Start AnalyzeChanges: the LLM review of an analysis's low-confidence flows (the slow path)."""
        from perceo.workflows.model import AnalyzeReviewRequest

        arn = self._state_machine("analyze")
        workflow_id = self._new_id()
        stored = AnalyzeReviewRequest(
            project_id=project_id, workflow_id=workflow_id, analysis_id=analysis_id, llm_threshold=llm_threshold
        )
        put_json(self._bundles, review_request_key(project_id, workflow_id), stored.model_dump(mode="json"))
        return self._start(project_id, workflow_id, "analyze", arn)

    def start_tests(self, project_id: str, request: RunTestsRequest) -> WorkflowStarted:
        """Start RunTests: the request (flows, base URL, run context) goes to the bundle store, the execution gets
        ids and the Map's concurrency (the caller's `observer.ci.parallelism`, capped by the deployment's)."""
        from perceo.workflows.bundle import tests_request_key

        arn = self._state_machine("tests")
        workflow_id = self._new_id()
        stored = request.model_copy(update={"project_id": project_id, "workflow_id": workflow_id})
        put_json(self._bundles, tests_request_key(project_id, workflow_id), stored.model_dump(mode="json"))
        concurrency = max(1, min(request.parallelism, self._max_concurrency))
        return self._start(project_id, workflow_id, "tests", arn, max_concurrency=concurrency)

    def _start(
        self, project_id: str, workflow_id: str, kind: WorkflowKind, arn: str, *, max_concurrency: int | None = None
    ) -> WorkflowStarted:
        now = self._clock()
        record = WorkflowRecord(
            workflow_id=workflow_id,
            project_id=project_id,
            kind=kind,
            execution_arn=execution_arn(arn, workflow_id),
            progress=WorkflowProgress(stage="queued", percentage=0, message="waiting to start"),
            created_at=now,
            updated_at=now,
        )
        self._progress.create(record)
        concurrency = self._max_concurrency if max_concurrency is None else max_concurrency
        payload = ExecutionInput(project_id=project_id, workflow_id=workflow_id, max_concurrency=concurrency)
        try:
            self._sfn.start_execution(stateMachineArn=arn, name=workflow_id, input=payload.model_dump_json())
        except Exception as error:
            code = _client_error_code(error)
            if code is None:
                raise
            self._progress.set_error(project_id, workflow_id, WorkflowError(type=code, message="could not start"))
            self._progress.set_status(project_id, workflow_id, "FAILED")
            raise WorkflowBackendError(
                f"Step Functions refused to start the {kind} workflow: {code}", details={"workflowId": workflow_id}
            ) from None
        logger.info("started %s workflow %s", kind, workflow_id)
        return WorkflowStarted(workflow_id=workflow_id, kind=kind)

    # ------------------------------------------------------------------------------------------------ status
    def status(self, project_id: str, workflow_id: str) -> WorkflowView:
        """The workflow's status, progress, result and error. WorkflowNotFoundError unless it is this project's."""
        record = self._progress.get(project_id, workflow_id) if is_workflow_id(workflow_id) else None
        if record is None:
            raise WorkflowNotFoundError(
                f"no workflow {workflow_id} in this project", details={"workflowId": workflow_id}
            )
        if record.status in TERMINAL_STATUSES:
            return record.view()
        try:
            execution = self._sfn.describe_execution(executionArn=record.execution_arn)
        except Exception as error:
            code = _client_error_code(error)
            if code is None:
                raise
            if code == "ExecutionDoesNotExist":
                return self._ended_without_execution(record)
            raise WorkflowBackendError(f"Step Functions could not describe the workflow: {code}") from None
        status = str(execution.get("status", "RUNNING"))
        if status not in TERMINAL_STATUSES:
            return record.view()
        return self._finish(record, status, execution)

    def _finish(self, record: WorkflowRecord, status: str, execution: dict[str, Any]) -> WorkflowView:
        error = record.error
        if status != "SUCCEEDED" and error is None:
            error = _execution_error(status, execution)
            self._progress.set_error(record.project_id, record.workflow_id, error)
        if status == "SUCCEEDED" and record.result is None and execution.get("output"):
            try:
                output = json.loads(execution["output"])
            except json.JSONDecodeError:
                output = None
            if isinstance(output, dict):
                self._progress.set_result(record.project_id, record.workflow_id, output)
        self._progress.set_status(record.project_id, record.workflow_id, status)  # type: ignore[arg-type]
        if status in ("TIMED_OUT", "ABORTED"):
            # No clean-up task ran: give the project's claim back so the next bootstrap can start.
            self._progress.release(record.project_id, record.kind, record.workflow_id)
        refreshed = self._progress.get(record.project_id, record.workflow_id)
        return (refreshed or record).view()

    def _ended_without_execution(self, record: WorkflowRecord) -> WorkflowView:
        error = record.error or WorkflowError(
            type="ExecutionDoesNotExist", message="Step Functions has no execution for this workflow"
        )
        self._progress.set_error(record.project_id, record.workflow_id, error)
        self._progress.set_status(record.project_id, record.workflow_id, "FAILED")
        self._progress.release(record.project_id, record.kind, record.workflow_id)
        refreshed = self._progress.get(record.project_id, record.workflow_id)
        return (refreshed or record).view()

    def _ended(self, record: WorkflowRecord) -> bool:
        return self.status(record.project_id, record.workflow_id).status in TERMINAL_STATUSES


def _execution_error(status: str, execution: dict[str, Any]) -> WorkflowError:
    from perceo.workflows.failures import workflow_error

    if execution.get("error") or execution.get("cause"):
        caught = {"Error": execution.get("error") or status, "Cause": execution.get("cause")}
        error = workflow_error(caught)
        if error.message == error.type:
            error = error.model_copy(update={"message": _DEFAULT_MESSAGES.get(status, error.type)})
        return error
    return WorkflowError(type=f"States.{status.title().replace('_', '')}", message=_DEFAULT_MESSAGES[status])


def _client_error_code(error: Exception) -> str | None:
    """The AWS error code of a botocore error; None for anything else."""
    import botocore.exceptions

    if isinstance(error, botocore.exceptions.ClientError):
        return str(error.response.get("Error", {}).get("Code", "unknown"))
    if isinstance(error, botocore.exceptions.BotoCoreError):
        return type(error).__name__
    return None


def start_analysis_review(
    analysis: ChangeAnalysis, llm_threshold: float, workflows: Callable[[], WorkflowService]
) -> AnalysisReview | None:
    """Start the LLM review of a just-recorded analysis (the slow path of `POST /observer/analyze`).

    None when no impacted flow is below `llm_threshold` (nothing to review, no execution; `workflows()` is not
    even built). A review that cannot start is reported in the answer (status FAILED, the error's type and
    message), never by failing the analysis: it is already stored and published, and a client retrying the POST
    would record it twice.
    """
    from perceo.models.api import AnalysisReview, ReviewStartError

    if not flows_to_review(analysis, llm_threshold):
        return None
    try:
        started = workflows().start_analyze_review(analysis.project_id, analysis.id, llm_threshold)
    except PerceoError as error:
        logger.error(
            "the LLM review of analysis %s did not start (%s): %s", analysis.id, type(error).__name__, error.message
        )
        message = error.message
        if isinstance(error, ConfigError):  # names the deployment's settings: for operators, not clients
            message = "the API is not configured to start workflows; see its logs"
        workflow_id = error.details.get("workflowId")
        return AnalysisReview(
            workflow_id=workflow_id if isinstance(workflow_id, str) else None,
            status="FAILED",
            error=ReviewStartError(type=type(error).__name__, message=message),
        )
    return AnalysisReview(workflow_id=started.workflow_id, status="RUNNING")
