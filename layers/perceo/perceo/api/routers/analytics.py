"""Production analytics: our own event ingest, provider connections, syncs, and each flow's production figures.

The project is always the calling key's. `POST /analytics/events` takes an `ingest`-scoped key (what the browser
snippet carries: it can write events and read nothing); reading needs insights:read or flows:read; a sync needs
flows:write or workflows:start; connecting a provider needs project:admin.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import Field

from perceo.analytics.model import (
    AnalyticsStatus,
    ConnectionCheck,
    CorrelateRequest,
    CorrelationReport,
    FlowTraffic,
    GapsReport,
    IngestResult,
    ProviderName,
    SyncRequest,
    SyncRun,
)
from perceo.api.request import authorize, current_request
from perceo.api.responses import AUTHENTICATED, responses
from perceo.api.security import requires
from perceo.auth.model import Principal
from perceo.errors import AuthenticationError, PermissionDeniedError, RateLimitedError
from perceo.models import FlowMetrics
from perceo.models.common import Model
from perceo.wiring import services

router = Router()

#: Routes whose JSON body may come as `text/plain` (what sendBeacon and a no-cors fetch can send without a CORS
#: preflight); every other route takes `application/json` only. The Lambda hands this to `serve`.
TEXT_ROUTES = frozenset({("POST", "/analytics/beacon")})

#: The most days a report covers (the engine's limit).
MAX_REPORT_DAYS = 92

DaysParam = Annotated[int, Query(ge=1, le=MAX_REPORT_DAYS, description="How many UTC days back, today included")]


class IngestBody(Model):
    """`{events: [...], sentAt?}`: each event is checked on its own (see the 202 answer), so only the batch's shape
    is checked here. Each event: eventId, anonymousId and/or userId, sessionId?, name, url or path, timestamp (epoch
    ms or ISO-8601 with a zone), properties (at most 100 keys)."""

    events: list[Any]
    sent_at: int | None = None


class ConnectRequest(Model):
    provider: ProviderName
    #: The provider's credentials (kept in the project's secret, never echoed).
    credentials: dict[str, Any] = Field(min_length=1)


class FlowMetricsList(Model):
    metrics: list[FlowMetrics]


class TrafficReport(Model):
    days: int
    flows: list[FlowTraffic]


@router.post(
    "/analytics/events",
    status_code=202,
    summary="Ingest a batch of production events (scope ingest)",
    description=(
        "At most 1,000 events and 1 MB per batch (413 otherwise, nothing stored). Idempotent by eventId: an id "
        "already stored counts as a duplicate. Valid events are stored even when others are rejected; each rejected "
        "event is listed with its index and reason (invalid, timestamp_in_future, timestamp_too_old). Events up to "
        "5 minutes in the future are clamped to now; older than 30 days or further in the future they are rejected."
    ),
    tags=["analytics"],
    security=requires("ingest"),
    responses=responses(*AUTHENTICATED, ok=202, ok_description="Accepted"),
)
def ingest_events(body: IngestBody) -> IngestResult:
    principal = authorize("ingest")
    # the batch as sent: the engine measures and parses it (per-event validation and limits)
    raw = router.current_event.decoded_body or ""
    result: IngestResult = services().analytics.ingest(principal.project_id, raw)
    return result


@router.post(
    "/analytics/beacon",
    status_code=202,
    summary="Ingest a batch from a browser: the key in ?writeKey= (scope ingest), JSON as text/plain (no preflight)",
    description=(
        "What the browser snippet sends with navigator.sendBeacon or fetch(keepalive): the same batch and answer as "
        "POST /analytics/events, as text/plain (or application/json) so a page of any origin can send it without a "
        "CORS preflight; any other Content-Type is a 415. "
        "Beacons cannot set headers, so this route takes the key from the writeKey query parameter (not from "
        "Authorization) and checks it itself: use a key with only the ingest scope, which can read nothing. The "
        "query string is not in the access log."
    ),
    tags=["analytics"],
    responses=responses(400, 401, 403, 413, 415, 422, 429, 503, ok=202, ok_description="Accepted"),
)
def ingest_beacon(
    write_key: Annotated[
        str, Query(alias="writeKey", min_length=8, max_length=256, description="An API key with the ingest scope")
    ],
) -> IngestResult:
    principal = _write_key_principal(write_key)
    raw = router.current_event.decoded_body or ""
    result: IngestResult = services().analytics.ingest(principal.project_id, raw)
    return result


def _write_key_principal(raw_key: str) -> Principal:
    """The key's principal, as the authorizer and the per-key limit would give it: 401 for a key that is not valid,
    403 without the ingest scope, 429 when its bucket is empty."""
    scope = current_request()
    try:
        principal = services().keys.authenticate(raw_key, ip=scope.source_ip, user_agent=scope.user_agent)
    except AuthenticationError:
        raise AuthenticationError("invalid writeKey: send an API key with the ingest scope") from None
    if not principal.has_scope("ingest"):
        raise PermissionDeniedError(
            f"API key {principal.prefix} lacks the scope 'ingest'",
            details={"requiredScopes": ["ingest"], "keyPrefix": principal.prefix},
        )
    decision = services().limiter.check(principal.key_id)
    if not decision.allowed:
        raise RateLimitedError(
            f"too many requests for API key {principal.prefix}; retry after {decision.retry_after_header} s",
            retry_after_s=decision.retry_after_s,
        )
    return principal


@router.post(
    "/analytics/sync",
    summary="Sync the connected providers and update each flow's daily metrics (scope flows:write)",
    description=(
        "Pulls each connected provider (or the one named) from its cursor, then correlates the days touched and "
        "today's ingested events into flow metrics. Runs within the request (bounded by the API's 29 s); the "
        "scheduled AnalyticsSync workflow does the same for large windows."
    ),
    tags=["analytics"],
    security=requires("flows:write", "workflows:start"),
    responses=responses(*AUTHENTICATED, 404),
)
def sync(body: SyncRequest) -> SyncRun:
    principal = authorize("flows:write", "workflows:start")
    run: SyncRun = services().analytics.run_sync(
        principal.project_id, body.provider, since=body.since, until=body.until
    )
    return run


@router.post(
    "/analytics/correlate",
    summary="Correlate stored events again: sessions, alignment to flows, daily metrics (scope flows:write)",
    description=(
        "Re-runs sessions -> alignment -> daily FlowMetrics over the UTC days since..until (default: today) from the "
        "events already stored; no provider is asked. Publishes analytics.correlation.complete. At most 92 days; runs "
        "within the request (bounded by the API's 29 s)."
    ),
    tags=["analytics"],
    security=requires("flows:write", "workflows:start"),
    responses=responses(*AUTHENTICATED, 404),
)
def correlate(body: CorrelateRequest) -> CorrelationReport:
    from perceo.analytics.service import window_days

    principal = authorize("flows:write", "workflows:start")
    analytics = services().analytics
    days = window_days(analytics.clock(), body.since, body.until)
    report: CorrelationReport = analytics.correlate(principal.project_id, days)
    return report


@router.get(
    "/analytics/gaps",
    summary="Flows users walk that no test covers, ranked by users/day x (1 - coverage) (scope insights:read)",
    description="Over the last `days` UTC days of flow metrics; at most `limit` flows, the largest gap first.",
    tags=["analytics"],
    security=requires("insights:read", "flows:read"),
    responses=responses(*AUTHENTICATED, 404),
)
def gaps(
    days: DaysParam = 7,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many flows")] = 20,
) -> GapsReport:
    from perceo.analytics.service import last_days

    principal = authorize("insights:read", "flows:read")
    analytics = services().analytics
    report: GapsReport = analytics.gaps(principal.project_id, last_days(analytics.clock(), days), limit=limit)
    return report


@router.post(
    "/analytics/connect",
    summary="Connect an analytics provider: check the credentials with it, then keep them (scope project:admin)",
    tags=["analytics"],
    security=requires("project:admin"),
    responses=responses(*AUTHENTICATED),
)
def connect(body: ConnectRequest) -> ConnectionCheck:
    principal = authorize("project:admin")
    check: ConnectionCheck = services().analytics.connect(principal.project_id, body.provider, body.credentials)
    return check


@router.get(
    "/analytics/metrics",
    summary="Providers, and each flow's production figures over the last days (scope insights:read or flows:read)",
    tags=["analytics"],
    security=requires("insights:read", "flows:read"),
    responses=responses(*AUTHENTICATED, 404),
)
def metrics(
    days: DaysParam = 7,
    flow: Annotated[str | None, Query(max_length=200, description="One flow (id or name)")] = None,
) -> AnalyticsStatus:
    from perceo.analytics.service import last_days

    principal = authorize("insights:read", "flows:read")
    analytics = services().analytics
    status: AnalyticsStatus = analytics.status(principal.project_id, last_days(analytics.clock(), days), flow=flow)
    return status


@router.get(
    "/analytics/traffic",
    summary="Users and sessions per day and success rate of each flow with metrics (scope ci:analyze)",
    tags=["analytics"],
    security=requires("ci:analyze", "insights:read", "flows:read"),
    responses=responses(*AUTHENTICATED),
)
def traffic(days: DaysParam = 7) -> TrafficReport:
    from perceo.analytics.service import last_days

    principal = authorize("ci:analyze", "insights:read", "flows:read")
    analytics = services().analytics
    flows = analytics.traffic(principal.project_id, last_days(analytics.clock(), days))
    return TrafficReport(days=days, flows=sorted(flows.values(), key=lambda t: t.flow_id))


DayParam = Annotated[str, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="A UTC day, YYYY-MM-DD")]


@router.get(
    "/analytics/flow-metrics",
    summary="Every flow's daily production metrics from since to until (scope insights:read or flows:read)",
    description="One FlowMetrics per flow and UTC day, by day then flow id; at most 92 days at a time.",
    tags=["analytics"],
    security=requires("insights:read", "flows:read"),
    responses=responses(*AUTHENTICATED, 404),
)
def flow_metrics(since: DayParam, until: DayParam) -> FlowMetricsList:
    principal = authorize("insights:read", "flows:read")
    return FlowMetricsList(metrics=services().analytics.flow_metrics(principal.project_id, since, until))
