"""Fault injection: a task Lambda crashing mid-workflow. The real template's BootstrapProject state machine runs
under moto with the task Lambdas' real handlers in this process (tests/integration/workflows/workflow_support.py),
so one task can be made to raise or to exit, which the local cloud in its own process cannot be made to do.

Each crash ends the execution FAILED through the ASL's Catch (a crash is no error the Retry lists), the workflow
record (what `GET /workflows/{id}` answers) names the step it failed at and the error, the bundle is cleaned up, and
a re-run reconciles what the crashed run had written: the same flows and personas, none twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from workflow_support import Harness, Session, harness_for, start_session

from perceo.workflows.model import BootstrapRequest
from perceo_cli.commands.workflows import describe_failure
from perceo_cli.local.server import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("task-crash")]


@pytest.fixture(scope="module")
def workflow_session(tmp_path_factory: pytest.TempPathFactory, falkordb_server: ServerProcess) -> Iterator[Session]:
    url = f"redis://{falkordb_server.host}:{falkordb_server.port}"
    yield from start_session(tmp_path_factory.mktemp("crash-workflows"), url)


@pytest.fixture
def harness(workflow_session: Session, redis_client: redis.Redis, tmp_path: Path) -> Iterator[Harness]:
    with harness_for(workflow_session, redis_client, tmp_path) as made:
        yield made


def _bundle_keys(harness: Harness, project_id: str, workflow_id: str) -> list[str]:
    s3 = harness.session.aws.client("s3")
    listed = s3.list_objects_v2(Bucket=harness.bucket, Prefix=f"bootstrap/{project_id}/{workflow_id}/")
    return [item["Key"] for item in listed.get("Contents", [])]


def _task_failures(history: list[dict[str, Any]]) -> list[str]:
    return [e["lambdaFunctionFailedEventDetails"]["error"] for e in history if e["type"] == "LambdaFunctionFailed"]


def test_a_task_raising_half_way_through_its_writes_fails_at_that_step_and_a_rerun_reconciles(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_id, prefix = harness.new_project()
    url = harness.publish_demo_app(project_id)
    graph = harness.graph

    def crash(project: str, flows: Any) -> Any:
        raise RuntimeError("the task crashed between the personas and the flows")

    with monkeypatch.context() as patch:
        patch.setattr(graph, "upsert_flows", crash)  # pages and personas are written by then, flows not
        failed = harness.wait(project_id, harness.start(project_id, prefix, BootstrapRequest(repo_url=url)))
    personas_left = sorted(p.name for p in graph.list_personas(project_id))
    flows_left = graph.list_flows(project_id)
    history = harness.history(project_id, failed.workflow_id)

    rerun = harness.wait(project_id, harness.start(project_id, prefix, BootstrapRequest(repo_url=url)))

    assert failed.status == "FAILED"
    assert failed.error is not None and failed.error.type == "RuntimeError"
    assert failed.error.message == "the task crashed between the personas and the flows"
    assert failed.progress.stage == "persist_flows"  # the step it failed at, as GET /workflows/{id} answers
    assert describe_failure(failed).startswith(f"workflow {failed.workflow_id} FAILED at persist flows: RuntimeError")
    assert _task_failures(history) == ["RuntimeError"]  # a crash is not retried: no error the Retry lists
    assert _bundle_keys(harness, project_id, failed.workflow_id) == []  # clean-up ran on the failure path
    assert personas_left and flows_left == []  # what the crash left: personas (and pages), no flows
    assert rerun.status == "SUCCEEDED", rerun
    assert rerun.result is not None
    assert rerun.result["counts"]["personas"]["created"] == 0  # the crashed run's personas, reconciled
    assert sorted(p.name for p in graph.list_personas(project_id)) == personas_left
    flows = graph.list_flows(project_id, include_steps=True)
    assert flows and len({f.name for f in flows}) == len(flows) and all(f.steps for f in flows)


def test_a_task_exiting_mid_workflow_fails_the_execution_as_lambda_reports_an_exit(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from perceo.bootstrap import pipeline

    project_id, prefix = harness.new_project()
    url = harness.publish_demo_app(project_id)

    def exits(task: Any, deps: Any) -> Any:
        raise SystemExit(3)  # what `sys.exit(3)` raises: the runtime process ends

    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "extract_steps", exits)  # the steps task's work, once the task has started
        failed = harness.wait(project_id, harness.start(project_id, prefix, BootstrapRequest(repo_url=url)))
    left = harness.graph.list_flows(project_id, include_steps=True)
    history = harness.history(project_id, failed.workflow_id)
    rerun = harness.wait(project_id, harness.start(project_id, prefix, BootstrapRequest(repo_url=url)))
    flows = harness.graph.list_flows(project_id, include_steps=True)

    assert failed.status == "FAILED", failed
    assert failed.error is not None and failed.error.type == "Runtime.ExitError"  # as Lambda reports an exit
    assert failed.error.message.endswith("Runtime exited with error: exit status 3")
    assert failed.progress.stage == "extract_steps"
    assert "Runtime.ExitError" in _task_failures(history)
    assert _bundle_keys(harness, project_id, failed.workflow_id) == []
    # The flows were stored before the steps task exited; the failure path took back those without steps.
    assert left == []
    assert rerun.status == "SUCCEEDED", rerun
    assert rerun.result is not None and rerun.result["counts"]["flows"]["created"] == len(flows)
    assert flows and len({f.name for f in flows}) == len(flows) and all(f.steps for f in flows)
