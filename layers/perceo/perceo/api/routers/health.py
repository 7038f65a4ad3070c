"""`GET /health` (no auth): version, stage and whether the graph and Redis answer; `GET /openapi.json`."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from perceo import __version__
from perceo.api.deps import dependencies
from perceo.api.errors import JSON
from perceo.models.api import HealthChecks, HealthResponse

router = Router()


@router.get(
    "/health",
    summary="Service health",
    description="200 when the graph and Redis answer, 503 (same body) when one does not. No API key needed.",
    tags=["health"],
    responses={
        200: {"description": "The graph and Redis answer"},
        503: {"description": "A backing store does not answer", "content": {JSON: {"model": HealthResponse}}},
    },
)
def get_health() -> Response[HealthResponse]:
    deps = dependencies()
    checks = HealthChecks(graph=deps.check_graph(), redis=deps.check_redis())
    healthy = checks.graph.ok and checks.redis.ok
    body = HealthResponse(
        status="ok" if healthy else "degraded", version=__version__, stage=deps.settings.stage, checks=checks
    )
    return Response(status_code=200 if healthy else 503, content_type=JSON, body=body)


@router.get("/openapi.json", include_in_schema=False)
def get_openapi_document() -> Response[str]:
    from perceo.api.openapi import openapi_json  # the document imports every router: only when asked for

    return Response(status_code=200, content_type=JSON, body=openapi_json())
