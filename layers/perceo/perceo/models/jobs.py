"""Scheduled jobs' records (`aggregate`, `detect-anomalies`, `check-alerts`, `cleanup`, `export`): the last run of
each, shown by `GET /health` and `perceo status`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from perceo.models.common import Model

JobName = Literal["aggregate", "detect-anomalies", "check-alerts", "cleanup", "export"]
JOB_NAMES: tuple[JobName, ...] = ("aggregate", "detect-anomalies", "check-alerts", "cleanup", "export")
Outcome = Literal["running", "succeeded", "partial", "failed", "interrupted"]


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
    #: Days rolled up (aggregate); alerts delivered and failed (check-alerts).
    days: int = 0
    delivered: int = 0
    failed: int = 0
    failures: list[ProjectFailure] = Field(default_factory=list)
    #: The last project done while running or when the run stopped short of time (the next run resumes after
    #: it); None once a run got through every project.
    cursor: str | None = None
