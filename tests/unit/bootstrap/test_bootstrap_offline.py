"""The offline bootstrap on the demo shop without I/O (in-memory files and graph): flows across pages,
personas from auth, typed steps, and the caps. What a re-run does to a stored graph is tested on the real
FalkorDB in tests/integration/bootstrap/test_bootstrap_reconcile_graph.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.memory_graph import MemoryFlowGraph

from perceo.bootstrap.pipeline import BootstrapDeps, BootstrapInput, BootstrapLimits, run_bootstrap
from perceo.models import Project
from perceo.observer.snapshot import RepoSnapshot
from perceo_cli.demo.shop import SIGNED_IN_APP, STOREFRONT

PROJECT = "proj-offline"


def _run(graph: MemoryFlowGraph, workspace: Path, files: dict[str, str], **kwargs: object):
    deps = BootstrapDeps(graph=graph, open_snapshot=lambda _ws: RepoSnapshot.from_files(dict(files), root=workspace))
    request = BootstrapInput(project_id=PROJECT, workspace=str(workspace), **kwargs)  # type: ignore[arg-type]
    return run_bootstrap(request, deps)


@pytest.fixture
def graph() -> MemoryFlowGraph:
    g = MemoryFlowGraph()
    g.create_project(Project(id=PROJECT, name="demo-shop"))
    return g


@pytest.fixture
def shop() -> dict[str, str]:
    return {**STOREFRONT, **SIGNED_IN_APP}


def test_offline_bootstrap_maps_the_shop_into_multi_page_flows_personas_and_typed_steps(
    graph: MemoryFlowGraph, shop: dict[str, str], tmp_path: Path
) -> None:
    state = _run(graph, tmp_path, shop)

    flows = {f.name: f for f in graph.list_flows(PROJECT, include_steps=True)}
    assert set(flows) == {"Sign in", "Sign up", "Checkout", "Create project", "Edit project", "Update settings"}
    assert flows["Checkout"].pages == ["/products", "/products/:id", "/cart", "/checkout", "/checkout/success"]
    assert flows["Checkout"].priority == "critical"
    assert flows["Sign in"].priority == "high"
    assert all(len(f.pages) >= 2 for f in flows.values())
    assert {p.name for p in graph.list_personas(PROJECT)} == {"Visitor", "Signed-in user"}
    assert flows["Sign in"].personas == ["Visitor"]
    assert flows["Create project"].personas == ["Signed-in user"]
    # Create: from the list, through the form, to where the code redirects after success (the new record).
    assert flows["Create project"].pages == ["/projects", "/projects/new", "/projects/:id"]
    assert flows["Edit project"].pages == ["/projects", "/projects/:id", "/projects/:id/edit"]
    # Sign-up is reached from the sign-in page's link, as visitors do.
    assert flows["Sign up"].pages == ["/login", "/signup", "/dashboard"]
    sign_in = [(s.order, [(a.type, a.target) for a in s.actions]) for s in flows["Sign in"].steps]
    assert sign_in == [
        (1, [("navigate", "/login")]),
        (2, [("fill", 'input[name="email"]'), ("fill", 'input[name="password"]')]),
        (3, [("click", 'role=button[name="Sign in"]')]),
        (4, [("assert", 'role=heading[name="Dashboard"]')]),
    ]
    # Every selector says where in the code it came from.
    sources = [a.options.get("source") for s in flows["Sign in"].steps[1:] for a in s.actions]
    assert all(src and ":" in src for src in sources), sources
    assert flows["Checkout"].steps[-1].expected_state.url == "/checkout/success"
    assert {page.route for page in graph.list_pages(PROJECT)} >= {"/", "/login", "/checkout/success"}
    assert (PROJECT, "/cart", "/checkout") in graph.links
    assert state.report.flows.created == 6 and state.report.personas.created == 2
    assert state.warnings == [] and state.limits_hit == []


def test_the_flow_cap_is_applied_and_reported(graph: MemoryFlowGraph, shop: dict[str, str], tmp_path: Path) -> None:
    state = _run(graph, tmp_path, shop, limits=BootstrapLimits(max_flows=2))

    assert {f.name for f in graph.list_flows(PROJECT)} == {"Sign in", "Checkout"}
    assert state.limits_hit == ["bootstrap.maxFlows: found 6 flows, kept the 2 most important"]


def test_the_steps_cap_keeps_the_final_check_and_is_reported(
    graph: MemoryFlowGraph, shop: dict[str, str], tmp_path: Path
) -> None:
    state = _run(graph, tmp_path, shop, limits=BootstrapLimits(max_steps_per_flow=3))

    checkout = graph.get_flow_by_name(PROJECT, "Checkout")
    assert checkout is not None and [s.order for s in checkout.steps] == [1, 2, 3]
    assert checkout.steps[-1].actions[0].type == "assert"
    assert any(limit.startswith("bootstrap.maxStepsPerFlow: 'Checkout'") for limit in state.limits_hit)
