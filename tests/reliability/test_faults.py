"""Fault injection against the local cloud: each dependency fails the way it does in production, and each fault ends
in a clear error (the failing dependency named, a fitting status, no traceback), with retries shown where the
product retries, nothing half-written, and a re-run after the fault clears that succeeds and reconciles.

One cloud of this module's own (its store gets frozen and killed), laid out as in AWS: the graph (the cloud's
embedded FalkorDB, Neo4j in AWS) and Redis (ElastiCache in AWS: keys, rate limits, progress, the LLM cache) are two
processes, so either can fail while the other stays up. The LLM is the fake OpenAI-compatible server and git is
HTTPS on loopback; both are scripted per test. Time limits are set low through the functions' environment
(`GRAPH_TIMEOUT_S`, `LLM_TIMEOUT_S`, `CLONE_TIMEOUT_S`) so that a hang ends in seconds.

| fault | where |
|---|---|
| graph frozen (SIGSTOP) mid-request, then thawed | `test_a_frozen_graph_*` |
| graph killed (SIGKILL) under a waiting request | `test_a_graph_killed_*` |
| Redis down with the graph up, then back | `test_redis_down_*` |
| LLM 429 with Retry-After | `test_llm_rate_limits_*` |
| LLM 500 / garbage / wrong schema / hanging | `test_an_llm_fault_*` |
| LLM dying after the flows are stored | `test_an_llm_dying_*` |
| git remote that accepts and never answers | `test_a_hanging_git_remote_*` |

A task Lambda crashing mid-workflow is in `test_task_crash.py` (the workflows in this process, to make one task
raise and exit).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cloud_harness import RunningCloud, start_cloud
from fakes.git_https import GitHttpsServer, publish_repository
from fakes.openai_server import FakeOpenAI, RecordedRequest, Reply
from fakes.silent_server import SilentServer

from perceo_cli.demo.shop import build_demo_app
from perceo_cli.local.cloud import cloud_data_dir, down
from perceo_cli.local.server import ServerProcess, pid_alive, start_server, stop_server, wait_for_exit

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("faults")]

#: The functions' time limits in this cloud (the defaults are 20 s, 120 s and 120 s).
GRAPH_TIMEOUT_S = 2
LLM_TIMEOUT_S = 2
CLONE_TIMEOUT_S = 5
#: What a bounded wait may take here at most: the limit, a Step Functions retry or two, a busy 2-core machine.
BOUND_S = 30.0
LLM_KEY = "sk-faults-key-for-the-fake-server-0123456789"
MODEL = "gpt-4.1-mini"

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


def answer(request: RecordedRequest) -> Reply:
    return Reply.json(ANSWERS[request.schema_name or ""])


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def git(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHttpsServer]:
    root = tmp_path_factory.mktemp("faults-git")
    (root / "repos").mkdir()
    with GitHttpsServer(root / "repos", root) as server:
        yield server


@pytest.fixture(scope="module")
def redis_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults-redis")


@pytest.fixture(scope="module")
def redis_server(redis_dir: Path) -> Iterator[list[ServerProcess]]:
    """The cloud's Redis, a process apart from its graph (persistent: a restart keeps the keys, as ElastiCache
    does). A list, so that a test that restarts it leaves the new process for the teardown."""
    servers = [start_server(redis_dir, persistent=True)]
    try:
        yield servers
    finally:
        stop_server(servers[-1].pid)


@pytest.fixture(scope="module")
def cloud(
    tmp_path_factory: pytest.TempPathFactory,
    llm: FakeOpenAI,
    git: GitHttpsServer,
    redis_server: list[ServerProcess],
) -> Iterator[RunningCloud]:
    project_dir = tmp_path_factory.mktemp("faults-cloud")
    with pytest.MonkeyPatch.context() as env:
        # Inherited by the cloud's process (its functions read them; LlmSecretArn is empty).
        env.setenv("PERCEO_LLM_API_KEY", LLM_KEY)
        env.setenv("PERCEO_LLM_BASE_URL", llm.base_url)
        env.setenv("GRAPH_TIMEOUT_S", str(GRAPH_TIMEOUT_S))
        env.setenv("LLM_TIMEOUT_S", str(LLM_TIMEOUT_S))
        env.setenv("CLONE_TIMEOUT_S", str(CLONE_TIMEOUT_S))
        running = start_cloud(
            project_dir,
            parameters={
                "RedisUrl": redis_server[0].url,
                "AllowedGitHosts": "127.0.0.1",
                "GitSslCaInfo": str(git.ca_file),
            },
        )
    try:
        yield running
    finally:
        down(project_dir)


@pytest.fixture
def project(cloud: RunningCloud) -> tuple[dict[str, Any], str]:
    return cloud.create_project(f"faults-{secrets.token_hex(4)}")


def graph_pid(cloud: RunningCloud) -> int:
    """The graph's process (the cloud's own store; the supervisor may have restarted it)."""
    return int(json.loads((cloud_data_dir(cloud.project_dir) / "store.json").read_text())["pid"])


def cloud_log(cloud: RunningCloud) -> str:
    return cloud.state.log_file.read_text(errors="replace")


def assert_clear_503(response: httpx.Response, dependency: str) -> None:
    """A 503 that says which dependency failed and when to come back, in the documented error shape."""
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"].isdigit()
    error = response.json()["error"]
    assert error["code"] == "backend_unavailable"
    assert dependency in error["message"], error["message"]
    assert "Traceback" not in response.text and "127.0.0.1" not in response.text


def wait_until(predicate: Any, timeout_s: float = BOUND_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


# ------------------------------------------------------------------------------------------------ the graph


def test_a_frozen_graph_answers_503_within_its_time_limit_and_a_retried_write_is_not_duplicated(
    cloud: RunningCloud, project: tuple[dict[str, Any], str]
) -> None:
    _, key = project
    with cloud.http(key) as client:
        assert client.get("flows").status_code == 200  # the key is in the authorizer's cache now
        frozen = graph_pid(cloud)
        os.kill(frozen, signal.SIGSTOP)
        try:
            started = time.monotonic()
            read = client.get("flows")
            read_s = time.monotonic() - started
            write = client.post("flows", json={"name": "Written while frozen"})
            health = client.get("health")
        finally:
            os.kill(frozen, signal.SIGCONT)
        after = client.get("flows")
        retried = client.post("flows", json={"name": "Written while frozen"})
        flows = client.get("flows").json()["flows"]

    assert_clear_503(read, "flow graph")
    assert GRAPH_TIMEOUT_S <= read_s < BOUND_S  # waited for the graph's time limit, not without end
    assert_clear_503(write, "flow graph")
    assert health.status_code == 503 and health.json()["checks"]["graph"]["ok"] is False
    assert health.json()["checks"]["redis"]["ok"] is True
    assert after.status_code == 200
    # The write reached the frozen store's socket before its time limit: the thawed store may still apply it. The
    # client's retry then finds it (409) or writes it (201); either way the flow exists exactly once.
    assert retried.status_code in (201, 409), retried.text
    assert [f["name"] for f in flows].count("Written while frozen") == 1
    assert graph_pid(cloud) == frozen  # frozen is alive: never restarted behind its back


def test_a_graph_killed_under_a_waiting_request_answers_503_and_comes_back_with_its_data(
    cloud: RunningCloud, project: tuple[dict[str, Any], str]
) -> None:
    _, key = project
    with cloud.http(key) as client:
        assert client.post("flows", json={"name": "Kept"}).status_code == 201
        victim = graph_pid(cloud)
        os.kill(victim, signal.SIGSTOP)  # the request below waits on the store ...
        answers: list[httpx.Response] = []
        waiting = threading.Thread(target=lambda: answers.append(client.get("flows")))
        waiting.start()
        time.sleep(GRAPH_TIMEOUT_S / 4)
        os.kill(victim, signal.SIGKILL)  # ... which dies meanwhile
        waiting.join(BOUND_S)
        assert wait_for_exit(victim, 10)
        back = wait_until(lambda: client.get("flows").status_code == 200)
        restarted = wait_until(lambda: graph_pid(cloud) != victim)  # store.json may be written just after
        flows = client.get("flows").json()["flows"]

    assert answers and answers[0].status_code == 503, answers
    assert_clear_503(answers[0], "flow graph")
    assert back and restarted and pid_alive(graph_pid(cloud))
    assert [f["name"] for f in flows] == ["Kept"]
    log = cloud_log(cloud)
    assert "restarting it (attempt" in log and "the store is back" in log


# ------------------------------------------------------------------------------------------------ Redis


def test_redis_down_with_the_graph_up_is_503_naming_redis_and_nothing_is_lost_when_it_returns(
    cloud: RunningCloud, project: tuple[dict[str, Any], str], redis_server: list[ServerProcess], redis_dir: Path
) -> None:
    _, key = project
    _, fresh_key = cloud.create_project()  # never used: not in the authorizer's cache
    with cloud.http(key) as client:
        assert client.post("flows", json={"name": "Before Redis went down"}).status_code == 201
        dead = redis_server[-1]
        stop_server(dead.pid)
        try:
            cached = client.get("flows")
            write = client.post("flows", json={"name": "While Redis is down"})
            health = client.get("health")
            with cloud.http(fresh_key) as other:
                uncached = other.get("flows")
        finally:
            redis_server.append(start_server(redis_dir, port=dead.port, persistent=True))
        after = client.get("flows")
        with cloud.http(fresh_key) as other:
            fresh_after = other.get("flows")

    assert_clear_503(cached, "Redis")
    assert_clear_503(write, "Redis")
    assert_clear_503(uncached, "Redis")  # the authorizer cannot check the key: fails closed, says why
    assert health.status_code == 503
    assert (health.json()["checks"]["redis"]["ok"], health.json()["checks"]["graph"]["ok"]) == (False, True)
    assert after.status_code == 200 and fresh_after.status_code == 200  # the keys survived the restart
    assert [f["name"] for f in after.json()["flows"]] == ["Before Redis went down"]  # the 503 wrote nothing


# ------------------------------------------------------------------------------------------------ the LLM


def publish_app(git: GitHttpsServer, tmp_path: Path) -> str:
    """The demo shop as a repository over HTTPS; its URL. A page of its own makes the prompts, and so the cloud's
    LLM cache keys, unique to the test."""
    from perceo_cli.demo import shop as demo

    marker = f"only-{secrets.token_hex(4)}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(demo.STOREFRONT, f"app/{marker}/page.tsx", "export default function P() { return <main/> }\n")
        app = build_demo_app(tmp_path / "shop")
    name = f"acme/shop-{marker}.git"
    publish_repository(app.path, git.root, name)
    return git.url(name)


def bootstrap(
    client: httpx.Client, repo_url: str, *, timeout_s: float = 180.0
) -> tuple[dict[str, Any], list[str], float]:
    """Start a cloud bootstrap and follow it to its end: (its last view, every progress message seen, seconds)."""
    started = time.monotonic()
    response = client.post("observer/bootstrap", json={"repoUrl": repo_url, "useLlm": True})
    assert response.status_code == 202, response.text
    workflow_id = response.json()["workflowId"]
    messages: list[str] = []
    deadline = started + timeout_s
    while True:
        view = client.get(f"workflows/{workflow_id}").json()
        message = view["progress"]["message"]
        if message and (not messages or messages[-1] != message):
            messages.append(message)
        if view["status"] != "RUNNING":
            return view, messages, time.monotonic() - started
        assert time.monotonic() < deadline, f"workflow {workflow_id} still running after {timeout_s} s: {view}"
        time.sleep(0.1)


def flow_names(client: httpx.Client) -> list[str]:
    response = client.get("flows", params={"limit": 200})
    assert response.status_code == 200, response.text
    return [f["name"] for f in response.json()["flows"]]


def test_llm_rate_limits_are_waited_out_as_retry_after_says_and_shown_in_progress_and_log(
    cloud: RunningCloud, project: tuple[dict[str, Any], str], llm: FakeOpenAI, git: GitHttpsServer, tmp_path: Path
) -> None:
    _, key = project
    url = publish_app(git, tmp_path)
    llm.respond_with(answer)
    llm.enqueue(Reply.rate_limited(retry_after="1"), Reply.rate_limited(retry_after="1"))
    with cloud.http(key) as client:
        view, messages, _ = bootstrap(client, url)
        names = flow_names(client)

    assert view["status"] == "SUCCEEDED", view
    assert any("flows: HTTP 429; attempt 2 of 3, waiting 1 s" in m for m in messages), messages
    assert "LLM request for flows failed (HTTP 429); retry 1 of 2 in 1.00s" in cloud_log(cloud)
    assert {"Buy a product", "Sign in"} <= set(names) and len(names) == len(set(names))


HANG_S = 3_600.0


@pytest.mark.parametrize(
    ("fault", "error_type", "says", "requests_per_task"),
    [
        (Reply.server_error(500), "LLMUnavailableError", "HTTP 500", 3),
        (Reply.text("Sure! Here are some flows: checkout, login."), "LLMOutputError", "not valid JSON", 2),
        (Reply.json({"pages": ["/cart"]}), "LLMOutputError", "does not match the schema", 2),
        (Reply.json(FLOWS).after(HANG_S), "LLMUnavailableError", "API timeout", 3),
    ],
    ids=["http-500", "garbage", "wrong-schema", "hanging"],
)
def test_an_llm_fault_fails_the_bootstrap_naming_model_and_call_with_nothing_stored_and_a_rerun_succeeds(
    cloud: RunningCloud,
    project: tuple[dict[str, Any], str],
    llm: FakeOpenAI,
    git: GitHttpsServer,
    tmp_path: Path,
    fault: Reply,
    error_type: str,
    says: str,
    requests_per_task: int,
) -> None:
    _, key = project
    url = publish_app(git, tmp_path)
    before = len(llm.requests)
    llm.respond_with(lambda request: fault)
    try:
        with cloud.http(key) as client:
            failed, messages, took_s = bootstrap(client, url)
            after_fault = flow_names(client)
            sent = [r.schema_name for r in llm.requests[before:]]
            llm.respond_with(answer)
            rerun, _, _ = bootstrap(client, url)
            names = flow_names(client)
    finally:
        llm.respond_with(answer)

    assert failed["status"] == "FAILED", failed
    error = failed["error"]
    assert error["type"] == error_type
    message = error["message"]
    assert says in message, message
    assert f"for flows ({MODEL})" in message or f"{MODEL}'s answer for flows" in message, message  # model, call
    assert LLM_KEY not in json.dumps(failed) and "Traceback" not in json.dumps(failed)
    assert failed["progress"]["stage"] == "identify_flows"  # the step that failed
    # Transient faults are retried by the client (3 requests) and the task by Step Functions (3 attempts); an
    # unusable answer gets one repair request and no task retry.
    tasks = 3 if error_type == "LLMUnavailableError" else 1
    assert sent == ["flows_from_graph"] * requests_per_task * tasks
    if error_type == "LLMUnavailableError":
        assert any("attempt 2 of 3" in m for m in messages) or "retry 1 of 2" in cloud_log(cloud)
    budget = tasks * (requests_per_task * LLM_TIMEOUT_S + 10) + BOUND_S
    assert took_s < budget  # a hang ends at the time limits, not after minutes
    assert after_fault == []  # failed before anything was stored
    assert rerun["status"] == "SUCCEEDED", rerun
    assert {"Buy a product", "Sign in"} <= set(names) and len(names) == len(set(names))


def test_an_llm_dying_after_the_flows_are_stored_fails_at_the_steps_and_leaves_no_flow_without_steps(
    cloud: RunningCloud, project: tuple[dict[str, Any], str], llm: FakeOpenAI, git: GitHttpsServer, tmp_path: Path
) -> None:
    def dies_at_the_steps(request: RecordedRequest) -> Reply:
        return Reply.server_error(500) if request.schema_name == "steps_extraction" else answer(request)

    _, key = project
    url = publish_app(git, tmp_path)
    llm.respond_with(dies_at_the_steps)
    try:
        with cloud.http(key) as client:
            failed, _, _ = bootstrap(client, url)
            half = client.get("flows", params={"limit": 200, "includeSteps": "true"}).json()["flows"]
            llm.respond_with(answer)
            rerun, _, _ = bootstrap(client, url)
            whole = client.get("flows", params={"limit": 200, "includeSteps": "true"}).json()["flows"]
    finally:
        llm.respond_with(answer)

    assert failed["status"] == "FAILED" and failed["progress"]["stage"] == "extract_steps", failed
    assert failed["error"]["type"] == "LLMUnavailableError"
    assert "for steps:" in failed["error"]["message"] and f"({MODEL}): HTTP 500" in failed["error"]["message"]
    # persist_flows had stored the flows; the failure path took back those it created without steps.
    assert half == []
    assert rerun["status"] == "SUCCEEDED", rerun
    names = [f["name"] for f in whole]
    assert rerun["result"]["counts"]["flows"]["created"] == len(names)
    assert {"Buy a product", "Sign in"} <= set(names) and len(names) == len(set(names))
    assert all(f.get("steps") for f in whole)


# ------------------------------------------------------------------------------------------------ git


def test_a_hanging_git_remote_fails_the_bootstrap_at_the_clone_within_its_time_limit(
    cloud: RunningCloud, project: tuple[dict[str, Any], str]
) -> None:
    _, key = project
    with SilentServer() as silent, cloud.http(key) as client:
        view, _, took_s = bootstrap(client, f"https://127.0.0.1:{silent.port}/acme/shop.git")
        accepted = silent.accepted
        flows = flow_names(client)
    assert view["status"] == "FAILED" and view["progress"]["stage"] == "clone", view
    assert view["error"]["type"] == "CloneLimitError"
    assert view["error"]["message"].startswith(
        f"the clone from 127.0.0.1/acme/shop.git took longer than {CLONE_TIMEOUT_S}s and was stopped"
    )
    assert accepted >= 1  # it did connect: the remote hung, it was not refused
    assert CLONE_TIMEOUT_S <= took_s < CLONE_TIMEOUT_S + BOUND_S
    assert flows == []
