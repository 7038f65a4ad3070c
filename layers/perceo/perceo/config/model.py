"""The model of `.perceo/config.json`.

Field names are camelCase in the file (as in the first Perceo's config) and snake_case in Python.
Unknown keys are errors: a typo must not silently do nothing.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, model_validator

from perceo.models.common import Model

DEFAULT_WATCH_IGNORE = ["node_modules/", ".next/", ".git/", "dist/", "build/", ".perceo/"]


class ProjectSection(Model):
    id: str | None = None
    name: str | None = None
    framework: str | None = None
    branch: str | None = None


class FlowGraphSection(Model):
    #: `embedded` (FalkorDB started on demand under .perceo/data), `falkordb` (a running server) or `neo4j`.
    type: Literal["embedded", "falkordb", "neo4j"] = "embedded"
    #: `redis://host:port` for falkordb; `neo4j+s://…`, `neo4j://…` or `bolt://…` for neo4j.
    uri: str | None = None
    database: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    #: `embedded` only: stop the store after this many seconds without a client (0: keep it until
    #: `perceo local stop`). A command that needs it starts it again.
    idle_stop_s: int = Field(default=600, ge=0, le=7 * 24 * 3600)
    #: How long one query may wait for the store's answer (FalkorDB: the socket's read time limit; Neo4j: the
    #: connection's and the pool's), then the store counts as unavailable. The cloud's functions: `GRAPH_TIMEOUT_S`.
    timeout_s: float = Field(default=120.0, gt=0, le=3_600)


class EventBusSection(Model):
    type: Literal["embedded", "redis", "in-memory"] = "embedded"
    redis_url: str | None = None
    stream_max_len: int = Field(default=10_000, ge=100)


def _event_bus_value(value: Any) -> Any:
    """`"eventBus": "redis"` is short for `"eventBus": {"type": "redis"}`."""
    return {"type": value} if isinstance(value, str) else value


class WatchSection(Model):
    #: Folders `perceo watch` watches; empty: every top-level folder and file of the project that git does not ignore.
    paths: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=lambda: list(DEFAULT_WATCH_IGNORE))
    debounce_ms: int = Field(default=500, ge=0, le=60_000)
    auto_test: bool = False


class CISection(Model):
    strategy: Literal["affected-flows", "all"] = "affected-flows"
    parallelism: int = Field(default=4, ge=1, le=64)


class AnalysisSection(Model):
    use_llm: bool = False
    llm_threshold: float = Field(default=0.7, ge=0.0, le=1.0)


class GitSection(Model):
    """How long the CLI waits for git (`ci analyze`, `perceo watch`): each call is killed after its timeout."""

    #: One git call on the repository itself (rev-parse, diff, cat-file).
    local_timeout_seconds: int = Field(default=60, ge=1, le=3600)
    #: One fetch from the remote (`ci analyze --deepen` in a shallow clone).
    fetch_timeout_seconds: int = Field(default=30, ge=1, le=3600)


class ObserverSection(Model):
    api_base_url: str | None = None
    api_key: SecretStr | None = None
    watch: WatchSection = Field(default_factory=WatchSection)
    ci: CISection = Field(default_factory=CISection)
    analysis: AnalysisSection = Field(default_factory=AnalysisSection)
    git: GitSection = Field(default_factory=GitSection)
    #: Hosts that remote bootstrap may clone from.
    allowed_git_hosts: list[str] = Field(default_factory=lambda: ["github.com", "gitlab.com", "bitbucket.org"])


class LLMSection(Model):
    #: Any OpenAI-compatible server: OpenAI, OpenRouter, a self-hosted gateway.
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str = "gpt-4.1-mini"
    max_concurrency: int = Field(default=4, ge=1, le=32)
    #: One request's time limit; a stage's calls together are bounded by bootstrap.llmStageTimeoutS.
    timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    cache_ttl_s: int = Field(default=7 * 24 * 3600, ge=0)


class BootstrapSection(Model):
    max_flows: int = Field(default=15, ge=1, le=200)
    max_steps_per_flow: int = Field(default=15, ge=1, le=100)
    code_token_budget: int = Field(default=12_000, ge=500)
    prompt_token_budget: int = Field(default=24_000, ge=1_000)
    #: The most tokens one LLM answer may have (`max_tokens` of every bootstrap call).
    llm_max_tokens: int = Field(default=2_048, ge=64, le=32_768)
    #: The time limit of one LLM stage (flows, personas, refine, the steps of all flows), retries included;
    #: past it the stage keeps the offline heuristic's result.
    llm_stage_timeout_s: float = Field(default=180.0, gt=0, le=3_600)
    #: Flows `perceo init` never creates again (by name): `perceo flows delete` adds an auto-generated flow here.
    exclude_flows: list[str] = Field(default_factory=list)


class InsightsSection(Model):
    enabled: bool = True
    update_interval: int = Field(default=3600, ge=60)
    min_severity: Literal["critical", "high", "medium", "low", "info"] = "medium"


class PredictionsSection(Model):
    enabled: bool = True
    model: Literal["heuristic", "ml"] = "heuristic"
    confidence_threshold: float = Field(default=0.6, ge=0.0, le=1.0)


class CoverageSection(Model):
    min_coverage_score: float = Field(default=0.7, ge=0.0, le=1.0)
    alert_on_gaps: bool = True


class ThresholdsSection(Model):
    """`analyzer.thresholds`: what each insight rule needs to speak (the defaults are the README's)."""

    recent_days: int = Field(default=3, ge=1, le=30)
    baseline_days: int = Field(default=28, ge=7, le=180)
    min_sessions: int = Field(default=50, ge=1)
    tests_pass_rate: float = Field(default=0.9, gt=0.0, le=1.0)
    tests_fail_rate: float = Field(default=0.5, ge=0.0, lt=1.0)
    min_failing_runs: int = Field(default=2, ge=1)
    test_window_days: int = Field(default=7, ge=1, le=90)
    prod_drop: float = Field(default=0.15, gt=0.0, le=1.0)
    prod_steady: float = Field(default=0.05, ge=0.0, le=1.0)
    coverage_min_users: int = Field(default=50, ge=0)
    stale_run_days: int = Field(default=14, ge=1, le=365)
    dropoff_share: float = Field(default=0.5, gt=0.0, le=1.0)
    dropoff_min_sessions: int = Field(default=20, ge=1)
    dropoff_min_rate: float = Field(default=0.10, gt=0.0, le=1.0)
    step_slowdown: float = Field(default=0.5, gt=0.0)
    step_slowdown_ms: float = Field(default=1000.0, ge=0.0)
    prediction_min_probability: float = Field(default=0.5, ge=0.0, le=1.0)
    prediction_window_days: int = Field(default=7, ge=1, le=90)

    @model_validator(mode="after")
    def _fail_below_pass(self) -> ThresholdsSection:
        if self.tests_fail_rate >= self.tests_pass_rate:
            raise ValueError("testsFailRate must be below testsPassRate")
        return self


class AnomalySection(Model):
    """`analyzer.anomaly`: the daily anomaly detector's knobs (the defaults are the measured ones of the README)."""

    z_threshold: float = Field(default=5.0, ge=1.0, le=50.0)
    min_volume: int = Field(default=50, ge=1)
    min_effect: float = Field(default=0.10, gt=0.0, le=1.0)
    min_history: int = Field(default=28, ge=7, le=56)
    drift_z: float = Field(default=4.0, ge=1.0, le=50.0)
    min_drift_effect: float = Field(default=0.15, gt=0.0, le=1.0)


class AnalyzerSection(Model):
    thresholds: ThresholdsSection = Field(default_factory=ThresholdsSection)
    anomaly: AnomalySection = Field(default_factory=AnomalySection)
    insights: InsightsSection = Field(default_factory=InsightsSection)
    predictions: PredictionsSection = Field(default_factory=PredictionsSection)
    coverage: CoverageSection = Field(default_factory=CoverageSection)


class CorrelationSection(Model):
    algorithm: Literal["smith-waterman"] = "smith-waterman"
    min_similarity: float = Field(default=0.7, ge=0.0, le=1.0)


class RevenueTrackingSection(Model):
    enabled: bool = False
    avg_order_value_source: Literal["analytics", "manual"] = "manual"
    avg_order_value: float | None = Field(default=None, ge=0)


def _credentials_value(value: Any) -> Any:
    """An object stays an object; a string holding a JSON object becomes that object; any other string is a key.

    Strings arrive here after `${VAR}` and `file:` are resolved, so a service-account file or a variable
    holding JSON is read as the object it holds. The value is never echoed in an error (it is a secret).
    """
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an object, a JSON object string or a key string")
    text = value.strip()
    if not text.startswith("{"):
        return value
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"starts with '{{' but is not a valid JSON object (line {error.lineno} column {error.colno}: {error.msg})"
        ) from None
    if not isinstance(parsed, dict):  # pragma: no cover - a text starting with '{' that parses is an object
        raise ValueError("must be an object, a JSON object string or a key string")
    return parsed


#: What `analytics.credentials` accepts: an object, a JSON object as a string, or a plain key (kept secret).
AnalyticsCredentials = Annotated[dict[str, Any] | SecretStr, BeforeValidator(_credentials_value)]


class AnalyticsSection(Model):
    provider: Literal["ga4", "mixpanel", "amplitude", "posthog", "custom"] | None = None
    credentials: AnalyticsCredentials = Field(default_factory=dict)
    sync_interval: int = Field(default=300, ge=60)
    correlation: CorrelationSection = Field(default_factory=CorrelationSection)
    revenue_tracking: RevenueTrackingSection = Field(default_factory=RevenueTrackingSection)


class CoordinatorSection(Model):
    #: Which runner `ci test` uses; `auto` picks Playwright, then Cypress, then pytest by what the project has,
    #: and `command` runs `testCommand`.
    runner: Literal["auto", "playwright", "cypress", "pytest", "command"] = "auto"
    #: Any test command as an argument list (never a shell string): `{files}` (one argument per test file),
    #: `{grep}` (the tags of the selected tests; an argument holding it is dropped when there is none) and
    #: `{junit}` (where the command writes its JUnit XML).
    test_command: list[str] | None = None
    #: Time limit of one shard (one runner process and its retries), in seconds: a hung shard is killed.
    timeout_s: int = Field(default=600, ge=1)
    #: Extra attempts for a failing test; a test that passes on one is reported flaky, not passed.
    retries: int = Field(default=1, ge=0, le=5)
    #: Flows (by name) whose tests `ci test` runs when a change affects no flow; empty: it runs nothing then.
    smoke_flows: list[str] = Field(default_factory=list)


class FlowTestsSection(Model):
    """`flows.<flow name>`: what guards the flow, besides what is found automatically."""

    #: Test files (relative to the project root), globs (`e2e/checkout/**/*.spec.ts`), or tags found in test
    #: titles (`@flow:checkout`, or `grep:<text>` for any text).
    tests: list[str] = Field(default_factory=list)


class SlackSection(Model):
    webhook: SecretStr | None = None


class EmailSection(Model):
    recipients: list[str] = Field(default_factory=list)


class NotificationsSection(Model):
    slack: SlackSection | None = None
    email: EmailSection | None = None


class PerceoConfig(Model):
    version: str = "1.0"
    project: ProjectSection = Field(default_factory=ProjectSection)
    flow_graph: FlowGraphSection = Field(default_factory=FlowGraphSection)
    event_bus: Annotated[EventBusSection, BeforeValidator(_event_bus_value)] = Field(default_factory=EventBusSection)
    observer: ObserverSection = Field(default_factory=ObserverSection)
    llm: LLMSection = Field(default_factory=LLMSection)
    bootstrap: BootstrapSection = Field(default_factory=BootstrapSection)
    analyzer: AnalyzerSection = Field(default_factory=AnalyzerSection)
    analytics: AnalyticsSection = Field(default_factory=AnalyticsSection)
    coordinator: CoordinatorSection = Field(default_factory=CoordinatorSection)
    #: Per flow (by name): its tests, for the flow -> test mapping of `ci test`.
    flows: dict[str, FlowTestsSection] = Field(default_factory=dict)
    notifications: NotificationsSection = Field(default_factory=NotificationsSection)
