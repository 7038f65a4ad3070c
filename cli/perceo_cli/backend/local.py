"""The embedded default: the domain in-process, against the embedded FalkorDB store under `.perceo/data/`.

Its services come from the composition root (`perceo.wiring.build_local_services`) with the project's config and
the embedded store's URL; the store is started only when the config asks for it, and only when first needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perceo.bus.port import EventBus
from perceo.config.model import PerceoConfig
from perceo.errors import ConfigError
from perceo.graph.port import FlowGraph
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
from perceo.service import ProjectService
from perceo.wiring import Services, build_local_services
from perceo_cli.backend.port import (
    API_KEYS_ONLY_ON_THE_API,
    WORKFLOWS_ONLY_ON_THE_API,
    NotOnThisBackendError,
    Progress,
    SyncProgress,
)

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
    from perceo.analyzer.alerts import AlertRuleView, Alerts, Channel, Delivery
    from perceo.analyzer.insights import AnalyzerRun, CoverageReport, PredictionReport
    from perceo.backup.service import ImportResult
    from perceo.bootstrap.pipeline import BootstrapInput
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
    from perceo_cli.local.server import ServerProcess
    from perceo_cli.local.store import Lease

NO_PROJECT = "no Perceo project here: run `perceo init` first (or pass --project-dir)"
NO_PROJECT_ID = "no project id: set project.id in .perceo/config.json (run `perceo init` first)"
NO_LLM_KEY = "No LLM API key configured: using the offline heuristic (set llm.apiKey or PERCEO_LLM_API_KEY)."


class LocalBackend:
    def __init__(
        self,
        project_dir: Path,
        config: PerceoConfig,
        *,
        services: Services | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.project_dir = project_dir
        self.config = config
        self.notice = notice
        self._lease: Lease | None = None
        self._given = services
        self._services: Services | None = services

    @property
    def data_dir(self) -> Path:
        return self.project_dir / ".perceo" / "data"

    def _embedded_url(self) -> str:
        from perceo_cli.local.store import EmbeddedStore

        idle_s = self.config.flow_graph.idle_stop_s

        def started(server: ServerProcess) -> None:
            if self.notice is None:
                return
            lasts = f"stops after {idle_s} s without a client" if idle_s else "runs until stopped"
            self.notice(
                f"Started the embedded store (pid {server.pid}, {server.url}); data in {self.data_dir}. "
                f"It {lasts} (flowGraph.idleStopS); stop it now with `perceo local stop`."
            )

        store = EmbeddedStore(self.data_dir, idle_stop_s=idle_s, on_start=started)
        if self._lease is None:
            self._lease = store.lease()
        return store.ensure_running().url

    @property
    def services(self) -> Services:
        if self._services is None:
            self._services = build_local_services(
                self.config, embedded_url=self._embedded_url, project_dir=self.project_dir
            )
        return self._services

    @property
    def service(self) -> ProjectService:
        return self.services.projects

    @property
    def graph(self) -> FlowGraph:
        return self.services.graph

    @property
    def bus(self) -> EventBus | None:
        return self.services.bus

    def event_bus(self) -> EventBus | None:
        return self.bus

    def list_flow_metrics(self, *, since: str, until: str) -> list[FlowMetrics]:
        return self.graph.list_flow_metrics(self.project_id, since=since, until=until)

    @property
    def project_id(self) -> str:
        """The configured project; read before `services`, so a folder without a project never starts a store."""
        project_id = self.config.project.id
        if not project_id:
            raise ConfigError(NO_PROJECT)
        return project_id

    def project(self) -> Project:
        project_id = self.project_id
        return self.service.get_project(project_id)

    def list_flows(self) -> list[FlowView]:
        project_id = self.project_id
        return self.service.list_flows(project_id, include_steps=True)

    def get_flow(self, ref: str) -> FlowView:
        project_id = self.project_id
        return self.service.get_flow(project_id, ref)

    def update_flow(self, ref: str, update: FlowUpdate) -> Flow:
        project_id = self.project_id
        return self.service.update_flow(project_id, ref, update)

    def delete_flow(self, ref: str) -> None:
        project_id = self.project_id
        self.service.delete_flow(project_id, ref)

    def list_personas(self) -> list[Persona]:
        project_id = self.project_id
        return self.service.list_personas(project_id)

    def analyze(self, change_set: ChangeSet, affected_routes: Sequence[AffectedRoute]) -> ChangeAnalysis:
        project_id = self.project_id
        return self.service.analyze(project_id, change_set, affected_routes)

    def analyze_with_review(
        self, change_set: ChangeSet, affected_routes: Sequence[AffectedRoute], *, llm_threshold: float
    ) -> tuple[ChangeAnalysis, AnalysisReview | None]:
        raise NotOnThisBackendError(WORKFLOWS_ONLY_ON_THE_API)

    def get_analysis(self, analysis_id: str) -> ChangeAnalysis:
        project_id = self.project_id
        return self.service.get_analysis(project_id, analysis_id)

    def list_analyses(self, limit: int = 20) -> list[ChangeAnalysis]:
        project_id = self.project_id
        return self.service.list_analyses(project_id, limit=limit)

    def usage(self, days: int) -> UsageReport:
        """From the Redis of the project's LLM cache (its event bus's); the graph is not opened."""
        from perceo.llm.usage import usage_report

        project_id = self.config.project.id
        if not project_id:
            raise ConfigError(NO_PROJECT_ID, details={"where": "project.id"})
        return usage_report(self.services.usage, project_id, days)

    def bootstrap(
        self,
        request: BootstrapInput,
        *,
        project: Project,
        config_path: str,
        progress: Progress | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        from perceo.bootstrap.pipeline import BootstrapDeps, run_bootstrap
        from perceo.bootstrap.summary import bootstrap_summary

        services = self.services
        graph = services.graph
        self.service.ensure_project(project)
        llm = services.llm if request.use_llm else None
        if request.use_llm and llm is None and notice is not None:
            notice(NO_LLM_KEY)
        deps = BootstrapDeps(
            graph=graph,
            llm=llm,
            bus=services.bus,
            progress=progress,
            max_concurrency=getattr(llm, "max_concurrency", 4),
        )
        state = run_bootstrap(request.model_copy(update={"use_llm": llm is not None}), deps)
        return bootstrap_summary(state, graph, project_name=project.name, config_path=config_path)

    # -- the analyzer (insights are stored in the embedded graph) -----------------------------------------------
    def run_analyzer(self) -> AnalyzerRun:
        """Run the analyzer, then send the alerts its rules ask for (only when the project has rules)."""
        run = self.services.analyzer.run(self.project_id)
        from perceo.graph.alerts import AlertRuleStore

        graph = self.graph
        if not run.insights or not isinstance(graph, AlertRuleStore) or not graph.list_alert_rules(self.project_id):
            return run
        sent = self.alerts.send(self.project_id, run.insights)
        return run.model_copy(update={"alerts": [d.model_dump(mode="json") for d in sent]})

    @property
    def alerts(self) -> Alerts:
        return self.services.alerts

    def add_alert(self, rule: AlertRule, channel: Channel) -> AlertRule:
        self.service.get_project(self.project_id)
        return self.alerts.add(rule, channel)

    def list_alerts(self) -> list[AlertRuleView]:
        from perceo.graph.alerts import AlertRuleStore

        if not isinstance(self.graph, AlertRuleStore):
            return []
        return self.alerts.views(self.project_id)

    def remove_alert(self, name: str) -> None:
        self.alerts.remove(self.project_id, name)

    def test_alert(self, name: str) -> Delivery:
        return self.alerts.test(self.project_id, name)

    def alert_deliveries(self, limit: int = 100) -> list[Delivery]:
        return self.alerts.deliveries(self.project_id, limit)

    def job_status(self) -> list[JobRecord]:
        """Each scheduled job's last run recorded in this project's store (none runs by itself here: the local
        cloud's scheduler or `perceo local run-schedule` run them)."""
        from perceo.analyzer.jobs import JOB_NAMES

        log = self.services.job_log
        return [record for job in JOB_NAMES if (record := log.last(job)) is not None]

    def list_insights(
        self,
        *,
        types: Sequence[InsightType] = (),
        statuses: Sequence[InsightStatus] = (),
        min_severity: Severity | None = None,
        since_day: str = "",
        limit: int = 200,
    ) -> list[Insight]:
        return self.services.analyzer.insights(
            self.project_id,
            types=types,
            statuses=statuses,
            min_severity=min_severity,
            since_day=since_day,
            limit=limit,
        )

    def set_insight_status(self, ref: str, status: InsightStatus) -> Insight:
        return self.services.analyzer.store.set_insight_status(self.project_id, ref, status)

    def coverage(self) -> CoverageReport:
        return self.services.analyzer.coverage(self.project_id)

    def predict(self, analysis_id: str) -> PredictionReport:
        return self.services.analyzer.predict(self.project_id, analysis_id)

    # -- the coordinator -----------------------------------------------------------------------------------------
    def tests_started(
        self, suite_id: str, *, runner: str, selection: Selection, flow_ids: Sequence[str], files: int
    ) -> None:
        self.services.coordinator.tests_started(
            self.project_id, suite_id, runner=runner, selection=selection, flow_ids=flow_ids, files=files
        )

    def record_test_suite(
        self, report: SuiteReport, context: RunContext, *, coverage: Mapping[str, float] | None = None
    ) -> SuiteReport:
        self.project()
        return self.services.coordinator.record_suite(self.project_id, report, context, coverage=coverage)

    def upload_test_report(
        self, data: bytes, fmt: ReportFormat, context: RunContext, *, flows_of: Mapping[str, Sequence[str]]
    ) -> SuiteReport:
        self.project()
        return self.services.coordinator.ingest_report(self.project_id, data, fmt, context, flows_of=flows_of)

    def record_synthetic(self, report: SyntheticReport, context: RunContext) -> SyntheticReport:
        self.project()
        return self.services.coordinator.record_synthetic(self.project_id, report, context)

    def list_test_runs(
        self,
        *,
        flow_id: str | None = None,
        commit_sha: str | None = None,
        suite_id: str | None = None,
        limit: int = 100,
    ) -> list[TestRun]:
        return self.services.coordinator.results(
            self.project_id, flow_id=flow_id, commit_sha=commit_sha, suite_id=suite_id, limit=limit
        )

    def flaky_tests(self) -> FlakyReport:
        return self.services.coordinator.flaky_tests(self.project_id)

    def prediction_quality(self) -> PredictionQuality:
        return self.services.coordinator.prediction_quality(self.project_id)

    def start_run_tests(self, request: StartRunRequest) -> WorkflowStarted:
        raise NotOnThisBackendError(WORKFLOWS_ONLY_ON_THE_API)

    def run_tests_status(self, run_id: str) -> CoordinatorRunView:
        raise NotOnThisBackendError(WORKFLOWS_ONLY_ON_THE_API)

    # -- production analytics ----------------------------------------------------------------------------------
    def analytics_connect(self, provider: ProviderName, credentials: dict[str, Any]) -> ConnectionCheck:
        return self.services.analytics.connect(self.project_id, provider, credentials)

    def analytics_ingest(self, batch: dict[str, Any]) -> IngestResult:
        return self.services.analytics.ingest(self.project_id, batch)

    def analytics_sync(
        self,
        provider: ProviderName | None = None,
        *,
        since: int | None = None,
        until: int | None = None,
        progress: SyncProgress | None = None,
    ) -> SyncRun:
        return self.services.analytics.run_sync(self.project_id, provider, since=since, until=until, progress=progress)

    def analytics_status(self, days: int, *, flow: str | None = None) -> AnalyticsStatus:
        from perceo.analytics.service import last_days

        analytics = self.services.analytics
        return analytics.status(self.project_id, last_days(analytics.clock(), days), flow=flow)

    def analytics_traffic(self, days: int) -> dict[str, FlowTraffic]:
        from perceo.analytics.service import last_days

        analytics = self.services.analytics
        return analytics.traffic(self.project_id, last_days(analytics.clock(), days))

    def analytics_correlate(self, *, since: str | None = None, until: str | None = None) -> CorrelationReport:
        from perceo.analytics.service import window_days

        analytics = self.services.analytics
        return analytics.correlate(self.project_id, window_days(analytics.clock(), since, until))

    def analytics_gaps(self, days: int, *, limit: int = 20) -> GapsReport:
        from perceo.analytics.service import last_days

        analytics = self.services.analytics
        return analytics.gaps(self.project_id, last_days(analytics.clock(), days), limit=limit)

    def analytics_snippet(self) -> str:
        from perceo.analytics.service import AnalyticsService

        return AnalyticsService.snippet()

    # -- only on the API -----------------------------------------------------------------------------------------
    def export_project(self, project_id: str | None = None) -> list[str]:
        # The embedded store has no API keys: nothing of theirs to export.
        return list(self.services.backups(with_keys=False).export_lines(project_id or self.project_id))

    def import_project(self, lines: list[str], *, into: str | None = None, replace: bool = False) -> ImportResult:
        return self.services.backups(with_keys=False).import_lines(lines, into=into, replace=replace)

    def key_project(self) -> Project:
        raise NotOnThisBackendError(API_KEYS_ONLY_ON_THE_API)

    def list_keys(self, *, include_inactive: bool = False) -> list[ApiKey]:
        raise NotOnThisBackendError(API_KEYS_ONLY_ON_THE_API)

    def create_key(self, name: str, scopes: Iterable[str], *, expires_in_days: int | None = None) -> CreatedKey:
        raise NotOnThisBackendError(API_KEYS_ONLY_ON_THE_API)

    def revoke_key(self, prefix: str, *, reason: str | None = None, allow_self: bool = False) -> ApiKey:
        raise NotOnThisBackendError(API_KEYS_ONLY_ON_THE_API)

    def delete_project(self, project_id: str) -> DeleteProjectResponse:
        raise NotOnThisBackendError(API_KEYS_ONLY_ON_THE_API)

    def start_bootstrap(self, request: BootstrapRequest) -> WorkflowStarted:
        raise NotOnThisBackendError(WORKFLOWS_ONLY_ON_THE_API)

    def start_review(self, analysis_id: str, request: ReviewRequest) -> WorkflowStarted:
        raise NotOnThisBackendError(WORKFLOWS_ONLY_ON_THE_API)

    def workflow_status(self, workflow_id: str) -> WorkflowView:
        raise NotOnThisBackendError(WORKFLOWS_ONLY_ON_THE_API)

    def close(self) -> None:
        if self._services is not None and self._given is None:
            self._services.close()
        self._services = self._given
        if self._lease is not None:
            self._lease.release()
            self._lease = None
