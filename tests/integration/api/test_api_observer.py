"""POST /observer/analyze maps the client's affected routes to stored flows, stores and publishes the analysis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from api_handlers import body_of, load_event
from api_integration_kit import Caller, api_services, call, create_project, key_for

from perceo import wiring
from perceo.graph.port import FlowGraph
from perceo.models import EventType
from perceo_cli.local.server import ServerProcess

ANALYZE = load_event("api/observer/analyze.json")


@pytest.fixture
def owner(api: wiring.Services) -> Caller:
    caller = create_project("Shop")
    for name, pages in (("Sign in", ["/login", "/account"]), ("Browse", ["/products"])):
        created = call("flows/create-flow", caller, body={"name": name, "pages": pages, "entryPoint": pages[0]})
        assert created["statusCode"] == 201
    return caller


def _analyze_body() -> dict[str, object]:
    import json

    body: dict[str, object] = json.loads(ANALYZE["body"])
    return body


def test_an_analysis_names_the_flows_behind_the_affected_routes_and_is_stored_and_published(
    api: wiring.Services, owner: Caller, graph: FlowGraph
) -> None:
    ci = key_for(owner, ["ci:analyze"], "ci")

    response = call("observer/analyze", ci, body=_analyze_body())

    assert response["statusCode"] == 200
    analysis = body_of(response)
    assert [flow["name"] for flow in analysis["flows"]] == ["Sign in"]
    assert analysis["flows"][0]["affectedPages"] == ["/login"]
    stored = call("observer/get-analysis", ci, id=analysis["id"])
    assert body_of(stored)["id"] == analysis["id"]
    assert [a["id"] for a in body_of(call("observer/list-analyses", ci))["analyses"]] == [analysis["id"]]
    published = [event.type for _, event in api.bus.replay(owner.project_id)]
    assert EventType.FLOWS_AFFECTED in published and EventType.ANALYSIS_COMPLETE in published


def test_analyzing_needs_ci_analyze_and_reading_accepts_flows_read(owner: Caller) -> None:
    reader = key_for(owner, ["flows:read"], "reader")

    denied = call("observer/analyze", reader, body=_analyze_body())
    listed = call("observer/list-analyses", reader)

    assert denied["statusCode"] == 403
    assert listed["statusCode"] == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"baseSha": "main; rm -rf /", "headSha": "a" * 40}, "body.changeSet.baseSha"),
        ({"baseSha": "a" * 40, "headSha": "HEAD~1"}, "body.changeSet.headSha"),
        (
            {"baseSha": "a" * 40, "headSha": "b" * 40, "files": [{"path": "x", "status": "exploded"}]},
            "body.changeSet.files.0.status",
        ),
    ],
)
def test_bad_change_sets_are_422_and_store_nothing(
    owner: Caller, graph: FlowGraph, change: dict[str, object], field: str
) -> None:
    response = call("observer/analyze", owner, body={"changeSet": change, "affectedRoutes": []})

    assert response["statusCode"] == 422
    assert field in [p["field"] for p in body_of(response)["error"]["details"]["errors"]]
    assert graph.list_analyses(owner.project_id) == []


def test_an_unknown_analysis_is_404(owner: Caller) -> None:
    response = call("observer/get-analysis", owner, id="0123456789abcdef0123456789abcdef")

    assert response["statusCode"] == 404


@pytest.fixture
def review_refused(
    api: wiring.Services, falkordb_server: ServerProcess, graph_name: str, graph: FlowGraph, redis_client: redis.Redis
) -> Iterator[str]:
    """A workflow service whose AnalyzeChanges state machine Step Functions does not know (moto): every start of a
    review is refused. Yields that state machine's ARN."""
    import boto3
    from moto import mock_aws

    from perceo.workflows.bundle import InMemoryBundleStore
    from perceo.workflows.progress import RedisProgressStore
    from perceo.workflows.service import WorkflowService

    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:perceo-test-analyze-gone"
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        service = WorkflowService(
            sfn,
            RedisProgressStore(redis_client),
            InMemoryBundleStore(),
            bootstrap_state_machine_arn=None,
            analyze_state_machine_arn=missing,
            allowed_git_hosts=("github.com",),
        )
        wiring.install(api_services(falkordb_server, graph_name, graph, redis_client, workflows=service))
        try:
            yield missing
        finally:
            wiring.install(api)


def test_a_review_step_functions_refuses_is_reported_and_the_analysis_stands(
    owner: Caller, graph: FlowGraph, review_refused: str
) -> None:
    ci = key_for(owner, ["ci:analyze"], "ci")

    response = call("observer/analyze", ci, body={**_analyze_body(), "useLlm": True, "llmThreshold": 0.9})

    assert response["statusCode"] == 200, response
    answer = body_of(response)
    assert [flow["name"] for flow in answer["flows"]] == ["Sign in"]
    assert [a.id for a in graph.list_analyses(owner.project_id)] == [answer["id"]]
    review = answer["review"]
    assert review["status"] == "FAILED" and review["error"]["type"] == "WorkflowBackendError"
    assert "StateMachineDoesNotExist" in review["error"]["message"]
    followed = call("workflows/get-workflow", ci, id=review["workflowId"])
    assert body_of(followed)["status"] == "FAILED"


def test_a_review_the_api_is_not_configured_for_is_reported_without_naming_its_settings(
    owner: Caller, graph: FlowGraph, workflows: None
) -> None:
    ci = key_for(owner, ["ci:analyze"], "ci")

    response = call("observer/analyze", ci, body={**_analyze_body(), "useLlm": True, "llmThreshold": 0.9})

    assert response["statusCode"] == 200, response
    answer = body_of(response)
    assert answer["review"] == {
        "workflowId": None,
        "status": "FAILED",
        "error": {"type": "ConfigError", "message": "the API is not configured to start workflows; see its logs"},
    }
    assert [a.id for a in graph.list_analyses(owner.project_id)] == [answer["id"]]
