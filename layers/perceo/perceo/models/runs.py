"""Test runs, insights, predictions and flow metrics."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from perceo.models.common import EntityId, EpochMs, Model, ProjectId, UnitFloat, new_id, now_ms
from perceo.models.vocab import (
    AgentType,
    AnalyticsProvider,
    InsightStatus,
    InsightType,
    PredictionBasis,
    Severity,
    TestOutcome,
    TestRunStatus,
    TestTrigger,
)

#: Longest failure message kept per test or run (runners can print megabytes; the head says what broke).
MAX_MESSAGE_CHARS = 4000
#: Most test cases kept on one TestRun (the rest are counted, not listed).
MAX_TESTS_PER_RUN = 500


class TestCase(Model):
    """One test's outcome in a run: what a runner's report says, after retries.

    `flaky` marks a test that failed and then passed on a retry: its status is `passed`, and it is reported as
    flaky, never as a plain pass. `attempts` counts every run of it (1 = no retry).
    """

    __test__ = False  # not a pytest test class

    id: str = Field(min_length=1, max_length=2048)
    name: str = Field(max_length=2048)
    file: str | None = None
    line: int | None = Field(default=None, ge=0)
    status: TestOutcome
    flaky: bool = False
    attempts: int = Field(default=1, ge=1)
    duration_ms: int = Field(default=0, ge=0)
    message: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)
    #: Files the runner attached (screenshots, traces, videos), as paths or object keys.
    artifacts: list[str] = Field(default_factory=list)
    #: The flows this test guards (from the flow -> test mapping); empty when unmapped.
    flow_ids: list[EntityId] = Field(default_factory=list)


class TestRun(Model):
    """One flow tested once: the outcome of the flow's tests (or of its synthetic steps) in one invocation.

    `(:TestRun)-[:TESTS]->(:Flow)`. Statuses and triggers are the original's vocabularies; a flaky result is a
    flag (`flaky`) on a passed run, not a status of its own.
    """

    __test__ = False  # not a pytest test class

    id: EntityId = Field(default_factory=new_id)
    project_id: ProjectId
    flow_id: EntityId | None = None
    #: The invocation (one `ci test`, one report upload, one synthetic run) this run belongs to.
    suite_id: EntityId | None = None
    status: TestRunStatus = "pending"
    duration_ms: int | None = Field(default=None, ge=0)
    #: Extra attempts its tests needed (0: every test ran once).
    retries: int = Field(default=0, ge=0)
    flaky: bool = False
    #: playwright | cypress | pytest | command | synthetic | junit | playwright-json
    runner: str = "synthetic"
    failure_message: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)
    failed_step_id: EntityId | None = None
    artifacts: list[str] = Field(default_factory=list)
    tests: list[TestCase] = Field(default_factory=list)
    triggered_by: TestTrigger = "manual"
    pr_number: int | None = None
    commit_sha: str | None = None
    branch_name: str | None = None
    agent_type: AgentType = "playwright"
    created_at: EpochMs = Field(default_factory=now_ms)
    started_at: EpochMs | None = None
    completed_at: EpochMs | None = None


class RevenueImpact(Model):
    estimated_monthly_loss: float = Field(ge=0)
    confidence: UnitFloat
    affected_users: int = Field(ge=0)


class Insight(Model):
    """What the analyzer tells a team about a flow: a finding with its evidence and what to do about it.

    `(:Insight {projectId, key})-[:ABOUT]->(:Flow)`. One insight per `subject` (what it is about, e.g.
    `coverage-gap:<flow id>`) and day: while an insight of a subject is open or acknowledged, finding it again
    updates it (evidence, severity, `last_seen_day`); a subject found again after it was resolved opens a new one.
    """

    id: EntityId = Field(default_factory=new_id)
    project_id: ProjectId
    flow_id: EntityId | None = None
    type: InsightType
    severity: Severity
    title: str
    message: str
    suggested_action: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    revenue_impact: RevenueImpact | None = None
    status: InsightStatus = "open"
    #: What the insight is about: `<type>:<flow id>[:<detail>]`; the key of "one insight per subject and day".
    subject: str = Field(default="", max_length=512)
    #: The UTC day (YYYY-MM-DD) the insight was first found, and the last day it was found again.
    day: str = Field(default="", pattern=r"^(\d{4}-\d{2}-\d{2})?$")
    last_seen_day: str | None = None
    created_at: EpochMs = Field(default_factory=now_ms)
    updated_at: EpochMs | None = None
    acknowledged_at: EpochMs | None = None
    resolved_at: EpochMs | None = None
    #: Who resolved it: `user` (`insights resolve`) or `auto` (a later run no longer found its condition).
    resolved_by: Literal["user", "auto"] | None = None
    #: Why it was resolved automatically.
    resolution: str | None = Field(default=None, max_length=500)


class Prediction(Model):
    """What a change analysis said about one flow, checked later against the flow's test outcome.

    `affected` is the analysis's verdict and `probability` its risk score for the flow (0 when not affected).
    `actual_result` / `prediction_correct` are filled when a run of the flow at `commit_sha` completes:
    correct means affected and failed, or not affected and passed.
    """

    id: EntityId = Field(default_factory=new_id)
    project_id: ProjectId
    flow_id: EntityId
    analysis_id: EntityId | None = None
    affected: bool = False
    probability: UnitFloat
    confidence: UnitFloat
    reasoning: str = ""
    based_on: PredictionBasis = "heuristic"
    commit_sha: str | None = None
    pr_number: int | None = None
    actual_result: TestOutcome | None = None
    prediction_correct: bool | None = None
    created_at: EpochMs = Field(default_factory=now_ms)
    validated_at: EpochMs | None = None


class FlowMetrics(Model):
    """One flow's production figures for one UTC day (`(:FlowMetrics {projectId, flowId, day})` in the graph).

    `basis` says where they come from: aligned sessions (raw events: ingest, Mixpanel, Amplitude) or page
    aggregates (GA4 without raw events: walks estimated from the flow's pages' sessions, step by step).
    """

    project_id: ProjectId
    flow_id: EntityId
    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    basis: Literal["sessions", "pages"] = "sessions"
    synthetic_success_rate: UnitFloat | None = None
    synthetic_run_count: int = Field(default=0, ge=0)
    #: Sessions that walked the flow (at least its first steps, at minSimilarity).
    sessions: int = Field(default=0, ge=0)
    #: Sessions that walked it to its last step.
    completions: int = Field(default=0, ge=0)
    #: completions / sessions (None without sessions).
    prod_success_rate: UnitFloat | None = None
    #: Distinct users who walked the flow that day.
    prod_daily_users: int | None = Field(default=None, ge=0)
    #: The step most sessions dropped off at (never reached), None when none dropped off.
    prod_top_exit_step: int | None = None
    #: Mean time from the first to the last matched step of completed walks.
    prod_avg_duration_ms: float | None = None
    median_duration_ms: float | None = None
    #: Sessions that dropped off at each step ("3": sessions that reached step 2 and never step 3).
    drop_off: dict[str, int] = Field(default_factory=dict)
    #: Median time from step k-1 to step k (index k-1; None for step 1 and steps no walk timed).
    step_median_ms: list[float | None] = Field(default_factory=list)
    #: Dropped sessions x the value of a completion (revenue property or configured value), None when unknown.
    revenue_at_risk: float | None = Field(default=None, ge=0)
    #: How much of the project's production traffic walks this flow without a test covering it (0..1).
    gap_score: UnitFloat = 0.0
    updated_at: EpochMs = Field(default_factory=now_ms)

    @property
    def success_gap(self) -> float | None:
        """|synthetic - production| success rate, when both are known."""
        if self.synthetic_success_rate is None or self.prod_success_rate is None:
            return None
        return abs(self.synthetic_success_rate - self.prod_success_rate)


class AnalyticsEvent(Model):
    project_id: ProjectId
    provider: AnalyticsProvider
    event_type: str
    event_name: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    anonymous_id: str | None = None
    page_path: str | None = None
    url: str | None = None
    referrer: str | None = None
    device_type: str | None = None
    timestamp: EpochMs
    metadata: dict[str, Any] = Field(default_factory=dict)
