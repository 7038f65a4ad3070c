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

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import Field

from perceo.analyzer.insights import Analyzer
from perceo.models import now_ms
from perceo.models.common import Model

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

JobName = Literal["detect-anomalies"]
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
    failures: list[ProjectFailure] = Field(default_factory=list)
    #: The last project done while running or when the run stopped short of time (the next run resumes after
    #: it); None once a run got through every project.
    cursor: str | None = None


class JobLog(Protocol):
    def last(self, job: JobName) -> JobRecord | None: ...
    def record(self, record: JobRecord) -> None: ...


class RedisJobLog:
    """Job records in Redis (`perceo:jobs:<job>`), where `GET /health` and `perceo status` can read them."""

    def __init__(self, client: redis.Redis) -> None:
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


def run_detect_anomalies(
    analyzer: Analyzer,
    job_log: JobLog,
    *,
    remaining_ms: Callable[[], int] | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    stop_with_ms: int = DEFAULT_STOP_WITH_MS,
    clock: Callable[[], int] = now_ms,
) -> JobRecord:
    """Analyze every project (resuming after the last run's cursor) and record the run.

    After each page of `page_size` projects a `running` record with the cursor is written, so a run killed without
    warning (the Lambda's hard timeout) resumes from its last page: at most one page is analyzed twice, which
    changes nothing (the analysis is idempotent)."""
    started = clock()
    previous = job_log.last("detect-anomalies")
    after = previous.cursor if previous is not None else None
    todo = sorted(p.id for p in analyzer.graph.list_projects() if after is None or p.id > after)
    record = JobRecord(job="detect-anomalies", started_at=started, finished_at=started, outcome="running")
    stopped = False
    for index, project_id in enumerate(todo):
        if remaining_ms is not None and remaining_ms() < stop_with_ms:
            stopped = True
            break
        try:
            run = analyzer.run(project_id)
        except Exception as error:  # one project's failure must not stop the others
            log.warning("detect-anomalies: project %s failed: %s", project_id, type(error).__name__)
            record.failures.append(ProjectFailure(project_id=project_id, error=type(error).__name__))
        else:
            record.created += run.created
            record.updated += run.updated
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
