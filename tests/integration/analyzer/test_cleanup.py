"""The cleanup job on the real graph and a real local object store: each project's records past their retention go,
newer ones, open insights and other projects' records stay; running it again deletes nothing more."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis
from analyzer_kit import Clock

from perceo.analytics.stores import LocalObjectStore
from perceo.analyzer.jobs import RedisJobLog, Retention, run_cleanup
from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import ChangeAnalysis, Flow, FlowMetrics, Insight, Prediction, Project, TestRun

DAY = 86_400_000


@pytest.fixture
def job_log(redis_client: redis.Redis) -> RedisJobLog:
    redis_client.delete(RedisJobLog.key("cleanup"))
    return RedisJobLog(redis_client)


def _seed(graph: FalkorFlowGraph, objects: LocalObjectStore, now: int) -> tuple[str, str]:
    project = graph.create_project(Project(id=f"p-{uuid.uuid4().hex[:10]}", name="Shop"))
    pid = project.id
    (flow,) = graph.upsert_flows(pid, [Flow(project_id=pid, name="Checkout")])
    for age, sha in ((200, "a" * 40), (10, "b" * 40)):
        graph.record_analysis(
            ChangeAnalysis(project_id=pid, base_sha="0" * 40, head_sha=sha, created_at=now - age * DAY)
        )
        graph.record_test_runs(
            pid, [TestRun(project_id=pid, flow_id=flow.id, status="passed", created_at=now - age * DAY)]
        )
        graph.record_predictions(pid, [Prediction(project_id=pid, flow_id=flow.id, probability=0.5, confidence=0.5,
                                                  created_at=now - (age * 2) * DAY)])  # fmt: skip
    graph.upsert_flow_metrics(pid, [FlowMetrics(project_id=pid, flow_id=flow.id, day=d, sessions=1)
                                    for d in ("2024-12-01", "2026-02-20")])  # fmt: skip
    graph._clock_backup = graph.clock  # type: ignore[attr-defined]
    graph.clock = lambda: now - 100 * DAY  # insights last updated 100 days ago
    stored = graph.store_insights(pid, [
        Insight(project_id=pid, type="coverage-gap", severity="high", title="t", message="m",
                subject=f"coverage-gap:{s}", day="2025-11-17")
        for s in ("closed", "open")
    ])  # fmt: skip
    graph.set_insight_status(pid, stored[0].insight.id, "resolved")
    graph.clock = graph._clock_backup  # type: ignore[attr-defined]
    for day in ("2026-01-01", "2026-02-24"):
        objects.put(f"events/{pid}/{day}/ingest/batch.jsonl", b"{}\n")
    return pid, stored[1].insight.id


def _counts(graph: FalkorFlowGraph, pid: str) -> dict[str, int]:
    rows = graph._read(
        "MATCH (n {projectId: $projectId}) RETURN labels(n)[0] AS label, count(n) AS n", {"projectId": pid}
    )
    return {row["label"]: row["n"] for row in rows}


def test_cleanup_deletes_only_what_is_past_its_retention(
    graph: FalkorFlowGraph, job_log: RedisJobLog, clock: Clock, tmp_path: Path
) -> None:
    objects = LocalObjectStore(tmp_path / "objects")
    mine, open_insight = _seed(graph, objects, clock.now)
    other, _ = _seed(graph, objects, clock.now)
    before_other = _counts(graph, other)

    record = run_cleanup(graph, job_log, objects=objects, clock=clock)

    after = _counts(graph, mine)
    assert (record.outcome, record.projects) == ("succeeded", 2)
    assert after["ChangeAnalysis"] == after["TestRun"] == 1  # the 200-day-old ones went (180 days kept)
    assert after["Prediction"] == 1  # 400 days old went, 20 days old stayed (365 kept)
    assert after["FlowMetrics"] == 1  # 2024-12-01 is more than 400 days back
    assert [i.id for i in graph.list_insights(mine)] == [open_insight]  # resolved 100 days ago: gone; open: kept
    assert objects.list(f"events/{mine}/") == [f"events/{mine}/2026-02-24/ingest/batch.jsonl"]
    assert record.deleted == 2 * (1 + 1 + 1 + 1 + 1 + 1)

    again = run_cleanup(graph, job_log, objects=objects, clock=clock)
    assert again.deleted == 0 and _counts(graph, mine) == after
    assert before_other != _counts(graph, other)  # the other project was cleaned by its own rules, not mine


def test_retention_is_configurable(graph: FalkorFlowGraph, job_log: RedisJobLog, clock: Clock, tmp_path: Path) -> None:
    objects = LocalObjectStore(tmp_path / "objects")
    mine, _ = _seed(graph, objects, clock.now)

    run_cleanup(graph, job_log, retention=Retention(analyses_days=5, test_runs_days=365), clock=clock)

    after = _counts(graph, mine)
    assert "ChangeAnalysis" not in after and after["TestRun"] == 2
    assert len(objects.list(f"events/{mine}/")) == 2  # no object store given: raw events untouched


def test_cleaning_one_project_never_touches_another(graph: FalkorFlowGraph, clock: Clock, tmp_path: Path) -> None:
    from perceo.analyzer.jobs import cleanup_project

    objects = LocalObjectStore(tmp_path / "objects")
    mine, _ = _seed(graph, objects, clock.now)
    other, _ = _seed(graph, objects, clock.now)
    before = _counts(graph, other)

    done = cleanup_project(graph, mine, Retention(), clock.now, objects)

    assert done.deleted == 6 and _counts(graph, other) == before
    assert len(objects.list(f"events/{other}/")) == 2


def test_workflow_records_past_their_retention_go_and_other_projects_keep_theirs(
    graph: FalkorFlowGraph, job_log: RedisJobLog, clock: Clock, redis_client: redis.Redis
) -> None:
    from perceo.workflows.model import WorkflowRecord
    from perceo.workflows.progress import RedisProgressStore

    progress = RedisProgressStore(redis_client)
    mine = graph.create_project(Project(id=f"p-{uuid.uuid4().hex[:10]}", name="Shop")).id
    other = graph.create_project(Project(id=f"p-{uuid.uuid4().hex[:10]}", name="Blog")).id
    old, recent = "wf-" + "0" * 32, "wf-" + "1" * 32
    ages = {old: 40, recent: 5}
    for project_id in (mine, other):
        for workflow_id, age in ages.items():
            stamp = clock.now - age * DAY
            progress.create(WorkflowRecord(workflow_id=workflow_id, project_id=project_id, kind="bootstrap",
                                           execution_arn="arn:x", created_at=stamp, updated_at=stamp))  # fmt: skip
            progress.plan_items(project_id, workflow_id, 3)

    done = cleanup_project_records(graph, mine, clock.now, progress)

    assert done == 1
    assert progress.get(mine, old) is None and progress.get(mine, recent) is not None
    assert progress.get(other, old) is not None  # another project's records are not this run's
    assert not redis_client.exists(f"perceo:workflow:{{{mine}:{old}}}:items")

    record = run_cleanup(graph, job_log, retention=Retention(workflow_records_days=3), workflows=progress, clock=clock)
    assert record.deleted >= 3  # mine's recent one and both of the other project's are past 3 days
    assert progress.get(mine, recent) is None and progress.get(other, recent) is None


def cleanup_project_records(graph: FalkorFlowGraph, project_id: str, now: int, progress: object) -> int:
    from perceo.analyzer.jobs import cleanup_project

    return cleanup_project(graph, project_id, Retention(), now, workflows=progress).deleted  # type: ignore[arg-type]


def test_retention_from_settings_defaults_to_the_documented_days() -> None:
    from perceo.config.settings import Settings

    env = {"STAGE": "test", "POWERTOOLS_SERVICE_NAME": "perceo", "GRAPH_URI": "redis://unused:1",
           "REDIS_URL": "redis://unused:1"}  # fmt: skip
    defaults = Settings.from_env(env)
    retention = Retention.from_settings(defaults.analyses_retention_days, defaults.workflow_records_retention_days)
    assert (retention.analyses_days, retention.test_runs_days, retention.workflow_records_days) == (180, 180, 30)

    tuned = Settings.from_env({**env, "ANALYSES_RETENTION_DAYS": "90", "WORKFLOW_RECORDS_RETENTION_DAYS": "7"})
    assert (tuned.analyses_retention_days, tuned.workflow_records_retention_days) == (90, 7)


def test_the_scheduled_cleanup_handler_applies_the_deployment_s_retention(
    graph: FalkorFlowGraph, job_log: RedisJobLog, redis_client: redis.Redis, tmp_path: Path
) -> None:
    from dataclasses import dataclass

    from api_handlers import load_event, load_handler

    from perceo import wiring
    from perceo.config.settings import Settings
    from perceo.models import now_ms
    from perceo.workflows.model import WorkflowRecord
    from perceo.workflows.progress import RedisProgressStore

    @dataclass
    class Context:
        function_name: str = "perceo-test-job-cleanup"
        memory_limit_in_mb: int = 1024
        invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:perceo-test-job-cleanup"
        aws_request_id: str = "cleanup-request"

        def get_remaining_time_in_millis(self) -> int:
            return 800_000

    now = now_ms()
    pid, _ = _seed(graph, LocalObjectStore(tmp_path / "objects"), now)  # analyses 200 and 10 days old
    progress = RedisProgressStore(redis_client)
    workflow = "wf-" + "2" * 32
    stamp = now - 5 * DAY
    progress.create(WorkflowRecord(workflow_id=workflow, project_id=pid, kind="bootstrap", execution_arn="arn:x",
                                   created_at=stamp, updated_at=stamp))  # fmt: skip
    env = {"STAGE": "test", "POWERTOOLS_SERVICE_NAME": "perceo", "GRAPH_URI": "redis://unused:1",
           "REDIS_URL": "redis://unused:1", "ANALYSES_RETENTION_DAYS": "7",
           "WORKFLOW_RECORDS_RETENTION_DAYS": "3"}  # fmt: skip
    wiring.install(wiring.build_services(Settings.from_env(env), graph=graph, redis=redis_client))
    try:
        answer = load_handler("jobs/cleanup").lambda_handler(load_event("jobs/cleanup/scheduled.json"), Context())
    finally:
        wiring.reset()

    assert answer["outcome"] == "succeeded"
    after = _counts(graph, pid)
    assert "ChangeAnalysis" not in after and "TestRun" not in after  # both older than 7 days
    assert progress.get(pid, workflow) is None  # 5 days since its last change, 3 kept
