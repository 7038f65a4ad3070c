"""One scenario, two backends: the same CLI commands give the same JSON, exit codes and error messages.

- embedded: `LocalBackend`, the domain in-process on the project's embedded FalkorDB (`.perceo/data/`);
- API: `HttpBackend` through the local API Gateway, the real handlers, their own FalkorDB/Redis and moto
  (`perceo local up`, as a separate process).

Both run on clones of one demo repository (same commits, same SHAs) and hold the same project: the same
personas and flows, created through the same request models (`CreatePersonaRequest`, `CreateFlowRequest`),
in-process for the embedded one and with `POST /personas` / `POST /flows` for the API. Outputs are compared
with ids and timestamps left out: they are generated, and differ by nature.
"""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from cloud_harness import RunningCloud, running_cloud

from perceo.config.loader import load_config
from perceo.llm.model import LLMCall
from perceo.llm.usage import RedisUsageStore
from perceo.models import Project
from perceo.models.api import CreateFlowRequest, CreatePersonaRequest
from perceo.models.common import now_ms
from perceo_cli.backend.local import LocalBackend
from perceo_cli.context import AppContext
from perceo_cli.demo.shop import DemoApp, build_demo_app
from perceo_cli.local.store import EmbeddedStore, project_data_dir
from perceo_cli.main import main
from perceo_cli.output import Output

#: The tests build on each other in file order (reads, `ci analyze`, then the analyzer's insights of those
#: analyses, the edit, the delete), so under `pytest -n 2 --dist loadgroup` they all run on one worker.
pytestmark = pytest.mark.xdist_group("e2e-api-contract")

PERSONAS = [
    {"name": "Shopper", "description": "Buys things", "behaviors": ["compares prices", "pays by card"]},
    {"name": "New visitor", "description": "First time here", "behaviors": ["signs up"]},
]
FLOWS = [
    {
        "name": "Checkout",
        "description": "From a product to a paid order",
        "priority": "critical",
        "entryPoint": "/products",
        "personas": ["Shopper"],
        "pages": ["/products", "/products/:id", "/cart", "/checkout"],
        "steps": [
            {"name": "Open a product", "actions": [{"type": "navigate", "target": "/products/1"}]},
            {"name": "Add it to the cart", "actions": [{"type": "click", "target": "button.add"}]},
            {"name": "Pay", "actions": [{"type": "fill", "target": "#card", "value": "4242"}]},
        ],
    },
    {"name": "Sign up", "priority": "high", "personas": ["New visitor"], "pages": ["/signup", "/dashboard"]},
    {"name": "Browse products", "priority": "medium", "personas": ["Shopper"], "pages": ["/products"]},
    {"name": "Change settings", "priority": "low", "pages": ["/settings"], "isActive": False},
]
#: Generated values: ids and times. Everything else must be equal.
GENERATED = {"id", "projectId", "flowId", "analysisId", "createdAt", "updatedAt"}


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

    def run(self, *argv: str) -> tuple[int, str, str]:
        """Exit code, stdout, stderr (the project's own path written as <project>)."""
        stdout, stderr = io.StringIO(), io.StringIO()
        code = main(list(argv), context=AppContext(output=Output(stdout, stderr), project_dir=self.project_dir))
        here = str(self.project_dir)
        return code, stdout.getvalue().replace(here, "<project>"), stderr.getvalue().replace(here, "<project>")

    def json(self, *argv: str) -> tuple[int, Any]:
        code, out, err = self.run(*argv, "--json")
        assert out, f"{self.name}: {' '.join(argv)} printed nothing (exit {code}): {err}"
        return code, without_generated(json.loads(out))


def clone(repo: Path, target: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(repo), str(target)], check=True)
    return target


def write_config(project_dir: Path, config: dict[str, Any]) -> None:
    (project_dir / ".perceo").mkdir(exist_ok=True)
    (project_dir / ".perceo" / "config.json").write_text(json.dumps(config, indent=2))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoApp:
    return build_demo_app(tmp_path_factory.mktemp("demo") / "shop")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    yield from running_cloud(tmp_path_factory.mktemp("cloud"))


@pytest.fixture(scope="module")
def embedded(demo: DemoApp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Side]:
    project_dir = clone(demo.path, tmp_path_factory.mktemp("embedded") / "shop")
    write_config(project_dir, {"project": {"id": "shop-embedded", "name": "shop", "framework": "nextjs"}})
    backend = LocalBackend(project_dir, load_config(project_dir).config)
    try:
        service = backend.service
        service.create_project(Project(id="shop-embedded", name="shop", framework="nextjs"))
        for persona in PERSONAS:
            service.create_persona(
                "shop-embedded", CreatePersonaRequest.model_validate(persona).to_persona("shop-embedded")
            )
        for raw in FLOWS:
            request = CreateFlowRequest.model_validate(raw)
            flow = request.to_flow("shop-embedded")
            steps = [step.to_step(flow.id, order) for order, step in enumerate(request.steps, start=1)]
            service.create_flow("shop-embedded", flow, personas=request.personas, pages=request.pages, steps=steps)
    finally:
        backend.close()
    try:
        yield Side("embedded", project_dir)
    finally:
        EmbeddedStore(project_data_dir(project_dir)).stop()


@pytest.fixture(scope="module")
def api(demo: DemoApp, cloud: RunningCloud, tmp_path_factory: pytest.TempPathFactory) -> Side:
    project_dir = clone(demo.path, tmp_path_factory.mktemp("api") / "shop")
    project, key = cloud.create_project("shop")
    with cloud.http(key) as client:
        for persona in PERSONAS:
            assert client.post("personas", json=persona).status_code == 201
        for flow in FLOWS:
            response = client.post("flows", json=flow)
            assert response.status_code == 201, response.text
    write_config(
        project_dir,
        {
            "project": {"id": project["id"], "name": "shop", "framework": "nextjs"},
            "observer": {"apiBaseUrl": cloud.api_url, "apiKey": key},
        },
    )
    return Side("api", project_dir)


def both(embedded: Side, api: Side, *argv: str) -> tuple[tuple[int, Any], tuple[int, Any]]:
    return embedded.json(*argv), api.json(*argv)


# The tests run in file order and share the two projects: reads first, then the edit, then the delete.


def test_flows_list_is_the_same(embedded: Side, api: Side) -> None:
    local, remote = both(embedded, api, "flows", "list")

    assert local == remote
    assert local[0] == 0
    assert [f["name"] for f in local[1]["flows"]] == ["Checkout", "Sign up", "Browse products", "Change settings"]


@pytest.mark.parametrize("ref", ["Checkout", "sign up", "Browse products"])
def test_flows_show_by_name_is_the_same(embedded: Side, api: Side, ref: str) -> None:
    local, remote = both(embedded, api, "flows", "show", ref)

    assert local == remote
    assert local[0] == 0


def test_flows_show_of_a_missing_flow_fails_the_same_way(embedded: Side, api: Side) -> None:
    local = embedded.run("flows", "show", "No such flow")
    remote = api.run("flows", "show", "No such flow")

    assert local == remote
    assert local[0] == 2 and "no flow 'No such flow' in this project" in local[2]  # bad input, both sides


def test_ci_analyze_gives_the_same_report(embedded: Side, api: Side, demo: DemoApp) -> None:
    local, remote = both(embedded, api, "ci", "analyze", "--base", demo.base, "--head", demo.head)

    assert local == remote
    assert local[0] == 0
    report = local[1]
    assert (report["baseSha"], report["headSha"]) == (demo.base, demo.head)
    assert report["flows"] and report["flows"][0]["name"] == "Checkout"
    assert report["project"] == {"name": "shop"}


def test_ci_analyze_gate_exits_the_same(embedded: Side, api: Side, demo: DemoApp) -> None:
    local = embedded.run("ci", "analyze", "--base", demo.base, "--head", demo.head, "--fail-on", "low")
    remote = api.run("ci", "analyze", "--base", demo.base, "--head", demo.head, "--fail-on", "low")

    assert local[0] == remote[0] == 3
    assert local[2] == remote[2]


def test_ci_analyze_with_a_bad_ref_fails_the_same_way(embedded: Side, api: Side) -> None:
    local = embedded.run("ci", "analyze", "--base", "no-such-ref", "--json")
    remote = api.run("ci", "analyze", "--base", "no-such-ref", "--json")

    assert local == remote
    assert local[0] == 2


def test_analyze_insights_and_coverage_are_the_same(embedded: Side, api: Side, demo: DemoApp) -> None:
    def comparable(document: Any) -> Any:
        for insight in document.get("insights", []):
            insight.pop("subject", None)  # holds the flow's id
        return document

    # an analysis to reason about, made here so the test holds whichever tests ran before it on this worker
    analyzed = both(embedded, api, "ci", "analyze", "--base", demo.base, "--head", demo.head)
    assert analyzed[0][0] == analyzed[1][0] == 0
    local, remote = both(embedded, api, "analyze", "insights")

    assert (local[0], comparable(local[1])) == (remote[0], comparable(remote[1]))
    assert local[0] == 0 and local[1]["run"]["analyses"] >= 1
    coverage_local, coverage_remote = both(embedded, api, "analyze", "coverage")
    assert coverage_local == coverage_remote and coverage_local[0] == 0
    missing = embedded.run("insights", "ack", "ffffffffff"), api.run("insights", "ack", "ffffffffff")
    assert missing[0] == missing[1] and missing[0][0] == 2  # an insight that does not exist: bad input


def test_flows_edit_is_the_same(embedded: Side, api: Side) -> None:
    local, remote = both(embedded, api, "flows", "edit", "Browse products", "--priority", "low", "--trigger", "sale")
    after = both(embedded, api, "flows", "show", "Browse products")

    assert local == remote
    assert local[1]["priority"] == "low" and local[1]["userEdited"] is True
    assert after[0] == after[1]


def test_flows_edit_with_a_bad_priority_fails_the_same_way(embedded: Side, api: Side) -> None:
    local = embedded.run("flows", "edit", "Checkout", "--priority", "urgent")
    remote = api.run("flows", "edit", "Checkout", "--priority", "urgent")

    assert local == remote
    assert local[0] == 2


def test_flows_delete_is_the_same(embedded: Side, api: Side) -> None:
    local, remote = both(embedded, api, "flows", "delete", "Sign up")
    listed = both(embedded, api, "flows", "list")

    # The same document on both: a flow the team made (user_configured) is never added to bootstrap.excludeFlows.
    assert local == remote == (0, {"deleted": {"name": "Sign up"}, "excludedFromInit": False})
    assert listed[0] == listed[1]
    assert "Sign up" not in [f["name"] for f in listed[0][1]["flows"]]


def test_usage_is_the_same(embedded: Side, api: Side, cloud: RunningCloud) -> None:
    # The same LLM calls recorded in each side's store: the embedded FalkorDB (it is Redis) and the cloud's Redis.
    sides = (
        (EmbeddedStore(project_data_dir(embedded.project_dir)).ensure_running().url, "shop-embedded"),
        (cloud.state.store_url, load_config(api.project_dir).config.project.id),
    )
    for url, project_id in sides:
        assert project_id is not None
        client = redis.Redis.from_url(url, decode_responses=True)
        try:
            store = RedisUsageStore(client)
            for n in range(3):
                store.record(
                    LLMCall(
                        project_id=project_id,
                        model="gpt-4.1-mini",
                        unit="steps",
                        schema_name="steps",
                        outcome="ok",
                        tokens_in=100 * n,
                        tokens_out=10,
                        cost_usd=0.0001,
                        requests=1,
                        at=now_ms(),
                    )
                )
        finally:
            client.close()

    (embedded_code, embedded_report), (api_code, api_report) = both(embedded, api, "usage", "--days", "2")

    assert embedded_code == api_code == 0
    assert embedded_report == api_report
    assert api_report["totals"]["calls"] == 3 and api_report["totals"]["tokensIn"] == 300
    assert embedded.run("usage", "--days", "0")[0] == api.run("usage", "--days", "0")[0] == 2
