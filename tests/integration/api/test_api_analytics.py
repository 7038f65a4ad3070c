"""`/analytics/*` through the real analytics Lambda (authorizer context from real keys, FalkorDB graph, Redis
idempotency, provider clients against the fake providers on loopback): ingest rules, scopes, and tenant isolation —
a key of project A neither reads B's figures nor writes into B, and an ingest key reads nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from api_handlers import body_of
from api_integration_kit import Caller, api_services, call, create_project, error_code, key_for

from perceo import wiring
from perceo.analytics.providers import HttpProviderClients
from perceo.graph.port import FlowGraph
from perceo.models import now_ms
from perceo_cli.local.server import ServerProcess

DAY, HOUR = 86_400_000, 3_600_000

MIXPANEL = {"projectId": "1234", "username": "sa-user", "secret": "sa-secret"}


@pytest.fixture
def time_of_day() -> str | None:
    """None: the real clock. A test parametrised with "HH:MM" runs as if it were that time (UTC) yesterday."""
    return None


@pytest.fixture
def clock(time_of_day: str | None) -> Callable[[], int]:
    """The services' clock: real, or ticking from `time_of_day` yesterday (in the past: no event is in the future)."""
    if time_of_day is None:
        return now_ms
    hours, minutes = map(int, time_of_day.split(":"))
    offset = now_ms() - ((now_ms() // DAY - 1) * DAY + hours * HOUR + minutes * 60_000)
    return lambda: now_ms() - offset


@pytest.fixture
def api(
    falkordb_server: ServerProcess,
    graph_name: str,
    graph: FlowGraph,
    redis_client: redis.Redis,
    analytics_clients: HttpProviderClients,
    clock: Callable[[], int],
) -> Iterator[wiring.Services]:
    """conftest's `api`, with the services' clock injected (the real one unless a test names a time of day)."""
    services = api_services(
        falkordb_server, graph_name, graph, redis_client, analytics_providers=analytics_clients, clock=clock
    )
    wiring.install(services)
    try:
        yield services
    finally:
        wiring.reset()


def yesterday_noon(now: int) -> int:
    """12:00 UTC of the day before `now`'s: a time whose UTC day is named, whatever the time of day."""
    return (now // DAY - 1) * DAY + 12 * HOUR


def page_views(
    prefix: str, users: int, pages: list[str], *, finishing: int, start: int | None = None
) -> list[dict[str, Any]]:
    start = now_ms() - 3_600_000 if start is None else start
    events = []
    for u in range(users):
        walked = pages if u < finishing else pages[:-1]
        for k, path in enumerate(walked):
            events.append(
                {
                    "eventId": f"{prefix}-{u}-{k}",
                    "anonymousId": f"{prefix}-user-{u}",
                    "name": "page_view",
                    "path": path,
                    "timestamp": start + u * 60_000 + k * 10_000,
                }
            )
    return events


def ingest(caller: Caller, events: list[Any], **extra: Any) -> dict[str, Any]:
    return call("analytics/ingest-events", caller, body={"events": events, **extra})


def test_ingest_is_idempotent_checks_each_event_and_refuses_oversized_batches(api: wiring.Services) -> None:
    owner = create_project("Shop")
    writer = key_for(owner, ["ingest"], "web")
    events = page_views("a", 2, ["/", "/cart"], finishing=2)

    first = ingest(writer, events)
    again = ingest(writer, events)

    assert first["statusCode"] == 202, first["body"]
    assert body_of(first) == {"accepted": 4, "duplicates": 0, "rejectedCount": 0, "rejected": []}
    assert body_of(again)["accepted"] == 0 and body_of(again)["duplicates"] == 4

    mixed = [
        {**events[0], "eventId": "ok-1"},
        {"eventId": "no-user", "name": "page_view", "path": "/", "timestamp": now_ms()},
        {**events[0], "eventId": "future", "timestamp": now_ms() + 3_600_000},
        {**events[0], "eventId": "old", "timestamp": now_ms() - 40 * 86_400_000},
        "not an event",
    ]
    answer = body_of(ingest(writer, mixed))
    assert answer["accepted"] == 1 and answer["rejectedCount"] == 4
    assert [(r["index"], r["reason"]) for r in answer["rejected"]] == [
        (1, "invalid"),
        (2, "timestamp_in_future"),
        (3, "timestamp_too_old"),
        (4, "invalid"),
    ]

    too_many = [{**events[0], "eventId": f"n-{i}"} for i in range(1001)]
    response = ingest(writer, too_many)
    assert response["statusCode"] == 413 and error_code(response) == "payload_too_large"
    big = [{**events[0], "eventId": f"b-{i}", "properties": {"blob": "x" * 2000}} for i in range(600)]
    response = ingest(writer, big)
    assert response["statusCode"] == 413 and "1000000 bytes" in body_of(response)["error"]["message"]
    response = call("analytics/ingest-events", writer, raw_body="{not json")
    assert response["statusCode"] == 422


def test_an_ingest_key_reads_nothing_and_other_keys_cannot_ingest(api: wiring.Services) -> None:
    owner = create_project("Shop")
    writer = key_for(owner, ["ingest"], "web")
    reader = key_for(owner, ["ci:analyze", "flows:read", "insights:read"], "ci")

    for sample, body in [
        ("analytics/get-metrics", None),
        ("analytics/get-traffic", None),
        ("analytics/sync", {}),
        ("analytics/connect", {"provider": "mixpanel", "credentials": MIXPANEL}),
        ("flows/list-flows", None),
    ]:
        response = call(sample, writer, body=body)
        assert response["statusCode"] == 403, (sample, response["body"])
    response = ingest(reader, page_views("r", 1, ["/"], finishing=1))
    assert response["statusCode"] == 403 and "'ingest'" in body_of(response)["error"]["message"]


@pytest.mark.parametrize("time_of_day", [None, "00:30", "23:59"])  # UTC midnight near either
def test_each_project_syncs_and_reads_only_its_own_traffic(api: wiring.Services) -> None:
    a, b = create_project("Tenant A"), create_project("Tenant B")
    flow = body_of(
        call("flows/create-flow", a, body={"name": "Checkout", "pages": ["/", "/products/:id", "/cart", "/checkout"]})
    )
    call("flows/create-flow", b, body={"name": "Checkout", "pages": ["/", "/products/:id", "/cart", "/checkout"]})
    a_writer = key_for(a, ["ingest"], "web")
    # all on yesterday's UTC day, which a sync without a provider correlates (with today)
    events = page_views(
        "a", 4, ["/", "/products/7", "/cart", "/checkout"], finishing=1, start=yesterday_noon(api.analytics.clock())
    )
    assert body_of(ingest(a_writer, events))["accepted"] == 4 + 3 * 3

    # B syncs first: A's events are not B's
    b_run = body_of(call("analytics/sync", b, body={}))
    assert b_run["correlation"]["events"] == 0 and b_run["correlation"]["metricsWritten"] == 0

    a_run = call("analytics/sync", a, body={})
    assert a_run["statusCode"] == 200, a_run["body"]
    assert body_of(a_run)["correlation"]["matchedSessions"] == 4

    metrics = body_of(call("analytics/get-metrics", a, query={"days": "2"}))  # yesterday and today
    (walked,) = metrics["flows"]
    assert (walked["flowId"], walked["sessions"], walked["completions"], walked["usersPerDay"]) == (flow["id"], 4, 1, 2)
    traffic = body_of(call("analytics/get-traffic", a, query={"days": "2"}))  # the mean over days with metrics
    assert traffic["flows"] == [
        {"flowId": flow["id"], "usersPerDay": 4.0, "sessionsPerDay": 4.0, "successRate": 0.25, "days": 1}
    ]
    # today alone has none of them
    assert body_of(call("analytics/get-metrics", a, query={"days": "1"}))["flows"] == []

    b_metrics = body_of(call("analytics/get-metrics", b, query={"days": "7"}))
    assert b_metrics["flows"] == [] and flow["id"] not in json.dumps(b_metrics)
    assert body_of(call("analytics/get-traffic", b))["flows"] == []
    # A's flow by id through B's key: not found, nothing of A's shown
    response = call("analytics/get-metrics", b, query={"flow": flow["id"]})
    assert response["statusCode"] == 404


def test_connect_checks_credentials_with_the_provider_and_keeps_them_per_project(api: wiring.Services) -> None:
    a, b = create_project("Tenant A"), create_project("Tenant B")

    refused = call("analytics/connect", a, body={"provider": "mixpanel", "credentials": {**MIXPANEL, "secret": "x1"}})

    assert refused["statusCode"] == 422 and error_code(refused) == "provider_credentials_refused"
    assert "x1" not in refused["body"] and "mixpanel refused" in refused["body"]

    connected = call("analytics/connect", a, body={"provider": "mixpanel", "credentials": MIXPANEL})

    assert connected["statusCode"] == 200 and body_of(connected)["ok"] is True
    assert "sa-secret" not in connected["body"]

    def mixpanel_of(caller: Caller) -> dict[str, Any]:
        providers = body_of(call("analytics/get-metrics", caller))["providers"]
        return next(p for p in providers if p["provider"] == "mixpanel")

    assert mixpanel_of(a)["connected"] is True and mixpanel_of(b)["connected"] is False
    response = call("analytics/sync", b, body={"provider": "mixpanel"})
    assert response["statusCode"] == 422 and error_code(response) == "provider_not_connected"


def test_the_beacon_route_takes_an_ingest_key_from_write_key_and_nothing_else(api: wiring.Services) -> None:
    from api_handlers import invoke, load_event, with_body, with_query

    owner = create_project("Shop")
    writer = key_for(owner, ["ingest"], "web")
    reader = key_for(owner, ["flows:read", "insights:read"], "ci")
    batch = json.dumps({"events": page_views("b", 2, ["/", "/cart"], finishing=2), "sentAt": now_ms()})

    def beacon(write_key: str | None, body: str = batch) -> dict[str, Any]:
        event = with_body(load_event("api/analytics/ingest-beacon.json"), body, raw=True)
        with_query(event, **({"writeKey": write_key} if write_key is not None else {}))
        return invoke("api/analytics", event)

    sent = beacon(writer.key)
    again = beacon(writer.key)

    assert sent["statusCode"] == 202 and body_of(sent)["accepted"] == 4, sent["body"]
    assert body_of(again)["duplicates"] == 4
    refused = beacon(reader.key)
    assert refused["statusCode"] == 403 and writer.key not in refused["body"]
    invalid = beacon("prc_" + "x" * 43)
    assert invalid["statusCode"] == 401 and "ingest scope" in invalid["body"]
    assert beacon(None)["statusCode"] == 422
    # what the beacon stored is the writer's project's: its sync sees the events
    run = body_of(call("analytics/sync", owner, body={}))
    assert run["correlation"]["events"] == 4


@pytest.mark.parametrize("time_of_day", [None, "00:30", "23:59"])  # UTC midnight near either
def test_flow_metrics_lists_the_callers_daily_metrics_only(api: wiring.Services) -> None:
    from perceo.analytics.model import day_of

    a, b = create_project("Tenant A"), create_project("Tenant B")
    call("flows/create-flow", a, body={"name": "Checkout", "pages": ["/", "/cart"]})
    a_writer = key_for(a, ["ingest"], "web")
    walked = yesterday_noon(api.analytics.clock())  # one named UTC day, whatever the time of day
    ingest(a_writer, page_views("a", 3, ["/", "/cart"], finishing=3, start=walked))
    call("analytics/sync", a, body={})
    today = day_of(api.analytics.clock())
    window = {"since": day_of(api.analytics.clock() - 6 * DAY), "until": today}

    mine = call("analytics/get-flow-metrics", a, query=window)
    theirs = call("analytics/get-flow-metrics", b, query=window)

    assert mine["statusCode"] == 200, mine["body"]
    (metrics,) = body_of(mine)["metrics"]
    assert (metrics["projectId"], metrics["day"], metrics["sessions"], metrics["completions"]) == (
        a.project_id,
        day_of(walked),
        3,
        3,
    )
    assert body_of(theirs) == {"metrics": []}
    too_long = call("analytics/get-flow-metrics", a, query={"since": "2026-01-01", "until": "2026-12-31"})
    backwards = call("analytics/get-flow-metrics", a, query={"since": today, "until": "2026-01-01"})
    assert too_long["statusCode"] == backwards["statusCode"] == 422
    assert call("analytics/get-flow-metrics", a, query={"since": "yesterday", "until": today})["statusCode"] == 422


def test_correlate_and_gaps_answer_for_the_callers_project_only_and_need_their_scopes(api: wiring.Services) -> None:
    a, b = create_project("Tenant A"), create_project("Tenant B")
    pages = ["/", "/products/:id", "/cart", "/checkout"]
    flow = body_of(call("flows/create-flow", a, body={"name": "Checkout", "pages": pages}))
    call("flows/create-flow", b, body={"name": "Checkout", "pages": pages})
    events = page_views("g", 4, ["/", "/products/7", "/cart", "/checkout"], finishing=1)
    assert body_of(ingest(key_for(a, ["ingest"], "web"), events))["accepted"] == 13
    days = sorted({time.strftime("%Y-%m-%d", time.gmtime(e["timestamp"] / 1000)) for e in events} | {_today()})
    window = {"since": days[0], "until": days[-1]}

    b_report = call("analytics/correlate", b, body=window)
    a_report = call("analytics/correlate", a, body=window)

    assert b_report["statusCode"] == 200 and body_of(b_report)["events"] == 0
    assert a_report["statusCode"] == 200, a_report["body"]
    report = body_of(a_report)
    assert (report["days"], report["events"], report["matchedSessions"]) == (days, 13, 4)
    assert [(f["flowId"], f["matches"], f["completions"]) for f in report["byFlow"]] == [(flow["id"], 4, 1)]
    gaps = body_of(call("analytics/get-gaps", a, query={"days": "2"}))
    assert [(g["flowId"], g["usersPerDay"], g["priority"]) for g in gaps["flows"]] == [(flow["id"], 2.0, 2.0)]
    assert body_of(call("analytics/get-gaps", b, query={"days": "2"}))["flows"] == []

    reader = key_for(a, ["insights:read"], "dash")
    writer = key_for(a, ["ingest"], "web2")
    assert call("analytics/correlate", reader, body={})["statusCode"] == 403
    assert call("analytics/correlate", writer, body={})["statusCode"] == 403
    assert call("analytics/get-gaps", writer)["statusCode"] == 403
    assert call("analytics/get-gaps", reader)["statusCode"] == 200
    bad = call("analytics/correlate", a, body={"since": days[-1], "until": "2020-01-01"})
    assert bad["statusCode"] == 422 and "since must not be after until" in body_of(bad)["error"]["message"]
    assert call("analytics/get-gaps", a, query={"limit": "0"})["statusCode"] == 422


def _today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())
