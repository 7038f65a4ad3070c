"""Alert rules: what to send (insights of some types and severities, anomalies, risky change analyses, optionally
only about some flows), and to which channel (by name). Light on purpose: the flow graph stores them, and every
Lambda imports the graph."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pydantic import Field

from perceo.models import Insight
from perceo.models.common import Model, new_id
from perceo.models.vocab import InsightType, RiskLevel, Severity

SEVERITIES: tuple[Severity, ...] = get_args(Severity)
NoticeKind = Literal["insight", "anomaly", "analysis"]


@dataclass(frozen=True)
class Notice:
    """One thing an alert can be about: an insight, an anomaly or a change analysis, in the shape the channels
    send. `key` identifies it for deduplication (with the rule and, for insights, the severity)."""

    kind: NoticeKind
    key: str
    project_id: str
    severity: Severity
    title: str
    message: str
    event: str
    flow_id: str | None = None
    #: Every flow it is about (an analysis reaches several); `flow_id` alone when empty.
    flow_ids: tuple[str, ...] = ()
    #: The insight's type (insights only).
    type: InsightType | None = None
    #: The analysis's risk level (analyses only).
    risk_level: RiskLevel | None = None
    suggested_action: str | None = None
    #: The JSON body of the thing (an insight, an anomaly, an analysis summary).
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of_insight(cls, insight: Insight) -> Notice:
        return cls(
            kind="insight", key=f"insight:{insight.id}:{insight.severity}", project_id=insight.project_id,
            severity=insight.severity, title=insight.title, message=insight.message,
            event="analyzer.insight.generated", flow_id=insight.flow_id, type=insight.type,
            suggested_action=insight.suggested_action, data=insight.model_dump(mode="json"),
        )  # fmt: skip


class AlertRule(Model):
    """When to alert, and where.

    - insights of `types` (every type when empty) at `min_severity` or worse;
    - with `anomalies`, every bad anomaly of a flow's series (`analyzer.anomaly.detected`) too;
    - with `risk_levels`, every change analysis of those risk levels too;
    - with `flows` (flow ids), only what is about those flows.
    """

    id: str = Field(default_factory=new_id)
    project_id: str
    name: str = Field(min_length=1, max_length=200)
    types: list[InsightType] = Field(default_factory=list, max_length=10)
    min_severity: Severity = "high"
    flows: list[str] = Field(default_factory=list, max_length=200)
    anomalies: bool = False
    risk_levels: list[RiskLevel] = Field(default_factory=list, max_length=4)
    #: The channel's name in the project's secrets store (its URL, secret or recipients live there).
    channel: str = Field(min_length=1, max_length=200)

    def matches(self, item: Insight | Notice) -> bool:
        notice = item if isinstance(item, Notice) else Notice.of_insight(item)
        if notice.project_id != self.project_id:
            return False
        about = set(notice.flow_ids) | ({notice.flow_id} if notice.flow_id else set())
        if self.flows and not about.intersection(self.flows):
            return False
        if notice.kind == "anomaly":
            return self.anomalies
        if notice.kind == "analysis":
            return notice.risk_level is not None and notice.risk_level in self.risk_levels
        if self.types and notice.type not in self.types:
            return False
        return SEVERITIES.index(notice.severity) <= SEVERITIES.index(self.min_severity)


_RISK_SEVERITY: dict[str, Severity] = {"critical": "critical", "high": "high", "medium": "medium", "low": "low"}
_ANOMALY_SEVERITY: dict[str, Severity] = {"success_rate": "high", "duration": "medium", "users": "medium"}


def anomaly_notice(project_id: str, anomaly: Any, flow_name: str) -> Notice:
    """A bad anomaly of a flow's series (`perceo.analyzer.anomaly.Anomaly`) as a notice."""
    data = {**anomaly.to_json(), "flowName": flow_name}
    change = f"{anomaly.change * 100:+.0f}%"
    return Notice(
        kind="anomaly", key=f"anomaly:{anomaly.flow_id}:{anomaly.metric}:{anomaly.at}", project_id=project_id,
        severity=_ANOMALY_SEVERITY.get(anomaly.metric, "medium"),
        title=f"{flow_name}: {anomaly.metric.replace('_', ' ')} {change} ({anomaly.kind} on {anomaly.at})",
        message=(f"{flow_name}'s {anomaly.metric.replace('_', ' ')} was {anomaly.value:.4g} on {anomaly.at} against "
                 f"{anomaly.expected:.4g} expected ({anomaly.volume} in volume, robust score {anomaly.score:.1f})."),
        event="analyzer.anomaly.detected", flow_id=anomaly.flow_id, data=data,
    )  # fmt: skip


def analysis_notice(analysis: Any) -> Notice:
    """A change analysis (`perceo.models.ChangeAnalysis`) as a notice, by its risk level."""
    names = [f.name for f in analysis.flows]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    flows = [{"id": f.id, "name": f.name, "riskScore": f.risk_score} for f in analysis.flows[:50]]
    data = {"id": analysis.id, "baseSha": analysis.base_sha, "headSha": analysis.head_sha,
            "riskLevel": analysis.risk_level, "riskScore": analysis.risk_score, "flows": flows}  # fmt: skip
    return Notice(
        kind="analysis", key=f"analysis:{analysis.id}", project_id=analysis.project_id,
        severity=_RISK_SEVERITY[analysis.risk_level],
        title=f"Change {analysis.base_sha[:12]}..{analysis.head_sha[:12]} is {analysis.risk_level} risk",
        message=f"It reaches {len(names)} flow(s)" + (f": {shown}." if names else "."),
        event="analysis.completed", risk_level=analysis.risk_level,
        flow_ids=tuple(f.id for f in analysis.flows), data=data,
        suggested_action="Run the tests of the flows it reaches before merging (`perceo ci test`).",
    )  # fmt: skip
