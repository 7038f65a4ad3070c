"""AnalyzeChanges on moto: the LLM reviews the impacted flows below the confidence threshold."""

from __future__ import annotations

import redis
from fakes.openai_server import FakeOpenAI, RecordedRequest, Reply
from workflow_support import Harness, make_llm

from perceo.models import ChangeAnalysis, Flow
from perceo.models.change import ChangedFile, ImpactedFlow, Reason
from perceo.workflows.model import TERMINAL_STATUSES, WorkflowView


def _analysis(harness: Harness, project_id: str) -> ChangeAnalysis:
    flows = harness.graph.upsert_flows(
        project_id,
        [
            Flow(project_id=project_id, name="Checkout", description="Pay for the cart."),
            Flow(project_id=project_id, name="Sign in", description="Reach the dashboard."),
            Flow(project_id=project_id, name="Browse", description="Look at products."),
        ],
    )
    by_name = {f.name: f for f in flows}
    impacted = [
        ImpactedFlow(
            id=by_name["Checkout"].id, name="Checkout", risk_score=0.8, confidence=0.95, affected_pages=["/checkout"]
        ),
        ImpactedFlow(
            id=by_name["Sign in"].id,
            name="Sign in",
            risk_score=0.4,
            confidence=0.5,
            affected_pages=["/login"],
            reasons=[Reason(changed_file="lib/format.ts", chain=["lib/format.ts", "app/login/page.tsx"])],
        ),
        ImpactedFlow(
            id=by_name["Browse"].id, name="Browse", risk_score=0.2, confidence=0.3, affected_pages=["/products"]
        ),
    ]
    analysis = ChangeAnalysis(
        project_id=project_id,
        base_sha="a" * 40,
        head_sha="b" * 40,
        files=[ChangedFile(path="lib/format.ts", status="modified", additions=3, deletions=1)],
        flows=impacted,
    )
    return harness.graph.record_analysis(analysis)


def _wait(harness: Harness, project_id: str, workflow_id: str) -> WorkflowView:
    import time

    deadline = time.monotonic() + 60
    while (view := harness.service.status(project_id, workflow_id)).status not in TERMINAL_STATUSES:
        assert time.monotonic() < deadline, view
        time.sleep(0.05)
    return view


def test_the_review_asks_the_llm_about_flows_below_the_threshold_only(
    harness: Harness, fake_openai: FakeOpenAI, redis_client: redis.Redis
) -> None:
    def review(request: RecordedRequest) -> Reply:
        asked = str(request.messages[-1]["content"])
        affected = '"name": "Sign in"' in asked
        return Reply.json(
            {
                "affected": affected,
                "confidence": 0.9 if affected else 0.1,
                "rationale": "lib/format.ts renders the login error" if affected else "unrelated",
            }
        )

    fake_openai.respond_with(review)
    harness.step_runtime.llm_factory = lambda: make_llm(fake_openai, redis_client)
    project_id, _ = harness.new_project()
    analysis = _analysis(harness, project_id)

    started = harness.service.start_analyze_review(project_id, analysis.id, llm_threshold=0.7)
    view = _wait(harness, project_id, started.workflow_id)

    assert view.status == "SUCCEEDED", view
    assert view.result is not None
    reviewed = {r["name"]: r for r in view.result["reviewed"]}
    assert set(reviewed) == {"Sign in", "Browse"}  # Checkout (0.95) is above the threshold
    assert (reviewed["Sign in"]["confidenceBefore"], reviewed["Sign in"]["confidenceAfter"]) == (0.5, 0.9)
    assert reviewed["Browse"]["affected"] is False and view.result["stillAffected"] == 1
    assert [r.schema_name for r in fake_openai.requests] == ["flow_review", "flow_review"]
    assert any("lib/format.ts -> app/login/page.tsx" in str(r.messages[-1]["content"]) for r in fake_openai.requests)


def test_a_review_without_an_llm_fails_with_a_clear_error(harness: Harness) -> None:
    project_id, _ = harness.new_project()
    analysis = _analysis(harness, project_id)

    view = _wait(harness, project_id, harness.service.start_analyze_review(project_id, analysis.id, 0.7).workflow_id)

    assert view.status == "FAILED"
    assert view.error is not None and view.error.type == "ValidationFailed"
    assert "needs an LLM" in view.error.message


def test_a_review_of_an_unknown_analysis_fails_as_not_found(
    harness: Harness, fake_openai: FakeOpenAI, redis_client: redis.Redis
) -> None:
    harness.step_runtime.llm_factory = lambda: make_llm(fake_openai, redis_client)
    project_id, _ = harness.new_project()

    view = _wait(harness, project_id, harness.service.start_analyze_review(project_id, "nope", 0.7).workflow_id)

    assert view.status == "FAILED"
    assert view.error is not None and view.error.type == "AnalysisNotFoundError"
