"""The `aggregate` job on the embedded components (FalkorDB graph, Redis job log, local data dir): each project's
raw events of the days since the last run rolled up into daily flow metrics; a second run changes nothing; a run
short of time resumes after the last project done; the days it rolls up follow the last run."""

from __future__ import annotations

import json
import uuid

import redis
from analytics_kit import DAY, NOW, Analytics

from perceo.analytics.model import day_start
from perceo.analyzer.jobs import RedisJobLog, aggregate_days, run_aggregate
from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import Flow, Page, Project
from perceo.models.jobs import JobRecord

TODAY, YESTERDAY = "2026-03-10", "2026-03-09"


def _shop_with_events(analytics: Analytics, graph: FalkorFlowGraph, finishing: int) -> tuple[str, Flow]:
    pid = f"agg-{uuid.uuid4().hex[:10]}"
    graph.create_project(Project(id=pid, name="Shop"))
    graph.upsert_pages(pid, [Page(project_id=pid, route=r) for r in ("/cart", "/checkout", "/done")])
    (checkout,) = graph.upsert_flows(pid, [Flow(project_id=pid, name="Checkout")])
    graph.set_flow_pages(pid, checkout.id, ["/cart", "/checkout", "/done"])
    events = []
    for day in (YESTERDAY, TODAY):
        base = day_start(day) + 8 * 3_600_000
        for u in range(5):
            paths = ["/cart", "/checkout"] + (["/done"] if u < finishing else [])
            events += [{"eventId": f"{day}-{u}-{k}", "anonymousId": f"a{u}", "name": "page_view", "path": p,
                        "timestamp": base + u * 600_000 + k * 10_000} for k, p in enumerate(paths)]  # fmt: skip
    assert analytics.service.ingest(pid, json.dumps({"events": events})).accepted == len(events)
    return pid, checkout


def _log(redis_client: redis.Redis) -> RedisJobLog:
    redis_client.delete(RedisJobLog.key("aggregate"))
    return RedisJobLog(redis_client)


def test_the_job_rolls_up_each_projects_days_and_a_second_run_changes_nothing(
    analytics: Analytics, graph: FalkorFlowGraph, redis_client: redis.Redis
) -> None:
    job_log = _log(redis_client)
    (a, checkout_a), (b, checkout_b) = (_shop_with_events(analytics, graph, n) for n in (2, 4))

    first = run_aggregate(analytics.service, graph, job_log, clock=lambda: NOW)
    rolled = graph.list_flow_metrics(a, since=YESTERDAY, until=TODAY)
    again = run_aggregate(analytics.service, graph, job_log, clock=lambda: NOW)

    assert (first.outcome, first.days) == ("succeeded", 2 * first.projects) and first.projects >= 2
    assert sorted((m.day, m.sessions, m.completions) for m in rolled) == [(YESTERDAY, 5, 2), (TODAY, 5, 2)]
    assert {m.flow_id for m in rolled} == {checkout_a.id}
    other = graph.list_flow_metrics(b, since=TODAY, until=TODAY)
    assert [(m.flow_id, m.completions) for m in other] == [(checkout_b.id, 4)]  # each project its own events
    assert again.outcome == "succeeded" and graph.list_flow_metrics(a, since=YESTERDAY, until=TODAY) == rolled
    assert job_log.last("aggregate") == again


def test_a_run_short_of_time_stops_between_projects_and_the_next_resumes(
    analytics: Analytics, graph: FalkorFlowGraph, redis_client: redis.Redis
) -> None:
    job_log = _log(redis_client)
    ids = sorted(_shop_with_events(analytics, graph, 3)[0] for _ in range(2))
    everyone = sorted(p.id for p in graph.list_projects())
    budget = iter([600_000] + [1_000] * 1000)  # one project fits, then the invocation is nearly over

    stopped = run_aggregate(analytics.service, graph, job_log, remaining_ms=lambda: next(budget), clock=lambda: NOW)
    resumed = run_aggregate(analytics.service, graph, job_log, clock=lambda: NOW)

    assert (stopped.outcome, stopped.projects, stopped.cursor) == ("interrupted", 1, everyone[0])
    assert (resumed.outcome, resumed.projects, resumed.cursor) == ("succeeded", len(everyone) - 1, None)
    assert all(graph.list_flow_metrics(i, since=TODAY, until=TODAY) for i in ids)


def test_the_days_follow_the_last_run() -> None:
    assert aggregate_days(None, NOW) == [YESTERDAY, TODAY]
    three_days_ago = JobRecord(job="aggregate", started_at=NOW - 3 * DAY, finished_at=NOW - 3 * DAY,
                               outcome="succeeded")  # fmt: skip
    assert aggregate_days(three_days_ago, NOW) == ["2026-03-07", "2026-03-08", YESTERDAY, TODAY]
    long_ago = three_days_ago.model_copy(update={"started_at": NOW - 60 * DAY})
    assert len(aggregate_days(long_ago, NOW)) == 7 and aggregate_days(long_ago, NOW)[-1] == TODAY
