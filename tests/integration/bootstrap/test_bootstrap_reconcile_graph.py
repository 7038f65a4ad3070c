"""The offline bootstrap against the real FalkorDB: what it stores, and what a re-run does to it.

Each test has a graph key of its own (`fresh_graph`), so node and edge counts and a full snapshot of the key
say exactly what a run changed. `RecordingFalkorGraph` is the real adapter keeping the Cypher of every write
it sends, so "an unchanged re-run writes nothing" means: no write query at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bootstrap_kit import RecordingFalkorGraph, fresh_graph, snapshot, updated_at

from perceo.bootstrap.model import PersonaSpec
from perceo.bootstrap.pipeline import (
    STATE_STAGES,
    BootstrapDeps,
    BootstrapInput,
    BootstrapLimits,
    BootstrapState,
    run_bootstrap,
    run_extract_steps,
    validate,
)
from perceo.bus.memory import InMemoryBus
from perceo.graph import queries as q
from perceo.models import EventType, FlowUpdate, Project, new_id
from perceo.observer.snapshot import RepoSnapshot
from perceo.service import ProjectService
from perceo_cli.demo.shop import SIGNED_IN_APP, STOREFRONT
from perceo_cli.local.server import ServerProcess


@pytest.fixture
def graph(falkordb_server: ServerProcess) -> Iterator[RecordingFalkorGraph]:
    with fresh_graph(falkordb_server) as g:
        assert isinstance(g, RecordingFalkorGraph)
        yield g


@pytest.fixture
def project_id(graph: RecordingFalkorGraph) -> str:
    return graph.create_project(Project(id=f"shop-{new_id()[:12]}", name="demo-shop", framework="nextjs")).id


@pytest.fixture
def shop() -> dict[str, str]:
    return {**STOREFRONT, **SIGNED_IN_APP}


def run(
    graph: RecordingFalkorGraph,
    project_id: str,
    files: dict[str, str],
    workspace: Path,
    *,
    bus: InMemoryBus | None = None,
    **request: object,
) -> BootstrapState:
    deps = BootstrapDeps(
        graph=graph, bus=bus, open_snapshot=lambda _ws: RepoSnapshot.from_files(dict(files), root=workspace)
    )
    return run_bootstrap(BootstrapInput(project_id=project_id, workspace=str(workspace), **request), deps)  # type: ignore[arg-type]


def links(graph: RecordingFalkorGraph, project_id: str) -> set[tuple[str, str]]:
    return {(link.source, link.target) for link in graph.list_page_links(project_id)}


def test_the_shop_is_stored_as_multi_page_flows_with_personas_typed_steps_pages_and_links(
    graph: RecordingFalkorGraph, project_id: str, shop: dict[str, str], tmp_path: Path
) -> None:
    state = run(graph, project_id, shop, tmp_path)

    flows = {f.name: f for f in graph.list_flows(project_id, include_steps=True)}
    assert set(flows) == {"Sign in", "Sign up", "Checkout", "Create project", "Edit project", "Update settings"}
    assert flows["Checkout"].pages == ["/products", "/products/:id", "/cart", "/checkout", "/checkout/success"]
    assert all(len(f.pages) >= 2 and f.source == "auto_generated" for f in flows.values())
    assert {p.name: p.source for p in graph.list_personas(project_id)} == {
        "Visitor": "auto_generated",
        "Signed-in user": "auto_generated",
    }
    assert flows["Sign in"].personas == ["Visitor"] and flows["Update settings"].personas == ["Signed-in user"]
    sign_in = [(s.order, [a.type for a in s.actions]) for s in flows["Sign in"].steps]
    assert sign_in == [(1, ["navigate"]), (2, ["fill", "fill"]), (3, ["click"]), (4, ["assert"])]
    chain = graph._read(
        "MATCH (a:Step {projectId: $p, flowId: $f})-[:NEXT]->(b:Step) RETURN a.order AS a, b.order AS b ORDER BY a",
        {"p": project_id, "f": flows["Checkout"].id},
    )
    assert [(r["a"], r["b"]) for r in chain] == [(n, n + 1) for n in range(1, len(flows["Checkout"].steps))]
    pages = {p.route: p.files for p in graph.list_pages(project_id)}
    assert pages["/cart"] == ["app/cart/page.tsx", "app/layout.tsx"]
    assert ("/cart", "/checkout") in links(graph, project_id)
    assert state.report.links_written == len(links(graph, project_id)) > 10
    assert state.report.flows.created == 6 and state.warnings == []


def test_an_unchanged_rerun_sends_no_write_and_leaves_the_graph_exactly_as_it_was(
    graph: RecordingFalkorGraph, project_id: str, shop: dict[str, str], tmp_path: Path
) -> None:
    run(graph, project_id, shop, tmp_path)
    before, stamps = snapshot(graph), updated_at(graph, project_id)
    graph.writes.clear()
    bus = InMemoryBus()

    state = run(graph, project_id, shop, tmp_path, bus=bus)

    assert graph.writes == []
    after = snapshot(graph)
    assert (after.nodes, after.edges) == (before.nodes, before.edges)
    assert after.rows == before.rows
    assert updated_at(graph, project_id) == stamps
    assert state.report.flows.unchanged == 6 and state.report.personas.unchanged == 2
    assert state.report.steps.flows_unchanged == 6 and not state.report.wrote_anything
    assert bus.replay(project_id) == []


def test_adding_a_page_rewrites_only_the_flows_that_visit_it(
    graph: RecordingFalkorGraph, project_id: str, shop: dict[str, str], tmp_path: Path
) -> None:
    run(graph, project_id, shop, tmp_path)
    ids = {f.name: f.id for f in graph.list_flows(project_id)}
    stamps = updated_at(graph, project_id)
    before = snapshot(graph)
    shop["app/(app)/settings/page.tsx"] = shop["app/(app)/settings/page.tsx"].replace(
        "<h1>", '<a href="/settings/notifications">Notifications</a><h1>', 1
    )
    shop["app/(app)/settings/notifications/page.tsx"] = (
        "export default function Notifications() { return <main><h1>Notifications</h1>"
        '<form><input name="digest" type="checkbox" /><button type="submit">Save</button></form></main> }\n'
    )
    graph.writes.clear()
    bus = InMemoryBus()

    state = run(graph, project_id, shop, tmp_path, bus=bus)

    assert state.report.flow_status == {
        "Sign in": "unchanged",
        "Sign up": "unchanged",
        "Checkout": "unchanged",
        "Create project": "unchanged",
        "Edit project": "unchanged",
        "Update settings": "updated",
    }
    settings = graph.get_flow_by_name(project_id, "Update settings")
    assert settings is not None and settings.pages == ["/dashboard", "/settings", "/settings/notifications"]
    assert [a.type for s in settings.steps for a in s.actions][-3:] == ["click", "click", "assert"]
    assert {f.name: f.id for f in graph.list_flows(project_id)} == ids
    now = updated_at(graph, project_id)
    assert {n: t for n, t in now.items() if n != "Update settings"} == {
        n: t for n, t in stamps.items() if n != "Update settings"
    }
    assert now["Update settings"] > stamps["Update settings"]
    assert ("/settings", "/settings/notifications") in links(graph, project_id)
    after = snapshot(graph)
    assert after.nodes > before.nodes  # the new page and the settings flow's new steps
    assert state.report.pages_written == 1  # the new page: the settings page's files did not change
    assert graph.writes.count(q.UPSERT_FLOWS) == 1 and graph.writes.count(q.REPLACE_STEPS) == 1
    assert [(e.type, e.data["name"]) for _, e in bus.replay(project_id)] == [
        (EventType.FLOW_UPDATED, "Update settings")
    ]


def test_a_page_that_opens_a_new_journey_adds_its_flow_and_leaves_the_others_alone(
    graph: RecordingFalkorGraph, project_id: str, shop: dict[str, str], tmp_path: Path
) -> None:
    run(graph, project_id, shop, tmp_path)
    stamps = updated_at(graph, project_id)
    shop["app/(auth)/login/page.tsx"] = shop["app/(auth)/login/page.tsx"].replace(
        # On the same line: steps record `file:line`, so moving the lines below would update the flows using them.
        "</form>",
        '</form> <Link href="/forgot-password">Forgot your password?</Link>',
        1,
    )
    shop["app/(auth)/forgot-password/page.tsx"] = (
        "export default function Forgot() { return <main><h1>Reset your password</h1>"
        '<form><input name="email" type="email" /><button type="submit">Send link</button></form></main> }\n'
    )

    state = run(graph, project_id, shop, tmp_path)

    assert state.report.flows.created == 1 and state.report.flows.unchanged == 6
    assert {n for n, s in state.report.flow_status.items() if s != "unchanged"} == {"Reset password"}
    reset = graph.get_flow_by_name(project_id, "Reset password")
    assert reset is not None and reset.pages == ["/login", "/forgot-password"] and reset.personas == ["Visitor"]
    types = [[a.type for a in s.actions] for s in reset.steps]
    assert types == [["navigate"], ["click"], ["fill"], ["click"], ["assert"]]
    assert reset.steps[1].name == 'Click "Forgot your password?"'  # the link, not the sign-in form
    assert {n: t for n, t in updated_at(graph, project_id).items() if n != "Reset password"} == stamps


def test_user_edited_flows_survive_and_vanished_auto_flows_pages_and_links_are_removed(
    graph: RecordingFalkorGraph, project_id: str, shop: dict[str, str], tmp_path: Path
) -> None:
    run(graph, project_id, shop, tmp_path)
    ProjectService(graph).update_flow(project_id, "Update settings", FlowUpdate(description="Ours now"))
    kept = graph.get_flow_by_name(project_id, "Update settings")
    assert kept is not None and kept.user_edited
    for path in [p for p in shop if "projects" in p or "settings" in p]:
        del shop[path]

    state = run(graph, project_id, shop, tmp_path)

    assert state.report.removed_flows == ["Create project", "Edit project"]
    assert graph.get_flow_by_name(project_id, "Create project") is None
    assert state.report.flows.skipped == 1 and state.report.flow_status["Update settings"] == "skipped"
    survivor = graph.get_flow_by_name(project_id, "Update settings")
    assert survivor is not None
    assert survivor.model_dump(exclude={"steps"}) == kept.model_dump(exclude={"steps"})
    assert survivor.steps == kept.steps and survivor.pages == ["/dashboard", "/settings"]
    routes = {p.route for p in graph.list_pages(project_id)}
    assert state.report.removed_pages == ["/projects", "/projects/:id", "/projects/:id/edit", "/projects/new"]
    assert not routes & set(state.report.removed_pages)
    assert "/settings" in routes  # no longer found, but the user's flow still visits it
    assert not any("/projects" in s or "/projects" in t for s, t in links(graph, project_id))
    orphans = graph._read(
        "MATCH (s:Step {projectId: $p}) WHERE NOT ()-[:HAS_STEP]->(s) RETURN count(s) AS n", {"p": project_id}
    )
    assert orphans[0]["n"] == 0


def test_a_link_that_disappears_from_the_code_is_removed_from_the_graph(
    graph: RecordingFalkorGraph, project_id: str, shop: dict[str, str], tmp_path: Path
) -> None:
    run(graph, project_id, shop, tmp_path)
    assert ("/", "/products") in links(graph, project_id)
    shop["app/page.tsx"] = "export default function Home() { return <main><h1>Welcome</h1></main> }\n"
    shop["components/Header.tsx"] = "export default function Header() { return <header>Shop</header> }\n"

    state = run(graph, project_id, shop, tmp_path)

    assert ("/", "/products") not in links(graph, project_id)
    assert state.report.links_removed > 0 and state.report.links_written == 0
    assert "/" not in {source for source, _ in links(graph, project_id)}


def test_configured_personas_are_stored_as_user_configured_and_kept_by_later_runs(
    graph: RecordingFalkorGraph, project_id: str, shop: dict[str, str], tmp_path: Path
) -> None:
    shopper = PersonaSpec(name="Shopper", description="A guest visitor buying things", behaviors=["buys"])

    run(graph, project_id, shop, tmp_path, personas=[shopper])
    graph.writes.clear()
    again = run(graph, project_id, shop, tmp_path, personas=[shopper])

    assert graph.writes == [] and again.report.personas.unchanged == 2
    checkout = graph.get_flow_by_name(project_id, "Checkout")
    assert checkout is not None and checkout.personas == ["Shopper"]

    without = run(graph, project_id, shop, tmp_path)

    stored = {p.name: p for p in graph.list_personas(project_id)}
    assert stored["Shopper"].source == "user_configured" and stored["Shopper"].behaviors == ["buys"]
    assert without.report.removed_personas == [] and stored["Visitor"].source == "auto_generated"


def _catalog_app(resources: int) -> dict[str, str]:
    """An app with `resources` list/new/detail/edit sections, each one a create-and-edit flow."""
    files = {
        "package.json": '{"name": "big", "dependencies": {"next": "14.2.0", "react": "18.3.1"}}',
        "app/page.tsx": 'import Link from "next/link";\nexport default function Home() { return <main>'
        + "".join(f'<Link href="/r{n}">R{n}</Link>' for n in range(resources))
        + "</main> }\n",
    }
    for n in range(resources):
        files |= {
            f"app/r{n}/page.tsx": f'import Link from "next/link";\nexport default function L() {{ return <main>'
            f'<h1>R{n}</h1><Link href="/r{n}/new">New</Link></main> }}\n',
            f"app/r{n}/new/page.tsx": "export default function N() { return <main><h1>New</h1><form>"
            '<input name="title"/><button type="submit">Save</button></form></main> }\n',
            f"app/r{n}/[id]/page.tsx": f'import Link from "next/link";\nexport default function D() {{ return '
            f'<main><h1>Item</h1><Link href="/r{n}/1/edit">Edit</Link></main> }}\n',
            f"app/r{n}/[id]/edit/page.tsx": "export default function E() { return <main><h1>Edit</h1></main> }\n",
        }
    return files


def test_a_large_project_writes_steps_and_visits_in_batches_not_flow_by_flow(
    falkordb_server: ServerProcess, tmp_path: Path
) -> None:
    with fresh_graph(falkordb_server, batch_size=40) as graph:
        assert isinstance(graph, RecordingFalkorGraph)
        project_id = graph.create_project(Project(id=f"big-{new_id()[:12]}", name="big")).id
        graph.writes.clear()

        state = run(graph, project_id, _catalog_app(30), tmp_path, limits=BootstrapLimits(max_flows=30))

        flows = graph.list_flows(project_id, include_steps=True)
        assert len(flows) == 30 and all(len(f.pages) >= 2 and f.steps for f in flows)
        steps = sum(len(f.steps) for f in flows)
        visits = sum(len(f.pages) for f in flows)
        assert graph.writes.count(q.REPLACE_STEPS) <= -(-steps // 40) + 1 < len(flows)
        assert graph.writes.count(q.SET_FLOW_PAGES) <= -(-visits // 40) + 1 < len(flows)
        assert graph.writes.count(q.UPSERT_FLOWS) == 1 and graph.writes.count(q.UPSERT_PAGES) == 4  # 121 pages
        assert state.report.steps.flows_replaced == 30


def test_a_flow_deleted_while_its_steps_are_extracted_is_a_warning_and_the_others_are_written(
    graph: RecordingFalkorGraph, project_id: str, shop: dict[str, str], tmp_path: Path
) -> None:
    deps = BootstrapDeps(graph=graph, open_snapshot=lambda _ws: RepoSnapshot.from_files(dict(shop), root=tmp_path))
    state = validate(BootstrapInput(project_id=project_id, workspace=str(tmp_path)), deps)
    for stage in ("discover", "identify_flows", "assign_personas", "refine", "persist_flows"):
        state = STATE_STAGES[stage](state, deps)
    state = run_extract_steps(state, deps)
    doomed = graph.get_flow_by_name(project_id, "Sign up")
    assert doomed is not None
    ProjectService(graph).delete_flow(project_id, doomed.id)

    state = STATE_STAGES["persist_steps"](state, deps)

    assert "steps:Sign up: the flow was deleted while the bootstrap ran; its steps were not written" in state.warnings
    assert state.report.steps.flows_replaced == 5
    assert all(f.steps for f in graph.list_flows(project_id, include_steps=True))
    assert graph.get_flow_by_name(project_id, "Sign up") is None
    deps.close()
