"""The AnalyticsSync state machine on moto, fired the way the local cloud's scheduler fires the template's schedule:
the checked-in ASL with the template's substitutions, its task Lambdas' real handlers run in process, and the cloud's
own wiring — events in moto's S3 (the bundle bucket), provider credentials in moto's Secrets Manager, ids and cursors
in Redis, metrics in a FalkorDB graph of the test's own, Mixpanel served by the fake provider on loopback."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from api_handlers import FUNCTION_ENV
from fakes.analytics_providers import FakeProviders

from perceo import wiring
from perceo.analytics.model import day_of
from perceo.analytics.providers import HttpProviderClients
from perceo.config.settings import Settings
from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import Flow, Project, new_id, now_ms
from perceo_cli.local.aws import LocalAws
from perceo_cli.local.lambdas import LambdaRuntime
from perceo_cli.local.schedules import LocalScheduler, Schedule, fire, pick, read_schedules, wait_for
from perceo_cli.local.server import ServerProcess
from perceo_cli.local.sfn import start_workflows, workflow_physical_ids
from perceo_cli.local.template import Intrinsics, load_template

REPO = Path(__file__).resolve().parents[3]
MIXPANEL = {"projectId": "1234", "username": "sa-user", "secret": "sa-secret"}
PAGES = ["/", "/products/:id", "/cart", "/checkout"]


@pytest.fixture
def time_of_day() -> str | None:
    """None: the real clock. A test parametrised with "HH:MM" runs as if it were that time (UTC) yesterday."""
    return None


def _clock(time_of_day: str | None) -> Callable[[], int]:
    """The services' clock: real, or ticking from `time_of_day` yesterday (in the past: no event is in the future)."""
    if time_of_day is None:
        return now_ms
    hours, minutes = map(int, time_of_day.split(":"))
    offset = now_ms() - ((now_ms() // 86_400_000 - 1) * 86_400_000 + hours * 3_600_000 + minutes * 60_000)
    return lambda: now_ms() - offset


@pytest.fixture
def cloud(
    falkordb_server: ServerProcess,
    redis_client: redis.Redis,
    fake_providers: FakeProviders,
    monkeypatch: pytest.MonkeyPatch,
    time_of_day: str | None,
) -> Iterator[dict[str, Any]]:
    aws = LocalAws().start()
    for name, value in aws.client_environment().items():  # the functions' boto3 talks to moto
        monkeypatch.setenv(name, value)
    for name, value in FUNCTION_ENV.items():
        monkeypatch.setenv(name, value)
    template = REPO / "template.yaml"
    parameters = {"Neo4jUri": "bolt://127.0.0.1:7687", "Neo4jSecretArn": "arn:aws:secretsmanager:::secret:neo4j"}
    document = load_template(template)
    intrinsics = Intrinsics(template=document, source=template, parameters=parameters)
    intrinsics = Intrinsics(
        template=document, source=template, parameters=parameters, physical_ids=workflow_physical_ids(intrinsics)
    )
    from perceo_cli.local.template import read_functions

    runtime = LambdaRuntime(read_functions(intrinsics))
    runtime.load_all()
    workflows = start_workflows(aws, runtime, intrinsics)
    url = f"redis://{falkordb_server.host}:{falkordb_server.port}"
    graph = FalkorFlowGraph(url, f"analytics_sync_{new_id()[:10]}")
    graph.ensure_schema()
    settings = Settings.from_env(
        {
            "STAGE": "test",
            "POWERTOOLS_SERVICE_NAME": "perceo",
            "GRAPH_URI": url,
            "REDIS_URL": url,
            "BUNDLE_BUCKET": workflows.buckets["BundleBucket"],
        }
    )
    base = fake_providers.base_url
    clients = HttpProviderClients(http=httpx.Client(timeout=10.0), base_urls={"mixpanel": base})
    services = wiring.build_services(
        settings, graph=graph, redis=redis_client, analytics_providers=clients, clock=_clock(time_of_day)
    )
    wiring.install(services)
    try:
        yield {"aws": aws, "intrinsics": intrinsics, "graph": graph, "services": services}
    finally:
        wiring.reset()
        clients.close()
        redis_client.delete(graph.graph_name)
        graph.close()
        aws.stop()
        os.environ.pop("MOTO_PORT", None)


def _project(graph: FalkorFlowGraph, name: str) -> tuple[str, str]:
    project_id = new_id()
    graph.create_project(Project(id=project_id, name=name, framework="nextjs"))
    flow = Flow(project_id=project_id, name="Checkout", priority="critical", entry_point="/")
    (stored,) = graph.upsert_flows(project_id, [flow])
    graph.set_flow_pages(project_id, stored.id, PAGES)
    return project_id, stored.id


def _walks(prefix: str, users: int, finishing: int, start: int | None = None) -> list[dict[str, Any]]:
    start = now_ms() - 2 * 3_600_000 if start is None else start
    events = []
    for u in range(users):
        paths = ["/", f"/products/{u}", "/cart", "/checkout"][: 4 if u < finishing else 3]
        events += [
            {
                "eventId": f"{prefix}-{u}-{k}",
                "anonymousId": f"{prefix}{u}",
                "name": "page_view",
                "path": p,
                "timestamp": start + u * 60_000 + k * 5_000,
            }
            for k, p in enumerate(paths)
        ]
    return events


@pytest.mark.parametrize("time_of_day", [None, "00:30", "23:59"])  # UTC midnight near either
def test_the_schedule_runs_analytics_sync_for_every_project_and_writes_each_ones_metrics(
    cloud: dict[str, Any], fake_providers: FakeProviders
) -> None:
    graph: FalkorFlowGraph = cloud["graph"]
    analytics = cloud["services"].analytics
    a, a_flow = _project(graph, "shop-a")
    b, _ = _project(graph, "shop-b")
    # two named UTC days, whatever the time of day: our walks yesterday 12:00, Mixpanel's the day before at 12:00
    now = analytics.clock()
    yesterday_noon = (now // 86_400_000 - 1) * 86_400_000 + 12 * 3_600_000
    earlier_noon = yesterday_noon - 86_400_000
    analytics.ingest(a, json.dumps({"events": _walks("a", users=4, finishing=3, start=yesterday_noon)}))
    fake_providers.mixpanel_events = {
        day_of(earlier_noon): [
            {
                "event": "$mp_web_page_view",
                "properties": {
                    "time": earlier_noon // 1000 + i * 5,
                    "distinct_id": "m1",
                    "$insert_id": f"mp-{i}",
                    "$current_url": f"https://shop.example{path}",
                },
            }
            for i, path in enumerate(["/", "/products/9", "/cart", "/checkout"])
        ]
    }
    analytics.connect(a, "mixpanel", MIXPANEL)  # into moto's Secrets Manager, as the API would
    schedule = pick(read_schedules(cloud["intrinsics"]), "AnalyticsSyncSchedule")
    assert (schedule.target, schedule.kind, schedule.every_s, schedule.input) == (
        "AnalyticsSyncStateMachine",
        "state_machine",
        3600.0,
        "{}",
    )
    sfn = cloud["aws"].client("stepfunctions")

    described = wait_for(sfn, fire(schedule, sfn), timeout_s=120)

    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    results = {r["projectId"]: r for r in output["results"]}
    assert output["projects"] == 2 and set(results) == {a, b}
    assert results[a]["status"] == "succeeded" and results[a]["metricsWritten"] >= 2
    assert results[a]["providers"] == [{"provider": "mixpanel", "status": "success", "accepted": 4, "duplicates": 0}]
    assert results[b]["status"] == "succeeded" and results[b]["metricsWritten"] == 0
    walked = graph.list_flow_metrics(a, since=day_of(yesterday_noon), until=day_of(yesterday_noon), flow_ids=[a_flow])
    assert [(m.sessions, m.completions) for m in walked] == [(4, 3)]
    before = graph.list_flow_metrics(a, since=day_of(earlier_noon), until=day_of(earlier_noon))
    assert [(m.sessions, m.completions) for m in before] == [(1, 1)]
    assert graph.list_flow_metrics(a, since=day_of(now), until=day_of(now)) == []
    assert graph.list_flow_metrics(b, since=day_of(earlier_noon), until=day_of(now)) == []
    history = sfn.get_execution_history(executionArn=described["executionArn"])
    assert "sa-secret" not in json.dumps(history, default=str) and len(history["events"]) > 10


def test_a_project_that_fails_is_recorded_and_the_others_still_sync(cloud: dict[str, Any]) -> None:
    graph: FalkorFlowGraph = cloud["graph"]
    a, _ = _project(graph, "shop-a")
    cloud["services"].analytics.ingest(a, json.dumps({"events": _walks("a", users=2, finishing=2)}))
    schedule = pick(read_schedules(cloud["intrinsics"]), "AnalyticsSyncStateMachine")
    manual = Schedule(**{**schedule.__dict__, "input": json.dumps({"projectIds": ["0" * 32, a]})})
    sfn = cloud["aws"].client("stepfunctions")

    described = wait_for(sfn, fire(manual, sfn), timeout_s=120)

    assert described["status"] == "SUCCEEDED", described
    results = {r["projectId"]: r for r in json.loads(described["output"])["results"]}
    assert results["0" * 32] == {"projectId": "0" * 32, "status": "failed", "error": "ProjectNotFoundError"}
    assert results[a]["status"] == "succeeded" and results[a]["metricsWritten"] == 1


def test_the_local_scheduler_fires_each_rate_schedule_on_time(cloud: dict[str, Any]) -> None:
    schedules = read_schedules(cloud["intrinsics"])
    fast = {n: Schedule(**{**s.__dict__, "every_s": 0.3}) for n, s in schedules.items()}
    sfn = cloud["aws"].client("stepfunctions")
    now = [0.0]
    scheduler = LocalScheduler(fast, sfn, clock=lambda: now[0]).start()
    try:
        import time

        time.sleep(0.3)
        assert scheduler.fired == []  # the first run is one period after start
        now[0] = 0.35
        deadline = time.monotonic() + 10
        while not scheduler.fired and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()
    ((name, execution),) = scheduler.fired
    assert name == "AnalyticsSyncSchedule"
    assert wait_for(sfn, execution, timeout_s=120)["status"] == "SUCCEEDED"


def test_a_day_in_several_objects_fans_out_over_user_chunks_and_merges_to_the_single_chunk_metrics(
    cloud: dict[str, Any],
) -> None:
    graph: FalkorFlowGraph = cloud["graph"]
    analytics = cloud["services"].analytics
    a, a_flow = _project(graph, "shop-a")
    start = (now_ms() // 86_400_000 - 1) * 86_400_000 + 10 * 3_600_000  # yesterday 10:00 UTC: one day, whatever now
    paths = ["/", "/products/{u}", "/cart", "/checkout"]
    # 12 users; each one's walk is spread over the 6 batches (one object each), so a session crosses objects
    for batch in range(6):
        events = [
            {
                "eventId": f"fan-{u}-{k}",
                "anonymousId": f"fan{u}",
                "name": "page_view",
                "path": paths[k].format(u=u),
                "timestamp": start + u * 90_000 + k * 20_000,
            }
            for u in range(12)
            for k in range(4 if u % 3 else 3)
            if (u + k) % 6 == batch
        ]
        assert analytics.ingest(a, json.dumps({"events": events})).accepted == len(events)
    day = day_of(start)
    schedule = pick(read_schedules(cloud["intrinsics"]), "AnalyticsSyncStateMachine")
    window = {"projectIds": [a], "since": start, "until": start + 3_600_000, "objectsPerPart": 2}
    sfn = cloud["aws"].client("stepfunctions")

    described = wait_for(sfn, fire(Schedule(**{**schedule.__dict__, "input": json.dumps(window)}), sfn), timeout_s=120)

    assert described["status"] == "SUCCEEDED", described
    (result,) = json.loads(described["output"])["results"]
    assert (result["status"], result["parts"], result["days"]) == ("succeeded", 3, [day])
    fanned = graph.list_flow_metrics(a, since=day, until=day, flow_ids=[a_flow])
    store = cloud["services"].analytics.store
    assert store.list(f"work/analytics/{a}/") == []  # the merge deleted the partial results

    single = analytics.correlate(a, [day])  # the embedded path: one chunk

    assert (single.sessions, single.matched_sessions) == (12, 12)
    again = graph.list_flow_metrics(a, since=day, until=day, flow_ids=[a_flow])
    strip = {"updated_at"}
    assert [m.model_dump(exclude=strip) for m in fanned] == [m.model_dump(exclude=strip) for m in again]
    assert (again[0].sessions, again[0].completions, again[0].prod_daily_users) == (12, 8, 12)
