"""The offline bootstrap on every framework app of `tests/apps.py` (real git repositories, real FalkorDB).

Every app tells the same story (home, sign-up, login -> dashboard, products -> product -> cart -> checkout,
settings) in its framework's idiom. Whatever the framework, the map must read the same way: journeys across
several pages (never a single-page "view X"), visitors apart from signed-in users where the app has sign-in,
the routes that really need a session (and only those), and steps of several types that walk the pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import apps
import pytest
from apps import AppSpec, git_commit_all
from bootstrap_kit import fresh_graph

from perceo.bootstrap.pipeline import BootstrapDeps, BootstrapInput, run_bootstrap
from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import FlowView, Project, new_id
from perceo_cli.local.server import ServerProcess

#: builder -> the routes whose code requires a session (a guard, a redirect to the login page).
BUILDERS: dict[str, tuple[Callable[[Path], AppSpec], set[str]]] = {
    "nextjs-app": (apps.build_nextjs_app, {"/checkout"}),
    "nextjs-pages": (apps.build_nextjs_pages_app, {"/checkout"}),
    "remix": (apps.build_remix_app, {"/checkout"}),
    "react-router": (apps.build_react_router_app, {"/checkout"}),
    "react-router-data": (apps.build_react_router_data_app, set()),
    "vue": (apps.build_vue_app, {"/checkout"}),
    "nuxt": (apps.build_nuxt_app, set()),
    "sveltekit": (apps.build_sveltekit_app, set()),
    "angular": (apps.build_angular_app, {"/checkout"}),
    "monorepo": (apps.build_monorepo, set()),
}


def test_every_app_builder_is_covered() -> None:
    builders = {name for name in dir(apps) if name.startswith("build_")}
    assert builders == {builder.__name__ for builder, _ in BUILDERS.values()}


@pytest.fixture
def graph(falkordb_server: ServerProcess) -> Iterator[FalkorFlowGraph]:
    with fresh_graph(falkordb_server, recording=False) as g:
        yield g


def _names(flows: list[FlowView]) -> dict[str, FlowView]:
    return {f.name: f for f in flows}


@pytest.mark.parametrize("app", list(BUILDERS))
def test_the_heuristic_maps_each_framework_into_journeys_personas_and_typed_steps(
    app: str, graph: FalkorFlowGraph, tmp_path: Path
) -> None:
    build, protected = BUILDERS[app]
    spec = build(tmp_path / app)
    git_commit_all(spec.root)
    project_id = graph.create_project(Project(id=f"{app}-{new_id()[:8]}", name=app)).id

    state = run_bootstrap(BootstrapInput(project_id=project_id, workspace=str(spec.root)), BootstrapDeps(graph=graph))

    flows = _names(graph.list_flows(project_id, include_steps=True))
    page_routes = {r.route for r in state.discovery.routes if r.kind == "page"} if state.discovery else set()
    assert state.warnings == [] and len(flows) >= 2
    for flow in flows.values():
        assert len(set(flow.pages)) >= 2, f"{flow.name} visits one page"
        assert not flow.name.casefold().startswith("view "), flow.name
        assert set(flow.pages) <= page_routes, f"{flow.name} visits pages discovery did not find"
        types = [a.type for s in flow.steps for a in s.actions]
        assert types[0] == "navigate" and types[-1] == "assert", f"{flow.name}: {types}"
        assert [s.order for s in flow.steps] == list(range(1, len(flow.steps) + 1))
    all_types = {a.type for f in flows.values() for s in f.steps for a in s.actions}
    assert {"navigate", "click", "assert"} <= all_types

    checkout = flows["Checkout"]
    assert [p.split("/")[1] for p in checkout.pages[:3]] == ["products", "products", "cart"]
    assert "click" in {a.type for s in checkout.steps for a in s.actions}
    assert set(state.protected_routes) == protected

    personas = {p.name for p in graph.list_personas(project_id)}
    by_persona = {name: {f.name for f in flows.values() if name in f.personas} for name in personas}
    if app == "monorepo":  # two apps without any sign-in
        assert personas == {"User"} and by_persona["User"] == set(flows)
        return
    assert personas == {"Visitor", "Signed-in user"}
    assert {"Sign in", "Sign up"} <= by_persona["Visitor"]
    assert "Update settings" in by_persona["Signed-in user"]
    assert flows["Sign in"].pages == ["/login", "/dashboard"]
    assert flows["Update settings"].pages[0] == "/dashboard"
    if "/checkout" in protected:
        assert checkout.personas == ["Signed-in user"]
