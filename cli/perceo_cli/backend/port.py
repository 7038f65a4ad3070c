"""The Backend port: what the CLI asks of Perceo, whether it runs in-process or behind the API.

`LocalBackend` runs the domain against the embedded store; `HttpBackend` calls the API. The same command gives
the same output on both. What exists on one side only (API keys and workflows in the API; the in-process bootstrap
on the embedded default) the other side answers with `NotOnThisBackendError`, whose message says what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from perceo.errors import ConfigError
from perceo.models import (
    AffectedRoute,
    ApiKey,
    ChangeAnalysis,
    ChangeSet,
    Flow,
    FlowUpdate,
    FlowView,
    Insight,
    Persona,
    Project,
)
from perceo.models.vocab import InsightStatus, InsightType, Severity

if TYPE_CHECKING:
    from perceo.analytics.model import (
        AnalyticsStatus,
        ConnectionCheck,
        CorrelationReport,
        FlowTraffic,
        GapsReport,
        IngestResult,
        ProviderName,
        SyncRun,
    )
    from perceo.analyzer.alertrules import AlertRule
    from perceo.analyzer.alerts import AlertRuleView, Channel, Delivery
    from perceo.analyzer.insights import AnalyzerRun, CoverageReport, PredictionReport
    from perceo.backup.service import ImportResult
    from perceo.bootstrap.pipeline import BootstrapInput
    from perceo.bus.port import EventBus
    from perceo.coordinator.api_models import CoordinatorRunView, StartRunRequest
    from perceo.coordinator.model import Selection, SuiteReport, SyntheticReport
    from perceo.coordinator.outcomes import FlakyReport, RunContext
    from perceo.coordinator.predictions import PredictionQuality
    from perceo.coordinator.service import ReportFormat
    from perceo.llm.model import UsageReport
    from perceo.models import TestRun
    from perceo.models.api import AnalysisReview, CreatedKey, DeleteProjectResponse
    from perceo.models.jobs import JobRecord
    from perceo.models.runs import FlowMetrics
    from perceo.workflows.model import BootstrapRequest, ReviewRequest, WorkflowStarted, WorkflowView

#: `(stage, percentage, message)` as a bootstrap advances.
Progress = Callable[[str, int, str], None]
#: `(what, done, total)` as an analytics sync advances.
SyncProgress = Callable[[str, int, int], None]

#: Said when an API-only command runs on the embedded default (a project without `observer.apiBaseUrl`).
API_KEYS_ONLY_ON_THE_API = (
    "API keys live in the Perceo API, and this project uses the embedded store: set observer.apiBaseUrl "
    "(`perceo config set observer.apiBaseUrl URL`) and run `perceo login` first"
)
WORKFLOWS_ONLY_ON_THE_API = (
    "workflows run in the Perceo API, and this project uses the embedded store: set observer.apiBaseUrl "
    "(`perceo config set observer.apiBaseUrl URL`) and run `perceo login` first"
)
PREDICT_ONLY_EMBEDDED = (
    "`analyze predict` runs on the embedded store only for now (its API route is not built yet): unset "
    "observer.apiBaseUrl to predict for the local project"
)
LOCAL_BOOTSTRAP_ONLY = (
    "this project uses the Perceo API (observer.apiBaseUrl is set): run `perceo init --remote` to "
    "bootstrap it in the cloud, or unset observer.apiBaseUrl to bootstrap into the embedded store"
)


class NotOnThisBackendError(ConfigError):
    """The command needs what only the other backend has (exit 2: the project's config decides the backend)."""

    code = "not_on_this_backend"

    def __init__(self, message: str) -> None:
        super().__init__(message, details={"where": "observer.apiBaseUrl"})


class Backend(Protocol):
    def project(self) -> Project:
        """The current project (created on first use by the local backend)."""

    def list_flows(self) -> list[FlowView]: ...
    def get_flow(self, ref: str) -> FlowView:
        """A flow by id or by name. Raises FlowNotFoundError."""

    def update_flow(self, ref: str, update: FlowUpdate) -> Flow: ...
    def delete_flow(self, ref: str) -> None: ...
    def list_personas(self) -> list[Persona]: ...
    def analyze(self, change_set: ChangeSet, affected_routes: Sequence[AffectedRoute]) -> ChangeAnalysis:
        """Map routes the CLI found affected to this project's flows; score, store and publish the analysis."""

    def analyze_with_review(
        self, change_set: ChangeSet, affected_routes: Sequence[AffectedRoute], *, llm_threshold: float
    ) -> tuple[ChangeAnalysis, AnalysisReview | None]:
        """`analyze`, and start the LLM review of the flows below `llm_threshold` (None: no flow is below it).
        NotOnThisBackendError, before anything is stored, where reviews do not run (the embedded default)."""

    def get_analysis(self, analysis_id: str) -> ChangeAnalysis: ...
    def list_analyses(self, limit: int = 20) -> list[ChangeAnalysis]: ...
    def usage(self, days: int) -> UsageReport:
        """The project's LLM calls, tokens and estimated cost over the last `days` UTC days."""

    def bootstrap(
        self,
        request: BootstrapInput,
        *,
        project: Project,
        config_path: str,
        progress: Progress | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Discover the workspace and store its flows, personas and steps in this process (`perceo init`).

        Creates `project` when missing; `notice` hears what the user should know before it runs (no LLM key).
        Returns the `init --json` document. NotOnThisBackendError on the API (`perceo init --remote` instead).
        """

    # -- the analyzer ---------------------------------------------------------------------------------------------
    def run_analyzer(self) -> AnalyzerRun:
        """Detect anomalies and run every insight rule now; store the insights (one per subject and day)."""

    def list_insights(
        self,
        *,
        types: Sequence[InsightType] = (),
        statuses: Sequence[InsightStatus] = (),
        min_severity: Severity | None = None,
        since_day: str = "",
        limit: int = 200,
    ) -> list[Insight]:
        """Stored insights last seen on or after `since_day`, most severe first."""

    def set_insight_status(self, ref: str, status: InsightStatus) -> Insight:
        """Acknowledge or resolve an insight by id or unique id prefix (InsightNotFoundError)."""

    def coverage(self) -> CoverageReport:
        """Flows x tests x traffic, ranked by the users a day no recent test guards."""

    def predict(self, analysis_id: str) -> PredictionReport:
        """Failure probabilities of the flows a stored analysis reaches (the project's model or the heuristic)."""

    # -- alerts -------------------------------------------------------------------------------------------------
    def add_alert(self, rule: AlertRule, channel: Channel) -> AlertRule:
        """ValidationFailed (nothing stored) for a bad channel or an unknown flow."""

    def list_alerts(self) -> list[AlertRuleView]: ...
    def remove_alert(self, name: str) -> None:
        """AlertRuleNotFoundError when there is no rule of that name."""

    def test_alert(self, name: str) -> Delivery: ...
    def alert_deliveries(self, limit: int = 100) -> list[Delivery]:
        """The project's last deliveries, newest first."""

    # -- scheduled jobs -------------------------------------------------------------------------------------------
    def job_status(self) -> list[JobRecord]:
        """The last run of each scheduled job that ran."""

    def key_project(self) -> Project:
        """The project of the API key in use."""

    def list_keys(self, *, include_inactive: bool = False) -> list[ApiKey]: ...
    def create_key(self, name: str, scopes: Iterable[str], *, expires_in_days: int | None = None) -> CreatedKey: ...
    def revoke_key(self, prefix: str, *, reason: str | None = None, allow_self: bool = False) -> ApiKey: ...
    def delete_project(self, project_id: str) -> DeleteProjectResponse: ...

    # -- workflows (the API's Step Functions) --------------------------------------------------------------------
    def start_bootstrap(self, request: BootstrapRequest) -> WorkflowStarted: ...
    def start_review(self, analysis_id: str, request: ReviewRequest) -> WorkflowStarted: ...
    def workflow_status(self, workflow_id: str) -> WorkflowView: ...

    # -- the coordinator: test results, flows run in a browser, predictions --------------------------------------
    def tests_started(
        self, suite_id: str, *, runner: str, selection: Selection, flow_ids: Sequence[str], files: int
    ) -> None:
        """Announce an invocation about to run (`coordinator.tests.started`)."""

    def record_test_suite(
        self, report: SuiteReport, context: RunContext, *, coverage: Mapping[str, float] | None = None
    ) -> SuiteReport:
        """Record one TestRun per tested flow, validate predictions, set coverage scores, publish the events.
        Returns the report with each flow's `testRunId`."""

    def upload_test_report(
        self, data: bytes, fmt: ReportFormat, context: RunContext, *, flows_of: Mapping[str, Sequence[str]]
    ) -> SuiteReport:
        """Results produced elsewhere (JUnit XML, Playwright JSON), mapped to flows by test file and recorded."""

    def record_synthetic(self, report: SyntheticReport, context: RunContext) -> SyntheticReport:
        """Record flows run in a browser by this CLI: one TestRun per flow, the events."""

    def list_test_runs(
        self,
        *,
        flow_id: str | None = None,
        commit_sha: str | None = None,
        suite_id: str | None = None,
        limit: int = 100,
    ) -> list[TestRun]:
        """The project's recorded runs, newest first."""

    def flaky_tests(self) -> FlakyReport:
        """Tests that passed and failed on one commit (or passed on a retry) over the last 90 days."""

    def prediction_quality(self) -> PredictionQuality:
        """How `ci analyze`'s predictions held against test outcomes over the last 90 days."""

    def start_run_tests(self, request: StartRunRequest) -> WorkflowStarted:
        """Start RunTests in the cloud (the flows' steps in its browser). NotOnThisBackendError on the embedded
        default."""

    def run_tests_status(self, run_id: str) -> CoordinatorRunView:
        """A RunTests workflow's status and the runs it recorded so far."""

    # -- production metrics (the dashboard) --------------------------------------------------------
    def list_flow_metrics(self, *, since: str, until: str) -> list[FlowMetrics]:
        """Every flow's daily production metrics from day `since` to `until` (YYYY-MM-DD, inclusive)."""

    # -- the event bus -------------------------------------------------------------------------------------------
    def event_bus(self) -> EventBus | None:
        """The bus this process may publish to (`perceo watch`): the embedded or configured Redis bus; None on the
        API, whose bus (EventBridge) only the API's own handlers publish to."""

    # -- production analytics ----------------------------------------------------------------------------------
    def analytics_connect(self, provider: ProviderName, credentials: dict[str, Any]) -> ConnectionCheck:
        """Check the credentials with the provider and keep them in the secrets store (never the config)."""

    def analytics_ingest(self, batch: dict[str, Any]) -> IngestResult:
        """Store a batch of our own events (`POST /analytics/events`; the demo's synthetic traffic)."""

    def analytics_sync(
        self,
        provider: ProviderName | None = None,
        *,
        since: int | None = None,
        until: int | None = None,
        progress: SyncProgress | None = None,
    ) -> SyncRun:
        """Pull the providers (or one), then correlate the days touched into flow metrics."""

    def analytics_status(self, days: int, *, flow: str | None = None) -> AnalyticsStatus:
        """Providers and each flow's production figures over the last `days` UTC days."""

    def analytics_traffic(self, days: int) -> dict[str, FlowTraffic]:
        """Users and sessions per day and success rate per flow with metrics (empty when none exist)."""

    def analytics_correlate(self, *, since: str | None = None, until: str | None = None) -> CorrelationReport:
        """Sessions -> alignment -> daily metrics again over the UTC days since..until from the stored events (no
        provider is asked); publishes analytics.correlation.complete."""

    def analytics_gaps(self, days: int, *, limit: int = 20) -> GapsReport:
        """Flows users walk that no test covers over the last `days` UTC days, ranked by users/day x (1 - coverage)."""

    def analytics_snippet(self) -> str:
        """The browser snippet that sends page views and clicks to POST /analytics/events."""

    # Backups
    def export_project(self, project_id: str | None = None) -> list[str]:
        """The export file's lines (header first) of this project, or of `project_id` (the key's own on the API)."""

    def import_project(self, lines: list[str], *, into: str | None = None, replace: bool = False) -> ImportResult:
        """Restore an export (validated whole first; all or nothing). ConflictError when the project exists and
        `replace` is false."""

    def close(self) -> None: ...
