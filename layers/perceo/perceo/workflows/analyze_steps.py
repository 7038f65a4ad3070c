"""The AnalyzeChanges workflow: the slow path of change analysis.

`POST /observer/analyze` answers at once with the deterministic analysis (import chains, routes, risk). When the
project asks for it (`useLlm`), it also starts this workflow, which asks the LLM about each impacted flow whose
confidence is below `analysis.llmThreshold`: given the changed files, the reason chains and the flow's pages and
steps, is the flow really affected, and how sure is it? The reviewed confidences are the workflow's result,
read through `GET /workflows/{id}`; the stored analysis is not rewritten.

Tasks: `Select flows to review` → Map(`Review flow`) → `Store the review` → `Clean up`; failures are recorded
like the bootstrap's (`failures.record_failure`).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from perceo.errors import ValidationFailed
from perceo.llm.model import LLMRequest
from perceo.models import ChangeAnalysis, FlowView
from perceo.models.change import ImpactedFlow
from perceo.models.common import Model, UnitFloat
from perceo.workflows.bundle import get_json, put_json, review_request_key, workflow_prefix
from perceo.workflows.errors import WorkflowStateMissingError
from perceo.workflows.failures import StrictLLM
from perceo.workflows.model import AnalyzeReviewRequest, StepInput, flows_to_review
from perceo.workflows.runtime import StepRuntime

SCHEMA_NAME = "flow_review"
PROGRESS_SELECT = 10
PROGRESS_REVIEW_BASE = 20
PROGRESS_REVIEW_SPAN = 70
PROGRESS_STORE = 95
#: Caps on what one review prompt carries.
MAX_FILES_IN_PROMPT = 60
MAX_REASONS_IN_PROMPT = 20
MAX_STEPS_IN_PROMPT = 25

SYSTEM_PROMPT = (
    "You review the impact of a code change on one user flow of a web application. You get the changed files "
    "(with line counts), the import chains that connect them to the flow's pages, and the flow's pages and steps. "
    "Decide whether the change can plausibly alter what a user sees or does in this flow. Answer with "
    "`affected` (true/false), `confidence` (0 to 1: how sure you are that the flow is affected) and a one or two "
    "sentence `rationale` naming the file and the step concerned. Shared utilities, styling and copy changes can "
    "matter; type-only changes, tests and comments rarely do."
)


class FlowReview(Model):
    affected: bool
    confidence: UnitFloat
    rationale: str = Field(max_length=1000)


class ReviewedFlow(Model):
    flow_id: str
    name: str
    confidence_before: UnitFloat
    confidence_after: UnitFloat
    affected: bool
    rationale: str


class ReviewPlan(Model):
    analysis_id: str
    llm_threshold: float
    candidates: list[ImpactedFlow]


def _plan_key(step: StepInput) -> str:
    return workflow_prefix(step.project_id, step.workflow_id) + "review-plan.json"


def _review_key(step: StepInput, index: int) -> str:
    return workflow_prefix(step.project_id, step.workflow_id) + f"reviews/{index}.json"


def _analysis(runtime: StepRuntime, project_id: str, analysis_id: str) -> ChangeAnalysis:
    from perceo.errors import AnalysisNotFoundError

    analysis = runtime.graph.get_analysis(project_id, analysis_id)
    if analysis is None:
        raise AnalysisNotFoundError(f"analysis {analysis_id} not found in this project")
    return analysis


def select(step: StepInput, runtime: StepRuntime) -> dict[str, Any]:
    """The analysis's impacted flows whose confidence is below the threshold: the map's items."""
    request = AnalyzeReviewRequest.model_validate(
        get_json(runtime.bundles, review_request_key(step.project_id, step.workflow_id))
    )
    if runtime.llm is None:
        raise ValidationFailed("the LLM review of an analysis needs an LLM, and none is configured for this API")
    analysis = _analysis(runtime, step.project_id, request.analysis_id)
    candidates = flows_to_review(analysis, request.llm_threshold)
    plan = ReviewPlan(analysis_id=analysis.id, llm_threshold=request.llm_threshold, candidates=candidates)
    put_json(runtime.bundles, _plan_key(step), plan.model_dump(mode="json"))
    runtime.progress.plan_items(step.project_id, step.workflow_id, len(candidates))
    runtime.progress.report(
        step.project_id,
        step.workflow_id,
        stage="select",
        percentage=PROGRESS_SELECT,
        message=f"{len(candidates)} of {len(analysis.flows)} flows below confidence {request.llm_threshold:g}",
        counts={"flows": len(analysis.flows), "toReview": len(candidates)},
    )
    return {"items": [{"index": i} for i in range(len(candidates))], "count": len(candidates)}


def review_prompt(analysis: ChangeAnalysis, impacted: ImpactedFlow, flow: FlowView | None) -> str:
    files = [
        f"- {f.status} {f.path}"
        + (f" (from {f.old_path})" if f.old_path else "")
        + (f" +{f.additions}/-{f.deletions}" if f.additions is not None and f.deletions is not None else "")
        for f in analysis.files[:MAX_FILES_IN_PROMPT]
    ]
    if len(analysis.files) > MAX_FILES_IN_PROMPT:
        files.append(f"- … and {len(analysis.files) - MAX_FILES_IN_PROMPT} more files")
    reasons = [
        f"- {r.kind}: {' -> '.join([r.changed_file, *r.chain])}" + (f" (page {r.route})" if r.route else "")
        for r in impacted.reasons[:MAX_REASONS_IN_PROMPT]
    ]
    steps = [f"{s.order}. {s.name}" for s in (flow.steps if flow else [])[:MAX_STEPS_IN_PROMPT]]
    document = {
        "flow": {
            "name": impacted.name,
            "description": flow.description if flow else "",
            "pages": flow.pages if flow else impacted.affected_pages,
            "affectedPages": impacted.affected_pages,
            "priority": impacted.priority,
            "currentConfidence": impacted.confidence,
        },
    }
    return "\n".join(
        [
            f"Change {analysis.base_sha[:12]}..{analysis.head_sha[:12]}: {len(analysis.files)} files changed.",
            "Changed files:",
            *files,
            "",
            "Why the flow was flagged (changed file -> ... -> page entry file):",
            *(reasons or ["- (no chain recorded)"]),
            "",
            "The flow:",
            json.dumps(document, indent=2),
            "",
            "Its steps:",
            *(steps or ["(no steps recorded)"]),
        ]
    )


def review_flow(step: StepInput, runtime: StepRuntime) -> dict[str, Any]:
    """One map item: the LLM's review of one flow."""
    if step.index is None:
        raise ValueError("review_flow needs the map item's index")
    plan = ReviewPlan.model_validate(get_json(runtime.bundles, _plan_key(step)))
    impacted = plan.candidates[step.index]
    analysis = _analysis(runtime, step.project_id, plan.analysis_id)
    flow = runtime.graph.get_flow(step.project_id, impacted.id)
    llm = runtime.llm
    if llm is None:
        raise ValidationFailed("the LLM review of an analysis needs an LLM, and none is configured for this API")
    strict = StrictLLM(llm)
    request = LLMRequest(
        system_prompt=SYSTEM_PROMPT,
        user_prompt=review_prompt(analysis, impacted, flow),
        schema_name=SCHEMA_NAME,
        project_id=step.project_id,
        unit=f"review:{impacted.name}",
    )
    try:
        review: FlowReview = strict.complete(request, FlowReview)
    except Exception:
        strict.raise_if_failed()
        raise
    reviewed = ReviewedFlow(
        flow_id=impacted.id,
        name=impacted.name,
        confidence_before=impacted.confidence,
        confidence_after=review.confidence,
        affected=review.affected,
        rationale=review.rationale,
    )
    put_json(runtime.bundles, _review_key(step, step.index), reviewed.model_dump(mode="json"))
    runtime.progress.item_done(
        step.project_id,
        step.workflow_id,
        step.index,
        stage="review",
        base=PROGRESS_REVIEW_BASE,
        span=PROGRESS_REVIEW_SPAN,
    )
    return {"index": step.index, "affected": review.affected}


def store_review(step: StepInput, runtime: StepRuntime) -> dict[str, Any]:
    """Gather the reviews into the workflow's result."""
    plan = ReviewPlan.model_validate(get_json(runtime.bundles, _plan_key(step)))
    reviewed: list[ReviewedFlow] = []
    for index in range(len(plan.candidates)):
        data = runtime.bundles.get_bytes(_review_key(step, index))
        if data is None:
            raise WorkflowStateMissingError(f"the review of '{plan.candidates[index].name}' is missing")
        reviewed.append(ReviewedFlow.model_validate_json(data))
    result = {
        "analysisId": plan.analysis_id,
        "llmThreshold": plan.llm_threshold,
        "reviewed": [r.model_dump(mode="json") for r in reviewed],
        "stillAffected": sum(1 for r in reviewed if r.affected),
    }
    runtime.progress.set_result(step.project_id, step.workflow_id, result)
    runtime.progress.report(
        step.project_id,
        step.workflow_id,
        stage="store",
        percentage=PROGRESS_STORE,
        message=f"reviewed {len(reviewed)} flows",
        counts={"reviewed": len(reviewed)},
    )
    return {"reviewed": len(reviewed)}


def cleanup(step: StepInput, runtime: StepRuntime, *, succeeded: bool) -> dict[str, Any]:
    deleted = runtime.bundles.delete_prefix(workflow_prefix(step.project_id, step.workflow_id))
    if succeeded:
        runtime.progress.report(
            step.project_id, step.workflow_id, stage="complete", percentage=100, message="review complete"
        )
    return {"projectId": step.project_id, "workflowId": step.workflow_id, "bundleObjectsDeleted": deleted}
