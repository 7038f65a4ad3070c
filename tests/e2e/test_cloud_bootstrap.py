"""The whole cloud shape, end to end: `perceo local up` (its own process: the template's API through the local
gateway, moto running the real state machines, task Lambdas in process, FalkorDB/Redis), a real git repository
served over HTTPS on loopback with a self-signed certificate (the CA handed over as the `GitSslCaInfo` parameter,
the host allowed by `AllowedGitHosts`), the fake OpenAI server, and the real CLI in this process.

Why HTTPS on loopback and not `http://127.0.0.1` behind a local-only switch: the cloud refuses every transport but
https and ssh, and this way the test runs that exact path (URL policy, `GIT_ALLOW_PROTOCOL`, TLS verification)
with nothing turned off for the test; the only local knob is an extra trusted CA, which weakens nothing.
"""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cloud_harness import RunningCloud, start_cloud
from fakes.git_https import GitHttpsServer, publish_repository
from fakes.openai_server import FakeOpenAI, RecordedRequest, Reply

from perceo_cli.context import AppContext
from perceo_cli.demo.shop import build_demo_app
from perceo_cli.local.cloud import down
from perceo_cli.main import main
from perceo_cli.output import Output

LLM_KEY = "sk-e2e-key-for-the-fake-server-0123456789"
FLOWS = {
    "flows": [
        {
            "name": "Buy a product",
            "description": "Browse, add to the cart and pay.",
            "priority": "critical",
            "pages": ["/products", "/products/42", "/cart", "/checkout"],
            "connectedFlowIds": ["Sign in"],
        },
        {
            "name": "Sign in",
            "description": "Sign in and reach the dashboard.",
            "priority": "high",
            "pages": ["/login", "/dashboard"],
            "connectedFlowIds": None,
        },
    ]
}
PERSONAS = {
    "personas": [
        {
            "name": "Shopper",
            "description": "Buys things.",
            "behaviors": ["browses", "pays"],
            "flowNames": ["Buy a product"],
        },
        {"name": "Member", "description": "Has an account.", "behaviors": ["signs in"], "flowNames": ["Sign in"]},
    ]
}
STEPS = {
    "steps": [
        {
            "stepNumber": 1,
            "action": "Open the page",
            "expectedState": "It shows",
            "selectors": ["main"],
            "actions": [{"type": "navigate", "target": "/", "value": "/"}],
        },
        {
            "stepNumber": 2,
            "action": "Press the button",
            "expectedState": "Next page",
            "selectors": ["button"],
            "actions": [{"type": "click", "target": "button", "value": None}],
        },
    ]
}
ANSWERS: dict[str, Any] = {
    "flows_from_graph": FLOWS,
    "personas_assign": PERSONAS,
    "personas_refine": {**FLOWS, **PERSONAS},
    "steps_extraction": STEPS,
}


def scripted(request: RecordedRequest) -> Reply:
    return Reply.json(ANSWERS[request.schema_name or ""])


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def git(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHttpsServer]:
    root = tmp_path_factory.mktemp("git-server")
    (root / "repos").mkdir()
    with GitHttpsServer(root / "repos", root) as server:
        yield server


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, llm: FakeOpenAI, git: GitHttpsServer) -> Iterator[RunningCloud]:
    project_dir = tmp_path_factory.mktemp("e2e-cloud")
    with pytest.MonkeyPatch.context() as env:
        # Inherited by the cloud's process: its step Lambdas read the LLM from these when LlmSecretArn is empty.
        env.setenv("PERCEO_LLM_API_KEY", LLM_KEY)
        env.setenv("PERCEO_LLM_BASE_URL", llm.base_url)
        running = start_cloud(
            project_dir, parameters={"AllowedGitHosts": "127.0.0.1", "GitSslCaInfo": str(git.ca_file)}
        )
    try:
        yield running
    finally:
        down(project_dir)


@pytest.fixture
def checkout(cloud: RunningCloud, git: GitHttpsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A developer's checkout of the demo app: its origin is the HTTPS server, its config points at the cloud, and
    PERCEO_API_KEY holds a key of a fresh project. A page of its own (in the first commit) makes the LLM prompts,
    and so the cloud's LLM cache keys, unique to the test."""
    marker = f"only-{tmp_path.name[-8:]}".replace("_", "-")
    from perceo_cli.demo import shop as demo

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(demo.STOREFRONT, f"app/{marker}/page.tsx", "export default function P() { return <main/> }\n")
        app = build_demo_app(tmp_path / "shop")
    name = f"acme/shop-{marker}.git"
    publish_repository(app.path, git.root, name)
    subprocess.run(["git", "-C", str(app.path), "remote", "add", "origin", git.url(name)], check=True)
    _, key = cloud.create_project("shop")
    monkeypatch.setenv("PERCEO_API_KEY", key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (app.path / ".perceo").mkdir()
    (app.path / ".perceo" / "config.json").write_text(json.dumps({"observer": {"apiBaseUrl": cloud.api_url}}))
    return app.path


def perceo(checkout: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["-C", str(checkout), *argv], context=AppContext(output=Output(out, err), project_dir=checkout))
    return code, out.getvalue(), err.getvalue()


def test_init_remote_bootstraps_in_the_cloud_then_flows_and_ci_analyze_work_through_the_api(
    checkout: Path, llm: FakeOpenAI
) -> None:
    llm.respond_with(scripted)

    code, out, err = perceo(checkout, "init", "--remote", "--json")

    assert code == 0, err
    summary = json.loads(out)
    assert summary["mode"] == "llm"
    # The model's two flows, and the offline heuristic's flows that the model's answer does not cover; each flow
    # keeps the model's two steps (their targets are in the code).
    stored = {f["name"]: f["steps"] for f in summary["flows"]}
    assert {"Buy a product", "Sign in"} <= set(stored) and set(stored.values()) == {2}
    assert len(stored) == 2 + summary["llm"]["heuristicFlowsKept"]
    assert summary["counts"]["flows"]["created"] == len(stored) and summary["counts"]["personas"]["created"] == 2
    assert summary["counts"]["steps"]["stepsWritten"] == 2 * len(stored)
    assert len(summary["warnings"]) == len(set(summary["warnings"]))  # refine's same note is not repeated
    workflow_id = summary["workflowId"]

    status_code, status_out, _ = perceo(checkout, "workflows", "status", workflow_id, "--json")
    status = json.loads(status_out)
    assert status_code == 0 and status["status"] == "SUCCEEDED"
    assert status["progress"]["percentage"] == 100
    expected = {"flows": len(stored), "personas": 2, "steps": 2 * len(stored)}
    assert status["progress"]["counts"] | expected == status["progress"]["counts"]

    list_code, listed, _ = perceo(checkout, "flows", "list", "--json")
    assert list_code == 0
    flows = json.loads(listed)
    names = {f["name"] for f in (flows["flows"] if isinstance(flows, dict) else flows)}
    assert names == set(stored)

    ci_code, report, ci_err = perceo(checkout, "ci", "analyze", "--base", "HEAD~1", "--head", "HEAD", "--json")
    assert ci_code == 0, ci_err
    affected = {f["name"] for f in json.loads(report)["flows"]}
    assert "Buy a product" in affected, report  # the last commit changed PriceTag, which the product pages import

    # The slow path: the LLM reviews the analysis's flows below the threshold, in the cloud.
    llm.respond_with(
        lambda request: (
            Reply.json({"affected": True, "confidence": 0.97, "rationale": "PriceTag"})
            if request.schema_name == "flow_review"
            else scripted(request)
        )
    )
    analysis_id = json.loads(report)["analysisId"]
    review_code, reviewed, review_err = perceo(
        checkout, "workflows", "review", analysis_id, "--threshold", "1", "--watch", "--json"
    )
    assert review_code == 0, review_err
    result = json.loads(reviewed)["result"]
    assert result["analysisId"] == analysis_id and "Buy a product" in {r["name"] for r in result["reviewed"]}

    # With observer.analysis.useLlm in the config, `ci analyze` has the API start that review itself.
    config_path = checkout / ".perceo" / "config.json"
    config = json.loads(config_path.read_text())
    config["observer"]["analysis"] = {"useLlm": True, "llmThreshold": 1}
    config_path.write_text(json.dumps(config))
    ci_code, report, ci_err = perceo(checkout, "ci", "analyze", "--base", "HEAD~1", "--head", "HEAD", "--json")
    assert ci_code == 0, ci_err
    started = json.loads(report)["review"]
    assert started["status"] == "RUNNING" and f"workflow {started['workflowId']}" in ci_err
    watch_code, watched, watch_err = perceo(checkout, "workflows", "status", started["workflowId"], "--watch", "--json")
    assert watch_code == 0, watch_err
    auto = json.loads(watched)
    assert auto["status"] == "SUCCEEDED" and auto["result"]["analysisId"] == json.loads(report)["analysisId"]
    assert "Buy a product" in {r["name"] for r in auto["result"]["reviewed"]}

    assert LLM_KEY not in out + err + status_out  # the CLI never sees the server's LLM key
    assert all(r.headers.get("authorization") == f"Bearer {LLM_KEY}" for r in llm.requests)


def test_a_flow_deleted_through_the_api_stays_deleted_at_the_next_cloud_bootstrap(checkout: Path) -> None:
    code, out, err = perceo(checkout, "init", "--remote", "--no-llm", "--json")
    assert code == 0, err
    first = {f["name"] for f in json.loads(out)["flows"]}
    assert "Sign up" in first, first

    code, out, err = perceo(checkout, "flows", "delete", "Sign up", "--json")

    assert code == 0, err
    assert json.loads(out) == {"deleted": {"id": json.loads(out)["deleted"]["id"], "name": "Sign up"},
                               "excludedFromInit": True}  # fmt: skip
    config = json.loads((checkout / ".perceo" / "config.json").read_text())
    assert config["bootstrap"]["excludeFlows"] == ["Sign up"]
    assert config["observer"]["apiBaseUrl"]  # the user's other keys are kept

    code, out, err = perceo(checkout, "init", "--remote", "--no-llm", "--json")

    assert code == 0, err
    summary = json.loads(out)
    assert {f["name"] for f in summary["flows"]} == first - {"Sign up"}
    assert summary["counts"]["flows"]["created"] == 0
    list_code, listed, _ = perceo(checkout, "flows", "list", "--json")
    flows = json.loads(listed)
    assert list_code == 0
    assert {f["name"] for f in (flows["flows"] if isinstance(flows, dict) else flows)} == first - {"Sign up"}


def test_a_failing_cloud_bootstrap_exits_one_and_status_shows_the_specific_error(
    checkout: Path, llm: FakeOpenAI
) -> None:
    llm.respond_with(lambda request: Reply.text("I'd rather not answer in JSON today."))
    code, out, err = perceo(checkout, "init", "--remote", "--json")

    assert code == 1 and out == ""
    assert "LLMOutputError" in err and "still invalid after a repair retry" in err
    workflow_id = err.split("Started cloud bootstrap ", 1)[1].split()[0]
    status_code, _, status_err = perceo(checkout, "workflows", "status", workflow_id)
    assert status_code == 1 and "FAILED" in status_err and "LLMOutputError" in status_err


def test_a_refused_repository_url_is_a_usage_error_before_anything_runs(checkout: Path) -> None:
    code, _, err = perceo(checkout, "init", "--remote", "--repo-url", "file:///etc/passwd")

    assert code == 2
    assert "repository URL refused: scheme file:// is not allowed" in err


def test_a_key_sent_as_x_api_key_is_refused_at_the_gateway_and_bearer_is_the_one_way(cloud: RunningCloud) -> None:
    _, key = cloud.create_project()

    with cloud.http() as anonymous:
        refused = anonymous.get("projects/me", headers={"x-api-key": key})
    with cloud.http(key) as bearer:
        accepted = bearer.get("projects/me")

    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"
    assert "Authorization: Bearer" in refused.json()["error"]["message"]
    assert accepted.status_code == 200
