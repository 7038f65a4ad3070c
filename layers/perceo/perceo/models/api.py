"""Request and response bodies of the HTTP API.

These are the API's contract (OpenAPI is generated from them), kept apart from the stored entities: a request
model says what a client may send, with limits, and maps itself explicitly onto the domain types. Like every
`Model`, they forbid unknown fields, so a typo in a payload is a 422 that names the field, not silence.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from perceo.models.change import AffectedRoute, ChangeAnalysis, ChangedFile, ChangeSet
from perceo.models.common import EntityId, EpochMs, Model, Name, ProjectId, Route, Sha
from perceo.models.entities import ExpectedState, Flow, FlowUpdate, FlowView, Persona, Project, Step, StepAction
from perceo.models.jobs import JobRecord
from perceo.models.keys import ApiKey
from perceo.models.vocab import Priority, Scope

#: Largest request body the API accepts (after base64 decoding). Lambda's synchronous payload cap is 6 MB.
MAX_BODY_BYTES = 5 * 1024 * 1024
#: Path parameters are ids (or, for flows, a name-like ref without spaces); anything else is rejected early.
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
PROJECT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
KEY_PREFIX_PATTERN = r"^prc_[A-Za-z0-9_-]{8}$"

Description = Annotated[str, StringConstraints(max_length=5_000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Behaviors = Annotated[list[ShortText], Field(max_length=50)]
Conditions = Annotated[list[ShortText], Field(max_length=50)]
Pages = Annotated[list[Route], Field(max_length=100)]
PersonaNames = Annotated[list[Name], Field(max_length=50)]
ExpiryDays = Annotated[int, Field(ge=1, le=3650)]


# ------------------------------------------------------------------------------------------------ errors, health
class ErrorDetail(Model):
    #: A stable machine-readable code (`flow_not_found`, `validation_failed`, `rate_limited`, …).
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(Model):
    """Every 4xx and 5xx the API itself answers has this body."""

    error: ErrorDetail


class DependencyCheck(Model):
    ok: bool
    #: How long this check took (failed ones too: a timeout shows as its length).
    latency_ms: float | None = None
    #: What failed now (the kind of error, never a connection string or a secret).
    error: str | None = None
    #: The last failure this process saw, and when (epoch ms); kept after the dependency recovers.
    last_error: str | None = None
    last_error_at: EpochMs | None = None


class HealthChecks(Model):
    graph: DependencyCheck
    redis: DependencyCheck


class HealthResponse(Model):
    status: Literal["ok", "degraded"]
    version: str
    stage: str
    checks: HealthChecks
    #: The last run of each scheduled job that ran (started, finished, outcome, counts, failures); empty when
    #: Redis does not answer. A job's failure never makes the service unhealthy.
    jobs: list[JobRecord] = Field(default_factory=list)


# ------------------------------------------------------------------------------------------------ projects and keys
class CreateProjectRequest(Model):
    name: Name
    framework: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] = "unknown"
    git_remote_url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    #: Name of the project's first API key.
    key_name: Name = "admin"
    #: Scopes of the first key; every scope (including project:admin) when omitted.
    scopes: Annotated[list[Scope], Field(min_length=1)] | None = None
    expires_in_days: ExpiryDays | None = None

    def to_project(self) -> Project:
        return Project(name=self.name, framework=self.framework, git_remote_url=self.git_remote_url)


class CreatedKey(Model):
    """A new API key. `key` is shown this once and never again: store it now."""

    key: str
    api_key: ApiKey


class CreateProjectResponse(Model):
    project: Project
    api_key: CreatedKey


class DeleteProjectResponse(Model):
    project_id: ProjectId
    deleted: bool
    keys_deleted: int


class CreateKeyRequest(Model):
    name: Name
    scopes: Annotated[list[Scope], Field(min_length=1)]
    expires_in_days: ExpiryDays | None = None


class KeyList(Model):
    keys: list[ApiKey]


# ------------------------------------------------------------------------------------------------ flows and steps
class StepInput(Model):
    """One step as a client writes it; its order is its position in the list."""

    name: Name
    actions: Annotated[list[StepAction], Field(max_length=100)] = Field(default_factory=list)
    expected_state: ExpectedState = Field(default_factory=ExpectedState)
    timeout_ms: int = Field(default=30_000, ge=100, le=600_000)
    retry_count: int = Field(default=3, ge=0, le=10)

    def to_step(self, flow_id: str, order: int) -> Step:
        return Step(
            flow_id=flow_id,
            order=order,
            name=self.name,
            actions=self.actions,
            expected_state=self.expected_state,
            timeout_ms=self.timeout_ms,
            retry_count=self.retry_count,
        )


StepInputs = Annotated[list[StepInput], Field(max_length=200)]


class CreateFlowRequest(Model):
    name: Name
    description: Description = ""
    priority: Priority = "medium"
    entry_point: Route | None = None
    is_active: bool = True
    trigger_conditions: Conditions = Field(default_factory=list)
    #: Names of existing personas of the project.
    personas: PersonaNames = Field(default_factory=list)
    #: Routes the flow visits, in journey order.
    pages: Pages = Field(default_factory=list)
    steps: StepInputs = Field(default_factory=list)

    def to_flow(self, project_id: str) -> Flow:
        return Flow(
            project_id=project_id,
            name=self.name,
            description=self.description,
            priority=self.priority,
            entry_point=self.entry_point,
            is_active=self.is_active,
            trigger_conditions=self.trigger_conditions,
            source="user_configured",
            user_edited=True,
        )


class UpdateFlowRequest(Model):
    """Fields a person may change; unset fields stay. Any change marks the flow user-edited."""

    description: Description | None = None
    priority: Priority | None = None
    entry_point: Route | None = None
    is_active: bool | None = None
    trigger_conditions: Conditions | None = None
    personas: PersonaNames | None = None
    pages: Pages | None = None

    def to_update(self) -> FlowUpdate:
        return FlowUpdate(
            description=self.description,
            priority=self.priority,
            entry_point=self.entry_point,
            is_active=self.is_active,
            trigger_conditions=self.trigger_conditions,
        )


class FlowList(Model):
    """One page of the project's flows, by name."""

    flows: list[FlowView]
    next_cursor: str | None = Field(default=None, description="`cursor` for the next page; null on the last page")


class ReplaceStepsRequest(Model):
    steps: StepInputs


class StepList(Model):
    flow_id: EntityId
    steps: list[Step]


# ------------------------------------------------------------------------------------------------ personas
class CreatePersonaRequest(Model):
    name: Name
    description: Description = ""
    behaviors: Behaviors = Field(default_factory=list)

    def to_persona(self, project_id: str) -> Persona:
        return Persona(
            project_id=project_id,
            name=self.name,
            description=self.description,
            behaviors=self.behaviors,
            source="user_configured",
        )


class UpdatePersonaRequest(Model):
    """Fields a person may change (a persona's name is its identity: create another instead)."""

    description: Description | None = None
    behaviors: Behaviors | None = None


class PersonaList(Model):
    personas: list[Persona]


# ------------------------------------------------------------------------------------------------ change analysis
class ChangeSetInput(Model):
    """The change as the CLI computed it from its checkout."""

    base_sha: Sha
    head_sha: Sha
    files: Annotated[list[ChangedFile], Field(max_length=50_000)] = Field(default_factory=list)
    working_tree: bool = False

    def to_change_set(self) -> ChangeSet:
        return ChangeSet(
            base_sha=self.base_sha, head_sha=self.head_sha, files=self.files, working_tree=self.working_tree
        )


class AnalyzeRequest(Model):
    change_set: ChangeSetInput
    #: The routes the client found affected (it has the checkout; the server has the flows).
    affected_routes: Annotated[list[AffectedRoute], Field(max_length=5_000)] = Field(default_factory=list)
    #: Also start the slow path (config `observer.analysis.useLlm`): the LLM reviews the impacted flows whose
    #: confidence is below `llm_threshold`, in a workflow; the fast answer does not wait for it.
    use_llm: bool = False
    llm_threshold: float = Field(default=0.7, ge=0.0, le=1.0)

    @field_validator("affected_routes")
    @classmethod
    def _unique_routes(cls, value: list[AffectedRoute]) -> list[AffectedRoute]:
        seen: set[str] = set()
        for route in value:
            if route.route in seen:
                raise ValueError(f"route {route.route} is listed twice")
            seen.add(route.route)
        return value


class ReviewStartError(Model):
    #: The error's type (`WorkflowBackendError`, `ConfigError`, …) and what went wrong.
    type: str
    message: str


class AnalysisReview(Model):
    """The LLM review (slow path) `POST /observer/analyze` started; follow it with `GET /workflows/{workflowId}`."""

    #: None only when the review could not be started at all.
    workflow_id: str | None
    #: RUNNING once started; FAILED when it could not start (then `error` says why; the analysis stands).
    status: Literal["RUNNING", "FAILED"]
    error: ReviewStartError | None = None


class AnalyzeResponse(ChangeAnalysis):
    """`POST /observer/analyze`: the stored analysis (the fast path) and the LLM review it started, if any."""

    #: None when `useLlm` was off or no impacted flow is below `llmThreshold` (nothing to review).
    review: AnalysisReview | None = None

    @classmethod
    def of(cls, analysis: ChangeAnalysis, review: AnalysisReview | None) -> AnalyzeResponse:
        return cls.model_validate({**analysis.model_dump(), "review": review})


class AnalysisList(Model):
    analyses: list[ChangeAnalysis]
