"""The analyzer: run it, list and triage the caller's project's insights, and read its coverage.

Reading and running need insights:read (a run only derives insights from the project's own data, and running it
again changes nothing but their evidence); acknowledging or resolving an insight needs flows:write. Alert rules
are read with insights:read; adding, removing or testing one (its channel's secrets) needs project:admin, as
connecting an analytics provider does.
"""

from __future__ import annotations

from typing import Annotated, get_args

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from perceo.analyzer.alerts import (
    DELIVERY_LOG_SIZE,
    AddAlertRequest,
    AlertRuleList,
    AlertRuleView,
    Delivery,
    DeliveryList,
)
from perceo.analyzer.insights import AnalyzerRun, CoverageReport, InsightList
from perceo.api.request import authorize
from perceo.api.responses import AUTHENTICATED, responses
from perceo.api.security import requires
from perceo.errors import ValidationFailed
from perceo.models import Insight
from perceo.models.api import ID_PATTERN
from perceo.models.common import Model
from perceo.models.vocab import InsightStatus, InsightType, Severity
from perceo.wiring import services

router = Router()


class RemovedAlert(Model):
    removed: str


MAX_INSIGHTS = 1000
InsightRef = Annotated[str, Path(pattern=ID_PATTERN, description="The insight's id, or a unique prefix (6+)")]


def _values(raw: str | None, allowed: tuple[str, ...], name: str) -> list[str]:
    values = [v.strip() for v in (raw or "").split(",") if v.strip()]
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValidationFailed(
            f"unknown {name} {', '.join(repr(u) for u in unknown)}: use {', '.join(allowed)}", details={"field": name}
        )
    return values


@router.post(
    "/analyzer/run",
    summary="Run the analyzer on the caller's project now (scope insights:read)",
    description=(
        "Detects anomalies in every flow's daily series and runs every insight rule; stores one insight per "
        "subject and day (running again updates them, never duplicates). Answers what it found."
    ),
    tags=["analyzer"],
    security=requires("insights:read"),
    responses=responses(*AUTHENTICATED, 404),
)
def run_analyzer() -> AnalyzerRun:
    principal = authorize("insights:read")
    run: AnalyzerRun = services().analyzer.run(principal.project_id)
    return run


@router.get(
    "/analyzer/insights",
    summary="The project's insights, most severe first (scope insights:read)",
    tags=["analyzer"],
    security=requires("insights:read"),
    responses=responses(*AUTHENTICATED),
)
def list_insights(
    type: Annotated[str | None, Query(max_length=200, description="Types, comma-separated")] = None,
    status: Annotated[str | None, Query(max_length=200, description="Statuses, comma-separated")] = None,
    severity: Annotated[str | None, Query(max_length=20, description="At least this severity")] = None,
    since: Annotated[str, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$", description="Last seen on or after (day)")] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_INSIGHTS)] = 200,
) -> InsightList:
    principal = authorize("insights:read")
    types = _values(type, get_args(InsightType), "type")
    statuses = _values(status, get_args(InsightStatus), "status")
    severities = _values(severity, get_args(Severity), "severity")
    found = services().analyzer.insights(
        principal.project_id,
        types=types,  # type: ignore[arg-type]
        statuses=statuses,  # type: ignore[arg-type]
        min_severity=severities[0] if severities else None,  # type: ignore[arg-type]
        since_day=since,
        limit=limit,
    )
    return InsightList(insights=found)


@router.post(
    "/analyzer/insights/<id>/ack",
    summary="Acknowledge an insight (scope flows:write)",
    tags=["analyzer"],
    security=requires("flows:write"),
    responses=responses(*AUTHENTICATED, 404, 409),
)
def acknowledge_insight(id: InsightRef) -> Insight:
    principal = authorize("flows:write")
    return services().analyzer.acknowledge(principal.project_id, id)


@router.post(
    "/analyzer/insights/<id>/resolve",
    summary="Resolve an insight (scope flows:write)",
    tags=["analyzer"],
    security=requires("flows:write"),
    responses=responses(*AUTHENTICATED, 404),
)
def resolve_insight(id: InsightRef) -> Insight:
    principal = authorize("flows:write")
    return services().analyzer.resolve(principal.project_id, id)


@router.get(
    "/analyzer/coverage",
    summary="Flows x tests x traffic, ranked by users a day no recent test guards (scope insights:read)",
    tags=["analyzer"],
    security=requires("insights:read"),
    responses=responses(*AUTHENTICATED),
)
def coverage() -> CoverageReport:
    principal = authorize("insights:read")
    report: CoverageReport = services().analyzer.coverage(principal.project_id)
    return report


# -- alerts ---------------------------------------------------------------------------------------------------------

AlertName = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$", description="The alert rule's name")]


@router.get(
    "/analyzer/alerts",
    summary="The project's alert rules, their channels masked (scope insights:read)",
    description="Channel URLs, signing secrets and recipients are never answered: a URL shows its host only.",
    tags=["analyzer"],
    security=requires("insights:read"),
    responses=responses(*AUTHENTICATED),
)
def list_alerts() -> AlertRuleList:
    principal = authorize("insights:read")
    return AlertRuleList(rules=services().alerts.views(principal.project_id))


@router.post(
    "/analyzer/alerts",
    status_code=201,
    summary="Add (or replace) an alert rule and its channel (scope project:admin)",
    description=(
        "The channel's URL, signing secret and recipients go to the project's secrets store, never to the graph "
        "or a log. 422 for a channel that cannot be sent to or a flow the project does not have (named)."
    ),
    tags=["analyzer"],
    security=requires("project:admin"),
    responses=responses(*AUTHENTICATED, 404, ok=201),
)
def add_alert(body: AddAlertRequest) -> AlertRuleView:
    principal = authorize("project:admin")
    alerts = services().alerts
    services().projects.get_project(principal.project_id)
    saved = alerts.add(body.rule(principal.project_id), body.channel.channel(body.name))
    channel = alerts.channels.get(principal.project_id, saved.channel)
    return AlertRuleView(rule=saved, channel=None if channel is None else channel.masked())


@router.get(
    "/analyzer/alerts/deliveries",
    summary="The project's last alert deliveries, newest first (scope insights:read)",
    tags=["analyzer"],
    security=requires("insights:read"),
    responses=responses(*AUTHENTICATED),
)
def list_deliveries(limit: Annotated[int, Query(ge=1, le=DELIVERY_LOG_SIZE)] = 100) -> DeliveryList:
    principal = authorize("insights:read")
    return DeliveryList(deliveries=services().alerts.deliveries(principal.project_id, limit))


@router.delete(
    "/analyzer/alerts/<name>",
    summary="Remove an alert rule, and its channel when no other rule uses it (scope project:admin)",
    tags=["analyzer"],
    security=requires("project:admin"),
    responses=responses(*AUTHENTICATED, 404),
)
def remove_alert(name: AlertName) -> RemovedAlert:
    principal = authorize("project:admin")
    services().alerts.remove(principal.project_id, name)
    return RemovedAlert(removed=name)


@router.post(
    "/analyzer/alerts/<name>/test",
    summary="Send a sample insight to the rule's channel now (scope project:admin)",
    description="Answers the delivery: delivered, or failed with the reason (never the URL).",
    tags=["analyzer"],
    security=requires("project:admin"),
    responses=responses(*AUTHENTICATED, 404),
)
def test_alert(name: AlertName) -> Delivery:
    principal = authorize("project:admin")
    return services().alerts.test(principal.project_id, name)
