"""A project's recent production traffic per flow, from the daily `FlowMetrics` in the graph: what change analysis
weighs flows by and what `GET /analytics/traffic` answers. Reads only the metrics (no events, no numpy)."""

from __future__ import annotations

from collections.abc import Sequence

from perceo.analytics.model import DAY_MS, FlowTraffic, day_of, days_between
from perceo.graph.port import FlowGraph
from perceo.models import FlowMetrics

#: Change analysis looks at the last week of metrics.
TRAFFIC_DAYS = 7


def traffic_of(metrics: Sequence[FlowMetrics]) -> dict[str, FlowTraffic]:
    """Per flow: mean users and sessions per day over the days that have metrics, and completions / sessions."""
    by_flow: dict[str, list[FlowMetrics]] = {}
    for m in metrics:
        by_flow.setdefault(m.flow_id, []).append(m)
    traffic: dict[str, FlowTraffic] = {}
    for flow_id, ms in by_flow.items():
        sessions = sum(m.sessions for m in ms)
        completions = sum(m.completions for m in ms)
        traffic[flow_id] = FlowTraffic(
            flow_id=flow_id,
            users_per_day=round(sum(m.prod_daily_users or 0 for m in ms) / len(ms), 2),
            sessions_per_day=round(sessions / len(ms), 2),
            success_rate=round(completions / sessions, 4) if sessions else None,
            days=len(ms),
        )
    return traffic


def recent_traffic(graph: FlowGraph, project_id: str, *, now: int, days: int = TRAFFIC_DAYS) -> dict[str, FlowTraffic]:
    """The traffic of the last `days` UTC days up to today (empty when the project has no metrics)."""
    span = days_between(day_of(now - (days - 1) * DAY_MS), day_of(now))
    return traffic_of(graph.list_flow_metrics(project_id, since=span[0], until=span[-1]))
