"""`POST /observer/analyze` with useLlm starts AnalyzeChanges itself: the real observer Lambda answers with the fast
analysis and the started review; the review then runs on moto (the template's state machine, the step Lambdas in
process) against the fake OpenAI server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from api_handlers import as_caller, body_of, invoke, load_event, with_body, with_path
from fakes.openai_server import FakeOpenAI, RecordedRequest, Reply
from workflow_support import PEPPER, Harness, make_llm

from perceo import wiring
from perceo.config.settings import Settings
from perceo.models import Flow

#: The sample body: `src/components/LoginForm.tsx` changed, `/login` imports it (distance 1: confidence 0.85).
SAMPLE = json.loads(load_event("api/observer/analyze.json")["body"])


@pytest.fixture
def api(harness: Harness, redis_client: redis.Redis) -> Iterator[wiring.Services]:
    """The API Lambdas in this process use the harness's graph, Redis and workflow service (moto); its steps
    still run on the harness's step runtime."""
    url = harness.session.redis_url
    settings = Settings.from_env(
        {
            "STAGE": "test",
            "POWERTOOLS_SERVICE_NAME": "perceo",
            "GRAPH_URI": url,
            "REDIS_URL": url,
            "KEY_RATE_LIMIT_PER_SECOND": "1000",
        }
    )
    steps = wiring.services()  # the harness's: the step Lambdas run in this process too
    api_side = wiring.build_services(
        settings,
        graph=harness.graph,
        redis=redis_client,
        pepper=PEPPER,
        keys=harness.keys,  # the API checks each caller's key where the tests made it
        admin_key="unused-admin",
        workflows=harness.service,
        step_runtime=harness.step_runtime,
    )
    wiring.install(api_side)
    try:
        yield api_side
    finally:
        wiring.install(steps)


def _ci_caller(harness: Harness) -> tuple[str, dict[str, str]]:
    """A project with a "Sign in" flow on /login, and the authorizer context of its ci:analyze key."""
    project_id, _ = harness.new_project()
    (flow,) = harness.graph.upsert_flows(
        project_id,
        [
            Flow(project_id=project_id, name="Sign in", description="Reach the dashboard.", entry_point="/login"),
        ],
    )
    harness.graph.set_flow_pages(project_id, flow.id, ["/login", "/dashboard"])
    raw, _ = harness.keys.create(project_id, "ci-analyze", ["ci:analyze"], created_by="test")
    return project_id, harness.keys.authenticate(raw).to_authorizer_context()


def _analyze_executions(harness: Harness) -> set[str]:
    pages = harness.sfn.get_paginator("list_executions").paginate(stateMachineArn=harness.analyze_arn)
    return {execution["name"] for page in pages for execution in page["executions"]}


def _analyze(context: dict[str, str], **options: Any) -> dict[str, Any]:
    event = with_body(load_event("api/observer/analyze.json"), {**SAMPLE, **options})
    as_caller(event, context)
    response = invoke("api/observer", event)
    assert response["statusCode"] == 200, response
    answer: dict[str, Any] = body_of(response)
    return answer


def test_analyze_with_use_llm_answers_at_once_and_the_review_it_started_succeeds(
    harness: Harness, api: wiring.Services, fake_openai: FakeOpenAI, redis_client: redis.Redis
) -> None:
    # Given an LLM that does not answer until the test lets it
    released = threading.Event()

    def review(request: RecordedRequest) -> Reply:
        released.wait(timeout=4)  # under the client's 5 s timeout
        return Reply.json({"affected": True, "confidence": 0.95, "rationale": "LoginForm.tsx renders the form"})

    fake_openai.respond_with(review)
    harness.step_runtime.llm_factory = lambda: make_llm(fake_openai, redis_client)
    project_id, context = _ci_caller(harness)

    # When the CI client analyzes a change with useLlm
    answer = _analyze(context, useLlm=True, llmThreshold=0.9)

    # Then the fast answer is there, and the review is started but cannot have finished: the LLM is held
    assert [flow["name"] for flow in answer["flows"]] == ["Sign in"]
    assert answer["flows"][0]["confidence"] == 0.85
    review_started = answer["review"]
    assert review_started["status"] == "RUNNING" and review_started["error"] is None
    workflow_id = review_started["workflowId"]
    record = harness.service._progress.get(project_id, workflow_id)
    assert record is not None and record.kind == "analyze"
    execution = harness.sfn.describe_execution(executionArn=record.execution_arn)
    assert execution["stateMachineArn"] == harness.analyze_arn
    assert json.loads(execution["input"]) == {"projectId": project_id, "workflowId": workflow_id, "maxConcurrency": 2}
    assert harness.service.status(project_id, workflow_id).status == "RUNNING"

    released.set()
    view = harness.wait(project_id, workflow_id, timeout_s=60)

    # And the review's result is stored for GET /workflows/{id}, about the analysis just answered
    assert view.status == "SUCCEEDED", view
    assert view.result is not None and view.result["analysisId"] == answer["id"]
    assert [(r["name"], r["confidenceBefore"], r["confidenceAfter"]) for r in view.result["reviewed"]] == [
        ("Sign in", 0.85, 0.95)
    ]
    event = as_caller(with_path(load_event("api/workflows/get-workflow.json"), id=workflow_id), context)
    polled = body_of(invoke("api/workflows", event))
    assert polled["status"] == "SUCCEEDED" and polled["result"] == view.result
    assert [r.schema_name for r in fake_openai.requests] == ["flow_review"]


def test_analyze_without_use_llm_starts_no_workflow(harness: Harness, api: wiring.Services) -> None:
    _, context = _ci_caller(harness)
    before = _analyze_executions(harness)

    answer = _analyze(context, llmThreshold=0.9)

    assert answer["review"] is None
    assert [flow["name"] for flow in answer["flows"]] == ["Sign in"]
    assert _analyze_executions(harness) == before


def test_analyze_with_use_llm_starts_nothing_when_every_flow_is_above_the_threshold(
    harness: Harness, api: wiring.Services
) -> None:
    _, context = _ci_caller(harness)
    before = _analyze_executions(harness)

    answer = _analyze(context, useLlm=True, llmThreshold=0.8)  # the flow's confidence is 0.85

    assert answer["review"] is None and [flow["name"] for flow in answer["flows"]] == ["Sign in"]
    assert _analyze_executions(harness) == before
