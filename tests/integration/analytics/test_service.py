"""AnalyticsService on the embedded components (FalkorDB graph, Redis, local data dir) and the fake providers:
connect, sync with cursors and resume after an outage without counting twice, ingest -> correlate -> metrics in the
graph, impact and gaps, events on the bus, and projects kept apart."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from analytics_kit import DAY, Analytics
from fakes.analytics_providers import MIXPANEL_EXPORT, FakeProviders, Fault

from perceo.analytics.codec import decode_events
from perceo.analytics.errors import ProviderCredentialsError, ProviderNotConnectedError
from perceo.analytics.model import day_start
from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import EventType, Flow, Page, Project

MIXPANEL = {"projectId": "1234", "username": "sa-user", "secret": "sa-secret"}
D1, D2, D3 = "2026-03-07", "2026-03-08", "2026-03-09"
SHOP_ROUTES = ["/", "/products/:id", "/cart", "/checkout", "/order/:id"]


def shop(graph: FalkorFlowGraph, project_id: str) -> dict[str, Flow]:
    graph.create_project(Project(id=project_id, name="Shop"))
    graph.upsert_pages(project_id, [Page(project_id=project_id, route=r) for r in SHOP_ROUTES])
    checkout, browse = graph.upsert_flows(
        project_id, [Flow(project_id=project_id, name="Checkout"), Flow(project_id=project_id, name="Browse")]
    )
    graph.set_flow_pages(project_id, checkout.id, ["/cart", "/checkout", "/order/:id"])
    graph.set_flow_pages(project_id, browse.id, ["/", "/products/:id"])
    return {"checkout": checkout, "browse": browse}


@pytest.fixture
def pid() -> str:
    """A fresh project id per test: the Redis server (idempotency sets, cursors) is shared by the whole session."""
    return f"shop-{uuid.uuid4().hex[:10]}"


def mixpanel_day(day: str, users: int) -> list[dict[str, Any]]:
    """Each user: home, a product, the cart, checkout; every other user also orders."""
    start = day_start(day) + 9 * 3_600_000
    events = []
    for u in range(users):
        paths = ["/", f"/products/{u}", "/cart", "/checkout"] + (["/order/1"] if u % 2 == 0 else [])
        for k, path in enumerate(paths):
            events.append(
                {
                    "event": "$mp_web_page_view",
                    "properties": {
                        "time": (start + u * 600_000 + k * 20_000) // 1000,
                        "distinct_id": f"{day}-user-{u}",
                        "$insert_id": f"{day}-{u}-{k}",
                        "$current_url": f"https://shop.test{path}",
                    },
                }
            )
    return events


def stored_ids(analytics: Analytics, project_id: str) -> list[str]:
    keys = analytics.store.list(f"events/{project_id}/")
    return [e.id for key in keys for e in decode_events(analytics.store.read_lines(key), where=key)]


def test_connect_keeps_credentials_only_when_the_provider_accepts_them(
    analytics: Analytics, graph: FalkorFlowGraph, pid: str, fake_providers: FakeProviders
) -> None:
    shop(graph, pid)

    with pytest.raises(ProviderCredentialsError):
        analytics.service.connect(pid, "mixpanel", {**MIXPANEL, "secret": "nope"})
    assert analytics.credentials.get(pid, "mixpanel") is None
    with pytest.raises(ProviderNotConnectedError, match="perceo analytics connect mixpanel"):
        analytics.service.sync(pid, "mixpanel")

    check = analytics.service.connect(pid, "mixpanel", MIXPANEL)

    assert check.ok and analytics.credentials.get(pid, "mixpanel") == MIXPANEL


def test_a_sync_stores_each_event_once_moves_the_cursor_and_publishes_what_it_did(
    analytics: Analytics, graph: FalkorFlowGraph, pid: str, fake_providers: FakeProviders
) -> None:
    shop(graph, pid)
    analytics.service.connect(pid, "mixpanel", MIXPANEL)
    fake_providers.mixpanel_events = {D1: mixpanel_day(D1, 3), D2: mixpanel_day(D2, 2)}

    report = analytics.service.sync(pid, "mixpanel", since=day_start(D1))

    # D1: 3 users (two order: 5 + 4 + 5 views); D2: 2 users (5 + 4)
    assert (report.status, report.accepted, report.duplicates, report.windows) == ("success", 23, 0, 4)
    assert report.days == [D1, D2]
    # D3 and today (2026-03-10 until 12:00) were fetched too; the cursor stops where data is final (now - 2 h)
    cursor = analytics.cursors.get(pid, "mixpanel")
    assert cursor is not None and cursor.synced_until == day_start("2026-03-10") and cursor.events_total == 23
    assert report.synced_until == cursor.synced_until
    (published,) = [e for _, e in analytics.bus.replay(pid) if e.type == EventType.DATA_SYNCED]
    assert published.data["accepted"] == 23 and published.data["provider"] == "mixpanel"

    again = analytics.service.sync(pid, "mixpanel", since=day_start(D1))

    assert (again.accepted, again.duplicates) == (0, 23)
    expected = {e["properties"]["$insert_id"] for day in (D1, D2) for e in fake_providers.mixpanel_events[day]}
    assert sorted(stored_ids(analytics, pid)) == sorted(expected)


def test_an_outage_mid_sync_ends_partial_and_the_next_sync_resumes_without_counting_twice(
    analytics: Analytics, graph: FalkorFlowGraph, pid: str, fake_providers: FakeProviders
) -> None:
    shop(graph, pid)
    analytics.service.connect(pid, "mixpanel", MIXPANEL)
    fake_providers.mixpanel_events = {D1: mixpanel_day(D1, 3), D2: mixpanel_day(D2, 2), D3: mixpanel_day(D3, 1)}
    # D1 is served; D2's export breaks off after 4 lines, then the provider answers 503 until the retries run out
    fake_providers.fault(MIXPANEL_EXPORT, Fault(status=0))  # D1: no fault (consumes nothing)
    first = analytics.service.sync(pid, "mixpanel", since=day_start(D1), until=day_start(D2))
    fake_providers.fault(MIXPANEL_EXPORT, Fault(truncate_after=4), *[Fault(status=503)] * 20)

    partial = analytics.service.sync(pid, "mixpanel")

    # the broken window stores nothing of its own: it is fetched whole again next time
    assert first.accepted == 14 and partial.status == "partial" and partial.accepted == 0
    assert partial.message is not None and "2026-03-08" in partial.message and "HTTP 503" in partial.message
    cursor = analytics.cursors.get(pid, "mixpanel")
    assert cursor is not None and cursor.synced_until == day_start(D2) and cursor.status == "partial"

    fake_providers._faults.clear()
    resumed = analytics.service.sync(pid, "mixpanel")

    assert resumed.status == "success" and resumed.since == day_start(D2)
    assert (resumed.accepted, resumed.duplicates) == (9 + 5, 0)
    ids = stored_ids(analytics, pid)
    assert len(ids) == len(set(ids)) == 14 + 9 + 5


def test_ingest_then_correlate_writes_each_flows_daily_metrics_to_the_graph(
    analytics: Analytics, graph: FalkorFlowGraph, pid: str
) -> None:
    flows = shop(graph, pid)
    base = day_start(D3) + 8 * 3_600_000
    events = []
    for u in range(6):
        paths = ["/", f"/products/{u}", "/cart", "/checkout"] + (["/order/5"] if u < 2 else [])
        events += [
            {
                "eventId": f"e-{u}-{k}",
                "anonymousId": f"a{u}",
                "name": "page_view",
                "path": p,
                "timestamp": base + u * 3_600_000 + k * 15_000,
            }
            for k, p in enumerate(paths)
        ]
    accepted = analytics.service.ingest(pid, json.dumps({"events": events}))
    assert accepted.accepted == 26

    report = analytics.service.correlate(pid, [D3])

    assert (report.sessions, report.matched_sessions, report.metrics_written) == (6, 6, 2)
    checkout = graph.list_flow_metrics(pid, since=D3, until=D3, flow_ids=[flows["checkout"].id])[0]
    assert (checkout.sessions, checkout.completions, checkout.drop_off) == (6, 2, {"3": 4})
    assert checkout.median_duration_ms == 30_000.0 and checkout.revenue_at_risk == 4 * 25.0
    impact = analytics.service.impact(pid, "Checkout", [D3])
    assert (impact.success_rate, impact.top_drop_off_step, impact.top_drop_off_route) == (0.3333, 3, "/order/:id")
    assert impact.users_per_day == 6.0 and not impact.covered
    gaps = analytics.service.gaps(pid, [D3])
    assert {g.flow_name for g in gaps.flows} == {"Checkout", "Browse"}
    kinds = [e.type for _, e in analytics.bus.replay(pid)]
    assert EventType.CORRELATION_COMPLETE in kinds and EventType.METRICS_UPDATED in kinds


def test_a_project_correlates_only_its_own_events(analytics: Analytics, graph: FalkorFlowGraph, pid: str) -> None:
    rival = f"{pid}-rival"
    shop(graph, pid)
    shop(graph, rival)
    base = day_start(D3) + 8 * 3_600_000
    walk = [
        {"eventId": f"e{k}", "anonymousId": "a", "name": "page_view", "path": p, "timestamp": base + k * 1000}
        for k, p in enumerate(["/cart", "/checkout", "/order/1"])
    ]
    analytics.service.ingest(rival, json.dumps({"events": walk}))

    mine = analytics.service.correlate(pid, [D3])
    theirs = analytics.service.correlate(rival, [D3])

    assert (mine.events, mine.metrics_written) == (0, 0)
    assert graph.list_flow_metrics(pid, since=D3, until=D3) == []
    assert theirs.events == 3 and len(graph.list_flow_metrics(rival, since=D3, until=D3)) == 2


def test_a_day_with_only_ga4_pages_gets_estimated_funnel_metrics(
    analytics: Analytics, graph: FalkorFlowGraph, pid: str, fake_providers: FakeProviders
) -> None:
    flows = shop(graph, pid)
    fake_providers.ga4_rows = [
        ("20260309", "/cart", 50, 40, 45),
        ("20260309", "/checkout", 30, 25, 27),
        ("20260309", "/order/77", 9, 9, 9),
    ]
    analytics.service.connect(pid, "ga4", {"propertyId": "555", "accessToken": fake_providers.ga4_token})

    synced = analytics.service.sync(pid, "ga4", since=day_start(D3), until=day_start(D3) + DAY)
    analytics.service.correlate(pid, [D3])

    assert synced.pages == 3
    (checkout,) = graph.list_flow_metrics(pid, since=D3, until=D3, flow_ids=[flows["checkout"].id])
    assert (checkout.basis, checkout.sessions, checkout.completions) == ("pages", 45, 9)


def test_correlate_reports_walks_per_flow_similarity_and_unmapped_share_and_gaps_rank_by_uncovered_users(
    analytics: Analytics, graph: FalkorFlowGraph, pid: str
) -> None:
    flows = shop(graph, pid)
    graph.set_coverage_scores(pid, {flows["checkout"].id: 0.5})
    base = day_start(D3) + 8 * 3_600_000
    walks = [["/", f"/products/{u}", "/cart", "/checkout"] + (["/order/5"] if u < 2 else []) for u in range(6)]
    walks.append(["/cart", "/nowhere", "/checkout", "/order/9"])  # one stray unmapped page: 5 of 6 points
    events = [
        {
            "eventId": f"e-{u}-{k}",
            "anonymousId": f"a{u}",
            "name": "page_view",
            "path": p,
            "timestamp": base + u * 3_600_000 + k * 15_000,
        }
        for u, paths in enumerate(walks)
        for k, p in enumerate(paths)
    ]
    assert analytics.service.ingest(pid, json.dumps({"events": events})).accepted == 30

    report = analytics.service.correlate(pid, [D3])

    # Browse: 6 perfect walks; Checkout: 2 + 1 complete, 4 stop at step 2, the stray-page walk scores 5/6
    assert (report.sessions, report.matched_sessions, report.matches) == (7, 7, 13)
    assert [(f.flow_name, f.matches, f.completions, f.mean_similarity) for f in report.by_flow] == [
        ("Checkout", 7, 3, round((6 + 5 / 6) / 7, 4)),
        ("Browse", 6, 6, 1.0),
    ]
    assert report.similarity_histogram == [0] * 8 + [1, 12]
    assert (report.unmapped_page_views, report.page_views, report.unmapped_share) == (1, 30, round(1 / 30, 4))

    gaps = analytics.service.gaps(pid, [D3])

    # priority = users/day x (1 - coverage): Browse 6 x 1, Checkout 7 x 0.5
    assert [(g.flow_name, g.users_per_day, g.priority, g.gap_score, g.sessions) for g in gaps.flows] == [
        ("Browse", 6.0, 6.0, round(6 / 7, 4), 6),
        ("Checkout", 7.0, 3.5, 0.5, 7),
    ]
    graph.set_coverage_scores(pid, {flows["browse"].id: 1.0})
    assert [g.flow_name for g in analytics.service.gaps(pid, [D3]).flows] == ["Checkout"]
    assert analytics.service.gaps(pid, [D3], limit=1).flows[0].flow_name == "Checkout"
