"""The AnalyticsSync workflow's tasks (Step Functions, started by the schedule of each stage): which projects to
sync, then per project its providers' sync and the correlation of the days touched. Each task calls the same
`AnalyticsService` methods as `perceo analytics sync` does in the embedded mode; the answers carry ids, counts and
days only (never credentials or events), small enough for the execution history.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from perceo.analytics.model import Day
from perceo.analytics.service import MAX_DAYS, AnalyticsService
from perceo.graph.port import FlowGraph
from perceo.models.common import EpochMs, Model

#: At most this many projects per run (the Map's items; Step Functions' payload limit is 256 KB).
MAX_PROJECTS = 2_000


class ScheduleInput(Model):
    """What the schedule sends (`{}`: every project), or a run for some projects and an optional window."""

    project_ids: list[str] | None = Field(default=None, max_length=MAX_PROJECTS)
    since: EpochMs | None = None
    until: EpochMs | None = None


class ProjectTask(Model):
    project_id: str = Field(min_length=1, max_length=64)
    since: EpochMs | None = None
    until: EpochMs | None = None


class CorrelateTask(Model):
    project_id: str = Field(min_length=1, max_length=64)
    days: list[Day] = Field(max_length=MAX_DAYS)


def plan(graph: FlowGraph, request: ScheduleInput) -> dict[str, Any]:
    """The projects to sync (those named, or every project), each with the window: `{projects: [...], count}`."""
    ids = request.project_ids if request.project_ids is not None else [p.id for p in graph.list_projects()]
    tasks = [ProjectTask(project_id=i, since=request.since, until=request.until) for i in ids[:MAX_PROJECTS]]
    return {"projects": [t.model_dump(by_alias=True, exclude_none=True) for t in tasks], "count": len(tasks)}


def sync_project(service: AnalyticsService, task: ProjectTask) -> dict[str, Any]:
    """Pull every connected provider of the project; the days to correlate next."""
    run = service.sync_providers(task.project_id, since=task.since, until=task.until)
    providers: list[dict[str, Any]] = [
        {"provider": r.provider, "status": r.status, "accepted": r.accepted, "duplicates": r.duplicates}
        for r in run.providers
    ]
    return {"projectId": task.project_id, "days": run.days, "providers": providers}


def correlate_project(service: AnalyticsService, task: CorrelateTask) -> dict[str, Any]:
    """Sessions of those days aligned to the project's flows; the daily metrics written to the graph."""
    if not task.days:
        return {"projectId": task.project_id, "days": [], "metricsWritten": 0}
    report = service.correlate(task.project_id, task.days)
    return {
        "projectId": task.project_id,
        "days": report.days,
        "sessions": report.sessions,
        "matchedSessions": report.matched_sessions,
        "metricsWritten": report.metrics_written,
    }


__all__ = ["CorrelateTask", "ProjectTask", "ScheduleInput", "correlate_project", "plan", "sync_project"]
