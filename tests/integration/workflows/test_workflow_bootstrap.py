"""BootstrapProject on moto: the real ASL and task handlers, S3 in moto as the bundle store, Redis progress, git over
HTTPS on loopback, the fake OpenAI server. Each test reads the outcome as a client would (`WorkflowService.status`),
and the execution history as Step Functions recorded it."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import redis
from fakes.openai_server import FakeOpenAI, Reply
from workflow_support import Harness, make_llm, scripted

from perceo.bootstrap import pipeline
from perceo.errors import ConflictError
from perceo.workflows.bundle import workflow_prefix
from perceo.workflows.clone import GitCredentials
from perceo.workflows.errors import GitUrlRejectedError, WorkflowNotFoundError
from perceo.workflows.model import BootstrapRequest
from perceo_cli.local.server import free_port


def _failures(history: list[dict[str, Any]]) -> list[str]:
    return [e["lambdaFunctionFailedEventDetails"]["error"] for e in history if e["type"] == "LambdaFunctionFailed"]


def _bundle_keys(harness: Harness, project_id: str, workflow_id: str) -> list[str]:
    listing = harness.session.aws.client("s3").list_objects_v2(
        Bucket=harness.bucket, Prefix=workflow_prefix(project_id, workflow_id)
    )
    return [item["Key"] for item in listing.get("Contents", [])]


def _use_llm(harness: Harness, llm: Any) -> None:
    harness.step_runtime.llm_factory = lambda: llm
    harness.step_runtime._llm_built = False


def test_offline_bootstrap_of_a_repository_over_https_stores_flows_with_steps(harness: Harness) -> None:
    project_id, prefix = harness.new_project()
    url = harness.publish_demo_app(project_id)

    workflow_id = harness.start(project_id, prefix, BootstrapRequest(repo_url=url, use_llm=False))
    view = harness.wait(project_id, workflow_id)

    assert view.status == "SUCCEEDED", view
    assert (view.progress.stage, view.progress.percentage) == ("complete", 100)
    flows = harness.graph.list_flows(project_id, include_steps=True)
    assert len(flows) >= 3 and all(f.steps for f in flows)
    assert view.result is not None and view.result["mode"] == "heuristic"
    assert view.progress.counts["flows"] == len(flows)
    assert view.progress.counts["steps"] == sum(len(f.steps) for f in flows)
    assert _bundle_keys(harness, project_id, workflow_id) == []


def test_llm_bootstrap_stores_the_llms_flows_personas_and_steps(
    harness: Harness, fake_openai: FakeOpenAI, redis_client: redis.Redis
) -> None:
    fake_openai.respond_with(scripted)
    _use_llm(harness, make_llm(fake_openai, redis_client))
    project_id, prefix = harness.new_project()
    url = harness.publish_demo_app(project_id)

    view = harness.wait(project_id, harness.start(project_id, prefix, BootstrapRequest(repo_url=url, use_llm=True)))

    assert view.status == "SUCCEEDED", view
    flows = {f.name: f for f in harness.graph.list_flows(project_id, include_steps=True)}
    # The model's two flows, and the offline heuristic's flows that the model's answer does not cover.
    assert {"Buy a product", "Sign in"} <= set(flows) and "Checkout" in set(flows)
    assert flows["Buy a product"].personas == ["Shopper"] and flows["Sign in"].personas == ["Member"]
    # The model's steps keep only targets the code has: each flow keeps its navigate and its click.
    assert all(len(f.steps) >= 2 for f in flows.values())
    assert view.progress.counts["flows"] == len(flows) and view.progress.counts["personas"] == 2
    assert view.result is not None and view.result["mode"] == "llm"
    schemas = [r.schema_name for r in fake_openai.requests]
    assert schemas.count("steps_extraction") == len(flows) and "flows_from_graph" in schemas


def test_not_asking_either_way_uses_the_heuristic_without_an_llm_and_the_llm_with_one(
    harness: Harness, fake_openai: FakeOpenAI, redis_client: redis.Redis
) -> None:
    project_id, prefix = harness.new_project()
    url = harness.publish_demo_app(project_id)

    offline = harness.wait(project_id, harness.start(project_id, prefix, BootstrapRequest(repo_url=url)))
    fake_openai.respond_with(scripted)
    _use_llm(harness, make_llm(fake_openai, redis_client))
    online = harness.wait(project_id, harness.start(project_id, prefix, BootstrapRequest(repo_url=url)))

    assert offline.status == online.status == "SUCCEEDED", (offline, online)
    assert offline.result is not None and offline.result["mode"] == "heuristic"
    assert online.result is not None and online.result["mode"] == "llm"
    assert fake_openai.requests  # the second run called the model


def test_asking_for_the_llm_where_there_is_none_fails_at_validate(harness: Harness) -> None:
    project_id, prefix = harness.new_project()
    url = harness.publish_demo_app(project_id)

    view = harness.wait(project_id, harness.start(project_id, prefix, BootstrapRequest(repo_url=url, use_llm=True)))

    assert view.status == "FAILED" and view.error is not None
    assert view.progress.stage == "validate" and "no LLM is configured" in view.error.message


def test_the_execution_input_and_history_carry_ids_only_never_a_secret(
    harness: Harness, fake_openai: FakeOpenAI, redis_client: redis.Redis
) -> None:
    """A private repository (token from the project's git secret) and an LLM key: neither reaches Step Functions."""
    token = "ghp_PRIVATEREPOTOKEN0123456789abcdefABCDEF"

    class ProjectSecret:
        def credentials_for(self, project_id: str) -> GitCredentials | None:
            from pydantic import SecretStr

            return GitCredentials(token=SecretStr(token))

    harness.step_runtime.credentials = ProjectSecret()
    fake_openai.respond_with(scripted)
    _use_llm(harness, make_llm(fake_openai, redis_client))
    project_id, prefix = harness.new_project()
    raw_key, _ = harness.keys.create(project_id, "second", ["workflows:start"], created_by="test")
    url = harness.publish_demo_app(project_id)
    repo = url.rsplit("/", 2)[-2] + "/" + url.rsplit("/", 1)[-1]
    harness.session.git.require_token(repo, token)

    workflow_id = harness.start(project_id, prefix, BootstrapRequest(repo_url=url, use_llm=True))
    view = harness.wait(project_id, workflow_id)

    assert view.status == "SUCCEEDED", view
    assert harness.execution_input(project_id, workflow_id) == {
        "projectId": project_id,
        "workflowId": workflow_id,
        "maxConcurrency": 2,
    }
    history = json.dumps(harness.history(project_id, workflow_id), default=str)
    for secret in (token, "sk-test-key-for-the-fake-server", raw_key, url, "127.0.0.1"):
        assert secret not in history
    assert any(auth for method, path, auth in harness.session.git.requests if repo in path and auth)


def test_the_llm_server_down_ends_failed_with_the_llm_error_after_retries(
    harness: Harness, redis_client: redis.Redis
) -> None:
    class Nowhere:
        base_url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there

    _use_llm(harness, make_llm(Nowhere(), redis_client))  # type: ignore[arg-type]
    project_id, prefix = harness.new_project()
    url = harness.publish_demo_app(project_id)

    workflow_id = harness.start(project_id, prefix, BootstrapRequest(repo_url=url, use_llm=True))
    view = harness.wait(project_id, workflow_id)

    assert view.status == "FAILED"
    assert view.error is not None and view.error.type == "LLMUnavailableError"
    assert "connection error" in view.error.message
    assert _failures(harness.history(project_id, workflow_id)) == ["LLMUnavailableError"] * 3  # 1 try + 2 retries
    assert harness.graph.list_flows(project_id) == []  # failed before anything was persisted
    assert _bundle_keys(harness, project_id, workflow_id) == []  # clean-up ran on the failure path


def test_garbage_from_the_llm_ends_failed_without_retrying(
    harness: Harness, fake_openai: FakeOpenAI, redis_client: redis.Redis
) -> None:
    fake_openai.respond_with(lambda request: Reply.text("Sure! Here are some flows: checkout, login."))
    _use_llm(harness, make_llm(fake_openai, redis_client))
    project_id, prefix = harness.new_project()
    url = harness.publish_demo_app(project_id)

    view = harness.wait(project_id, harness.start(project_id, prefix, BootstrapRequest(repo_url=url, use_llm=True)))

    assert view.status == "FAILED"
    assert view.error is not None and view.error.type == "LLMOutputError"
    assert "still invalid after a repair retry" in view.error.message


def test_a_refused_repository_url_is_rejected_before_anything_starts(harness: Harness) -> None:
    project_id, prefix = harness.new_project()

    for url in (
        "file:///etc",
        "/srv/repo",
        "ext::sh -c touch% /tmp/pwned",
        "https://evil.example/acme/shop.git",
        "git://127.0.0.1/acme/shop.git",
        "https://user:pw@127.0.0.1/acme/shop.git",
    ):
        with pytest.raises(GitUrlRejectedError):
            harness.start(project_id, prefix, BootstrapRequest(repo_url=url))

    assert harness.sfn.list_executions(stateMachineArn=harness.bootstrap_arn)["executions"] is not None
    assert harness.service._progress.claim(project_id, "bootstrap", "wf-" + "0" * 32, 60) is None  # never claimed


def test_a_url_the_workers_refuse_ends_failed_with_the_policy_error(harness: Harness) -> None:
    """Defence in depth: the tasks check the URL again with their own allow-list (here narrower than the API's)."""
    harness.service._allowed_git_hosts = ("127.0.0.1", "git.example.com")
    project_id, prefix = harness.new_project()

    view = harness.wait(
        project_id,
        harness.start(
            project_id, prefix, BootstrapRequest(repo_url="https://git.example.com/acme/shop.git", use_llm=False)
        ),
    )

    assert view.status == "FAILED"
    assert view.error is not None and view.error.type == "GitUrlRejectedError"
    assert "git.example.com is not allowed" in view.error.message


def test_a_repository_that_does_not_exist_ends_failed_with_gits_message(harness: Harness) -> None:
    project_id, prefix = harness.new_project()
    url = harness.session.git.url("acme/missing.git")

    view = harness.wait(project_id, harness.start(project_id, prefix, BootstrapRequest(repo_url=url, use_llm=False)))

    assert view.status == "FAILED"
    assert view.error is not None and view.error.type == "CloneFailedError"
    assert "not found" in view.error.message


def test_a_task_raising_ends_failed_takes_back_its_unfinished_flows_and_a_rerun_reconciles(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(state: pipeline.BootstrapState, deps: pipeline.BootstrapDeps) -> pipeline.BootstrapState:
        raise RuntimeError("the graph write failed half-way")

    project_id, prefix = harness.new_project()
    url = harness.publish_demo_app(project_id)
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "persist_steps", broken)
        failed = harness.wait(
            project_id, harness.start(project_id, prefix, BootstrapRequest(repo_url=url, use_llm=False))
        )
    half = harness.graph.list_flows(project_id, include_steps=True)
    personas = sorted(p.name for p in harness.graph.list_personas(project_id))

    rerun = harness.wait(project_id, harness.start(project_id, prefix, BootstrapRequest(repo_url=url, use_llm=False)))

    assert failed.status == "FAILED"
    assert failed.error is not None
    assert (failed.error.type, failed.error.message) == ("RuntimeError", "the graph write failed half-way")
    assert half == []  # flows were stored, their steps were not: the failure path took them back
    assert personas  # reconciled by name: kept for the re-run
    assert rerun.status == "SUCCEEDED"
    flows = harness.graph.list_flows(project_id, include_steps=True)
    assert flows and len({f.name for f in flows}) == len(flows)  # none duplicated
    assert all(f.steps for f in flows)
    assert rerun.result is not None
    assert rerun.result["counts"]["flows"]["created"] == len(flows)
    assert rerun.result["counts"]["personas"]["created"] == 0


def test_a_second_bootstrap_while_one_runs_is_a_conflict_and_stopping_it_reports_aborted(harness: Harness) -> None:
    project_id, prefix = harness.new_project()
    url = harness.publish_demo_app(project_id)
    harness.session.git.hold()
    seen = len(harness.session.git.requests)
    try:
        first = harness.start(project_id, prefix, BootstrapRequest(repo_url=url, use_llm=False))
        with pytest.raises(ConflictError) as conflict:
            harness.start(project_id, prefix, BootstrapRequest(repo_url=url, use_llm=False))
        record = harness.service._progress.get(project_id, first)
        assert record is not None
        # moto refuses to stop an execution whose interpreter has not started yet (under load it can lag): wait
        # until its clone reaches the held git server, so the stop lands on a running execution
        deadline = time.monotonic() + 60
        while len(harness.session.git.requests) == seen:
            assert time.monotonic() < deadline, "the first bootstrap never reached the git server"
            time.sleep(0.05)
        harness.sfn.stop_execution(executionArn=record.execution_arn, error="Stopped", cause="by the test")
    finally:
        harness.session.git.release()

    view = harness.wait(project_id, first)
    second = harness.start(project_id, prefix, BootstrapRequest(repo_url=url, use_llm=False))

    assert conflict.value.details == {"workflowId": first}
    assert view.status == "ABORTED" and view.error is not None
    assert harness.wait(project_id, second).status == "SUCCEEDED"


def test_progress_only_moves_forward_through_the_stages(harness: Harness) -> None:
    project_id, prefix = harness.new_project()
    url = harness.publish_demo_app(project_id)
    seen: list[tuple[str, int]] = []
    done = threading.Event()

    workflow_id = harness.start(project_id, prefix, BootstrapRequest(repo_url=url, use_llm=False))

    def watch() -> None:
        while not done.is_set():
            view = harness.service.status(project_id, workflow_id)
            seen.append((view.progress.stage, view.progress.percentage))
            if view.status != "RUNNING":
                return

    watcher = threading.Thread(target=watch)
    watcher.start()
    view = harness.wait(project_id, workflow_id)
    done.set()
    watcher.join()

    percentages = [p for _, p in seen]
    assert percentages == sorted(percentages)
    assert view.status == "SUCCEEDED" and seen[-1] == ("complete", 100)


def test_a_workflow_of_another_project_is_not_found(harness: Harness) -> None:
    project_id, prefix = harness.new_project()
    other_id, _ = harness.new_project()
    url = harness.publish_demo_app(project_id)
    workflow_id = harness.start(project_id, prefix, BootstrapRequest(repo_url=url, use_llm=False))
    harness.wait(project_id, workflow_id)

    with pytest.raises(WorkflowNotFoundError):
        harness.service.status(other_id, workflow_id)
    with pytest.raises(WorkflowNotFoundError):
        harness.service.status(project_id, "wf-" + "0" * 32)


def test_a_key_revoked_after_the_start_stops_the_workflow_at_its_first_task(harness: Harness) -> None:
    """The API checked the key when it started the workflow; the first task checks it again (keys are revoked)."""
    project_id, prefix = harness.new_project()
    url = harness.publish_demo_app(project_id)
    harness.keys.revoke(project_id, prefix, reason="leaked", actor="test")

    view = harness.wait(project_id, harness.start(project_id, prefix, BootstrapRequest(repo_url=url, use_llm=False)))

    assert view.status == "FAILED"
    assert view.error is not None and view.error.type == "AuthenticationError"
    assert harness.session.git.requests == [] or not any(
        project_id in path for _, path, _ in harness.session.git.requests
    )
