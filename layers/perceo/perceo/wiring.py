"""The composition root: the one place that builds Perceo's adapters and services.

Modelled on `bootstrap.py` of *Architecture Patterns with Python*: a function receives the settings and optional
overrides and returns the ready services. Two entry points build the same `Services`:

- `build_services(settings, ...)`: the cloud. `Settings` come from the Lambda environment (read on first use when
  not given); the graph is Neo4j (FalkorDB when `GRAPH_URI` is set), Redis is ElastiCache, secrets come from
  Secrets Manager / SSM. Lambda handlers get theirs from `services()`.
- `build_local_services(config, embedded_url=...)`: the CLI's embedded default, from `.perceo/config.json` and the
  URL of the embedded store (the CLI starts it; it is called only when the config needs it).

Every service is built on first use and then kept: a Lambda's cold start builds only what its routes use, and
imports only their drivers (the imports sit in the builders). Pass any of them as a keyword to use it instead of
building it; that is how tests inject theirs:

    wiring.install(wiring.build_services(settings, graph=test_graph, redis=test_redis, pepper=b"…"))
    ...                      # every handler in this process now uses them
    wiring.reset()           # back to "build from the environment on first use"

`services()` is the process's one `Services` and the one injection point: handlers ask it, tests install theirs
through `install`. Nothing else in the code base constructs an adapter (a test holds that).
"""

from __future__ import annotations

import enum
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, cast

from perceo.errors import BackendUnavailableError, ConfigError

if TYPE_CHECKING:
    from perceo.analytics.ports import CredentialStore, ObjectStore, ProviderClients
    from perceo.analytics.service import AnalyticsService
    from perceo.analyzer.alerts import Alerts, EmailSender
    from perceo.analyzer.channels import KeyedSecrets
    from perceo.analyzer.insights import Analyzer, AnalyzerOptions
    from perceo.analyzer.jobs import JobLog
    from perceo.auth.ratelimit import RateLimiterPort
    from perceo.auth.service import ApiKeyService
    from perceo.backup.service import BackupService
    from perceo.bus.port import EventBus
    from perceo.config.model import PerceoConfig
    from perceo.config.secrets import SecretReader
    from perceo.config.settings import Settings
    from perceo.coordinator.model import FlowRunResult
    from perceo.coordinator.service import CoordinatorService
    from perceo.coordinator.synthetic import SyntheticRunner
    from perceo.graph.port import FlowGraph
    from perceo.llm.port import LLM, UsageStore
    from perceo.models.entities import FlowView
    from perceo.redis_client import RedisClient
    from perceo.service import ProjectService
    from perceo.workflows.bundle import BundleStore
    from perceo.workflows.credentials import GitCredentialSource
    from perceo.workflows.progress import ProgressStore
    from perceo.workflows.runtime import StepRuntime
    from perceo.workflows.service import WorkflowService
    from perceo.workflows.settings import WorkflowSettings

#: Redis calls from a Lambda must fail fast: the API Gateway integration times out at 29 s.
REDIS_TIMEOUT_S = 2.0
REDIS_HEALTH_CHECK_INTERVAL_S = 30
BUS_STREAM_MAX_LEN = 10_000
#: Ingested event ids are remembered a little longer than the oldest event ingest accepts (30 days).
ANALYTICS_SEEN_TTL_S = 40 * 86_400

T = TypeVar("T")


class _NotGiven(enum.Enum):
    NOT_GIVEN = 0


#: "Not passed" for overrides where None is a meaningful value (`llm=None`: no LLM).
NOT_GIVEN: Final = _NotGiven.NOT_GIVEN


# ------------------------------------------------------------------------------------------------ the services


class Services:
    """Every service of one process, each built on first use and then kept. Build one with `build_services` or
    `build_local_services`; what was passed in is used as it is (and never closed here)."""

    def __init__(
        self, adapters: _CloudAdapters | _LocalAdapters, provided: dict[str, Any], clock: Callable[[], int] | None
    ) -> None:
        self._adapters = adapters
        self._values: dict[str, Any] = dict(provided)
        self._clock = clock
        self._owned: list[Any] = []
        self._lock = threading.RLock()

    def _get(self, name: str, build: Callable[[], T], *, owned: bool = False) -> T:
        with self._lock:
            if name not in self._values:
                value = build()
                self._values[name] = value
                if owned and value is not None:
                    self._owned.append(value)
            return cast(T, self._values[name])

    # -- settings ------------------------------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        """The Lambda environment's settings (the cloud only)."""
        return self._get("settings", self._adapters.settings)

    @property
    def workflow_settings(self) -> WorkflowSettings:
        """The settings of the workflow functions: the shared ones plus what only the steps read."""
        return self._get("workflow_settings", self._adapters.workflow_settings)

    @property
    def secrets(self) -> SecretReader:
        """Secrets Manager / SSM through powertools `parameters`, cached for the settings' `max_age`."""

        def build() -> SecretReader:
            from perceo.config.secrets import ParametersSecretReader

            return ParametersSecretReader(max_age_s=self.settings.secrets_max_age_s)

        return self._get("secrets", build)

    # -- adapters ------------------------------------------------------------------------------------------------
    @property
    def graph(self) -> FlowGraph:
        return self._get("graph", lambda: self._adapters.graph(self), owned=True)

    @property
    def redis(self) -> RedisClient:
        """The Redis of the cache, the key store, rate limits, progress and LLM usage."""
        client = self._get("redis", self._adapters.redis, owned=True)
        if client is None:
            raise self._adapters.no_redis()
        return client

    @property
    def bus(self) -> EventBus | None:
        return self._get("bus", lambda: self._adapters.bus(self), owned=True)

    @property
    def llm(self) -> LLM | None:
        """The LLM (answers cached and usage recorded in Redis when there is one); None when none is configured."""
        return self._get("llm", lambda: self._adapters.llm(self), owned=True)

    @property
    def usage(self) -> UsageStore:
        """Where LLM calls are counted (`perceo usage`, `GET /usage`)."""

        def build() -> UsageStore:
            from perceo.llm.usage import RedisUsageStore

            return RedisUsageStore(self.redis)

        return self._get("usage", build)

    # -- services ------------------------------------------------------------------------------------------------
    @property
    def analyzer(self) -> Analyzer:
        """Insights, anomalies and coverage over the flow graph, which also stores the insights."""

        def build() -> Analyzer:
            from perceo.analyzer.insights import Analyzer
            from perceo.graph.insights import InsightStore

            graph = self.graph
            if not isinstance(graph, InsightStore):
                raise ConfigError("the flow graph in use cannot store insights (a Cypher graph is needed)")
            options = self._adapters.analyzer_options()
            if self._clock is None:
                return Analyzer(graph, graph, bus=self.bus, options=options)
            return Analyzer(graph, graph, bus=self.bus, options=options, clock=self._clock)

        return self._get("analyzer", build)

    @property
    def alerts(self) -> Alerts:
        """Alert rules (the graph), their channels (the secrets store: Secrets Manager / `.perceo/secrets`),
        sending (httpx, SES) with claims and the delivery log in Redis."""

        def build() -> Alerts:
            import httpx

            from perceo.analyzer.alerts import Alerts, AlertSender, RedisDeliveryLog, RedisSentAlerts
            from perceo.analyzer.channels import SecretChannelStore
            from perceo.graph.alerts import AlertRuleStore

            graph = self.graph
            if not isinstance(graph, AlertRuleStore):
                raise ConfigError("the flow graph in use cannot store alert rules (a Cypher graph is needed)")
            http = self._get("alerts_http", httpx.Client, owned=True)
            email = self._values.get("alert_email") or self._adapters.alert_email(self)
            secrets = self._values.get("alert_secrets") or self._adapters.alert_secrets(self)
            sender = AlertSender(http=http, sent=RedisSentAlerts(self.redis), email=email)
            return Alerts(rules=graph, channels=SecretChannelStore(secrets), sender=sender, flows=graph,
                          log=RedisDeliveryLog(self.redis))  # fmt: skip

        return self._get("alerts", build)

    @property
    def job_log(self) -> JobLog:
        """Each scheduled job's last run (Redis): the jobs write it, `GET /health` and `perceo status` read it."""

        def build() -> JobLog:
            from perceo.analyzer.jobs import RedisJobLog

            return RedisJobLog(self.redis)

        return self._get("job_log", build)

    @property
    def projects(self) -> ProjectService:
        """Projects, flows, personas, steps and change analyses (one code path for the CLI and the API)."""

        def build() -> ProjectService:
            from perceo.service import ProjectService

            if self._clock is None:
                return ProjectService(self.graph, self.bus)
            return ProjectService(self.graph, self.bus, clock=self._clock)

        return self._get("projects", build)

    @property
    def backup_store(self) -> ObjectStore:
        """Where the scheduled `export` job writes each project's daily export (S3 `BackupBucket` in the cloud)."""
        return self._get("backup_store", lambda: self._adapters.backup_store(self))

    def backups(self, *, with_keys: bool) -> BackupService:
        """Export and import of whole projects; `with_keys` adds the projects' API key metadata (the API's key store)
        to exports."""
        from perceo.backup.service import BackupService, GraphBackup

        graph = self.graph
        if not isinstance(graph, GraphBackup):
            raise ConfigError("the flow graph in use cannot export projects (a Cypher graph is needed)")
        keys = self.keys if with_keys else None
        return BackupService(graph, keys) if self._clock is None else BackupService(graph, keys, clock=self._clock)

    @property
    def coordinator(self) -> CoordinatorService:
        """Test results, flows run in a browser, predictions (`ci test`, `/coordinator/…`, the RunTests task).
        Its browser is found when a flow first runs, so recording results never needs one."""

        def build() -> CoordinatorService:
            from perceo.coordinator.service import CoordinatorService

            if self._clock is None:
                return CoordinatorService(self.graph, self.bus, synthetic=self.synthetic)
            return CoordinatorService(self.graph, self.bus, synthetic=self.synthetic, clock=self._clock)

        return self._get("coordinator", build)

    @property
    def synthetic(self) -> SyntheticRunner:
        """The browser that runs flows (the RunTests task): Chromium found in the environment when a flow first
        runs, so a process that only records results never looks for one."""

        def build() -> SyntheticRunner:
            import os

            return _BrowserOnFirstUse(lambda: build_synthetic_runner(os.environ))

        return self._get("synthetic", build)

    @property
    def analytics(self) -> AnalyticsService:
        """Production analytics: events (S3 / `.perceo/data`), ids and cursors (Redis), provider credentials (Secrets
        Manager / `.perceo/secrets`), provider clients (httpx), metrics in the graph."""

        def build() -> AnalyticsService:
            from perceo.analytics.service import AnalyticsService
            from perceo.analytics.stores import RedisCursorStore, RedisSeenEvents

            store = self._values.get("analytics_store") or self._adapters.analytics_store(self)
            credentials = self._values.get("analytics_credentials") or self._adapters.analytics_credentials(self)
            providers = self._values.get("analytics_providers") or self._get(
                "analytics_http", _provider_clients, owned=True
            )
            extra: dict[str, Any] = {} if self._clock is None else {"clock": self._clock}
            return AnalyticsService(
                self.graph,
                store,
                RedisSeenEvents(self.redis, ttl_s=ANALYTICS_SEEN_TTL_S),
                RedisCursorStore(self.redis),
                credentials,
                providers,
                self.bus,
                options=self._adapters.analytics_options(),
                **extra,
            )

        return self._get("analytics", build)

    @property
    def keys(self) -> ApiKeyService:
        """Project API keys in Redis, hashed with the deployment's pepper."""

        def build() -> ApiKeyService:
            from perceo.auth.redis_store import RedisKeyStore
            from perceo.auth.service import ApiKeyService

            store = RedisKeyStore(self.redis)
            # The pepper is read when a key is created or authenticated, not for the status check of each request.
            return (
                ApiKeyService(store, self.pepper)
                if self._clock is None
                else ApiKeyService(store, self.pepper, self._clock)
            )

        return self._get("keys", build)

    @property
    def limiter(self) -> RateLimiterPort:
        """The per-key token bucket every API request takes from."""

        def build() -> RateLimiterPort:
            from perceo.auth.ratelimit import RateLimiter

            rate, burst = self.settings.key_rate_limit_per_second, self.settings.key_rate_limit_burst
            if self._clock is None:
                return RateLimiter(self.redis, rate, burst)
            return RateLimiter(self.redis, rate, burst, clock=self._clock)

        return self._get("limiter", build)

    @property
    def workflows(self) -> WorkflowService:
        """Starts Step Functions executions and reports on them (the API side of the workflows)."""

        def build() -> WorkflowService:
            from perceo.workflows.service import WorkflowService

            settings = self.settings
            return WorkflowService(
                self._aws_client("stepfunctions"),
                self.progress,
                self.bundles,
                bootstrap_state_machine_arn=settings.bootstrap_state_machine_arn,
                analyze_state_machine_arn=settings.analyze_state_machine_arn,
                run_tests_state_machine_arn=settings.run_tests_state_machine_arn,
                allowed_git_hosts=settings.allowed_git_hosts,
                max_concurrency=settings.workflow_max_concurrency,
                claim_ttl_s=settings.workflow_claim_ttl_s,
            )

        return self._get("workflows", build)

    @property
    def step_runtime(self) -> StepRuntime:
        """What the Step Functions tasks work with; the graph, the bus and the LLM are built when a step asks."""

        def build() -> StepRuntime:
            from perceo.workflows.runtime import StepRuntime

            return StepRuntime(
                settings=self.workflow_settings,
                bundles=self.bundles,
                progress=self.progress,
                graph_factory=lambda: self.graph,
                key_lookup=lambda project_id, prefix: self.keys.get(project_id, prefix),
                credentials=self.git_credentials,
                bus_factory=lambda: self.bus,
                llm_factory=lambda: self.llm,
                work_dir=Path(tempfile.gettempdir()),
            )

        return self._get("step_runtime", build)

    @property
    def bundles(self) -> BundleStore:
        """The workflows' S3 bundle bucket (requests, pipeline state, packed source files)."""

        def build() -> BundleStore:
            from perceo.workflows.bundle import S3BundleStore

            return S3BundleStore(self._aws_client("s3"), self.settings.require("bundle_bucket"))

        return self._get("bundles", build)

    @property
    def progress(self) -> ProgressStore:
        """Where workflow steps write progress and `GET /workflows/{id}` reads it."""

        def build() -> ProgressStore:
            from perceo.workflows.progress import RedisProgressStore

            return RedisProgressStore(self.redis, ttl_s=self.settings.workflow_records_retention_days * 86_400)

        return self._get("progress", build)

    @property
    def git_credentials(self) -> GitCredentialSource:
        """A project's git credentials, from its optional secret."""

        def build() -> GitCredentialSource:
            from perceo.workflows.credentials import SecretsManagerGitCredentials

            prefix = self.workflow_settings.credentials_secret_prefix()
            return SecretsManagerGitCredentials(self._aws_client("secretsmanager"), prefix)

        return self._get("git_credentials", build)

    # -- secrets -------------------------------------------------------------------------------------------------
    def pepper(self) -> bytes:
        """The API key pepper (Secrets Manager, cached by the reader for `max_age`)."""
        given = self._values.get("pepper")
        if isinstance(given, bytes):
            return given
        return self.secrets.text(self.settings.require("api_key_pepper_secret_arn")).encode("utf-8")

    def admin_key(self) -> str:
        """The admin key that guards `POST /projects` (Secrets Manager ARN or SSM parameter name)."""
        given = self._values.get("admin_key")
        if isinstance(given, str):
            return given
        return self.secrets.text(self.settings.require("admin_key_secret_arn"))

    def _aws_client(self, service: str) -> Any:
        def build() -> Any:
            import boto3

            return boto3.client(service)  # type: ignore[call-overload]

        return self._get(f"aws:{service}", build)

    # -- life cycle ----------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Release what was built here (what was passed in belongs to whoever passed it)."""
        with self._lock:
            owned, self._owned = self._owned, []
            for name in [name for name, value in self._values.items() if any(value is o for o in owned)]:
                del self._values[name]
        for resource in reversed(owned):
            close = getattr(resource, "close", None)
            if callable(close):
                close()


def build_synthetic_runner(env: Mapping[str, str]) -> SyntheticRunner:
    """The browser that runs flows step by step: playwright-python driving the system Chromium found in `env`
    (`PERCEO_CHROMIUM`, Debian's paths, PATH). RunnerNotInstalledError, saying how to install one, without it."""
    from perceo.coordinator.browser import PlaywrightSyntheticRunner
    from perceo.coordinator.synthetic import find_chromium

    return PlaywrightSyntheticRunner(find_chromium(env))


class _BrowserOnFirstUse:
    """A SyntheticRunner that finds its browser when the first flow runs (a process that only records results
    never looks for one)."""

    def __init__(self, build: Callable[[], SyntheticRunner]) -> None:
        self._build = build
        self._runner: SyntheticRunner | None = None

    def run_flow(self, flow: FlowView, base_url: str, artifacts_dir: Path) -> FlowRunResult:
        if self._runner is None:
            self._runner = self._build()
        return self._runner.run_flow(flow, base_url, artifacts_dir)


# ------------------------------------------------------------------------------------------------ the cloud


class _CloudAdapters:
    """The cloud's adapters, from the Lambda environment's settings and secrets."""

    def __init__(self, settings: Settings | None) -> None:
        self._settings = settings

    def settings(self) -> Settings:
        if self._settings is None:
            from perceo.config.settings import get_settings

            self._settings = get_settings()
        return self._settings

    def workflow_settings(self) -> WorkflowSettings:
        from perceo.workflows.settings import WorkflowSettings

        if isinstance(self._settings, WorkflowSettings):
            return self._settings
        if self._settings is None:
            from perceo.config.settings import get_settings

            return get_settings(WorkflowSettings)
        # Settings given without the steps' own fields: those take their defaults.
        return WorkflowSettings.model_validate(self._settings.model_dump())

    def graph(self, services: Services) -> FlowGraph:
        """FalkorDB when `GRAPH_URI` is set (local cloud, tests), else Neo4j with credentials from its secret."""
        from pydantic import SecretStr

        from perceo.config.model import FlowGraphSection
        from perceo.graph.factory import open_flow_graph

        settings = services.settings
        if settings.graph_uri is not None:
            section = FlowGraphSection(
                type="falkordb",
                uri=settings.graph_uri,
                database=settings.graph_name,
                timeout_s=settings.graph_timeout_s,
            )
        else:
            secret_arn = settings.require("neo4j_secret_arn")
            credentials = services.secrets.json(secret_arn)
            username, password = credentials.get("username"), credentials.get("password")
            if not isinstance(username, str) or not isinstance(password, str):
                raise ConfigError(
                    f'secret {secret_arn} must hold {{"username": …, "password": …}}', details={"where": secret_arn}
                )
            section = FlowGraphSection(
                type="neo4j",
                uri=settings.require("neo4j_uri"),
                database=settings.neo4j_database,
                username=username,
                password=SecretStr(password),
                timeout_s=settings.graph_timeout_s,
            )
        graph: FlowGraph = open_flow_graph(section, embedded_url=None)
        graph.ensure_schema()
        return graph

    def redis(self) -> RedisClient:
        """One node, or a cluster for `redis+cluster://` / `rediss+cluster://` (ElastiCache Serverless)."""
        from perceo.redis_client import open_redis

        return open_redis(
            self.settings().redis_url,
            where="environment variable REDIS_URL",
            decode_responses=True,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            health_check_interval=REDIS_HEALTH_CHECK_INTERVAL_S,
        )

    def no_redis(self) -> ConfigError:
        return ConfigError("environment variable REDIS_URL is not set")

    def backup_store(self, services: Services) -> ObjectStore:
        from perceo.analytics.stores import S3ObjectStore

        return S3ObjectStore(services._aws_client("s3"), services.settings.require("backup_bucket"))

    def analytics_store(self, services: Services) -> ObjectStore:
        """Raw events in the bundle bucket under `events/` and `pages/` (SSE-S3)."""
        from perceo.analytics.stores import S3ObjectStore

        return S3ObjectStore(services._aws_client("s3"), services.settings.require("bundle_bucket"))

    def analytics_credentials(self, services: Services) -> CredentialStore:
        """One secret per project: `perceo/<stage>/analytics/<projectId>`."""
        from perceo.analytics.stores import SecretsManagerCredentialStore

        prefix = f"perceo/{services.settings.stage}/analytics/"
        return SecretsManagerCredentialStore(services._aws_client("secretsmanager"), prefix)

    def analytics_options(self) -> Any:
        from perceo.analytics.service import AnalyticsOptions

        return AnalyticsOptions()

    def analyzer_options(self) -> AnalyzerOptions:
        """The documented defaults: a project's `.perceo/config.json` is not read in the cloud."""
        from perceo.analyzer.insights import AnalyzerOptions

        return AnalyzerOptions()

    def alert_secrets(self, services: Services) -> KeyedSecrets:
        """One secret per project: `perceo/<stage>/alerts/<projectId>`, `{channel name: channel}`."""
        from perceo.analytics.stores import SecretsManagerCredentialStore

        prefix = f"perceo/{services.settings.stage}/alerts/"
        client = services._aws_client("secretsmanager")
        return SecretsManagerCredentialStore(client, prefix, description="Perceo alert channels")

    def alert_email(self, services: Services) -> EmailSender:
        from perceo.analyzer.alerts import SesEmailSender

        return SesEmailSender(lambda: services._aws_client("sesv2"))

    def bus(self, services: Services) -> EventBus:
        from perceo.bus.redis import RedisBus

        return RedisBus(services.redis, BUS_STREAM_MAX_LEN)

    def llm(self, services: Services) -> LLM | None:
        """The deployment's LLM: key from `LLM_SECRET_ARN` (or `PERCEO_LLM_API_KEY` locally); None when neither
        is set. A secret that is configured but unusable is an error, never a quiet run without the LLM."""
        from perceo.config.model import LLMSection
        from perceo.llm.factory import open_llm
        from perceo.llm.secrets import secrets_manager_loader
        from perceo.llm.settings import load_llm_settings

        settings = services.workflow_settings
        loader = None
        if settings.llm_secret_arn is not None:
            loader = secrets_manager_loader(settings.llm_secret_arn, client=services._aws_client("secretsmanager"))
        section = LLMSection(max_retries=settings.llm_max_retries, timeout_s=settings.llm_timeout_s)
        try:
            llm_settings = load_llm_settings(section, secret_loader=loader)
        except ConfigError:
            if loader is not None:
                raise
            return None
        return open_llm(llm_settings, redis_client=services.redis)


def build_services(
    settings: Settings | None = None,
    *,
    secrets: SecretReader | None = None,
    graph: FlowGraph | None = None,
    redis: RedisClient | None = None,
    bus: EventBus | None = None,
    llm: LLM | None | Literal[_NotGiven.NOT_GIVEN] = NOT_GIVEN,
    keys: ApiKeyService | None = None,
    limiter: RateLimiterPort | None = None,
    pepper: bytes | None = None,
    admin_key: str | None = None,
    workflows: WorkflowService | None = None,
    step_runtime: StepRuntime | None = None,
    bundles: BundleStore | None = None,
    analytics_store: ObjectStore | None = None,
    analytics_credentials: CredentialStore | None = None,
    analytics_providers: ProviderClients | None = None,
    backup_store: ObjectStore | None = None,
    alert_secrets: KeyedSecrets | None = None,
    alert_email: EmailSender | None = None,
    clock: Callable[[], int] | None = None,
) -> Services:
    """The cloud's services. `settings` default to the environment's (read on first use); every keyword given is
    used instead of what would be built (`clock` goes to the key service, the rate limiter and projects)."""
    given: dict[str, Any] = {
        "secrets": secrets,
        "graph": graph,
        "redis": redis,
        "bus": bus,
        "keys": keys,
        "limiter": limiter,
        "pepper": pepper,
        "admin_key": admin_key,
        "workflows": workflows,
        "step_runtime": step_runtime,
        "bundles": bundles,
        "analytics_store": analytics_store,
        "analytics_credentials": analytics_credentials,
        "analytics_providers": analytics_providers,
        "backup_store": backup_store,
        "alert_secrets": alert_secrets,
        "alert_email": alert_email,
    }
    provided = {name: value for name, value in given.items() if value is not None}
    if llm is not NOT_GIVEN:
        provided["llm"] = llm
    if settings is not None:
        provided["settings"] = settings
    return Services(_CloudAdapters(settings), provided, clock)


# ------------------------------------------------------------------------------------------------ the CLI


class _LocalAdapters:
    """The CLI's adapters, from `.perceo/config.json` (`flowGraph`, `eventBus`, `llm`) and the embedded store."""

    def __init__(
        self, config: PerceoConfig, embedded_url: Callable[[], str] | None, project_dir: Path | None = None
    ) -> None:
        self._config = config
        self._embedded_url = embedded_url
        self._project_dir = project_dir
        self._url: str | None = None
        self._lock = threading.Lock()

    def embedded_url(self) -> str:
        """The embedded store's URL (it may be started by asking): once per process."""
        with self._lock:
            if self._url is None:
                if self._embedded_url is None:
                    raise BackendUnavailableError("the embedded store is not available here")
                self._url = self._embedded_url()
            return self._url

    def _embedded_if_configured(self) -> str | None:
        config = self._config
        if config.flow_graph.type == "embedded" or config.event_bus.type == "embedded":
            return self.embedded_url()
        return None

    def settings(self) -> Settings:
        raise ConfigError("the Lambda settings are not read here: this runs the CLI's embedded default")

    def workflow_settings(self) -> WorkflowSettings:
        raise ConfigError("the Lambda settings are not read here: this runs the CLI's embedded default")

    def graph(self, services: Services) -> FlowGraph:
        from perceo.graph.factory import open_flow_graph

        graph = open_flow_graph(self._config.flow_graph, embedded_url=self._embedded_if_configured())
        graph.ensure_schema()
        return graph

    def redis(self) -> RedisClient | None:
        """The Redis of the project's LLM answers and usage: the same one as its event bus (see `llm_redis_url`)."""
        from perceo.llm.factory import llm_redis_url
        from perceo.redis_client import open_redis

        url = llm_redis_url(self._config, embedded_url=self.embedded_url)
        return None if url is None else open_redis(url, where="eventBus.redisUrl", decode_responses=True)

    def no_redis(self) -> ConfigError:
        return ConfigError(
            "no store holds LLM usage: set eventBus.type to 'embedded' or 'redis' (with eventBus.redisUrl)",
            details={"where": "eventBus"},
        )

    def _perceo_dir(self) -> Path:
        if self._project_dir is None:
            raise ConfigError(
                "analytics and alerts need the project's directory (its .perceo/data and .perceo/secrets)"
            )
        return self._project_dir / ".perceo"

    def backup_store(self, services: Services) -> ObjectStore:
        from perceo.analytics.stores import LocalObjectStore

        return LocalObjectStore(self._perceo_dir() / "data" / "backups")

    def analytics_store(self, services: Services) -> ObjectStore:
        """Raw events under `.perceo/data/events/` (and GA4 pages under `.perceo/data/pages/`)."""
        from perceo.analytics.stores import LocalObjectStore

        return LocalObjectStore(self._perceo_dir() / "data")

    def analytics_credentials(self, services: Services) -> CredentialStore:
        """`.perceo/secrets/analytics.json` (mode 0600): never the config file."""
        from perceo.analytics.stores import FileCredentialStore

        return FileCredentialStore(self._perceo_dir() / "secrets" / "analytics.json")

    def analytics_options(self) -> Any:
        from perceo.analytics.service import AnalyticsOptions

        return AnalyticsOptions.from_config(self._config.analytics)

    def analyzer_options(self) -> AnalyzerOptions:
        """The thresholds of `analyzer.thresholds` and `analyzer.anomaly` in the project's config."""
        from perceo.analyzer.insights import AnalyzerOptions

        return AnalyzerOptions.from_config(self._config.analyzer)

    def alert_secrets(self, services: Services) -> KeyedSecrets:
        """`.perceo/secrets/alert-channels.json` (mode 0600): never the config file."""
        from perceo.analytics.stores import FileCredentialStore

        return FileCredentialStore(self._perceo_dir() / "secrets" / "alert-channels.json")

    def alert_email(self, services: Services) -> EmailSender:
        """SES with the environment's AWS credentials and region, made at the first email."""
        from perceo.analyzer.alerts import SesEmailSender

        return SesEmailSender(lambda: services._aws_client("sesv2"))

    def bus(self, services: Services) -> EventBus:
        from perceo.bus.factory import open_event_bus

        return open_event_bus(self._config.event_bus, embedded_url=self._embedded_if_configured())

    def llm(self, services: Services) -> LLM | None:
        """The configured LLM; None (the offline heuristic) when no API key is set."""
        from perceo.llm.factory import llm_redis_url, open_llm
        from perceo.llm.settings import load_llm_settings

        try:
            settings = load_llm_settings(self._config.llm)
        except ConfigError as error:
            if error.details.get("where") != "llm.apiKey":
                raise
            return None
        has_redis = llm_redis_url(self._config, embedded_url=self.embedded_url) is not None
        return open_llm(settings, redis_client=services.redis if has_redis else None)


def build_local_services(
    config: PerceoConfig,
    *,
    embedded_url: Callable[[], str] | None = None,
    graph: FlowGraph | None = None,
    bus: EventBus | None = None,
    redis: RedisClient | None = None,
    llm: LLM | None | Literal[_NotGiven.NOT_GIVEN] = NOT_GIVEN,
    project_dir: Path | None = None,
    analytics_providers: ProviderClients | None = None,
    alert_email: EmailSender | None = None,
    clock: Callable[[], int] | None = None,
) -> Services:
    """The CLI's services for a project's config. `embedded_url()` starts (or finds) the embedded store and
    returns its URL; it is called only when the config asks for the embedded store, and at most once.
    `project_dir` is where analytics keeps events (`.perceo/data`) and provider credentials (`.perceo/secrets`)."""
    given: dict[str, Any] = {
        "graph": graph,
        "bus": bus,
        "redis": redis,
        "analytics_providers": analytics_providers,
        "alert_email": alert_email,
    }
    provided = {name: value for name, value in given.items() if value is not None}
    if llm is not NOT_GIVEN:
        provided["llm"] = llm
    return Services(_LocalAdapters(config, embedded_url, project_dir), provided, clock)


def _provider_clients() -> ProviderClients:
    from perceo.analytics.providers import HttpProviderClients

    return HttpProviderClients()


# ------------------------------------------------------------------------------------------------ this process

_current: Services | None = None
_current_lock = threading.Lock()


def services() -> Services:
    """This process's services: the installed ones, or the cloud's built from the environment on first use."""
    global _current
    with _current_lock:
        if _current is None:
            _current = build_services()
        return _current


def install(new: Services) -> None:
    """Make every handler in this process use `new` (tests; the previous services are left as they are)."""
    global _current
    with _current_lock:
        _current = new


def reset() -> None:
    """Forget this process's services, closing what they built; the next request builds anew."""
    global _current
    with _current_lock:
        previous, _current = _current, None
    if previous is not None:
        previous.close()
