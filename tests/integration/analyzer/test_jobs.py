"""The detect-anomalies job over several projects on the real graph, its record in real Redis: idempotent,
resumable when short of time, one failing project does not stop the others; and its Lambda handler."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import redis
from analyzer_kit import Clock, build_shop

from perceo import wiring
from perceo.analyzer.insights import Analyzer, AnalyzerRun
from perceo.analyzer.jobs import RedisJobLog, run_detect_anomalies
from perceo.graph.falkor import FalkorFlowGraph


@pytest.fixture
def job_log(redis_client: redis.Redis) -> RedisJobLog:
    redis_client.delete(RedisJobLog.key("detect-anomalies"))
    return RedisJobLog(redis_client)


@pytest.fixture
def analyzer(graph: FalkorFlowGraph, clock: Clock) -> Analyzer:
    return Analyzer(graph, graph, clock=clock)


class BrokenFor(Analyzer):
    """Fault injection: the analysis of one project fails as a graph outage would."""

    def __init__(self, base: Analyzer, project_id: str) -> None:
        super().__init__(base.graph, base.store, clock=base.clock)
        self.broken = project_id

    def run(self, project_id: str, *, today: str | None = None) -> AnalyzerRun:
        if project_id == self.broken:
            raise ConnectionError("graph went away")
        return super().run(project_id, today=today)


def test_every_project_is_analyzed_once_and_a_second_run_adds_nothing(
    graph: FalkorFlowGraph, analyzer: Analyzer, job_log: RedisJobLog
) -> None:
    shops = [build_shop(graph, seed=s) for s in (1, 2)]

    first = run_detect_anomalies(analyzer, job_log)
    again = run_detect_anomalies(analyzer, job_log)

    assert (first.outcome, first.projects, first.cursor) == ("succeeded", 2, None)
    assert first.created == sum(len(graph.list_insights(s.project.id)) for s in shops) > 0
    assert (again.outcome, again.created, again.updated) == ("succeeded", 0, first.created)
    assert job_log.last("detect-anomalies") == again


def test_a_run_short_of_time_stops_between_projects_and_the_next_resumes(
    graph: FalkorFlowGraph, analyzer: Analyzer, job_log: RedisJobLog
) -> None:
    ids = sorted(build_shop(graph, seed=s).project.id for s in (1, 2, 3))
    budget = iter([600_000, 600_000, 1_000])  # two projects fit, then the invocation is nearly over

    stopped = run_detect_anomalies(analyzer, job_log, remaining_ms=lambda: next(budget))
    resumed = run_detect_anomalies(analyzer, job_log, remaining_ms=lambda: 600_000)

    assert (stopped.outcome, stopped.projects, stopped.cursor) == ("interrupted", 2, ids[1])
    assert (resumed.outcome, resumed.projects, resumed.cursor) == ("succeeded", 1, None)
    assert all(graph.list_insights(i) for i in ids)


def test_a_killed_run_resumes_from_its_last_page(
    graph: FalkorFlowGraph, analyzer: Analyzer, job_log: RedisJobLog
) -> None:
    ids = sorted(build_shop(graph, seed=s).project.id for s in (1, 2, 3))

    class Killed(Exception):
        pass

    def dies_on_third() -> int:
        calls.append(1)
        if len(calls) == 3:
            raise Killed  # the hard timeout: nothing of the job runs after this
        return 600_000

    calls: list[int] = []
    with pytest.raises(Killed):
        run_detect_anomalies(analyzer, job_log, remaining_ms=dies_on_third, page_size=1)
    checkpoint = job_log.last("detect-anomalies")
    resumed = run_detect_anomalies(analyzer, job_log)

    assert checkpoint is not None and (checkpoint.outcome, checkpoint.cursor) == ("running", ids[1])
    assert (resumed.projects, resumed.created) == (1, len(graph.list_insights(ids[2])))


def test_one_failing_project_is_recorded_and_the_others_still_run(
    graph: FalkorFlowGraph, analyzer: Analyzer, job_log: RedisJobLog
) -> None:
    good, bad = build_shop(graph, seed=1), build_shop(graph, seed=2)

    record = run_detect_anomalies(BrokenFor(analyzer, bad.project.id), job_log)

    assert record.outcome == "partial" and record.projects == 2
    assert [(f.project_id, f.error) for f in record.failures] == [(bad.project.id, "ConnectionError")]
    assert graph.list_insights(good.project.id) and not graph.list_insights(bad.project.id)


@dataclass
class _Context:
    remaining: int = 800_000
    function_name: str = "perceo-test-job"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:perceo-test-job"
    aws_request_id: str = "job-request"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining


def test_the_scheduled_handler_runs_the_job_and_records_it(
    graph: FalkorFlowGraph, redis_client: redis.Redis, job_log: RedisJobLog, clock: Clock
) -> None:
    from api_handlers import load_event, load_handler

    shop = build_shop(graph)
    settings_env = {"STAGE": "test", "POWERTOOLS_SERVICE_NAME": "perceo", "GRAPH_URI": "redis://unused:1",
                    "REDIS_URL": "redis://unused:1"}  # fmt: skip
    from perceo.config.settings import Settings

    wiring.install(wiring.build_services(Settings.from_env(settings_env), graph=graph, redis=redis_client, clock=clock))
    try:
        answer = load_handler("jobs/detect_anomalies").lambda_handler(
            load_event("jobs/detect_anomalies/scheduled.json"), _Context()
        )
    finally:
        wiring.reset()

    assert answer["outcome"] == "succeeded" and answer["projects"] >= 1
    assert job_log.last("detect-anomalies") is not None
    assert graph.list_insights(shop.project.id)
