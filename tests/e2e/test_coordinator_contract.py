"""The coordinator's commands on both backends give the same JSON and exit codes: the embedded store in process,
and the API through the local API Gateway (`perceo local up` as a separate process, the real handlers, its own
FalkorDB/Redis). Both run on clones of one demo repository with the same flows and the same pytest suite; ids,
times and durations are left out of the comparison (generated, and different by nature)."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cloud_harness import RunningCloud, running_cloud

from perceo.config.loader import load_config
from perceo.models import Project
from perceo.models.api import CreateFlowRequest
from perceo_cli.backend.local import LocalBackend
from perceo_cli.context import AppContext
from perceo_cli.demo.server import DemoServer
from perceo_cli.demo.shop import DemoApp, build_demo_app
from perceo_cli.exit import ExitStatus
from perceo_cli.local.store import EmbeddedStore, project_data_dir
from perceo_cli.main import main
from perceo_cli.output import Output

#: The tests build on each other in file order (the flaky check needs the failed `ci test` run before it), so
#: under `pytest -n 2 --dist loadgroup` they all run on one worker, against one cloud and one embedded store.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-coordinator-contract")]

FLOWS = [
    {
        "name": "Checkout",
        "priority": "critical",
        "entryPoint": "/products",
        "pages": ["/products", "/products/:id", "/cart", "/checkout"],
        "steps": [
            {"name": "Open the cart", "actions": [{"type": "navigate", "target": "/cart"}],
             "expectedState": {"url": "/cart"}},
            {"name": "Check out", "actions": [{"type": "click", "target": "a[href='/checkout']"}],
             "expectedState": {"url": "/checkout"}},
            {"name": "Pay", "actions": [{"type": "click", "target": "button:has-text('Pay now')"}],
             "expectedState": {"url": "/checkout/success"}},
        ],
    },
    {"name": "Sign up", "priority": "high", "pages": ["/signup", "/dashboard"]},
]  # fmt: skip
SUITE = {
    "qa/test_checkout.py": (
        "class Client:\n    def get(self, path):\n        return path\n\n\nclient = Client()\n\n\n"
        'def test_cart():\n    assert client.get("/cart") == "/cart"\n\n\n'
        'def test_pay():\n    assert client.get("/checkout") == "/paid", "declined"\n'
    ),
    "qa/test_signup.py": 'def test_signup():\n    assert "/signup"\n',
}
CONFIG = {"coordinator": {"runner": "pytest", "retries": 1}, "observer": {"ci": {"parallelism": 2}}}
#: Generated per run or per backend: ids, times and durations.
GENERATED = {
    "id", "projectId", "flowId", "flowIds", "analysisId", "testRunId", "suiteId", "failedStepId", "stepId",
    "createdAt", "updatedAt", "startedAt", "durationMs", "fullDurationMs", "selectedDurationMs", "savedDurationMs",
    "savedRatio", "artifacts", "baseUrl", "url",
}  # fmt: skip


def without_generated(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_generated(v) for k, v in value.items() if k not in GENERATED}
    if isinstance(value, list):
        return [without_generated(v) for v in value]
    return value


@dataclass
class Side:
    name: str
    project_dir: Path

    def json(self, *argv: str) -> tuple[int, Any]:
        stdout, stderr = io.StringIO(), io.StringIO()
        code = main([*argv, "--json"], context=AppContext(output=Output(stdout, stderr), project_dir=self.project_dir))
        out = stdout.getvalue().replace(str(self.project_dir), "<project>")
        assert out, f"{self.name}: {' '.join(argv)} printed nothing (exit {code}): {stderr.getvalue()}"
        return code, without_generated(json.loads(out))


def _prepare(demo: DemoApp, target: Path, config: dict[str, Any]) -> Path:
    subprocess.run(["git", "clone", "-q", str(demo.path), str(target)], check=True)
    (target / ".perceo").mkdir(exist_ok=True)
    (target / ".perceo" / "config.json").write_text(json.dumps({**CONFIG, **config}, indent=2))
    for name, text in SUITE.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_text(text)
    return target


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoApp:
    return build_demo_app(tmp_path_factory.mktemp("demo") / "shop")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    yield from running_cloud(tmp_path_factory.mktemp("cloud"))


@pytest.fixture(scope="module")
def shop() -> Iterator[DemoServer]:
    with DemoServer() as server:
        yield server


@pytest.fixture(scope="module")
def embedded(demo: DemoApp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Side]:
    project = {"id": "coordinator-embedded", "name": "shop", "framework": "nextjs"}
    project_dir = _prepare(demo, tmp_path_factory.mktemp("embedded") / "shop", {"project": project})
    backend = LocalBackend(project_dir, load_config(project_dir).config)
    try:
        service = backend.service
        service.create_project(Project(id=project["id"], name="shop", framework="nextjs"))
        for raw in FLOWS:
            request = CreateFlowRequest.model_validate(raw)
            flow = request.to_flow(project["id"])
            steps = [step.to_step(flow.id, order) for order, step in enumerate(request.steps, start=1)]
            service.create_flow(project["id"], flow, personas=[], pages=request.pages, steps=steps)
    finally:
        backend.close()
    try:
        yield Side("embedded", project_dir)
    finally:
        EmbeddedStore(project_data_dir(project_dir)).stop()


@pytest.fixture(scope="module")
def api(demo: DemoApp, cloud: RunningCloud, tmp_path_factory: pytest.TempPathFactory) -> Side:
    project, key = cloud.create_project("shop")
    with cloud.http(key) as client:
        for flow in FLOWS:
            response = client.post("flows", json=flow)
            assert response.status_code == 201, response.text
    config = {
        "project": {"id": project["id"], "name": "shop", "framework": "nextjs"},
        "observer": {**CONFIG["observer"], "apiBaseUrl": cloud.api_url, "apiKey": key},
    }
    return Side("api", _prepare(demo, tmp_path_factory.mktemp("api") / "shop", config))


def test_flows_tests_is_the_same(embedded: Side, api: Side) -> None:
    local, remote = embedded.json("flows", "tests"), api.json("flows", "tests")

    assert local == remote and local[0] == 0
    assert [f["name"] for f in local[1]["uncovered"]] == ["Sign up"]


def test_ci_test_runs_records_and_reports_the_same(embedded: Side, api: Side, demo: DemoApp) -> None:
    argv = ("ci", "test", "--base", demo.base, "--head", demo.head)
    local, remote = embedded.json(*argv), api.json(*argv)

    assert local == remote
    code, report = local
    assert code == ExitStatus.TESTS_FAILED
    assert [(f["name"], f["status"], f["retries"]) for f in report["flows"]] == [("Checkout", "failed", 1)]
    assert report["totals"]["total"] == 2 and report["commitSha"] == demo.head

    # the recorded run validated the analysis's prediction on both sides
    local, remote = embedded.json("analyze", "predictions"), api.json("analyze", "predictions")
    assert local == remote and local[1]["truePositives"] == 1


def test_an_uploaded_report_and_flaky_tests_are_the_same(embedded: Side, api: Side, demo: DemoApp) -> None:
    # test_pay fails, then passes, at one commit: a flaky test (the test makes both runs itself, so it holds
    # whichever tests of this module ran before it on this worker)
    failing = embedded.project_dir.parent / "junit-failing.xml"
    failing.write_text(
        '<testsuite><testcase classname="qa.test_checkout" name="test_pay" file="qa/test_checkout.py">'
        '<failure message="declined">assert "/checkout" == "/paid"</failure></testcase></testsuite>'
    )
    passing = embedded.project_dir.parent / "junit.xml"
    passing.write_text(
        '<testsuite><testcase classname="qa.test_checkout" name="test_pay" file="qa/test_checkout.py"/></testsuite>'
    )
    for report, code in ((failing, ExitStatus.TESTS_FAILED), (passing, ExitStatus.OK)):
        argv = ("ci", "report", "--junit", str(report), "--commit", demo.head)
        local, remote = embedded.json(*argv), api.json(*argv)
        assert local == remote and local[0] == code

    local, remote = embedded.json("ci", "flaky"), api.json("ci", "flaky")
    assert local == remote
    assert [t["name"] for t in local[1]["tests"]] == ["test_pay"]


def test_flows_run_in_chromium_is_the_same(embedded: Side, api: Side, shop: DemoServer) -> None:
    try:
        import os

        from perceo.coordinator.synthetic import find_chromium

        find_chromium(os.environ)
    except Exception as error:  # noqa: BLE001 - RunnerNotInstalledError: say why the browser part is skipped
        pytest.skip(f"no Chromium binary on this machine: {error}")
    argv = ("flows", "run", "Checkout", "--base-url", shop.url)
    local, remote = embedded.json(*argv), api.json(*argv)

    assert local == remote
    code, report = local
    assert code == ExitStatus.TESTS_FAILED
    assert [s["status"] for s in report["flows"][0]["steps"]] == ["passed", "passed", "failed"]
