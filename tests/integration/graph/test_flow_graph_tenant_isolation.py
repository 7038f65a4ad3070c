"""Tenant isolation: every FlowGraph method called with project A's id never returns or changes B's data.

A and B are built alike on purpose (same persona, flow and route names), so a query that forgot its
projectId filter would match B's nodes by name or route. B is snapshotted raw (every node carrying its id
and every edge touching them) before and after A's calls; the two snapshots must be identical.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from graph_testkit import analysis, flow, impacted, new_project, persona, step

from perceo.errors import ConflictError, FlowNotFoundError, ValidationFailed
from perceo.graph.cypher import CypherFlowGraph
from perceo.models import ChangeAnalysis, Flow, FlowUpdate, Page, PageLink, Persona, Project

BOTH_ADAPTERS = pytest.mark.parametrize(
    "graph", ["falkordb", pytest.param("neo4j_driver", marks=pytest.mark.neo4j_driver)], indirect=True
)


@dataclass
class Tenant:
    project: Project
    personas: list[Persona]
    checkout: Flow
    browse: Flow
    analysis: ChangeAnalysis


def build_tenant(graph: CypherFlowGraph) -> Tenant:
    project = new_project(graph, "Same name")
    personas = graph.upsert_personas(project.id, [persona(project, "Visitor"), persona(project, "Buyer")])
    checkout, browse = graph.upsert_flows(project.id, [flow(project, "Checkout"), flow(project, "Browse")])
    graph.upsert_pages(project.id, [Page(project_id=project.id, route=r, files=[f"app{r}"]) for r in ("/", "/cart")])
    graph.upsert_page_links(project.id, [PageLink(source="/", target="/cart")])
    graph.set_flow_personas(project.id, checkout.id, ["Buyer"])
    graph.set_flow_pages(project.id, checkout.id, ["/", "/cart"])
    graph.set_flow_pages(project.id, browse.id, ["/"])
    graph.set_flow_connections(project.id, checkout.id, [browse.id])
    graph.replace_steps(project.id, checkout.id, [step(checkout.id, 1), step(checkout.id, 2)])
    recorded = graph.record_analysis(analysis(project, [impacted(checkout.id, "Checkout")]))
    return Tenant(project, personas, checkout, browse, recorded)


def raw_snapshot(graph: CypherFlowGraph, project_id: str) -> list[str]:
    """Every node of the project (and the project itself) and every edge touching them, as sorted JSON."""
    params = {"projectId": project_id}
    nodes = graph._read(
        "MATCH (n) WHERE n.projectId = $projectId OR (n:Project AND n.id = $projectId) RETURN properties(n) AS n",
        params,
    )
    edges = graph._read(
        "MATCH (a)-[r]->(b) WHERE a.projectId = $projectId OR b.projectId = $projectId OR a.id = $projectId "
        "RETURN type(r) AS type, properties(a) AS a, properties(b) AS b, properties(r) AS r",
        params,
    )
    return sorted(json.dumps(row, sort_keys=True) for row in [*nodes, *edges])


@BOTH_ADAPTERS
def test_project_a_calls_never_read_or_change_project_b(graph: CypherFlowGraph) -> None:
    a, b = build_tenant(graph), build_tenant(graph)
    a_id = a.project.id
    b_before = raw_snapshot(graph, b.project.id)
    b_ids = {b.project.id, b.checkout.id, b.browse.id, b.analysis.id, *(p.id for p in b.personas)}

    # Reads with A's id give A's data only, even by B's ids or by names both share.
    assert graph.get_flow(a_id, b.checkout.id) is None
    by_name = graph.get_flow_by_name(a_id, "Checkout")
    assert by_name is not None and by_name.id == a.checkout.id
    assert {f.id for f in graph.list_flows(a_id, include_steps=True)} == {a.checkout.id, a.browse.id}
    assert all(s.flow_id == a.checkout.id for f in graph.list_flows(a_id, include_steps=True) for s in f.steps)
    assert {p.id for p in graph.list_personas(a_id)} == {p.id for p in a.personas}
    assert {p.project_id for p in graph.list_pages(a_id)} == {a_id}
    assert graph.list_steps(a_id, b.checkout.id) == []
    assert {f.id for f in graph.flows_visiting(a_id, ["/", "/cart"])} == {a.checkout.id, a.browse.id}
    first = graph.list_flows_page(a_id, limit=1, include_steps=True)
    second = graph.list_flows_page(a_id, limit=1, after=first.next_after, include_steps=True)
    assert [f.id for f in [*first.flows, *second.flows]] == [a.browse.id, a.checkout.id]
    assert second.next_after is None and {s.flow_id for s in second.flows[0].steps} == {a.checkout.id}
    assert graph.matchable_routes(a_id) == ["/", "/cart"]
    at_routes = graph.flows_at_routes(a_id, ["/", "/cart"])
    assert [(f.id, f.pages) for f in at_routes] == [(a.browse.id, ["/"]), (a.checkout.id, ["/", "/cart"])]
    assert graph.list_page_links(a_id) == [PageLink(source="/", target="/cart")]
    assert graph.get_analysis(a_id, b.analysis.id) is None
    assert [x.id for x in graph.list_analyses(a_id)] == [a.analysis.id]
    view = graph.get_flow(a_id, a.checkout.id)
    assert view is not None and not b_ids & {*view.connected_flows, *(s.id for s in view.steps)}

    # Writes with A's id and B's ids change nothing of B's.
    assert graph.update_flow(a_id, b.checkout.id, FlowUpdate(description="hijacked")) is None
    assert graph.delete_flows(a_id, [b.checkout.id, b.browse.id]) == 0
    assert graph.delete_personas(a_id, [p.id for p in b.personas]) == 0
    with pytest.raises(FlowNotFoundError):
        graph.replace_steps(a_id, b.checkout.id, [step(b.checkout.id, 1)])
    with pytest.raises(FlowNotFoundError):
        graph.replace_steps(a_id, b.checkout.id, [])
    with pytest.raises(FlowNotFoundError):
        graph.set_flow_pages(a_id, b.checkout.id, ["/"])
    with pytest.raises(FlowNotFoundError):
        graph.set_pages_of_flows(a_id, {b.checkout.id: ["/"], b.browse.id: ["/cart"]})
    with pytest.raises(FlowNotFoundError):
        graph.replace_steps_of_flows(a_id, {b.checkout.id: [step(b.checkout.id, 1)], b.browse.id: []})
    with pytest.raises(FlowNotFoundError):
        graph.set_flow_personas(a_id, b.checkout.id, ["Visitor"])
    with pytest.raises(FlowNotFoundError):
        graph.set_flow_connections(a_id, b.checkout.id, [a.checkout.id])
    with pytest.raises(ValidationFailed):
        graph.upsert_flows(a_id, [flow(b.project, "Checkout")])
    with pytest.raises(ValidationFailed):
        graph.upsert_pages(a_id, [Page(project_id=b.project.id, route="/")])
    with pytest.raises(ConflictError):
        graph.record_analysis(b.analysis.model_copy(update={"project_id": a_id, "flows": []}))

    # A's own writes that name B's things link nothing of B's.
    graph.set_flow_connections(a_id, a.checkout.id, [b.browse.id, a.browse.id])
    mine = graph.record_analysis(analysis(a.project, [impacted(b.checkout.id, "Checkout")]))
    assert mine.flows == []
    graph.upsert_personas(a_id, [persona(a.project, "Buyer", description="the buyer of A")])
    graph.upsert_pages(a_id, [Page(project_id=a_id, route="/cart", files=["a-only.tsx"])])
    graph.upsert_page_links(a_id, [PageLink(source="/cart", target="/")])
    assert graph.delete_page_links(a_id, [PageLink(source="/", target="/cart")]) == 1
    graph.upsert_pages(a_id, [Page(project_id=a_id, route="/gone")])
    assert graph.delete_pages(a_id, ["/gone"]) == 1
    graph.update_flow(a_id, a.checkout.id, FlowUpdate(priority="low"))
    connected = graph.get_flow(a_id, a.checkout.id)
    assert connected is not None and connected.connected_flows == [a.browse.id]

    assert raw_snapshot(graph, b.project.id) == b_before

    # Deleting A leaves B whole.
    assert graph.delete_project(a_id) is True
    assert raw_snapshot(graph, b.project.id) == b_before
    assert graph.get_flow(b.project.id, b.checkout.id) is not None
