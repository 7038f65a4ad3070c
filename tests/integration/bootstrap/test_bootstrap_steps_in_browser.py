"""The offline bootstrap's steps run as written: the demo shop's flows, derived from its code, walked in real
headless Chromium against the shop served on loopback. Every selector the steps use (role and name, test ids,
`name` attributes, link targets) must find its element in the rendered page. The shop's payment endpoint is down on
purpose, so Checkout stops at "Pay now" and only there."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from bootstrap_kit import fresh_graph

from perceo.bootstrap.pipeline import BootstrapDeps, BootstrapInput, run_bootstrap
from perceo.coordinator.browser import PlaywrightSyntheticRunner
from perceo.coordinator.synthetic import find_chromium
from perceo.errors import RunnerNotInstalledError
from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import Project, new_id
from perceo_cli.demo.server import DemoServer
from perceo_cli.demo.shop import build_demo_app
from perceo_cli.local.server import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def chromium() -> str:
    try:
        return find_chromium(os.environ)
    except RunnerNotInstalledError as error:
        pytest.skip(f"no Chromium binary on this machine: {error.message}")


@pytest.fixture
def graph(falkordb_server: ServerProcess) -> Iterator[FalkorFlowGraph]:
    with fresh_graph(falkordb_server, recording=False) as g:
        yield g


def test_every_step_of_the_demo_shops_flows_finds_its_element_in_chromium(
    chromium: str, graph: FalkorFlowGraph, tmp_path: Path
) -> None:
    shop = build_demo_app(tmp_path / "shop")
    project_id = graph.create_project(Project(id=f"shop-{new_id()[:8]}", name="shop")).id
    run_bootstrap(BootstrapInput(project_id=project_id, workspace=str(shop.path)), BootstrapDeps(graph=graph))
    flows = graph.list_flows(project_id, include_steps=True)
    runner = PlaywrightSyntheticRunner(chromium)

    with DemoServer() as server:
        results = {flow.name: runner.run_flow(flow, server.url, tmp_path / "artifacts") for flow in flows}

    assert {"Sign in", "Sign up", "Create project", "Edit project", "Update settings", "Checkout"} <= set(results)
    for name, result in results.items():
        if name == "Checkout":
            continue
        assert result.status == "passed", (name, result.failure_message)
    checkout = results["Checkout"]
    failed = [s for s in checkout.steps if s.status == "failed"]
    assert [s.name for s in failed] == ['Click "Pay now"'] and "/checkout/success" in (failed[0].message or "")
    selectors = [a.target for f in flows for s in f.steps for a in s.actions if a.type in ("click", "fill")]
    assert any(t and t.startswith("role=") for t in selectors)  # role and name, as Playwright recommends
