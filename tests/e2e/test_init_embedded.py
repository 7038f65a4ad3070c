"""`perceo init` → `perceo flows list` → `perceo ci analyze` on the embedded default, end to end.

Nothing is injected: the CLI reads the demo app's (absent) config, starts the embedded FalkorDB store under the
app's `.perceo/data` by itself, and every command of the loop runs against it, as on a fresh machine after
`pip install`. The store is stopped by its PID when the test ends. The output is a terminal (stderr is a TTY),
so `init` shows its progress there; `--yes` must still never prompt (reading stdin fails the test).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from perceo_cli.context import AppContext
from perceo_cli.demo.shop import DemoApp, build_demo_app
from perceo_cli.local.server import stop_server
from perceo_cli.local.store import EmbeddedStore, project_data_dir
from perceo_cli.main import main
from perceo_cli.output import Output


class NoInput(io.StringIO):
    """stdin for a command that must never ask anything."""

    def read(self, size: int | None = -1) -> str:
        raise AssertionError("the command tried to read stdin")

    def readline(self, size: int | None = -1) -> str:
        raise AssertionError("the command tried to read stdin")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoApp]:
    app = build_demo_app(tmp_path / "shop")
    try:
        yield app
    finally:
        status = EmbeddedStore(project_data_dir(app.path)).status()
        if status.pid is not None:
            stop_server(status.pid)


def run_cli(argv: list[str], project_dir: Path, *, tty: bool = False) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    output = Output(stdout, stderr)
    if tty:
        output.err = Console(file=stderr, force_terminal=True, width=120, highlight=False, soft_wrap=True)
    code = main(argv, context=AppContext(output=output, project_dir=project_dir))
    return code, stdout.getvalue(), stderr.getvalue()


def as_json(out: str) -> dict[str, Any]:
    return dict(json.loads(out))


def test_init_then_flows_list_then_ci_analyze_on_the_embedded_store(
    demo: DemoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", NoInput())

    code, out, err = run_cli(["init", "--yes", "--no-llm", "--json"], demo.path, tty=True)

    assert code == 0, err
    init = as_json(out)  # stdout is the JSON document only; the progress went to stderr
    assert "extract steps" in err and "persist flows" in err
    status = EmbeddedStore(project_data_dir(demo.path)).status()
    assert status.running and status.pid is not None
    assert init["counts"]["flows"]["created"] == 6 and init["mode"] == "heuristic"

    code, out, err = run_cli(["flows", "list", "--json"], demo.path)

    assert code == 0, err
    listed = {f["name"]: f for f in as_json(out)["flows"]}
    assert {name: f["id"] for name, f in listed.items()} == {f["name"]: f["id"] for f in init["flows"]}
    assert listed["Checkout"]["pages"] == ["/products", "/products/:id", "/cart", "/checkout", "/checkout/success"]

    code, out, err = run_cli(["ci", "analyze", "--base", demo.base, "--head", demo.head, "--json"], demo.path)

    assert code == 0, err
    analysis = as_json(out)
    assert analysis["project"]["id"] == init["projectId"]
    assert [c["path"] for c in analysis["changes"]] == ["components/PriceTag.tsx"]
    affected = {f["name"]: f for f in analysis["flows"]}
    assert set(affected) == {"Checkout"}
    assert affected["Checkout"]["id"] == listed["Checkout"]["id"]
    assert "/cart" in affected["Checkout"]["affectedPages"]

    # The store is the same one for every command, and a second init finds nothing to change.
    code, out, err = run_cli(["init", "--yes", "--no-llm", "--json"], demo.path)
    assert code == 0, err
    assert as_json(out)["counts"]["flows"]["unchanged"] == 6
    assert EmbeddedStore(project_data_dir(demo.path)).status().pid == status.pid


def test_perceo_demo_builds_the_app_maps_it_and_analyzes_its_last_commit(tmp_path: Path) -> None:
    target = tmp_path / "demo-shop"
    try:
        code, out, err = run_cli(["demo", "--dir", str(target), "--json"], tmp_path)

        assert code == 0, err
        document = as_json(out)
        assert document["app"]["path"] == str(target) and len(document["app"]["commits"]) == 3
        assert document["init"]["counts"]["flows"]["created"] == 6
        assert document["analysis"]["headSha"] == document["app"]["commits"][-1]
        assert [f["name"] for f in document["analysis"]["flows"]] == ["Checkout"]
        # The insights its one day of traffic supports: where Checkout's users drop off (40% before its last step).
        assert document["insights"]["run"]["analyses"] == 1
        found = document["insights"]["insights"]
        dropoffs = {i["evidence"]["flow"]["name"]: i for i in found if i["type"] == "ux-issue"}
        assert "Checkout" in dropoffs and dropoffs["Checkout"]["evidence"]["dropOff"]["rateOfSessions"] >= 0.3
        assert (target / ".perceo" / "config.json").is_file()
        # the flows ran in Chromium against the demo shop; Checkout fails there on purpose (its payment is down)
        if _has_chromium():
            flows = {f["name"]: f for f in document["synthetic"]["flows"]}
            assert flows["Checkout"]["status"] == "failed"
            assert "the page is /checkout/pay" in flows["Checkout"]["failureMessage"]
            assert [n for n, f in flows.items() if f["status"] != "passed"] == ["Checkout"]
        else:
            assert document["synthetic"] is None
        # synthetic production traffic: ingested, correlated, and weighing the analysis
        traffic, sync = document["traffic"], document["sync"]
        assert traffic["accepted"] == traffic["events"] > 0
        assert sync["correlation"]["matchedSessions"] > 0 and sync["correlation"]["metricsWritten"] >= 5
        (checkout,) = document["analysis"]["flows"]
        assert traffic["dropOffFlow"] == "Checkout"  # the longest flow: 40% of its users leave before its last step
        assert document["analysis"]["productionTraffic"] is True
        assert (checkout["usersPerDay"], checkout["prodSuccessRate"]) == (60.0, 0.6)
    finally:
        status = EmbeddedStore(project_data_dir(target)).status()
        if status.pid is not None:
            stop_server(status.pid)


def _has_chromium() -> bool:
    import os

    from perceo.coordinator.synthetic import find_chromium
    from perceo.errors import RunnerNotInstalledError

    try:
        find_chromium(os.environ)
    except RunnerNotInstalledError:
        return False
    return True
