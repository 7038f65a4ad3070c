"""Change analysis weighs flows by their production traffic when the last week has flow metrics (the one code path
of `ci analyze` on both backends: `ProjectService.analyze`), reports users per day and success rate per flow, says
when no traffic is known, and keeps those figures when the analysis is read back from the graph."""

from __future__ import annotations

import uuid

from perceo.analytics.model import day_of
from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import AffectedRoute, ChangedFile, ChangeSet, Flow, FlowMetrics, Project, Reason, now_ms
from perceo.service import ProjectService

DAY = 86_400_000


def _shop(graph: FalkorFlowGraph) -> tuple[str, dict[str, str]]:
    project_id = uuid.uuid4().hex
    graph.create_project(Project(id=project_id, name="shop", framework="nextjs"))
    ids = {}
    for name, pages in {"Busy": ["/", "/cart"], "Quiet": ["/cart", "/help"], "Unwalked": ["/cart", "/faq"]}.items():
        (flow,) = graph.upsert_flows(project_id, [Flow(project_id=project_id, name=name, priority="medium")])
        graph.set_flow_pages(project_id, flow.id, pages)
        ids[name] = flow.id
    return project_id, ids


def _change(service: ProjectService, project_id: str) -> list:
    reason = Reason(changed_file="components/Cart.tsx", chain=["components/Cart.tsx", "app/cart/page.tsx"])
    affected = [AffectedRoute(route="/cart", files=["components/Cart.tsx"], reasons=[reason], distance=1)]
    files = [ChangedFile(path="components/Cart.tsx", status="modified", additions=5, deletions=2)]
    return [service.analyze(project_id, ChangeSet(base_sha="a" * 40, head_sha="b" * 40, files=files), affected)]


def test_flows_are_weighed_by_users_per_day_only_when_metrics_exist(graph: FalkorFlowGraph) -> None:
    project_id, ids = _shop(graph)
    service = ProjectService(graph)

    (before,) = _change(service, project_id)

    assert before.production_traffic is False
    assert {f.name: f.users_per_day for f in before.flows} == {"Busy": None, "Quiet": None, "Unwalked": None}
    assert len({f.risk_score for f in before.flows}) == 1  # same priority, same exposure: same risk

    today, yesterday = day_of(now_ms()), day_of(now_ms() - DAY)
    old = day_of(now_ms() - 20 * DAY)  # outside the week: not counted
    graph.upsert_flow_metrics(
        project_id,
        [
            FlowMetrics(project_id=project_id, flow_id=ids["Busy"], day=today, sessions=100, completions=80,
                        prod_daily_users=90),
            FlowMetrics(project_id=project_id, flow_id=ids["Busy"], day=yesterday, sessions=60, completions=40,
                        prod_daily_users=50),
            FlowMetrics(project_id=project_id, flow_id=ids["Quiet"], day=today, sessions=10, completions=10,
                        prod_daily_users=7),
            FlowMetrics(project_id=project_id, flow_id=ids["Unwalked"], day=old, sessions=999, completions=0,
                        prod_daily_users=999),
        ],
    )  # fmt: skip

    (after,) = _change(service, project_id)

    flows = {f.name: f for f in after.flows}
    assert after.production_traffic is True
    assert (flows["Busy"].users_per_day, flows["Busy"].prod_success_rate) == (70.0, 0.75)
    assert (flows["Quiet"].users_per_day, flows["Quiet"].prod_success_rate) == (7.0, 1.0)
    assert flows["Unwalked"].users_per_day is None
    # weight = min(1, priority + 0.25 x users / busiest users): Busy +0.25, Quiet +0.025, Unwalked +0
    assert flows["Busy"].risk_score > flows["Quiet"].risk_score > flows["Unwalked"].risk_score
    assert flows["Unwalked"].risk_score == before.flows[0].risk_score
    assert [f.name for f in after.flows] == ["Busy", "Quiet", "Unwalked"]

    stored = graph.get_analysis(project_id, after.id)
    assert stored is not None and stored.production_traffic is True
    assert {f.name: f.users_per_day for f in stored.flows} == {"Busy": 70.0, "Quiet": 7.0, "Unwalked": None}
