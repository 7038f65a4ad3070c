"""Scheduled analyzer jobs: run over every project in pages, record the last run and its outcome.

`run_detect_anomalies` is the `detect-anomalies` job (an EventBridge schedule in the cloud): for each project,
anomaly detection and every insight rule (`Analyzer.run`), which is idempotent (one insight per subject and day),
so a project analyzed twice gets no duplicate. Projects go in id order, `page_size` at a time. A run that gets
short of time (the Lambda's remaining time under `stop_with_ms`) stops between projects and leaves a cursor: the
next run resumes after the last project done, then starts over from the first. A project that fails is recorded
(its id and the error type, never a message that could hold data) and the others still run: the outcome is then
`partial`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import Field

from perceo.analyzer.insights import Analyzer
from perceo.analyzer.joblog import (
    JOB_NAMES,
    JobLog,
    JobName,
    JobRecord,
    MemoryJobLog,
    Outcome,
    ProjectFailure,
    RedisJobLog,
)
from perceo.models import now_ms
from perceo.models.common import Model

if TYPE_CHECKING:
    from perceo.analytics.ports import ObjectStore
    from perceo.analytics.service import AnalyticsService
    from perceo.analyzer.alerts import Alerts
    from perceo.redis_client import RedisClient

log = logging.getLogger(__name__)

__all__ = ["JOB_NAMES", "JobLog", "JobName", "JobRecord", "MemoryJobLog", "Outcome", "ProjectFailure",
           "RedisJobLog"]  # fmt: skip

DEFAULT_PAGE_SIZE = 50
#: Stop between projects when the invocation has less than this left (a project's analysis takes seconds).
DEFAULT_STOP_WITH_MS = 60_000


@dataclass(frozen=True)
class Done:
    """What one project's work did."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    days: int = 0
    delivered: int = 0
    failed: int = 0


def run_detect_anomalies(
    analyzer: Analyzer,
    job_log: JobLog,
    *,
    remaining_ms: Callable[[], int] | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    stop_with_ms: int = DEFAULT_STOP_WITH_MS,
    clock: Callable[[], int] = now_ms,
) -> JobRecord:
    """Analyze every project (resuming after the last run's cursor) and record the run."""

    def analyze(project_id: str) -> Done:
        run = analyzer.run(project_id)
        return Done(created=run.created, updated=run.updated)

    ids = [p.id for p in analyzer.graph.list_projects()]
    return run_over_projects("detect-anomalies", ids, analyze, job_log, remaining_ms=remaining_ms,
                             page_size=page_size, stop_with_ms=stop_with_ms, clock=clock)  # fmt: skip


def run_over_projects(
    job: JobName,
    project_ids: Sequence[str],
    work: Callable[[str], Done],
    job_log: JobLog,
    *,
    remaining_ms: Callable[[], int] | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    stop_with_ms: int = DEFAULT_STOP_WITH_MS,
    clock: Callable[[], int] = now_ms,
) -> JobRecord:
    """`work` on each project in id order, resuming after the last run's cursor; the run is recorded.

    After each page of `page_size` projects a `running` record with the cursor is written, so a run killed without
    warning (the Lambda's hard timeout) resumes from its last page: at most one page is done twice, which changes
    nothing (every job's work is idempotent)."""
    started = clock()
    previous = job_log.last(job)
    after = previous.cursor if previous is not None else None
    todo = sorted(i for i in project_ids if after is None or i > after)
    record = JobRecord(job=job, started_at=started, finished_at=started, outcome="running")
    stopped = False
    for index, project_id in enumerate(todo):
        if remaining_ms is not None and remaining_ms() < stop_with_ms:
            stopped = True
            break
        try:
            done = work(project_id)
        except Exception as error:  # one project's failure must not stop the others
            log.warning("%s: project %s failed: %s", job, project_id, type(error).__name__)
            record.failures.append(ProjectFailure(project_id=project_id, error=type(error).__name__))
        else:
            record.created += done.created
            record.updated += done.updated
            record.deleted += done.deleted
            record.days += done.days
            record.delivered += done.delivered
            record.failed += done.failed
        record.projects += 1
        after = project_id
        if (index + 1) % page_size == 0 and index + 1 < len(todo):
            job_log.record(record.model_copy(update={"finished_at": clock(), "cursor": after}))
    outcome: Outcome = "succeeded"
    if stopped:
        outcome = "interrupted"
    elif record.failures:
        outcome = "failed" if len(record.failures) == record.projects else "partial"
    final = record.model_copy(update={"finished_at": clock(), "outcome": outcome, "cursor": after if stopped else None})
    job_log.record(final)
    return final


# --------------------------------------------------------------------------------------------------
# cleanup: retention per project


class Retention(Model):
    """How long each kind of record is kept, in days (the defaults are the README's)."""

    analyses_days: int = Field(default=180, ge=1)
    test_runs_days: int = Field(default=180, ge=1)
    #: Longer: the failure-probability model learns from them.
    predictions_days: int = Field(default=365, ge=1)
    #: Resolved, dismissed or false-positive insights (open and acknowledged ones are never deleted).
    closed_insights_days: int = Field(default=90, ge=1)
    #: A year and a bit: the anomaly baseline needs 8 weeks, the seasonal comparisons a year.
    flow_metrics_days: int = Field(default=400, ge=1)
    #: Raw event batches (ingest accepts events up to 30 days old).
    raw_events_days: int = Field(default=35, ge=1)
    #: Workflow status and progress records (`GET /workflows/{id}`), after their last change.
    workflow_records_days: int = Field(default=30, ge=1)

    @classmethod
    def from_settings(cls, analyses_days: int, workflow_records_days: int) -> Retention:
        """The deployment's retention: analyses and test runs, and workflow records, as configured; the rest default."""
        return cls(
            analyses_days=analyses_days, test_runs_days=analyses_days, workflow_records_days=workflow_records_days
        )


class WorkflowRecords(Protocol):
    def delete_older(self, project_id: str, *, before: int) -> int: ...


class RetentionStore(Protocol):
    def delete_older(self, project_id: str, what: str, *, before: int, before_day: str = "") -> int: ...
    def list_projects(self) -> Sequence[Any]: ...


def cleanup_project(
    graph: RetentionStore,
    project_id: str,
    retention: Retention,
    now: int,
    objects: ObjectStore | None = None,
    workflows: WorkflowRecords | None = None,
) -> Done:
    """Delete one project's records older than their retention. Idempotent."""
    day_ms = 86_400_000
    deleted = 0
    for what, days in (
        ("analyses", retention.analyses_days),
        ("test_runs", retention.test_runs_days),
        ("predictions", retention.predictions_days),
        ("closed_insights", retention.closed_insights_days),
    ):
        deleted += graph.delete_older(project_id, what, before=now - days * day_ms)
    metrics_day = _day(now - retention.flow_metrics_days * day_ms)
    deleted += graph.delete_older(project_id, "flow_metrics", before=0, before_day=metrics_day)
    if objects is not None:
        oldest_kept = _day(now - retention.raw_events_days * day_ms)
        for prefix in (f"events/{project_id}/", f"pages/{project_id}/"):
            old = [k for k in objects.list(prefix) if k[len(prefix) : len(prefix) + 10] < oldest_kept]
            deleted += objects.delete(old) if old else 0
    if workflows is not None:
        deleted += workflows.delete_older(project_id, before=now - retention.workflow_records_days * day_ms)
    return Done(deleted=deleted)


def run_cleanup(
    graph: RetentionStore,
    job_log: JobLog,
    *,
    retention: Retention | None = None,
    objects: ObjectStore | None = None,
    workflows: WorkflowRecords | None = None,
    remaining_ms: Callable[[], int] | None = None,
    clock: Callable[[], int] = now_ms,
) -> JobRecord:
    """The `cleanup` job: every project's old records (and raw events when `objects` is given, workflow records
    when `workflows` is)."""
    kept = retention or Retention()
    now = clock()
    ids = [p.id for p in graph.list_projects()]

    def clean(pid: str) -> Done:
        return cleanup_project(graph, pid, kept, now, objects, workflows)

    return run_over_projects("cleanup", ids, clean, job_log, remaining_ms=remaining_ms, clock=clock)


def _day(epoch_ms: int) -> str:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC).date().isoformat()


# --------------------------------------------------------------------------------------------------
# aggregate: the daily rollups of flow metrics

#: At most this many days are rolled up again per project and run (a schedule that stopped for longer catches up
#: on the last week; older days keep what the analytics sync wrote).
MAX_AGGREGATE_DAYS = 7


def aggregate_days(previous: JobRecord | None, now: int) -> list[str]:
    """The days to roll up: from the day the previous run started (at least yesterday, at most a week back) to
    today. Today's rollup is partial and is redone by each run (hourly in the cloud), yesterday's completes late
    events."""
    today = _day(now)
    first = _day(now - 86_400_000)
    if previous is not None:
        first = min(first, _day(previous.started_at))
    oldest = _day(now - (MAX_AGGREGATE_DAYS - 1) * 86_400_000)
    first = max(first, oldest)
    days = []
    day = dt.date.fromisoformat(first)
    while day.isoformat() <= today:
        days.append(day.isoformat())
        day += dt.timedelta(days=1)
    return days


def run_aggregate(
    analytics: AnalyticsService,
    graph: RetentionStore,
    job_log: JobLog,
    *,
    remaining_ms: Callable[[], int] | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    clock: Callable[[], int] = now_ms,
) -> JobRecord:
    """The `aggregate` job: each project's raw events of the days since the last run, correlated with its flows
    into the daily `FlowMetrics` the analyzer reads (`AnalyticsService.correlate`, which rewrites each day's
    metrics: running it twice changes nothing)."""
    days = aggregate_days(job_log.last("aggregate"), clock())

    def roll_up(project_id: str) -> Done:
        report = analytics.correlate(project_id, days)
        return Done(days=len(days), updated=report.metrics_written)

    ids = [p.id for p in graph.list_projects()]
    return run_over_projects("aggregate", ids, roll_up, job_log, remaining_ms=remaining_ms, page_size=page_size,
                             clock=clock)  # fmt: skip


# --------------------------------------------------------------------------------------------------
# check-alerts: the alert rules against what is new since the last check


class AlertCursor(Protocol):
    def get(self, project_id: str) -> int | None: ...
    def put(self, project_id: str, at: int) -> None: ...


class RedisAlertCursor:
    """When each project's alerts were last checked: `perceo:alerts:checked:<project>` (epoch ms)."""

    def __init__(self, client: RedisClient) -> None:
        self._client = client

    def get(self, project_id: str) -> int | None:
        raw = self._client.get(f"perceo:alerts:checked:{project_id}")
        return None if raw is None else int(raw)

    def put(self, project_id: str, at: int) -> None:
        self._client.set(f"perceo:alerts:checked:{project_id}", str(at))


class MemoryAlertCursor:
    def __init__(self) -> None:
        self.at: dict[str, int] = {}

    def get(self, project_id: str) -> int | None:
        return self.at.get(project_id)

    def put(self, project_id: str, at: int) -> None:
        self.at[project_id] = at


#: A project checked for the first time looks this far back.
FIRST_CHECK_MS = 86_400_000


def check_project_alerts(analyzer: Analyzer, alerts: Alerts, cursor: AlertCursor, project_id: str, now: int) -> Done:
    """Deliver what the project's rules ask for among what is new since its last check: insights created or
    updated, bad anomalies of its flows' daily series, change analyses. The cursor moves only after the deliveries,
    so a run interrupted here sends again next time, and the claims (`SentAlerts`) drop what was already sent."""
    from perceo.analyzer.alertrules import Notice, analysis_notice, anomaly_notice

    rules = alerts.rules_of(project_id)
    if not rules:
        cursor.put(project_id, now)
        return Done()
    since = cursor.get(project_id) or now - FIRST_CHECK_MS
    since_day = _day(since)
    notices: list[Notice] = []
    # most recently updated first: the newest 1,000 are more than a check interval ever changes
    insights = analyzer.store.list_insights(project_id, statuses=("open", "acknowledged", "in_progress"), limit=1000)
    notices.extend(Notice.of_insight(i) for i in insights if (i.updated_at or i.created_at) >= since)
    if any(r.anomalies for r in rules):
        names = {f.id: f.name for f in analyzer.graph.list_flows(project_id)}
        today = _day(now)
        first = (dt.date.fromisoformat(today) - dt.timedelta(days=analyzer.options.detector.window + 14)).isoformat()
        metrics = analyzer.graph.list_flow_metrics(project_id, since=first, until=today)
        for anomaly in analyzer.anomalies(metrics, until=today):
            if anomaly.bad and anomaly.at >= since_day and anomaly.flow_id in names:
                notices.append(anomaly_notice(project_id, anomaly, names[anomaly.flow_id]))
    if any(r.risk_levels for r in rules):
        for analysis in analyzer.graph.list_analyses(project_id, limit=200):
            if analysis.created_at >= since:
                notices.append(analysis_notice(analysis))
    sent = alerts.send(project_id, notices)
    cursor.put(project_id, now)
    return Done(delivered=sum(d.status == "delivered" for d in sent), failed=sum(d.status == "failed" for d in sent))


def run_check_alerts(
    analyzer: Analyzer,
    alerts: Alerts,
    cursor: AlertCursor,
    job_log: JobLog,
    *,
    remaining_ms: Callable[[], int] | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    clock: Callable[[], int] = now_ms,
) -> JobRecord:
    """The `check-alerts` job over every project (in pages, resumable, recorded)."""
    ids = [p.id for p in analyzer.graph.list_projects()]
    return run_over_projects(
        "check-alerts", ids, lambda pid: check_project_alerts(analyzer, alerts, cursor, pid, clock()), job_log,
        remaining_ms=remaining_ms, page_size=page_size, clock=clock,
    )  # fmt: skip
