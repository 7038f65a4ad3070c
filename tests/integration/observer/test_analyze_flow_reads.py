"""analyze_change reads only the flows at matching routes (`flows_to_match`) and comes out exactly as it did when it
matched every flow of the project (`list_flows`), on a real FalkorDB graph with route patterns on both sides."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import AffectedRoute, ChangedFile, ChangeSet, Flow, Project, Reason
from perceo.observer.analyze import analyze_change, flows_to_match
from perceo_cli.local.server import ServerProcess

CHANGE = ChangeSet(
    base_sha="a" * 40,
    head_sha="b" * 40,
    files=[ChangedFile(path="src/shared.tsx", status="modified", additions=4, deletions=2)],
)


@pytest.fixture
def graph(falkordb_server: ServerProcess) -> Iterator[FalkorFlowGraph]:
    graph = FalkorFlowGraph(f"redis://{falkordb_server.host}:{falkordb_server.port}", f"reads-{uuid.uuid4().hex}")
    graph.ensure_schema()
    try:
        yield graph
    finally:
        graph.close()


def seed(graph: FalkorFlowGraph) -> str:
    project_id = f"p-{uuid.uuid4().hex[:12]}"
    graph.create_project(Project(id=project_id, name="Shop"))

    def new(name: str, **fields: object) -> Flow:
        return Flow.model_validate({"project_id": project_id, "name": name, **fields})

    flows = graph.upsert_flows(
        project_id,
        [
            new("Buy", priority="critical"),
            new("Browse by pattern", priority="high"),
            new("Docs", priority="low"),
            new("Landing", priority="medium", entry_point="/products/42"),  # no pages: its entry point counts
            new("Pages win", priority="high", entry_point="/products/7"),  # has pages: its entry point does not
            new("Retired", priority="critical", is_active=False),
            new("Localized", priority="medium"),
        ],
    )
    ids = {f.name: f.id for f in flows}
    graph.set_pages_of_flows(
        project_id,
        {
            ids["Buy"]: ["/", "/products/123", "/cart", "/checkout", "/cart"],
            ids["Browse by pattern"]: ["/products/[id]", "/products/[id]/reviews"],
            ids["Docs"]: ["/docs/[...slug]"],
            ids["Pages win"]: ["/account"],
            ids["Retired"]: ["/cart", "/products/1"],
            ids["Localized"]: ["/[[lang]]/cart"],
        },
    )
    return project_id


def affected(*routes: str) -> list[AffectedRoute]:
    return [
        AffectedRoute(
            route=route,
            files=["src/shared.tsx"],
            reasons=[Reason(changed_file="src/shared.tsx", chain=["src/shared.tsx", f"app{route}/page.tsx"])],
            distance=1 + n,
        )
        for n, route in enumerate(routes)
    ]


@pytest.mark.parametrize(
    "routes",
    [
        ("/products/:id",),
        ("/cart",),
        ("/docs/getting-started/install", "/checkout"),
        ("/[...all]",),
        ("/:lang/cart", "/account"),
        ("/nowhere",),
    ],
)
def test_analysis_from_the_flows_at_matching_routes_equals_the_analysis_of_every_flow(
    graph: FalkorFlowGraph, routes: tuple[str, ...]
) -> None:
    project_id = seed(graph)
    every_flow = graph.list_flows(project_id)

    light = analyze_change(project_id, CHANGE, affected(*routes), graph=graph, clock=lambda: 1)
    full = analyze_change(project_id, CHANGE, affected(*routes), flows=every_flow, clock=lambda: 1)

    assert light.model_dump(exclude={"id"}) == full.model_dump(exclude={"id"})
    assert bool(light.flows) == (routes != ("/nowhere",))


def test_only_flows_at_matching_routes_are_read(graph: FalkorFlowGraph) -> None:
    project_id = seed(graph)

    read = flows_to_match(graph, project_id, affected("/products/:id"))

    assert [f.name for f in read] == ["Browse by pattern", "Buy", "Landing", "Localized", "Pages win"]  # not Retired
    assert flows_to_match(graph, project_id, affected("/nowhere")) == []
