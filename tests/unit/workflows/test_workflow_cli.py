"""`perceo workflows status` and `perceo init --remote` against an API played by httpx's in-memory transport
(`httpx.MockTransport` answers requests with a function; no sockets). The handler scripts the workflow's views."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from perceo_cli.backend.http import ApiClient, HttpBackend
from perceo_cli.context import AppContext
from perceo_cli.main import main
from perceo_cli.output import Output

BASE = "https://api.example.test/dev"
KEY = "prc_" + "A" * 43
WF = "wf-" + "ab" * 16


def view(
    status: str,
    stage: str,
    percentage: int,
    *,
    error: dict[str, str] | None = None,
    result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "workflowId": WF,
        "kind": "bootstrap",
        "status": status,
        "progress": {"stage": stage, "percentage": percentage, "message": f"{stage}…", "counts": {"flows": 2}},
        "result": result,
        "error": error,
        "createdAt": 1,
        "updatedAt": 2,
    }


SUMMARY = {
    "version": 1,
    "projectId": "p1",
    "projectName": "shop",
    "framework": "nextjs",
    "mode": "llm",
    "configPath": None,
    "counts": {
        "routes": 9,
        "navigationEdges": 12,
        "flows": {"created": 2, "updated": 0, "removed": 0, "unchanged": 0, "skipped": 0},
        "personas": {"created": 1, "updated": 0, "removed": 0, "unchanged": 0, "skipped": 0},
        "steps": {"flowsReplaced": 2, "flowsUnchanged": 0, "stepsWritten": 6},
        "pagesWritten": 9,
    },
    "personas": [{"id": "x", "name": "Shopper", "source": "auto_generated", "flows": ["Checkout", "Sign in"]}],
    "flows": [
        {
            "id": "f1",
            "name": "Checkout",
            "priority": "critical",
            "source": "auto_generated",
            "userEdited": False,
            "status": "created",
            "personas": ["Shopper"],
            "pages": ["/cart", "/checkout"],
            "steps": 3,
        },
        {
            "id": "f2",
            "name": "Sign in",
            "priority": "high",
            "source": "auto_generated",
            "userEdited": False,
            "status": "created",
            "personas": ["Shopper"],
            "pages": ["/login"],
            "steps": 3,
        },
    ],
    "removed": {"flows": [], "personas": []},
    "warnings": [],
    "limits": [],
    "llm": {"failedUnits": 0},
    "timingsMs": {},
}


class Api:
    """Plays the workflow routes: POST starts, GETs walk through `views` (the last repeats)."""

    def __init__(self, views: list[dict[str, Any] | Callable[[], dict[str, Any]]]) -> None:
        self.views = views
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "POST" and request.url.path.endswith("/observer/bootstrap"):
            return httpx.Response(202, json={"workflowId": WF, "kind": "bootstrap", "status": "RUNNING"})
        if request.method == "POST" and request.url.path.endswith("/analyses/a1/review"):
            return httpx.Response(202, json={"workflowId": WF, "kind": "analyze", "status": "RUNNING"})
        if request.method == "GET" and request.url.path.endswith(f"/workflows/{WF}"):
            answer = self.views.pop(0) if len(self.views) > 1 else self.views[0]
            return httpx.Response(200, json=answer() if callable(answer) else answer)
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "no route", "details": {}}})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".perceo").mkdir()
    (tmp_path / ".perceo" / "config.json").write_text(json.dumps({"observer": {"apiBaseUrl": BASE}}))
    return tmp_path


def run(project: Path, api: Api | None, *argv: str) -> tuple[int, str, str]:
    """Run `perceo` in `project` against `api` (None: the backend the project's config picks)."""
    out, err = io.StringIO(), io.StringIO()
    ctx = AppContext(output=Output(out, err), project_dir=project)
    if api is not None:
        ctx.use_backend(HttpBackend(ApiClient(BASE, KEY, transport=httpx.MockTransport(api), sleep=lambda _s: None)))
    code = main(["-C", str(project), *argv], context=ctx)
    return code, out.getvalue(), err.getvalue()


def test_status_prints_the_current_view_and_exits_zero_while_it_runs(project: Path) -> None:
    code, out, _ = run(project, Api([view("RUNNING", "identify_flows", 20)]), "workflows", "status", WF)

    assert code == 0
    assert f"{WF} (bootstrap): RUNNING" in out and "identify flows · 20%" in out and "flows 2" in out


def test_watch_follows_to_success_and_json_prints_only_the_final_view(project: Path) -> None:
    api = Api(
        [
            view("RUNNING", "validate", 5),
            view("RUNNING", "extract_steps", 77),
            view("SUCCEEDED", "complete", 100, result={"flows": 2}),
        ]
    )

    code, out, _ = run(project, api, "workflows", "status", WF, "--watch", "--interval", "0.1", "--json")

    assert code == 0
    assert json.loads(out)["status"] == "SUCCEEDED" and json.loads(out)["result"] == {"flows": 2}
    assert len([r for r in api.requests if r.method == "GET"]) == 3


@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT", "ABORTED"])
def test_every_terminal_status_ends_the_wait_and_a_failure_shows_its_error(project: Path, status: str) -> None:
    failed = view(
        status,
        "identify_flows",
        20,
        error={"type": "LLMUnavailableError", "message": "LLM API connection error for flows"},
    )
    code, out, err = run(
        project,
        Api([view("RUNNING", "validate", 5), failed]),
        "workflows",
        "status",
        WF,
        "--watch",
        "--interval",
        "0.1",
    )

    assert code == 1
    assert f"workflow {WF} {status} at identify flows: LLMUnavailableError: LLM API connection error for flows" in err
    assert "Traceback" not in err


def test_watch_gives_up_after_the_overall_timeout_and_says_the_workflow_goes_on(project: Path) -> None:
    code, _, err = run(
        project,
        Api([view("RUNNING", "clone", 8)]),
        "workflows",
        "status",
        WF,
        "--watch",
        "--timeout",
        "1",
        "--interval",
        "0.1",
    )

    assert code == 1
    assert "still running after 1s (clone, 8%)" in err and "--watch" in err


def test_ctrl_c_stops_following_and_never_stops_the_workflow(project: Path) -> None:
    def interrupt() -> dict[str, Any]:
        raise KeyboardInterrupt

    api = Api([view("RUNNING", "validate", 5), interrupt])

    code, _, err = run(project, api, "workflows", "status", WF, "--watch", "--interval", "0.1")

    assert code == 130
    assert "the workflow keeps running" in err and f"perceo workflows status {WF} --watch" in err
    assert {r.method for r in api.requests} == {"GET"}


def test_a_malformed_id_and_a_project_without_an_api_are_usage_errors(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    code, _, err = run(project, Api([view("RUNNING", "validate", 5)]), "workflows", "status", "../../etc")
    assert code == 2 and "is not a workflow id" in err

    plain = tmp_path_factory.mktemp("plain")  # outside `project`: a folder inside it would be part of that project
    code, _, err = run(plain, None, "workflows", "status", WF)  # the embedded default: no workflows there
    assert code == 2 and "observer.apiBaseUrl" in err
    assert not (plain / ".perceo").exists()  # and no embedded store was started to say so


def test_init_remote_starts_the_cloud_bootstrap_follows_it_and_prints_the_init_summary(project: Path) -> None:
    api = Api([view("RUNNING", "clone", 8), view("SUCCEEDED", "complete", 100, result=SUMMARY)])

    code, out, err = run(
        project,
        api,
        "init",
        "--remote",
        "--repo-url",
        "https://github.com/acme/shop.git",
        "--branch",
        "main",
        "--no-llm",
        "--json",
    )

    assert code == 0
    document = json.loads(out)
    assert document == {**SUMMARY, "workflowId": WF, "configPath": str(project / ".perceo" / "config.json")}
    config = json.loads((project / ".perceo" / "config.json").read_text())
    assert config["project"] == {"id": "p1", "name": "shop", "framework": "nextjs"}  # `ci analyze` finds it
    (start,) = [r for r in api.requests if r.method == "POST"]
    body = json.loads(start.content)
    assert body["repoUrl"] == "https://github.com/acme/shop.git" and body["branch"] == "main"
    assert body["useLlm"] is False
    assert f"Started cloud bootstrap {WF}" in err


def test_init_remote_sends_the_configs_excluded_flows_and_flow_cap(project: Path) -> None:
    config_path = project / ".perceo" / "config.json"
    config = json.loads(config_path.read_text())
    config["bootstrap"] = {"excludeFlows": ["Sign up", "Browse guides"], "maxFlows": 120}
    config_path.write_text(json.dumps(config))
    api = Api([view("SUCCEEDED", "complete", 100, result=SUMMARY)])

    code, _, err = run(project, api, "init", "--remote", "--repo-url", "https://github.com/acme/shop.git")

    assert code == 0, err
    (start,) = [r for r in api.requests if r.method == "POST"]
    body = json.loads(start.content)
    assert body["excludedFlows"] == ["Sign up", "Browse guides"]  # deleted flows stay deleted in the cloud
    assert body["maxFlows"] == 50  # the cloud's ceiling; locally 120 would be kept
    assert "bootstrap.maxFlows is 120" in err and "at most 50" in err


def test_init_remote_that_fails_exits_one_with_the_workflows_error(project: Path) -> None:
    failed = view(
        "FAILED", "clone", 8, error={"type": "CloneFailedError", "message": "git clone failed: repository not found"}
    )

    code, out, err = run(project, Api([failed]), "init", "--remote", "--repo-url", "https://github.com/acme/x.git")

    assert code == 1 and out == ""
    assert "CloneFailedError: git clone failed: repository not found" in err


def test_init_remote_uses_the_origin_remote_when_no_url_is_given(project: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run(["git", "-C", str(project), "remote", "add", "origin", "git@github.com:acme/shop.git"], check=True)
    api = Api([view("SUCCEEDED", "complete", 100, result=SUMMARY)])

    code, out, _ = run(project, api, "init", "--remote")

    assert code == 0 and "Checkout" in out
    (start,) = [r for r in api.requests if r.method == "POST"]
    assert json.loads(start.content)["repoUrl"] == "git@github.com:acme/shop.git"


def test_review_starts_the_slow_path_with_the_configured_threshold_and_prints_the_workflow_id(project: Path) -> None:
    config = json.loads((project / ".perceo" / "config.json").read_text())
    config["observer"]["analysis"] = {"useLlm": True, "llmThreshold": 0.55}
    (project / ".perceo" / "config.json").write_text(json.dumps(config))
    api = Api([view("RUNNING", "select", 10)])

    code, out, err = run(project, api, "workflows", "review", "a1")

    assert code == 0 and out.strip() == WF and f"perceo workflows status {WF} --watch" in err
    (start,) = [r for r in api.requests if r.method == "POST"]
    assert json.loads(start.content) == {"llmThreshold": 0.55}
