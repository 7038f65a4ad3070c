"""`perceo flows run` and `perceo ci test --synthetic` through `main()`: the demo shop's flows (as `perceo init`
derives them from its code) run step by step in real headless Chromium against the demo shop served on loopback,
and are recorded in the real FalkorDB. The shop's payment endpoint is down on purpose, so Checkout fails."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_kit import use_session_store

from perceo.coordinator.junit import parse_junit
from perceo.graph.falkor import FalkorFlowGraph
from perceo_cli.context import AppContext
from perceo_cli.demo.server import DemoServer
from perceo_cli.demo.shop import DemoApp, build_demo_app
from perceo_cli.exit import ExitStatus
from perceo_cli.local.server import ServerProcess
from perceo_cli.main import main
from perceo_cli.output import Output

pytestmark = pytest.mark.slow


@pytest.fixture
def shop(tmp_path: Path, falkordb_server: ServerProcess, graph: FalkorFlowGraph) -> DemoApp:
    demo = build_demo_app(tmp_path / "shop")
    use_session_store(demo.path, falkordb_server.host, falkordb_server.port, graph.graph_name)
    code, _, err = run_cli(["init", "--yes", "--no-llm"], demo.path)
    assert code == 0, err
    return demo


@pytest.fixture
def server() -> Iterator[DemoServer]:
    with DemoServer() as running:
        yield running


def run_cli(argv: list[str], repo: Path) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(argv, context=AppContext(output=Output(stdout, stderr), project_dir=repo))
    return code, stdout.getvalue(), stderr.getvalue()


def project_id(repo: Path) -> str:
    return str(json.loads((repo / ".perceo" / "config.json").read_text())["project"]["id"])


def test_flows_run_executes_a_flow_in_chromium_and_records_the_failure_with_a_screenshot(
    chromium: str, shop: DemoApp, server: DemoServer, graph: FalkorFlowGraph
) -> None:
    code, out, err = run_cli(["flows", "run", "Checkout", "--base-url", server.url, "--json"], shop.path)

    assert code == ExitStatus.TESTS_FAILED, err
    report: dict[str, Any] = json.loads(out)
    (flow,) = report["flows"]
    assert flow["status"] == "failed" and report["status"] == "failed"
    assert [s["status"] for s in flow["steps"]] == ["passed"] * 5 + ["failed", "skipped"]
    assert "expected to be at /checkout/success, but the page is /checkout/pay" in flow["failureMessage"]
    (shot,) = flow["steps"][5]["artifacts"]
    assert Path(shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Path(shot).is_relative_to(shop.path / ".perceo" / "data" / "artifacts")
    (run,) = graph.list_test_runs(project_id(shop.path), flow_id=flow["flowId"])
    assert run.id == flow["testRunId"] and run.runner == "synthetic" and run.status == "failed"
    assert run.commit_sha == shop.head and run.failed_step_id == flow["failedStepId"]
    assert [t.status for t in run.tests] == ["passed"] * 5 + ["failed", "skipped"]


def test_ci_test_synthetic_runs_only_the_affected_flows_steps(chromium: str, shop: DemoApp, server: DemoServer) -> None:
    junit = shop.path.parent / "synthetic.xml"
    code, out, err = run_cli(
        ["ci", "test", "--synthetic", "--base", shop.base, "--head", shop.head, "--base-url", server.url, "--json",
         "--junit", str(junit)],
        shop.path,
    )  # fmt: skip

    assert code == ExitStatus.TESTS_FAILED, err
    report = json.loads(out)
    assert [f["name"] for f in report["flows"]] == ["Checkout"] and report["analysisId"]
    cases = parse_junit(junit.read_bytes())
    assert [c.status for c in cases] == ["passed"] * 5 + ["failed", "skipped"]
    assert cases[5].name.startswith("Checkout › 6.")

    code, out, err = run_cli(["ci", "test", "--synthetic", "--flows", "Sign in,Sign up", "--base-url", server.url],
                             shop.path)  # fmt: skip
    assert code == 0, err
    assert "passed  Sign in" in out and "passed  Sign up" in out


def test_an_app_that_refuses_connections_and_a_missing_browser_are_clear_errors(
    shop: DemoApp, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    code, out, err = run_cli(["flows", "run", "Sign in", "--base-url", f"http://127.0.0.1:{closed}"], shop.path)
    assert code == ExitStatus.ERROR and out == ""
    assert f"the app under test at http://127.0.0.1:{closed} refused the connection" in err

    monkeypatch.setenv("PERCEO_CHROMIUM", str(tmp_path / "no-browser"))
    code, out, err = run_cli(["flows", "run", "Sign in", "--base-url", "http://127.0.0.1:1"], shop.path)
    assert code == ExitStatus.ERROR and out == ""
    assert "PERCEO_CHROMIUM names" in err and "which is not a file" in err

    code, _, err = run_cli(["ci", "test", "--synthetic", "--all"], shop.path)
    assert code == ExitStatus.USAGE and "--base-url" in err
