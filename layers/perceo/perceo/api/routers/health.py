"""`GET /health` (no auth): version, stage and whether the graph and Redis answer; `GET /openapi.json`."""

from __future__ import annotations

import time
from collections.abc import Callable

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from perceo import __version__
from perceo.api.errors import JSON
from perceo.models.api import DependencyCheck, HealthChecks, HealthResponse
from perceo.wiring import services

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
    wired = services()
    checks = HealthChecks(graph=_check(lambda: wired.graph.ping()), redis=_check(lambda: bool(wired.redis.ping())))
    healthy = checks.graph.ok and checks.redis.ok
    body = HealthResponse(
        status="ok" if healthy else "degraded", version=__version__, stage=wired.settings.stage, checks=checks
    )
    return Response(status_code=200 if healthy else 503, content_type=JSON, body=body)


def _check(probe: Callable[[], bool]) -> DependencyCheck:
    """Whether a store answers, and how fast; a failure is reported by its kind, never its text."""
    started = time.perf_counter()
    try:
        ok = probe()
    except Exception as error:  # a driver's own error types (redis, neo4j) too, and a store that cannot be built
        return DependencyCheck(ok=False, error=type(error).__name__)
    latency = round((time.perf_counter() - started) * 1000, 2)
    return DependencyCheck(ok=bool(ok), latency_ms=latency, error=None if ok else "no answer")


@router.get("/openapi.json", include_in_schema=False)
def get_openapi_document() -> Response[str]:
    from perceo.api.openapi import openapi_json  # the document imports every router: only when asked for

    return Response(status_code=200, content_type=JSON, body=openapi_json())
