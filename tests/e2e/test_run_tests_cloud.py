"""RunTests in the local cloud (`perceo local up` in its own process: the API Gateway emulator, the real handlers,
moto running the template's state machine, the run-flow task driving this machine's Chromium) against the demo
shop on loopback, started and followed through the API as a CI job would."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cloud_harness import RunningCloud, start_cloud

from perceo.coordinator.synthetic import find_chromium
from perceo.errors import RunnerNotInstalledError
from perceo_cli.demo.server import DemoServer
from perceo_cli.local.cloud import down

pytestmark = pytest.mark.slow

FLOWS = [
    {"name": "Sign in", "priority": "high", "pages": ["/login", "/dashboard"], "steps": [
        {"name": "Open", "actions": [{"type": "navigate", "target": "/login"}], "expectedState": {"url": "/login"}},
        {"name": "Sign in", "actions": [{"type": "click", "target": "button:has-text('Sign in')"}],
         "expectedState": {"url": "/dashboard"}},
    ]},
    {"name": "Checkout", "priority": "critical", "pages": ["/checkout"], "steps": [
        {"name": "Open", "actions": [{"type": "navigate", "target": "/checkout"}]},
        {"name": "Pay", "actions": [{"type": "click", "target": "button:has-text('Pay now')"}],
         "expectedState": {"url": "/checkout/success"}},
    ]},
]  # fmt: skip


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    try:
        find_chromium(os.environ)
    except RunnerNotInstalledError as error:
        pytest.skip(f"no Chromium binary on this machine: {error.message}")
    project_dir: Path = tmp_path_factory.mktemp("cloud")
    running = start_cloud(project_dir, {"RunTestsAllowPrivateUrls": "true"})
    try:
        yield running
    finally:
        down(project_dir)


def test_a_run_started_through_the_api_runs_each_flow_in_chromium_and_reports_its_results(cloud: RunningCloud) -> None:
    project, key = cloud.create_project("run-tests")
    with DemoServer() as shop, cloud.http(key) as client:
        ids = {}
        for flow in FLOWS:
            created = client.post("flows", json=flow)
            assert created.status_code == 201, created.text
            ids[flow["name"]] = created.json()["id"]
        started = client.post("coordinator/runs", json={"baseUrl": shop.url, "parallelism": 2})
        assert started.status_code == 202, started.text
        run_id = started.json()["workflowId"]

        deadline = time.monotonic() + 240
        while (view := client.get(f"coordinator/runs/{run_id}").json())["workflow"]["status"] == "RUNNING":
            assert time.monotonic() < deadline, view
            time.sleep(0.5)

    assert view["workflow"]["status"] == "SUCCEEDED", view["workflow"]
    assert {r["flowId"]: r["status"] for r in view["results"]} == {ids["Sign in"]: "passed", ids["Checkout"]: "failed"}
    assert view["workflow"]["result"]["status"] == "failed"
    failed = next(r for r in view["results"] if r["status"] == "failed")
    assert "/checkout/pay" in failed["failureMessage"] and failed["suiteId"] == run_id


def _cli(argv: list[str], project_dir: Path) -> tuple[int, str, str]:
    import io

    from perceo_cli.context import AppContext
    from perceo_cli.main import main
    from perceo_cli.output import Output

    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(argv, context=AppContext(output=Output(stdout, stderr), project_dir=project_dir))
    return code, stdout.getvalue(), stderr.getvalue()


def test_ci_test_synthetic_remote_runs_the_flows_in_the_clouds_browser_and_reports_like_a_local_run(
    cloud: RunningCloud, tmp_path: Path
) -> None:
    import json

    project, key = cloud.create_project("run-tests-cli")
    with cloud.http(key) as client:
        for flow in FLOWS:
            assert client.post("flows", json=flow).status_code == 201
    (tmp_path / ".perceo").mkdir()
    config = {"project": {"id": project["id"], "name": "shop"}, "observer": {"apiBaseUrl": cloud.api_url,
              "apiKey": key, "ci": {"parallelism": 2}}}  # fmt: skip
    (tmp_path / ".perceo" / "config.json").write_text(json.dumps(config))
    junit = tmp_path / "out" / "flows.xml"

    with DemoServer() as shop:
        argv = ["ci", "test", "--synthetic", "--remote", "--flows", "Sign in,Checkout", "--base-url", shop.url]
        code, out, err = _cli([*argv, "--json", "--junit", str(junit), "--timeout", "240"], tmp_path)

    assert code == 4, err
    report = json.loads(out)
    assert [(f["name"], f["status"]) for f in report["flows"]] == [("Sign in", "passed"), ("Checkout", "failed")]
    assert report["status"] == "failed" and report["suiteId"].startswith("wf-")
    checkout = report["flows"][1]
    assert [s["status"] for s in checkout["steps"]] == ["passed", "failed"]
    assert "/checkout/pay" in checkout["failureMessage"]
    assert junit.read_text().count("<testcase") == 4

    # --remote needs --synthetic (checked before anything is read)
    code, _, err = _cli(["ci", "test", "--remote", "--flows", "Sign in"], tmp_path)
    assert code == 2 and "use it with --synthetic" in err
