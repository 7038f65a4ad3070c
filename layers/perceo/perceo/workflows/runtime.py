"""What the workflow steps work with, built once per cold start (or injected by tests and the local cloud).

`StepRuntime` holds the bundle store, the progress store and factories for the graph, the bus and the LLM;
`step_runtime()` builds the process's one from `WorkflowSettings` and the API's lazily built dependencies
(`perceo.api.deps`: graph, Redis, secrets), so a step and an API route in the same process share connections.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perceo.errors import ConfigError, PerceoError

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from perceo.bus.port import EventBus
    from perceo.graph.port import FlowGraph
    from perceo.llm.port import LLM
    from perceo.models import ChangeAnalysis
    from perceo.models.api import AnalysisReview
    from perceo.models.keys import ApiKey
    from perceo.workflows.bundle import BundleStore
    from perceo.workflows.credentials import GitCredentialSource
    from perceo.workflows.progress import ProgressStore
    from perceo.workflows.service import WorkflowService
    from perceo.workflows.settings import WorkflowSettings


@dataclass
class StepRuntime:
    settings: WorkflowSettings
    bundles: BundleStore
    progress: ProgressStore
    graph_factory: Callable[[], FlowGraph]
    #: The public record of an API key by (project id, 12-character prefix); NotFoundError when there is none.
    key_lookup: Callable[[str, str], ApiKey]
    credentials: GitCredentialSource
    bus_factory: Callable[[], EventBus | None] = lambda: None
    #: None when no LLM is configured for this deployment.
    llm_factory: Callable[[], LLM | None] = lambda: None
    #: Where clones go (Lambda: /tmp).
    work_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    _graph: FlowGraph | None = field(default=None, init=False)
    _llm: Any = field(default=None, init=False)
    _llm_built: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def graph(self) -> FlowGraph:
        with self._lock:
            if self._graph is None:
                self._graph = self.graph_factory()
            return self._graph

    @property
    def bus(self) -> EventBus | None:
        return self.bus_factory()

    @property
    def llm(self) -> LLM | None:
        with self._lock:
            if not self._llm_built:
                self._llm = self.llm_factory()
                self._llm_built = True
            result: LLM | None = self._llm
            return result


def _llm_from_settings(settings: WorkflowSettings, redis_client: Any, secrets_client: Callable[[], Any]) -> LLM | None:
    """The deployment's LLM: key from `LLM_SECRET_ARN` (or `PERCEO_LLM_API_KEY` locally); None when neither is set."""
    from perceo.config.model import LLMSection
    from perceo.llm.factory import open_llm
    from perceo.llm.secrets import secrets_manager_loader
    from perceo.llm.settings import load_llm_settings

    loader = None
    if settings.llm_secret_arn is not None:
        loader = secrets_manager_loader(settings.llm_secret_arn, client=secrets_client())
    section = LLMSection(max_retries=settings.llm_max_retries, timeout_s=settings.llm_timeout_s)
    try:
        llm_settings = load_llm_settings(section, secret_loader=loader)
    except ConfigError:
        if loader is not None:
            raise  # a secret is configured but unusable: say so instead of quietly running without an LLM
        return None
    return open_llm(llm_settings, redis_client=redis_client)


_runtime: StepRuntime | None = None
_runtime_lock = threading.Lock()


def step_runtime() -> StepRuntime:
    """This process's runtime: the installed one, or one built from the environment on first use."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = _build_runtime()
        return _runtime


def install_step_runtime(runtime: StepRuntime) -> None:
    global _runtime
    with _runtime_lock:
        _runtime = runtime


def reset_step_runtime() -> None:
    global _runtime
    with _runtime_lock:
        _runtime = None


def _build_runtime() -> StepRuntime:
    import boto3

    from perceo.api.deps import dependencies
    from perceo.config.settings import get_settings
    from perceo.workflows.bundle import S3BundleStore
    from perceo.workflows.credentials import SecretsManagerGitCredentials
    from perceo.workflows.progress import RedisProgressStore
    from perceo.workflows.settings import WorkflowSettings

    settings = get_settings(WorkflowSettings)
    deps = dependencies()
    secrets_client = boto3.client("secretsmanager")
    return StepRuntime(
        settings=settings,
        bundles=S3BundleStore(boto3.client("s3"), settings.require("bundle_bucket")),
        progress=RedisProgressStore(deps.redis),
        graph_factory=lambda: deps.graph,
        key_lookup=lambda project_id, prefix: deps.keys.get(project_id, prefix),
        credentials=SecretsManagerGitCredentials(secrets_client, settings.credentials_secret_prefix()),
        bus_factory=lambda: deps.bus,
        llm_factory=lambda: _llm_from_settings(settings, deps.redis, lambda: secrets_client),
    )


# ------------------------------------------------------------------------------------------------ the API side

_service: WorkflowService | None = None


def workflow_service() -> WorkflowService:
    """The `WorkflowService` of this process (API routes), built on first use from the settings of the API's
    dependencies (`perceo.api.deps.dependencies().settings`: injected ones, else the environment's)."""
    global _service
    with _runtime_lock:
        if _service is None:
            _service = _build_service()
        return _service


def install_workflow_service(service: WorkflowService) -> None:
    global _service
    with _runtime_lock:
        _service = service


def reset_workflow_service() -> None:
    global _service
    with _runtime_lock:
        _service = None


def start_analysis_review(analysis: ChangeAnalysis, llm_threshold: float) -> AnalysisReview | None:
    """Start the LLM review of a just-recorded analysis (the slow path of `POST /observer/analyze`).

    None when no impacted flow is below `llm_threshold` (nothing to review, no execution). A review that cannot
    start is reported in the answer (status FAILED, the error's type and message), never by failing the analysis:
    it is already stored and published, and a client retrying the POST would record it twice.
    """
    from perceo.models.api import AnalysisReview, ReviewStartError
    from perceo.workflows.analyze_steps import flows_to_review

    if not flows_to_review(analysis, llm_threshold):
        return None
    try:
        started = workflow_service().start_analyze_review(analysis.project_id, analysis.id, llm_threshold)
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


def _build_service() -> WorkflowService:
    import boto3

    from perceo.api.deps import dependencies
    from perceo.workflows.bundle import S3BundleStore
    from perceo.workflows.progress import RedisProgressStore
    from perceo.workflows.service import WorkflowService

    deps = dependencies()
    settings = deps.settings
    return WorkflowService(
        boto3.client("stepfunctions"),
        RedisProgressStore(deps.redis),
        S3BundleStore(boto3.client("s3"), settings.require("bundle_bucket")),
        bootstrap_state_machine_arn=settings.bootstrap_state_machine_arn,
        analyze_state_machine_arn=settings.analyze_state_machine_arn,
        allowed_git_hosts=settings.allowed_git_hosts,
        max_concurrency=settings.workflow_max_concurrency,
        claim_ttl_s=settings.workflow_claim_ttl_s,
    )
