"""Workflows: start the cloud bootstrap of the caller's project or the LLM review of one of its change analyses
(the slow path of `POST /observer/analyze`), and follow any workflow of it."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from perceo.api.request import authorize
from perceo.api.responses import AUTHENTICATED, responses
from perceo.api.security import requires
from perceo.models.api import ID_PATTERN
from perceo.wiring import services
from perceo.workflows.model import (
    WORKFLOW_ID_PATTERN,
    BootstrapRequest,
    ReviewRequest,
    WorkflowStarted,
    WorkflowView,
)

router = Router()

WorkflowIdParam = Annotated[str, Path(pattern=WORKFLOW_ID_PATTERN, description="The workflow id (wf-…)")]
AnalysisIdParam = Annotated[str, Path(pattern=ID_PATTERN, description="The analysis id")]


@router.post(
    "/observer/bootstrap",
    status_code=202,
    summary="Start the cloud bootstrap of the caller's project from its git repository (scope workflows:start)",
    description=(
        "Clones the repository (https:// or ssh:// on an allowed host; private repositories use the project's "
        "git secret, never credentials in the request), discovers routes and derives flows, personas and steps. "
        "Answers at once with the workflow id; follow it with GET /workflows/{id}. One bootstrap per project "
        "runs at a time (409 otherwise)."
    ),
    tags=["workflows"],
    security=requires("workflows:start"),
    responses=responses(*AUTHENTICATED, 404, 409, ok=202, ok_description="Started"),
)
def start_bootstrap(body: BootstrapRequest) -> WorkflowStarted:
    principal = authorize("workflows:start")
    services().projects.get_project(principal.project_id)
    started: WorkflowStarted = services().workflows.start_bootstrap(principal.project_id, principal.prefix, body)
    return started


@router.post(
    "/analyses/<id>/review",
    status_code=202,
    summary="Start the LLM review of an analysis's low-confidence flows (scope ci:analyze or workflows:start)",
    description=(
        "The slow path of change analysis: the LLM reviews each impacted flow whose confidence is below "
        "llmThreshold (analysis.llmThreshold in the config) and the workflow's result holds the reviewed "
        "confidences. Answers at once with the workflow id; follow it with GET /workflows/{id}."
    ),
    tags=["workflows"],
    security=requires("ci:analyze", "workflows:start"),
    responses=responses(*AUTHENTICATED, 404, ok=202, ok_description="Started"),
)
def start_analysis_review(id: AnalysisIdParam, body: ReviewRequest) -> WorkflowStarted:
    principal = authorize("ci:analyze", "workflows:start")
    services().projects.get_analysis(principal.project_id, id)
    started: WorkflowStarted = services().workflows.start_analyze_review(principal.project_id, id, body.llm_threshold)
    return started


@router.get(
    "/workflows/<id>",
    summary="A workflow of the caller's project: status, progress, result, error",
    description=(
        "status is RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED; progress has the stage, percentage, message "
        "and counts; error names the failure's type and message. A workflow of another project is not found."
    ),
    tags=["workflows"],
    security=requires("workflows:start", "flows:read", "ci:analyze"),
    responses=responses(*AUTHENTICATED, 404),
)
def get_workflow(id: WorkflowIdParam) -> WorkflowView:
    principal = authorize("workflows:start", "flows:read", "ci:analyze")
    view: WorkflowView = services().workflows.status(principal.project_id, id)
    return view
