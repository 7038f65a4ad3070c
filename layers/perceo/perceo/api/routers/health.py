"""`GET /health` (no auth): version, stage and whether the graph and Redis answer; `GET /openapi.json`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from perceo import __version__
from perceo.api.errors import JSON, RETRY_AFTER_UNAVAILABLE_S
from perceo.api.responses import GATEWAY, responses
from perceo.models.api import DependencyCheck, HealthChecks, HealthResponse
from perceo.models.common import now_ms
from perceo.wiring import services

if TYPE_CHECKING:
    from perceo.models.jobs import JobRecord
    from perceo.wiring import Services

router = Router()


@router.get(
    "/health",
    summary="Service health",
    description=(
        "200 when the graph and Redis answer, 503 (same body, with Retry-After) when one does not. Each dependency "
        "shows the check's latency, its error, and the last error this server saw (kind and time); `jobs` the last "
        "run of each scheduled job (started, finished, outcome, counts, failed projects). No API key needed."
    ),
    tags=["health"],
    responses={
        200: {"description": "The graph and Redis answer"},
        503: {"description": "A backing store does not answer", "content": {JSON: {"model": HealthResponse}}},
        **{status: answer for status, answer in responses(*GATEWAY).items() if status != 200},
    },
)
def get_health() -> Response[HealthResponse]:
    wired = services()
    checks = HealthChecks(
        graph=_check("graph", lambda: wired.graph.ping()), redis=_check("redis", lambda: bool(wired.redis.ping()))
    )
    healthy = checks.graph.ok and checks.redis.ok
    body = HealthResponse(
        status="ok" if healthy else "degraded",
        version=__version__,
        stage=wired.settings.stage,
        checks=checks,
        jobs=_jobs(wired) if checks.redis.ok else [],
    )
    headers = {} if healthy else {"Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)}
    return Response(status_code=200 if healthy else 503, content_type=JSON, body=body, headers=headers)


def _jobs(wired: Services) -> list[JobRecord]:
    """Each scheduled job's last run; none when they cannot be read (the health answer never fails on them)."""
    from perceo.models.jobs import JOB_NAMES

    try:
        log = wired.job_log
        return [record for job in JOB_NAMES if (record := log.last(job)) is not None]
    except Exception as failure:  # a record that no longer parses, Redis going away between the two calls
        logging.getLogger(__name__).warning("could not read the job records: %s", type(failure).__name__)
        return []


#: The last failure of each dependency in this process: (kind of error, epoch ms).
_last_errors: dict[str, tuple[str, int]] = {}


def _check(name: str, probe: Callable[[], bool]) -> DependencyCheck:
    """Whether a store answers, and how fast; a failure is reported by its kind, never its text."""
    started = time.perf_counter()
    error: str | None = None
    try:
        ok = bool(probe())
    except Exception as failure:  # a driver's own error types (redis, neo4j) too, and a store that cannot be built
        ok, error = False, type(failure).__name__
    latency = round((time.perf_counter() - started) * 1000, 2)
    if not ok:
        error = error or "no answer"
        _last_errors[name] = (error, now_ms())
    last = _last_errors.get(name)
    return DependencyCheck(
        ok=ok,
        latency_ms=latency,
        error=error,
        last_error=last[0] if last else None,
        last_error_at=last[1] if last else None,
    )


@router.get("/openapi.json", include_in_schema=False)
def get_openapi_document() -> Response[str]:
    from perceo.api.openapi import openapi_json  # the document imports every router: only when asked for

    return Response(status_code=200, content_type=JSON, body=openapi_json())
