"""Alert rules: which insights to send, and to which channel (by name). Light on purpose: the flow graph stores
them, and every Lambda imports the graph."""

from __future__ import annotations

from typing import get_args

from pydantic import Field

from perceo.models import Insight
from perceo.models.common import Model, new_id
from perceo.models.vocab import InsightType, Severity

SEVERITIES: tuple[Severity, ...] = get_args(Severity)


class AlertRule(Model):
    """When to alert, and where: insights of `types` (every type when empty) at `min_severity` or worse."""

    id: str = Field(default_factory=new_id)
    project_id: str
    name: str = Field(min_length=1, max_length=200)
    types: list[InsightType] = Field(default_factory=list)
    min_severity: Severity = "high"
    #: The channel's name in the project's secrets store (its URL and signing secret live there).
    channel: str = Field(min_length=1, max_length=200)

    def matches(self, insight: Insight) -> bool:
        if insight.project_id != self.project_id:
            return False
        if self.types and insight.type not in self.types:
            return False
        return SEVERITIES.index(insight.severity) <= SEVERITIES.index(self.min_severity)
