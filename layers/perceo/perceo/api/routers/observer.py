"""Change analysis: the CI client sends its change set and affected routes; the server maps them to flows."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from perceo.api.deps import dependencies
from perceo.api.request import authorize
from perceo.api.responses import AUTHENTICATED, responses
from perceo.api.security import API_KEY
from perceo.models import ChangeAnalysis
from perceo.models.api import ID_PATTERN, AnalysisList, AnalyzeRequest

router = Router()

AnalysisId = Annotated[str, Path(pattern=ID_PATTERN, description="The analysis id")]


@router.post(
    "/observer/analyze",
    summary="Analyze a change: affected flows, risk, stored and published (scope ci:analyze)",
    description="Send the change set and the routes the client found affected in its checkout.",
    tags=["observer"],
    security=API_KEY,
    responses=responses(*AUTHENTICATED, 404),
)
def analyze_change(body: AnalyzeRequest) -> ChangeAnalysis:
    principal = authorize("ci:analyze")
    return dependencies().service.analyze(principal.project_id, body.change_set.to_change_set(), body.affected_routes)


@router.get(
    "/analyses",
    summary="Recent change analyses, newest first",
    tags=["observer"],
    security=API_KEY,
    responses=responses(*AUTHENTICATED),
)
def list_analyses(limit: Annotated[int, Query(ge=1, le=100, description="How many")] = 20) -> AnalysisList:
    principal = authorize("flows:read", "ci:analyze")
    return AnalysisList(analyses=dependencies().service.list_analyses(principal.project_id, limit=limit))


@router.get(
    "/analyses/<id>",
    summary="One change analysis",
    tags=["observer"],
    security=API_KEY,
    responses=responses(*AUTHENTICATED, 404),
)
def get_analysis(id: AnalysisId) -> ChangeAnalysis:
    principal = authorize("flows:read", "ci:analyze")
    return dependencies().service.get_analysis(principal.project_id, id)
