"""Workflow shapes: what `GET /workflows/{id}` answers, what the steps read and write, and the requests stored
for them (the execution input itself carries ids only)."""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from perceo.bootstrap.model import PersonaSpec
from perceo.models import ChangeAnalysis
from perceo.models.change import ImpactedFlow
from perceo.models.common import EpochMs, Model, Name, ProjectId, now_ms

WorkflowKind = Literal["bootstrap", "analyze", "tests"]
WorkflowStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})

#: `wf-` + 32 hex characters (128 random bits): also the Step Functions execution name (≤ 80, [A-Za-z0-9-_]).
WORKFLOW_ID_PATTERN = r"^wf-[0-9a-f]{32}$"
WorkflowId = Annotated[str, StringConstraints(pattern=WORKFLOW_ID_PATTERN)]
_WORKFLOW_ID = re.compile(WORKFLOW_ID_PATTERN)


def new_workflow_id() -> str:
    """An unguessable workflow id (128 bits from the OS's CSPRNG)."""
    return f"wf-{secrets.token_hex(16)}"


def is_workflow_id(value: str) -> bool:
    return bool(_WORKFLOW_ID.match(value))


class WorkflowProgress(Model):
    stage: str = "queued"
    percentage: int = Field(default=0, ge=0, le=100)
    message: str = ""
    counts: dict[str, int] = Field(default_factory=dict)


class WorkflowError(Model):
    #: The error's class name as Step Functions saw it (`LLMUnavailableError`, `GitUrlRejectedError`, …).
    type: str
    message: str


class WorkflowView(Model):
    """`GET /workflows/{id}`."""

    workflow_id: WorkflowId
    kind: WorkflowKind
    status: WorkflowStatus
    progress: WorkflowProgress = Field(default_factory=WorkflowProgress)
    result: dict[str, Any] | None = None
    error: WorkflowError | None = None
    created_at: EpochMs = Field(default_factory=now_ms)
    updated_at: EpochMs = Field(default_factory=now_ms)


class WorkflowRecord(Model):
    """What the progress store keeps about one execution (keyed by project + workflow id)."""

    workflow_id: WorkflowId
    project_id: ProjectId
    kind: WorkflowKind
    execution_arn: str
    #: Set once the execution is known to have ended (from Step Functions), so later reads need no AWS call.
    status: WorkflowStatus = "RUNNING"
    progress: WorkflowProgress = Field(default_factory=WorkflowProgress)
    result: dict[str, Any] | None = None
    error: WorkflowError | None = None
    created_at: EpochMs = Field(default_factory=now_ms)
    updated_at: EpochMs = Field(default_factory=now_ms)

    def view(self) -> WorkflowView:
        return WorkflowView(
            workflow_id=self.workflow_id,
            kind=self.kind,
            status=self.status,
            progress=self.progress,
            result=self.result,
            error=self.error,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


class WorkflowStarted(Model):
    """`POST /observer/bootstrap` (202)."""

    workflow_id: WorkflowId
    kind: WorkflowKind
    status: WorkflowStatus = "RUNNING"


#: The most flows a cloud bootstrap keeps (`max_flows`; a local `perceo init` allows `bootstrap.maxFlows` up to 200).
MAX_BOOTSTRAP_FLOWS = 50


class BootstrapRequest(Model):
    """What `POST /observer/bootstrap` accepts. No credentials: private repositories use the project's git secret."""

    repo_url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
    branch: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    framework: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] = "auto"
    #: True: the deployment's LLM (an error without one); False: the offline heuristic; None (the default): the LLM
    #: when the deployment has one, else the heuristic, as `perceo init` does locally.
    use_llm: bool | None = None
    personas: Annotated[list[PersonaSpec], Field(max_length=20)] = Field(default_factory=list)
    max_flows: int = Field(default=15, ge=1, le=MAX_BOOTSTRAP_FLOWS)
    #: Flow names the bootstrap never (re)creates: the team deleted them (`bootstrap.excludeFlows`, which
    #: `perceo init --remote` sends from the project's config).
    excluded_flows: Annotated[list[Name], Field(max_length=500)] = Field(default_factory=list)


class StoredBootstrapRequest(BootstrapRequest):
    """The request as the steps read it from the bundle store: validated, with who started it."""

    project_id: ProjectId
    workflow_id: WorkflowId
    #: The public 12-character prefix of the key that started it (re-checked by the first step; never the key).
    key_prefix: str = Field(min_length=12, max_length=12)


class AnalyzeReviewRequest(Model):
    """The slow path of change analysis: review with the LLM the flows whose confidence is below the threshold."""

    project_id: ProjectId
    workflow_id: WorkflowId
    analysis_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    llm_threshold: float = Field(default=0.7, ge=0.0, le=1.0)


class ReviewRequest(Model):
    """`POST /analyses/{id}/review`: the LLM reviews the analysis's impacted flows below this confidence."""

    llm_threshold: float = Field(default=0.7, ge=0.0, le=1.0)


class ExecutionInput(Model):
    """The Step Functions execution input: ids and plain numbers only, never a secret, a URL or code."""

    project_id: ProjectId
    workflow_id: WorkflowId
    max_concurrency: int = Field(ge=1, le=40)


class StepInput(Model):
    """What every task Lambda receives (built by the ASL's `Parameters` from the execution input)."""

    project_id: ProjectId
    workflow_id: WorkflowId
    #: Map items only: which flow (index into the planned step tasks).
    index: int | None = Field(default=None, ge=0)
    #: The failure path only: the error Step Functions caught (`{Error, Cause}`).
    error: dict[str, Any] | None = None


class CleanupInput(Model):
    """The clean-up task's input: which workflow, which kind, and whether it succeeded."""

    project_id: ProjectId
    workflow_id: WorkflowId
    kind: WorkflowKind = "bootstrap"
    outcome: Literal["succeeded", "failed"]

    def step(self) -> StepInput:
        return StepInput(project_id=self.project_id, workflow_id=self.workflow_id)


def flows_to_review(analysis: ChangeAnalysis, llm_threshold: float) -> list[ImpactedFlow]:
    """The impacted flows an analysis review (AnalyzeChanges) asks the LLM about: those below the threshold."""
    return [flow for flow in analysis.flows if flow.confidence < llm_threshold]
