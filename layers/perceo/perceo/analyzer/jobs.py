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
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import Field

from perceo.analyzer.insights import Analyzer
from perceo.models import now_ms
from perceo.models.common import Model

if TYPE_CHECKING:
    from perceo.analytics.ports import ObjectStore
    from perceo.redis_client import RedisClient

log = logging.getLogger(__name__)

JobName = Literal["detect-anomalies", "cleanup", "export"]
Outcome = Literal["running", "succeeded", "partial", "failed", "interrupted"]

DEFAULT_PAGE_SIZE = 50
#: Stop between projects when the invocation has less than this left (a project's analysis takes seconds).
DEFAULT_STOP_WITH_MS = 60_000


class ProjectFailure(Model):
    project_id: str
    error: str


class JobRecord(Model):
    """The last run of a job: when, how it ended, what it did, and where the next run resumes."""

    job: JobName
    started_at: int
    finished_at: int
    outcome: Outcome
    projects: int = 0
    created: int = 0
    updated: int = 0
    #: Nodes and raw-event objects the cleanup deleted.
    deleted: int = 0
    failures: list[ProjectFailure] = Field(default_factory=list)
    #: The last project done while running or when the run stopped short of time (the next run resumes after
    #: it); None once a run got through every project.
    cursor: str | None = None


class JobLog(Protocol):
    def last(self, job: JobName) -> JobRecord | None: ...
    def record(self, record: JobRecord) -> None: ...


class RedisJobLog:
    """Job records in Redis (`perceo:jobs:<job>`), where `GET /health` and `perceo status` can read them."""

    def __init__(self, client: RedisClient) -> None:
        self._client = client

    @staticmethod
    def key(job: str) -> str:
        return f"perceo:jobs:{job}"

    def last(self, job: JobName) -> JobRecord | None:
        raw = self._client.get(self.key(job))
        return None if raw is None else JobRecord.model_validate_json(raw)

    def record(self, record: JobRecord) -> None:
        self._client.set(self.key(record.job), record.model_dump_json())


class MemoryJobLog:
    def __init__(self) -> None:
        self.records: dict[str, str] = {}

    def last(self, job: JobName) -> JobRecord | None:
        raw = self.records.get(job)
        return None if raw is None else JobRecord.model_validate(json.loads(raw))

    def record(self, record: JobRecord) -> None:
        self.records[record.job] = record.model_dump_json()


@dataclass(frozen=True)
class Done:
    """What one project's work did."""

    created: int = 0
    updated: int = 0
    deleted: int = 0


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
