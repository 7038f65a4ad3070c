"""The AnalyticsSync workflow's tasks (Step Functions, started by the schedule of each stage): which projects to
sync, then per project its providers' sync, the correlation of the days touched fanned out over chunks of users
(a Map of `correlate_part`), and the merge of the chunks into daily metrics. Each task calls the same
`AnalyticsService` methods as `perceo analytics sync` does in the embedded mode (`correlate_chunk`,
`merge_correlation`); the answers carry ids, counts and days only (never credentials or events), small enough for
the execution history. The chunks' partial results go through the object store (`work/analytics/...`), deleted by
the merge.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field
from pydantic_core import from_json, to_json

from perceo.analytics.model import Day
from perceo.analytics.service import MAX_DAYS, MAX_PARTS, AnalyticsService
from perceo.errors import NotFoundError
from perceo.graph.port import FlowGraph
from perceo.models.common import EpochMs, Model

#: At most this many projects per run (the Map's items; Step Functions' payload limit is 256 KB).
MAX_PROJECTS = 2_000
#: A correlation gets one chunk (one Lambda) per this many stored objects of its days (an ingest batch or 10,000
#: provider events each), at most MAX_PARTS.
OBJECTS_PER_PART = 200


class ScheduleInput(Model):
    """What the schedule sends (`{}`: every project), or a run for some projects and an optional window;
    `objectsPerPart` overrides how many stored objects one correlation chunk takes."""

    project_ids: list[str] | None = Field(default=None, max_length=MAX_PROJECTS)
    since: EpochMs | None = None
    until: EpochMs | None = None
    objects_per_part: int | None = Field(default=None, ge=1)


class ProjectTask(Model):
    project_id: str = Field(min_length=1, max_length=64)
    since: EpochMs | None = None
    until: EpochMs | None = None
    objects_per_part: int | None = Field(default=None, ge=1)


class PartTask(Model):
    """One chunk of a project's correlation: the users whose id hashes to `part` of `parts`."""

    project_id: str = Field(min_length=1, max_length=64)
    days: list[Day] = Field(max_length=MAX_DAYS)
    run_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    part: int = Field(ge=0, lt=MAX_PARTS)
    parts: int = Field(ge=1, le=MAX_PARTS)


class MergeTask(Model):
    project_id: str = Field(min_length=1, max_length=64)
    days: list[Day] = Field(max_length=MAX_DAYS)
    run_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    parts: int = Field(ge=0, le=MAX_PARTS)


def part_key(project_id: str, run_id: str, part: int) -> str:
    """Where a chunk's partial result waits for the merge."""
    return f"work/analytics/{project_id}/{run_id}/part-{part:03d}.json"


def plan(graph: FlowGraph, request: ScheduleInput) -> dict[str, Any]:
    """The projects to sync (those named, or every project), each with the window: `{projects: [...], count}`."""
    ids = request.project_ids if request.project_ids is not None else [p.id for p in graph.list_projects()]
    tasks = [
        ProjectTask(project_id=i, since=request.since, until=request.until, objects_per_part=request.objects_per_part)
        for i in ids[:MAX_PROJECTS]
    ]
    return {"projects": [t.model_dump(by_alias=True, exclude_none=True) for t in tasks], "count": len(tasks)}


def sync_project(service: AnalyticsService, task: ProjectTask) -> dict[str, Any]:
    """Pull every connected provider of the project; the days to correlate next and the chunks to correlate them in
    (`parts`: one `PartTask` each, what the Map fans out over; none when there is no day)."""
    run = service.sync_providers(task.project_id, since=task.since, until=task.until)
    providers: list[dict[str, Any]] = [
        {"provider": r.provider, "status": r.status, "accepted": r.accepted, "duplicates": r.duplicates}
        for r in run.providers
    ]
    run_id = uuid.uuid4().hex
    count = (
        service.correlation_parts(task.project_id, run.days, objects_per_part=task.objects_per_part or OBJECTS_PER_PART)
        if run.days
        else 0
    )
    parts = [
        PartTask(project_id=task.project_id, days=run.days, run_id=run_id, part=k, parts=count).model_dump(
            by_alias=True
        )
        for k in range(count)
    ]
    return {
        "projectId": task.project_id,
        "days": run.days,
        "providers": providers,
        "runId": run_id,
        "partCount": count,
        "parts": parts,
    }


def correlate_part(service: AnalyticsService, task: PartTask) -> dict[str, Any]:
    """One chunk: its users' sessions aligned to the flows (`AnalyticsService.correlate_chunk`, what the embedded
    correlation calls with one chunk); the partial result kept for the merge."""
    state = service.correlate_chunk(task.project_id, task.days, part=task.part, parts=task.parts)
    service.store.put(part_key(task.project_id, task.run_id, task.part), to_json(state))
    return {"part": task.part, "events": state["counts"]["events"], "sessions": state["totals"]["sessions"]}


def merge_parts(service: AnalyticsService, task: MergeTask) -> dict[str, Any]:
    """Every chunk's partial result, in chunk order, merged into daily metrics in the graph; the partials deleted."""
    if not task.days or task.parts == 0:
        return {"projectId": task.project_id, "days": [], "metricsWritten": 0}
    keys = [part_key(task.project_id, task.run_id, k) for k in range(task.parts)]
    partials = []
    for key in keys:
        data = b"".join(service.store.read_lines(key))
        if not data:
            raise NotFoundError(f"the partial result {key} is missing", details={"key": key})
        partials.append(from_json(data))
    report = service.merge_correlation(task.project_id, task.days, partials)
    service.store.delete(keys)
    return {
        "projectId": task.project_id,
        "days": report.days,
        "sessions": report.sessions,
        "matchedSessions": report.matched_sessions,
        "metricsWritten": report.metrics_written,
    }


__all__ = [
    "MergeTask",
    "PartTask",
    "ProjectTask",
    "ScheduleInput",
    "correlate_part",
    "merge_parts",
    "part_key",
    "plan",
    "sync_project",
]
