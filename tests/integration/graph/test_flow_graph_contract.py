"""The FlowGraph contract, run unchanged against every adapter.

Every test runs on FalkorFlowGraph. Tests parametrized with BOTH_ADAPTERS also run on Neo4jFlowGraph with
the official driver over FalkorDB's Bolt listener (marked `neo4j_driver`): a smoke subset, because that
listener is slow (~44 ms a query), experimental, and cannot show a rollback. Tests here only look at their
own projects (fresh ids), so they hold on a shared graph as well as on a fresh one.
"""

from __future__ import annotations

import uuid

import pytest
from graph_testkit import (
    FakeClock,
    analysis,
    flow,
    impacted,
    new_project,
    next_chain,
    nodes_of,
    persona,
    step,
    step_nodes,
    wait_for_constraints,
)

from perceo.errors import ConflictError, FlowNotFoundError, ProjectNotFoundError, ValidationFailed
from perceo.graph.cypher import CypherFlowGraph
from perceo.graph.port import MAX_PAGE_SIZE, FlowPage
from perceo.models import (
    FlowUpdate,
    Page,
    PageLink,
    Project,
)

BOTH_ADAPTERS = pytest.mark.parametrize(
    "graph", ["falkordb", pytest.param("neo4j_driver", marks=pytest.mark.neo4j_driver)], indirect=True
)


# -- projects


@BOTH_ADAPTERS
def test_a_created_project_reads_back_and_is_listed(graph: CypherFlowGraph) -> None:
    project = Project(id=f"p-{uuid.uuid4().hex[:12]}", name="Shop", framework="remix", git_remote_url="git@x:y.git")

    created = graph.create_project(project)

    assert created == project
    assert graph.get_project(project.id) == project
    assert project in graph.list_projects()


def test_creating_a_project_whose_id_exists_is_a_conflict_and_keeps_the_first(graph: CypherFlowGraph) -> None:
    first = new_project(graph, "First")

    with pytest.raises(ConflictError):
        graph.create_project(Project(id=first.id, name="Second"))

    assert graph.get_project(first.id) == first


def test_a_missing_project_is_none_and_deleting_it_says_false(graph: CypherFlowGraph) -> None:
    assert graph.get_project("no-such-project") is None
    assert graph.delete_project("no-such-project") is False


def test_optional_project_fields_left_unset_read_back_as_defaults(graph: CypherFlowGraph) -> None:
    project = graph.create_project(Project(id=f"p-{uuid.uuid4().hex[:12]}", name="Bare"))

    assert graph.get_project(project.id) == project
    assert project.git_remote_url is None


# -- personas


@BOTH_ADAPTERS
def test_upserting_personas_twice_keeps_their_ids_and_makes_no_duplicates(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    first = graph.upsert_personas(project.id, [persona(project, "Visitor"), persona(project, "Buyer")])

    again = graph.upsert_personas(
        project.id,
        [persona(project, "Buyer", description="pays", behaviors=["checks out"], source="user_configured")],
    )

    assert again[0].id == first[1].id
    stored = graph.list_personas(project.id)
    assert [p.name for p in stored] == ["Buyer", "Visitor"]
    buyer = stored[0]
    assert (buyer.description, buyer.behaviors, buyer.source) == ("pays", ["checks out"], "user_configured")


def test_upserting_personas_into_a_missing_project_raises_and_writes_nothing(graph: CypherFlowGraph) -> None:
    ghost = Project(id=f"p-{uuid.uuid4().hex[:12]}", name="Ghost")

    with pytest.raises(ProjectNotFoundError):
        graph.upsert_personas(ghost.id, [persona(ghost, "Visitor")])

    assert graph.list_personas(ghost.id) == []


def test_personas_of_another_project_or_repeated_names_are_rejected(graph: CypherFlowGraph) -> None:
    a, b = new_project(graph, "A"), new_project(graph, "B")

    with pytest.raises(ValidationFailed):
        graph.upsert_personas(a.id, [persona(b, "Visitor")])
    with pytest.raises(ValidationFailed):
        graph.upsert_personas(a.id, [persona(a, "Visitor"), persona(a, "Visitor")])

    assert graph.list_personas(a.id) == [] and graph.list_personas(b.id) == []


def test_deleting_personas_counts_them_and_unlinks_them_from_flows(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    visitor, buyer = graph.upsert_personas(project.id, [persona(project, "Visitor"), persona(project, "Buyer")])
    checkout = graph.upsert_flows(project.id, [flow(project, "Checkout")])[0]
    graph.set_flow_personas(project.id, checkout.id, ["Visitor", "Buyer"])

    deleted = graph.delete_personas(project.id, [buyer.id, "not-a-persona"])

    assert deleted == 1
    assert graph.list_personas(project.id) == [visitor]
    view = graph.get_flow(project.id, checkout.id)
    assert view is not None and view.personas == ["Visitor"]
    assert graph.delete_personas(project.id, []) == 0


# -- flows


@BOTH_ADAPTERS
def test_upserting_a_flow_again_keeps_id_and_created_at_and_updates_the_rest(
    graph: CypherFlowGraph, clock: FakeClock
) -> None:
    project = new_project(graph)
    clock.now = 1_000
    first = graph.upsert_flows(
        project.id, [flow(project, "Checkout", entry_point="/cart", coverage_score=0.5, created_at=100, updated_at=100)]
    )[0]
    clock.now = 2_000

    second = graph.upsert_flows(
        project.id,
        [
            flow(
                project,
                "Checkout",
                description="pay for the cart",
                priority="critical",
                trigger_conditions=["cart not empty"],
                created_at=999,
                updated_at=999,
            )
        ],
    )[0]

    assert (second.id, second.created_at) == (first.id, 100)
    assert (first.updated_at, second.updated_at) == (1_000, 2_000)  # the graph's clock, not the model's
    assert (second.description, second.priority, second.trigger_conditions) == (
        "pay for the cart",
        "critical",
        ["cart not empty"],
    )
    assert second.entry_point is None and second.coverage_score is None  # an upsert writes the whole flow
    assert [f.id for f in graph.list_flows(project.id)] == [first.id]


def test_upsert_flows_returns_them_in_the_order_given_across_batches(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    graph.batch_size = 3
    names = [f"Flow {n:02d}" for n in (7, 3, 9, 1, 5, 2, 8)]

    stored = graph.upsert_flows(project.id, [flow(project, name) for name in names])

    assert [f.name for f in stored] == names
    assert sorted(f.name for f in graph.list_flows(project.id)) == sorted(names)


def test_flows_into_a_missing_project_or_with_repeated_names_are_refused(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    ghost = Project(id=f"p-{uuid.uuid4().hex[:12]}", name="Ghost")

    with pytest.raises(ProjectNotFoundError):
        graph.upsert_flows(ghost.id, [flow(ghost, "Checkout")])
    with pytest.raises(ValidationFailed):
        graph.upsert_flows(project.id, [flow(project, "Checkout"), flow(project, "Checkout")])
    with pytest.raises(ValidationFailed):
        graph.upsert_flows(project.id, [flow(ghost, "Checkout")])

    assert graph.list_flows(project.id) == []


@BOTH_ADAPTERS
def test_a_flow_reads_back_with_personas_pages_in_visit_order_steps_in_order_and_connections(
    graph: CypherFlowGraph,
) -> None:
    project = new_project(graph)
    graph.upsert_personas(project.id, [persona(project, "Visitor"), persona(project, "Buyer")])
    checkout, browse, search = graph.upsert_flows(
        project.id, [flow(project, "Checkout"), flow(project, "Browse"), flow(project, "Search")]
    )
    graph.set_flow_personas(project.id, checkout.id, ["Visitor", "Buyer"])
    graph.set_flow_pages(project.id, checkout.id, ["/products/[id]", "/cart", "/checkout", "/cart"])
    graph.set_flow_connections(project.id, checkout.id, [search.id, browse.id])
    steps = [step("ignored", order) for order in (3, 1, 2)]
    graph.replace_steps(project.id, checkout.id, steps)

    view = graph.get_flow(project.id, checkout.id)

    assert view is not None
    assert view.personas == ["Buyer", "Visitor"]
    assert view.pages == ["/products/[id]", "/cart", "/checkout", "/cart"]
    assert view.connected_flows == [search.id, browse.id]
    assert [s.order for s in view.steps] == [1, 2, 3]
    expected = {s.order: s.model_copy(update={"flow_id": checkout.id}) for s in steps}
    assert view.steps == [expected[1], expected[2], expected[3]]
    assert graph.get_flow_by_name(project.id, "Checkout") == view


def test_list_flows_gives_views_sorted_by_name_with_steps_only_when_asked(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    zeta, alpha = graph.upsert_flows(project.id, [flow(project, "Zeta"), flow(project, "Alpha")])
    graph.replace_steps(project.id, zeta.id, [step(zeta.id, 1), step(zeta.id, 2)])
    graph.set_flow_pages(project.id, zeta.id, ["/z"])

    without = graph.list_flows(project.id)
    with_steps = graph.list_flows(project.id, include_steps=True)

    assert [f.name for f in without] == ["Alpha", "Zeta"]
    assert [len(f.steps) for f in without] == [0, 0]
    assert [len(f.steps) for f in with_steps] == [0, 2]
    assert without[1].pages == ["/z"]


@BOTH_ADAPTERS
def test_pages_of_flows_walk_every_flow_once_in_name_order_with_the_views_list_flows_gives(
    graph: CypherFlowGraph,
) -> None:
    project = new_project(graph)
    stored = graph.upsert_flows(project.id, [flow(project, f"Flow {n}") for n in (5, 1, 4, 2, 3, 7, 6)])
    graph.upsert_personas(project.id, [persona(project, "Buyer")])
    graph.set_flow_personas(project.id, stored[0].id, ["Buyer"])
    graph.set_flow_pages(project.id, stored[0].id, ["/b", "/a"])
    graph.set_flow_connections(project.id, stored[0].id, [stored[1].id])
    graph.replace_steps(project.id, stored[0].id, [step(stored[0].id, 1)])

    pages, after = [], None
    while True:
        page = graph.list_flows_page(project.id, limit=3, after=after, include_steps=True)
        pages.append(page.flows)
        if page.next_after is None:
            break
        after = page.next_after
        assert after == (page.flows[-1].name, page.flows[-1].id)

    assert [len(flows) for flows in pages] == [3, 3, 1]
    assert [f for flows in pages for f in flows] == graph.list_flows(project.id, include_steps=True)
    without_steps = graph.list_flows_page(project.id, limit=10)
    assert without_steps.next_after is None
    assert without_steps.flows == graph.list_flows(project.id)
    assert graph.list_flows_page(project.id, limit=7).next_after is None  # exactly full: no empty page follows


def test_a_page_after_a_key_skips_nothing_when_flows_come_and_go_between_pages(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    graph.upsert_flows(project.id, [flow(project, name) for name in ("B", "D", "F", "H")])
    first = graph.list_flows_page(project.id, limit=2)
    assert [f.name for f in first.flows] == ["B", "D"]

    d_and_f = [f.id for f in graph.list_flows(project.id) if f.name in ("D", "F")]
    graph.delete_flows(project.id, d_and_f)  # the page's last flow and the next one go
    graph.upsert_flows(project.id, [flow(project, "A"), flow(project, "E"), flow(project, "G")])
    second = graph.list_flows_page(project.id, limit=2, after=first.next_after)

    assert [f.name for f in second.flows] == ["E", "G"]  # A sorts before the key; nothing after it is lost
    assert [f.name for f in graph.list_flows_page(project.id, limit=2, after=second.next_after).flows] == ["H"]


def test_a_page_is_at_most_the_cap_and_at_least_one_flow(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    graph.upsert_flows(project.id, [flow(project, f"Flow {n:03d}") for n in range(MAX_PAGE_SIZE + 1)])

    page = graph.list_flows_page(project.id, limit=10_000)

    assert len(page.flows) == MAX_PAGE_SIZE
    assert page.next_after == (page.flows[-1].name, page.flows[-1].id)
    rest = graph.list_flows_page(project.id, limit=10_000, after=page.next_after)
    assert [f.name for f in rest.flows] == [f"Flow {MAX_PAGE_SIZE:03d}"] and rest.next_after is None
    with pytest.raises(ValidationFailed):
        graph.list_flows_page(project.id, limit=0)
    assert graph.list_flows_page(new_project(graph).id, limit=5) == FlowPage(flows=[], next_after=None)


def test_setting_a_flows_pages_replaces_the_old_ones_and_creates_missing_pages(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    checkout = graph.upsert_flows(project.id, [flow(project, "Checkout")])[0]
    graph.upsert_pages(project.id, [Page(project_id=project.id, route="/cart", files=["app/cart/page.tsx"])])
    graph.set_flow_pages(project.id, checkout.id, ["/old", "/cart"])

    graph.set_flow_pages(project.id, checkout.id, ["/cart", "/pay"])

    view = graph.get_flow(project.id, checkout.id)
    assert view is not None and view.pages == ["/cart", "/pay"]
    pages = {p.route: p.files for p in graph.list_pages(project.id)}
    assert pages == {"/cart": ["app/cart/page.tsx"], "/old": [], "/pay": []}

    graph.set_flow_pages(project.id, checkout.id, [])
    cleared = graph.get_flow(project.id, checkout.id)
    assert cleared is not None and cleared.pages == []


def test_flow_personas_are_replaced_and_unknown_names_skipped(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    graph.upsert_personas(project.id, [persona(project, "Visitor"), persona(project, "Buyer")])
    checkout = graph.upsert_flows(project.id, [flow(project, "Checkout")])[0]
    graph.set_flow_personas(project.id, checkout.id, ["Visitor"])

    graph.set_flow_personas(project.id, checkout.id, ["Buyer", "Nobody", "Buyer"])

    view = graph.get_flow(project.id, checkout.id)
    assert view is not None and view.personas == ["Buyer"]


def test_flow_connections_skip_the_flow_itself_and_unknown_ids(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    checkout, browse = graph.upsert_flows(project.id, [flow(project, "Checkout"), flow(project, "Browse")])

    graph.set_flow_connections(project.id, checkout.id, [checkout.id, "missing", browse.id, browse.id])

    view = graph.get_flow(project.id, checkout.id)
    assert view is not None and view.connected_flows == [browse.id]
    graph.set_flow_connections(project.id, checkout.id, [])
    cleared = graph.get_flow(project.id, checkout.id)
    assert cleared is not None and cleared.connected_flows == []


def test_linking_anything_to_a_missing_flow_raises_flow_not_found(graph: CypherFlowGraph) -> None:
    project = new_project(graph)

    with pytest.raises(FlowNotFoundError):
        graph.set_flow_personas(project.id, "missing", ["Visitor"])
    with pytest.raises(FlowNotFoundError):
        graph.set_flow_pages(project.id, "missing", ["/a"])
    with pytest.raises(FlowNotFoundError):
        graph.set_flow_connections(project.id, "missing", [])
    with pytest.raises(FlowNotFoundError):
        graph.replace_steps(project.id, "missing", [step("missing", 1)])

    assert graph.list_pages(project.id) == []


@BOTH_ADAPTERS
def test_update_flow_changes_only_the_given_fields_and_moves_updated_at(
    graph: CypherFlowGraph, clock: FakeClock
) -> None:
    project = new_project(graph)
    original = graph.upsert_flows(
        project.id, [flow(project, "Checkout", description="keep me", entry_point="/cart", updated_at=5)]
    )[0]
    clock.now = 1_800_000_000_000

    updated = graph.update_flow(
        project.id, original.id, FlowUpdate(priority="high", risk_score=0.4, trigger_conditions=["sale"])
    )

    assert updated is not None
    assert (updated.priority, updated.risk_score, updated.trigger_conditions) == ("high", 0.4, ["sale"])
    assert (updated.description, updated.entry_point, updated.created_at) == ("keep me", "/cart", original.created_at)
    assert updated.updated_at == clock.now
    assert graph.get_flow(project.id, original.id) == graph.get_flow_by_name(project.id, "Checkout")


def test_update_flow_clears_optional_fields_set_to_none_but_never_required_ones(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    original = graph.upsert_flows(project.id, [flow(project, "Checkout", entry_point="/cart", coverage_score=0.3)])[0]

    updated = graph.update_flow(
        project.id, original.id, FlowUpdate(entry_point=None, coverage_score=None, priority=None, is_active=False)
    )

    assert updated is not None
    assert (updated.entry_point, updated.coverage_score) == (None, None)
    assert (updated.priority, updated.is_active) == ("medium", False)


def test_updating_a_missing_flow_returns_none(graph: CypherFlowGraph) -> None:
    project = new_project(graph)

    assert graph.update_flow(project.id, "missing", FlowUpdate(priority="low")) is None


def test_deleting_flows_removes_their_steps_and_edges_and_counts_only_real_ones(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    checkout, browse = graph.upsert_flows(project.id, [flow(project, "Checkout"), flow(project, "Browse")])
    graph.replace_steps(project.id, checkout.id, [step(checkout.id, 1), step(checkout.id, 2)])
    graph.set_flow_connections(project.id, browse.id, [checkout.id])

    deleted = graph.delete_flows(project.id, [checkout.id, "missing"])

    assert deleted == 1
    assert graph.get_flow(project.id, checkout.id) is None
    assert step_nodes(graph, project.id, checkout.id) == 0
    remaining = graph.get_flow(project.id, browse.id)
    assert remaining is not None and remaining.connected_flows == []
    assert graph.delete_flows(project.id, []) == 0


# -- steps


@BOTH_ADAPTERS
def test_replacing_steps_links_them_in_order_and_leaves_no_old_step_behind(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    checkout = graph.upsert_flows(project.id, [flow(project, "Checkout")])[0]
    graph.replace_steps(project.id, checkout.id, [step(checkout.id, n) for n in (1, 2, 3, 4)])

    stored = graph.replace_steps(project.id, checkout.id, [step(checkout.id, n, f"new {n}") for n in (2, 1, 3)])

    assert [(s.order, s.name) for s in stored] == [(1, "new 1"), (2, "new 2"), (3, "new 3")]
    assert graph.list_steps(project.id, checkout.id) == stored
    assert next_chain(graph, project.id, checkout.id) == [(1, 2), (2, 3)]
    assert step_nodes(graph, project.id, checkout.id) == 3


@BOTH_ADAPTERS
def test_steps_with_a_repeated_order_are_rejected_before_anything_is_written(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    checkout = graph.upsert_flows(project.id, [flow(project, "Checkout")])[0]
    before = graph.replace_steps(project.id, checkout.id, [step(checkout.id, 1), step(checkout.id, 2)])

    with pytest.raises(ValidationFailed) as raised:
        graph.replace_steps(project.id, checkout.id, [step(checkout.id, 1), step(checkout.id, 2), step(checkout.id, 2)])

    assert "2" in raised.value.message
    assert graph.list_steps(project.id, checkout.id) == before


@BOTH_ADAPTERS
def test_steps_reusing_another_flows_step_id_are_refused_and_nothing_changes(graph: CypherFlowGraph) -> None:
    """The clash is found inside the one query before it deletes anything: the old steps and their NEXT chain
    stay exactly as they were (FalkorDB's own rollback would rewire deleted edges, see queries.py)."""
    project = new_project(graph)
    checkout, browse = graph.upsert_flows(project.id, [flow(project, "Checkout"), flow(project, "Browse")])
    taken = graph.replace_steps(project.id, browse.id, [step(browse.id, 1)])[0]
    before = graph.replace_steps(project.id, checkout.id, [step(checkout.id, n) for n in (1, 2, 3)])
    clash = [step(checkout.id, 1), step(checkout.id, 2).model_copy(update={"id": taken.id})]

    with pytest.raises(ConflictError):
        graph.replace_steps(project.id, checkout.id, clash)

    assert graph.list_steps(project.id, checkout.id) == before
    assert next_chain(graph, project.id, checkout.id) == [(1, 2), (2, 3)]
    assert graph.list_steps(project.id, browse.id) == [taken]


def test_replacing_steps_with_their_own_ids_again_works(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    checkout = graph.upsert_flows(project.id, [flow(project, "Checkout")])[0]
    wait_for_constraints(graph)
    first = graph.replace_steps(project.id, checkout.id, [step(checkout.id, 1), step(checkout.id, 2)])

    again = graph.replace_steps(project.id, checkout.id, [s.model_copy(update={"name": "renamed"}) for s in first])

    assert [(s.id, s.name) for s in again] == [(first[0].id, "renamed"), (first[1].id, "renamed")]
    assert next_chain(graph, project.id, checkout.id) == [(1, 2)]


def test_replacing_steps_with_none_clears_them(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    checkout = graph.upsert_flows(project.id, [flow(project, "Checkout")])[0]
    graph.replace_steps(project.id, checkout.id, [step(checkout.id, 1), step(checkout.id, 2)])

    assert graph.replace_steps(project.id, checkout.id, []) == []

    assert graph.list_steps(project.id, checkout.id) == []
    assert step_nodes(graph, project.id, checkout.id) == 0


def test_a_single_step_has_no_next_edge(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    checkout = graph.upsert_flows(project.id, [flow(project, "Checkout")])[0]

    stored = graph.replace_steps(project.id, checkout.id, [step(checkout.id, 1)])

    assert len(stored) == 1 and next_chain(graph, project.id, checkout.id) == []


def test_listing_steps_of_a_missing_flow_is_empty(graph: CypherFlowGraph) -> None:
    project = new_project(graph)

    assert graph.list_steps(project.id, "missing") == []


@BOTH_ADAPTERS
def test_steps_of_many_flows_are_replaced_in_batches_that_never_split_a_flow(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    flows = graph.upsert_flows(project.id, [flow(project, f"Flow {n}") for n in range(5)])
    graph.replace_steps(project.id, flows[4].id, [step(flows[4].id, 1)])
    graph.batch_size = 5
    wanted = {f.id: [step(f.id, n) for n in (3, 1, 2)] for f in flows[:4]} | {flows[4].id: []}

    stored = graph.replace_steps_of_flows(project.id, wanted)

    for f in flows[:4]:
        assert [s.order for s in stored[f.id]] == [1, 2, 3]
        assert graph.list_steps(project.id, f.id) == stored[f.id]
        assert next_chain(graph, project.id, f.id) == [(1, 2), (2, 3)]
    assert stored[flows[4].id] == [] and graph.list_steps(project.id, flows[4].id) == []


def test_replacing_steps_of_many_flows_writes_the_good_ones_and_names_the_others(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    good, clashing = graph.upsert_flows(project.id, [flow(project, "Good"), flow(project, "Clashing")])
    before = graph.replace_steps(project.id, clashing.id, [step(clashing.id, 1)])

    with pytest.raises(FlowNotFoundError) as missing:
        graph.replace_steps_of_flows(
            project.id, {good.id: [step(good.id, 1), step(good.id, 2)], "nope": [step("nope", 1)]}
        )
    taken = graph.list_steps(project.id, good.id)[0]
    with pytest.raises(ConflictError) as clash:
        graph.replace_steps_of_flows(project.id, {clashing.id: [taken.model_copy(update={"flow_id": clashing.id})]})
    with pytest.raises(ValidationFailed):
        graph.replace_steps_of_flows(project.id, {good.id: [taken], clashing.id: [taken]})

    assert missing.value.details["flowIds"] == ["nope"]
    assert clash.value.details["flowIds"] == [clashing.id]
    assert [s.order for s in graph.list_steps(project.id, good.id)] == [1, 2]
    assert graph.list_steps(project.id, clashing.id) == before


@BOTH_ADAPTERS
def test_pages_of_many_flows_are_set_in_batches(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    flows = graph.upsert_flows(project.id, [flow(project, f"Flow {n}") for n in range(4)])
    graph.batch_size = 3
    routes = {f.id: [f"/f{n}/a", "/shared", f"/f{n}/b"] for n, f in enumerate(flows)}

    graph.set_pages_of_flows(project.id, routes)

    assert [v.pages for v in graph.list_flows(project.id)] == [routes[f.id] for f in flows]
    with pytest.raises(FlowNotFoundError):
        graph.set_pages_of_flows(project.id, {"missing": ["/x"]})


@BOTH_ADAPTERS
def test_personas_and_connections_of_many_flows_are_replaced_in_batches(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    graph.upsert_personas(project.id, [persona(project, "Visitor"), persona(project, "Buyer")])
    flows = graph.upsert_flows(project.id, [flow(project, f"Flow {n}") for n in range(5)])
    ids = [f.id for f in flows]
    graph.set_flow_personas(project.id, ids[0], ["Visitor"])
    graph.set_flow_connections(project.id, ids[0], [ids[4]])
    graph.batch_size = 2  # several queries, a flow with no names still counted

    graph.set_personas_of_flows(
        project.id, {ids[0]: ["Buyer", "Nobody", "Buyer"], ids[1]: ["Visitor", "Buyer"], ids[2]: [], ids[3]: ["Buyer"]}
    )
    graph.set_connections_of_flows(
        project.id, {ids[0]: [ids[2], ids[0], "missing", ids[1]], ids[1]: [ids[0]], ids[2]: [], ids[3]: [ids[2]]}
    )

    views = {v.id: v for v in graph.list_flows(project.id)}
    assert [views[i].personas for i in ids] == [["Buyer"], ["Buyer", "Visitor"], [], ["Buyer"], []]
    assert [views[i].connected_flows for i in ids] == [[ids[2], ids[1]], [ids[0]], [], [ids[2]], []]
    with pytest.raises(FlowNotFoundError) as missing:
        graph.set_personas_of_flows(project.id, {"nope": ["Buyer"], ids[4]: ["Visitor"]})
    assert missing.value.details["flowIds"] == ["nope"]
    assert graph.get_flow(project.id, ids[4]).personas == ["Visitor"]  # type: ignore[union-attr]
    with pytest.raises(FlowNotFoundError):
        graph.set_connections_of_flows(project.id, {"nope": []})


def test_linking_many_flows_of_another_project_writes_nothing_there(graph: CypherFlowGraph) -> None:
    mine, theirs = new_project(graph), new_project(graph)
    graph.upsert_personas(theirs.id, [persona(theirs, "Buyer")])
    graph.upsert_personas(mine.id, [persona(mine, "Buyer")])
    (their_flow,) = graph.upsert_flows(theirs.id, [flow(theirs, "Checkout")])
    (my_flow,) = graph.upsert_flows(mine.id, [flow(mine, "Checkout")])

    with pytest.raises(FlowNotFoundError):
        graph.set_personas_of_flows(mine.id, {their_flow.id: ["Buyer"]})
    with pytest.raises(FlowNotFoundError):
        graph.set_connections_of_flows(mine.id, {their_flow.id: [my_flow.id]})
    graph.set_connections_of_flows(mine.id, {my_flow.id: [their_flow.id]})

    theirs_view, mine_view = graph.get_flow(theirs.id, their_flow.id), graph.get_flow(mine.id, my_flow.id)
    assert theirs_view is not None and (theirs_view.personas, theirs_view.connected_flows) == ([], [])
    assert mine_view is not None and mine_view.connected_flows == []


def test_text_with_quotes_backslashes_and_newlines_round_trips_exactly(graph: CypherFlowGraph) -> None:
    """Parameters travel inside the query text on FalkorDB's RESP protocol; nothing may be lost or re-read."""
    tricky = 'it\'s "quoted" \\ back\\slash \\n not-a-newline\nnewline\ttab `tick` $param {brace} */ // é ✓ 😀'
    project = new_project(graph, name=tricky)
    stored_persona = graph.upsert_personas(project.id, [persona(project, tricky, behaviors=[tricky])])[0]
    checkout = graph.upsert_flows(project.id, [flow(project, tricky, description=tricky)])[0]
    steps = graph.replace_steps(project.id, checkout.id, [step(checkout.id, 1, tricky, typed=tricky)])

    assert graph.get_project(project.id) == project and project.name == tricky
    assert graph.list_personas(project.id) == [stored_persona] and stored_persona.behaviors == [tricky]
    view = graph.get_flow_by_name(project.id, tricky)
    assert view is not None and view.description == tricky
    assert view.steps == steps and steps[0].actions[1].value == tricky


# -- pages


@BOTH_ADAPTERS
def test_upserting_pages_twice_replaces_files_without_duplicates(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    graph.upsert_pages(project.id, [Page(project_id=project.id, route="/cart", files=["a.tsx"])])

    written = graph.upsert_pages(
        project.id,
        [Page(project_id=project.id, route="/cart", files=["b.tsx"]), Page(project_id=project.id, route="/")],
    )

    assert written == 2
    assert graph.list_pages(project.id) == [
        Page(project_id=project.id, route="/"),
        Page(project_id=project.id, route="/cart", files=["b.tsx"]),
    ]


def test_pages_into_a_missing_project_raise_project_not_found(graph: CypherFlowGraph) -> None:
    ghost = Project(id=f"p-{uuid.uuid4().hex[:12]}", name="Ghost")

    with pytest.raises(ProjectNotFoundError):
        graph.upsert_pages(ghost.id, [Page(project_id=ghost.id, route="/")])

    assert graph.list_pages(ghost.id) == []


def test_page_links_are_made_once_and_only_between_existing_pages(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    graph.upsert_pages(project.id, [Page(project_id=project.id, route=r) for r in ("/", "/cart", "/pay")])
    links = [PageLink(source="/", target="/cart"), PageLink(source="/cart", target="/pay")]

    first = graph.upsert_page_links(project.id, [*links, links[0], PageLink(source="/", target="/nowhere")])
    second = graph.upsert_page_links(project.id, [*links, PageLink(source="/pay", target="/")])

    assert (first, second) == (2, 1)
    rows = graph._read(
        "MATCH (a:Page {projectId: $projectId})-[:LINKS_TO]->(b:Page) RETURN a.route AS a, b.route AS b ORDER BY a, b",
        {"projectId": project.id},
    )
    assert [(r["a"], r["b"]) for r in rows] == [("/", "/cart"), ("/cart", "/pay"), ("/pay", "/")]


@BOTH_ADAPTERS
def test_page_links_are_listed_sorted_and_deleted_without_touching_the_pages(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    graph.upsert_pages(project.id, [Page(project_id=project.id, route=r) for r in ("/", "/cart", "/pay")])
    graph.upsert_page_links(
        project.id,
        [
            PageLink(source="/cart", target="/pay"),
            PageLink(source="/", target="/cart"),
            PageLink(source="/pay", target="/"),
        ],
    )

    deleted = graph.delete_page_links(
        project.id,
        [
            PageLink(source="/pay", target="/"),
            PageLink(source="/pay", target="/"),
            PageLink(source="/", target="/pay"),
            PageLink(source="/nowhere", target="/"),
        ],
    )

    assert deleted == 1
    assert graph.list_page_links(project.id) == [
        PageLink(source="/", target="/cart"),
        PageLink(source="/cart", target="/pay"),
    ]
    assert [p.route for p in graph.list_pages(project.id)] == ["/", "/cart", "/pay"]
    assert graph.delete_page_links(project.id, []) == 0


@BOTH_ADAPTERS
def test_deleting_pages_removes_their_links_and_the_visits_of_flows_but_not_the_flows(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    graph.upsert_pages(project.id, [Page(project_id=project.id, route=r, files=[f"app{r}.tsx"]) for r in ("/a", "/b")])
    graph.upsert_page_links(project.id, [PageLink(source="/a", target="/b"), PageLink(source="/b", target="/a")])
    checkout = graph.upsert_flows(project.id, [flow(project, "Checkout")])[0]
    graph.set_flow_pages(project.id, checkout.id, ["/a", "/b", "/c"])
    before = nodes_of(graph, project.id)

    deleted = graph.delete_pages(project.id, ["/b", "/b", "/missing"])

    assert deleted == 1
    assert [p.route for p in graph.list_pages(project.id)] == ["/a", "/c"]
    assert graph.list_page_links(project.id) == []
    view = graph.get_flow(project.id, checkout.id)
    assert view is not None and view.pages == ["/a", "/c"]
    assert nodes_of(graph, project.id) == before - 1
    assert graph.delete_pages(project.id, []) == 0


def test_pages_and_links_are_deleted_in_batches(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    routes = [f"/p{n}" for n in range(7)]
    graph.upsert_pages(project.id, [Page(project_id=project.id, route=r) for r in routes])
    links = [PageLink(source=a, target=b) for a, b in zip(routes, routes[1:], strict=False)]
    graph.upsert_page_links(project.id, links)
    graph.batch_size = 2

    assert graph.delete_page_links(project.id, links[:5]) == 5
    assert graph.list_page_links(project.id) == links[5:]
    assert graph.delete_pages(project.id, routes[:5]) == 5
    assert [p.route for p in graph.list_pages(project.id)] == routes[5:]


@BOTH_ADAPTERS
def test_flows_visiting_gives_each_active_flow_once_with_all_its_pages(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    checkout, browse, old, other = graph.upsert_flows(
        project.id,
        [flow(project, "Checkout"), flow(project, "Browse"), flow(project, "Old", is_active=False), flow(project, "X")],
    )
    graph.set_flow_pages(project.id, checkout.id, ["/", "/cart", "/pay"])
    graph.set_flow_pages(project.id, browse.id, ["/", "/products"])
    graph.set_flow_pages(project.id, old.id, ["/cart"])
    graph.set_flow_pages(project.id, other.id, ["/account"])
    graph.replace_steps(project.id, checkout.id, [step(checkout.id, 1)])

    visiting = graph.flows_visiting(project.id, ["/cart", "/pay", "/", "/unknown"])

    assert [(f.name, f.pages) for f in visiting] == [
        ("Browse", ["/", "/products"]),
        ("Checkout", ["/", "/cart", "/pay"]),
    ]
    assert all(f.steps == [] for f in visiting)
    assert graph.flows_visiting(project.id, []) == []


@BOTH_ADAPTERS
def test_matchable_routes_are_page_routes_and_active_entry_points_each_once(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    graph.upsert_pages(project.id, [Page(project_id=project.id, route=r) for r in ("/cart", "/", "/orphan")])
    start, old, bare = graph.upsert_flows(
        project.id,
        [
            flow(project, "Start", entry_point="/welcome"),
            flow(project, "Old", entry_point="/legacy", is_active=False),
            flow(project, "Bare", entry_point="/cart"),
        ],
    )
    graph.set_flow_pages(project.id, start.id, ["/", "/users/[id]"])  # a visited route without a page gets one

    assert graph.matchable_routes(project.id) == ["/", "/cart", "/orphan", "/users/[id]", "/welcome"]
    assert graph.matchable_routes(new_project(graph).id) == []


@BOTH_ADAPTERS
def test_flows_at_routes_are_active_flows_visiting_or_starting_there_with_all_their_pages(
    graph: CypherFlowGraph,
) -> None:
    project = new_project(graph)
    graph.upsert_personas(project.id, [persona(project, "Buyer")])
    checkout, browse, old, landing, elsewhere, other = graph.upsert_flows(
        project.id,
        [
            flow(project, "Checkout", description="pay", priority="critical"),
            flow(project, "Browse"),
            flow(project, "Old", is_active=False),
            flow(project, "Landing", entry_point="/cart"),
            flow(project, "Elsewhere", entry_point="/cart"),
            flow(project, "X"),
        ],
    )
    graph.set_pages_of_flows(
        project.id,
        {
            checkout.id: ["/", "/cart", "/pay", "/cart"],
            browse.id: ["/", "/products"],
            old.id: ["/cart"],
            elsewhere.id: ["/account"],
            other.id: ["/account"],
        },
    )
    graph.set_flow_personas(project.id, checkout.id, ["Buyer"])
    graph.replace_steps(project.id, checkout.id, [step(checkout.id, 1)])

    found = graph.flows_at_routes(project.id, ["/cart", "/unknown"])

    assert [(f.name, f.pages) for f in found] == [
        ("Checkout", ["/", "/cart", "/pay", "/cart"]),
        ("Elsewhere", ["/account"]),  # starts at /cart; its pages say whether it is hit
        ("Landing", []),
    ]
    stored = graph.get_flow(project.id, checkout.id)
    assert stored is not None
    assert found[0] == stored.model_copy(update={"personas": [], "steps": [], "connected_flows": []})
    assert graph.flows_at_routes(project.id, []) == []


# -- change analyses


@BOTH_ADAPTERS
def test_a_recorded_analysis_reads_back_whole_with_its_affected_flows_in_order(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    checkout, browse = graph.upsert_flows(project.id, [flow(project, "Checkout"), flow(project, "Browse")])
    recorded = analysis(project, [impacted(browse.id, "Browse", 0.9), impacted(checkout.id, "Checkout", 0.2)])

    stored = graph.record_analysis(recorded)

    assert stored == recorded
    assert graph.get_analysis(project.id, recorded.id) == recorded
    assert graph.list_analyses(project.id) == [recorded]
    rows = graph._read(
        "MATCH (a:ChangeAnalysis {projectId: $projectId})-[e:AFFECTS]->(f:Flow) "
        "RETURN f.id AS flow, e.confidence AS confidence, e.riskScore AS risk, e.reasons AS reasons",
        {"projectId": project.id},
    )
    assert {r["flow"]: r["risk"] for r in rows} == {browse.id: 0.9, checkout.id: 0.2}
    assert all(isinstance(r["reasons"], str) and r["confidence"] == 0.9 for r in rows)


def test_an_analysis_links_only_flows_of_its_own_project(graph: CypherFlowGraph) -> None:
    project, other = new_project(graph, "A"), new_project(graph, "B")
    mine = graph.upsert_flows(project.id, [flow(project, "Checkout")])[0]
    theirs = graph.upsert_flows(other.id, [flow(other, "Checkout")])[0]

    stored = graph.record_analysis(
        analysis(project, [impacted(mine.id, "Checkout"), impacted(theirs.id, "Checkout"), impacted("gone", "Gone")])
    )

    assert [f.id for f in stored.flows] == [mine.id]
    fetched = graph.get_analysis(project.id, stored.id)
    assert fetched == stored


def test_recording_an_analysis_again_replaces_its_fields_and_flows(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    checkout, browse = graph.upsert_flows(project.id, [flow(project, "Checkout"), flow(project, "Browse")])
    first = graph.record_analysis(analysis(project, [impacted(checkout.id, "Checkout"), impacted(browse.id, "Browse")]))

    again = first.model_copy(update={"risk_level": "low", "risk_score": 0.1, "flows": [impacted(browse.id, "Browse")]})
    graph.record_analysis(again)

    assert graph.get_analysis(project.id, first.id) == again
    assert len(graph.list_analyses(project.id)) == 1


def test_analyses_list_newest_first_up_to_the_limit(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    recorded = [graph.record_analysis(analysis(project, [], created_at=t)) for t in (300, 100, 500, 200, 400)]

    newest = graph.list_analyses(project.id, limit=3)

    assert [a.created_at for a in newest] == [500, 400, 300]
    assert len(graph.list_analyses(project.id)) == len(recorded)
    assert graph.list_analyses(project.id, limit=0) == []


def test_an_analysis_of_a_missing_project_raises_and_a_missing_analysis_is_none(graph: CypherFlowGraph) -> None:
    ghost = Project(id=f"p-{uuid.uuid4().hex[:12]}", name="Ghost")

    with pytest.raises(ProjectNotFoundError):
        graph.record_analysis(analysis(ghost, []))

    assert graph.get_analysis(ghost.id, "missing") is None
    assert graph.list_analyses(ghost.id) == []


# -- deleting a project


@BOTH_ADAPTERS
def test_deleting_a_project_removes_everything_under_it(graph: CypherFlowGraph) -> None:
    project = new_project(graph)
    graph.upsert_personas(project.id, [persona(project, "Visitor")])
    checkout, browse = graph.upsert_flows(project.id, [flow(project, "Checkout"), flow(project, "Browse")])
    graph.set_flow_personas(project.id, checkout.id, ["Visitor"])
    graph.set_flow_pages(project.id, checkout.id, ["/", "/cart"])
    graph.set_flow_connections(project.id, checkout.id, [browse.id])
    graph.replace_steps(project.id, checkout.id, [step(checkout.id, 1), step(checkout.id, 2)])
    graph.upsert_page_links(project.id, [PageLink(source="/", target="/cart")])
    graph.record_analysis(analysis(project, [impacted(checkout.id, "Checkout")]))
    assert nodes_of(graph, project.id) > 0

    assert graph.delete_project(project.id) is True

    assert graph.get_project(project.id) is None
    assert nodes_of(graph, project.id) == 0
    assert project not in graph.list_projects()
    assert graph.list_flows(project.id) == [] and graph.list_pages(project.id) == []


# -- schema


def test_schema_bootstrap_twice_is_harmless_and_leaves_every_key_in_place(graph: CypherFlowGraph) -> None:
    from perceo.graph.schema import UNIQUE_KEYS, indexed_properties

    graph.ensure_schema()
    graph.ensure_schema()

    indexes = graph._read("CALL db.indexes() YIELD label, properties RETURN label, properties", {})
    indexed = {(row["label"], prop) for row in indexes for prop in row["properties"]}
    assert set(indexed_properties()) <= indexed
    constraints = graph._read("CALL db.constraints() YIELD label, properties RETURN label, properties", {})
    constrained = sorted((row["label"], tuple(row["properties"])) for row in constraints)
    assert constrained == sorted((key.label, key.properties) for key in UNIQUE_KEYS)


@BOTH_ADAPTERS
def test_the_graph_answers_ping(graph: CypherFlowGraph) -> None:
    assert graph.ping() is True
