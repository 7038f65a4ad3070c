"""Change analysis: the CI client sends its change set and affected routes; the server maps them to flows."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from perceo.api.request import authorize
from perceo.api.responses import AUTHENTICATED, responses
from perceo.api.security import requires
from perceo.models import ChangeAnalysis
from perceo.models.api import ID_PATTERN, AnalysisList, AnalyzeRequest, AnalyzeResponse
from perceo.wiring import services

router = Router()

AnalysisId = Annotated[str, Path(pattern=ID_PATTERN, description="The analysis id")]


@router.post(
    "/observer/analyze",
    summary="Analyze a change: affected flows, risk, stored and published (scope ci:analyze)",
    description=(
        "Send the change set and the routes the client found affected in its checkout. The answer is the fast, "
        "deterministic analysis. With useLlm, the slow path starts too: a workflow in which the LLM reviews each "
        "impacted flow whose confidence is below llmThreshold; `review` names it (follow it with "
        "GET /workflows/{workflowId}). `review` is null when useLlm is off or no flow is below the threshold; a "
        "review that could not start has status FAILED and an error, and the analysis still stands. "
        "POST /analyses/{id}/review starts a review again."
    ),
    tags=["observer"],
    security=requires("ci:analyze"),
    responses=responses(*AUTHENTICATED, 404),
)
def analyze_change(body: AnalyzeRequest) -> AnalyzeResponse:
    principal = authorize("ci:analyze")
    change = body.change_set.to_change_set()
    analysis = services().projects.analyze(principal.project_id, change, body.affected_routes)
    review = None
    if body.use_llm:
        from perceo.workflows.service import start_analysis_review  # boto3 and the workflow code load only here

        review = start_analysis_review(analysis, body.llm_threshold, lambda: services().workflows)
    return AnalyzeResponse.of(analysis, review)


@router.get(
    "/analyses",
    summary="Recent change analyses, newest first",
    tags=["observer"],
    security=requires("flows:read", "ci:analyze"),
    responses=responses(*AUTHENTICATED),
)
def list_analyses(limit: Annotated[int, Query(ge=1, le=100, description="How many")] = 20) -> AnalysisList:
    principal = authorize("flows:read", "ci:analyze")
    return AnalysisList(analyses=services().projects.list_analyses(principal.project_id, limit=limit))


@router.get(
    "/analyses/<id>",
    summary="One change analysis",
    tags=["observer"],
    security=requires("flows:read", "ci:analyze"),
    responses=responses(*AUTHENTICATED, 404),
)
def get_analysis(id: AnalysisId) -> ChangeAnalysis:
    principal = authorize("flows:read", "ci:analyze")
    return services().projects.get_analysis(principal.project_id, id)
