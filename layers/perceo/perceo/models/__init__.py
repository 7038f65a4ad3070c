"""Perceo's vocabulary: pydantic v2 models of everything Perceo stores or sends.

The names below load on first use (PEP 562): `from perceo.models import Flow` builds the entity models only, so a
Lambda does not pay at cold start for the models of the areas it does not serve.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perceo.lazy import lazy_exports

if TYPE_CHECKING:
    from perceo.models.change import AffectedRoute, ChangeAnalysis, ChangedFile, ChangeSet, ImpactedFlow, Reason
    from perceo.models.common import new_id, now_ms
    from perceo.models.entities import (
        ExpectedState,
        Flow,
        FlowUpdate,
        FlowView,
        Page,
        PageLink,
        Persona,
        Project,
        Step,
        StepAction,
    )
    from perceo.models.events import EventType, PerceoEvent
    from perceo.models.keys import ApiKey, KeyAuditEntry
    from perceo.models.runs import (
        AnalyticsEvent,
        FlowMetrics,
        Insight,
        Prediction,
        RevenueImpact,
        TestCase,
        TestRun,
    )

#: Public name -> the submodule that defines it.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        ["AffectedRoute", "ChangeAnalysis", "ChangedFile", "ChangeSet", "ImpactedFlow", "Reason"], "change"
    ),
    **dict.fromkeys(["new_id", "now_ms"], "common"),
    **dict.fromkeys(
        [
            "ExpectedState",
            "Flow",
            "FlowUpdate",
            "FlowView",
            "Page",
            "PageLink",
            "Persona",
            "Project",
            "Step",
            "StepAction",
        ],
        "entities",
    ),
    **dict.fromkeys(["EventType", "PerceoEvent"], "events"),
    **dict.fromkeys(["ApiKey", "KeyAuditEntry"], "keys"),
    **dict.fromkeys(
        ["AnalyticsEvent", "FlowMetrics", "Insight", "Prediction", "RevenueImpact", "TestCase", "TestRun"], "runs"
    ),
}

__all__ = [
    "AffectedRoute",
    "AnalyticsEvent",
    "ApiKey",
    "ChangeAnalysis",
    "ChangeSet",
    "ChangedFile",
    "EventType",
    "ExpectedState",
    "Flow",
    "FlowMetrics",
    "FlowUpdate",
    "FlowView",
    "ImpactedFlow",
    "Insight",
    "KeyAuditEntry",
    "Page",
    "PageLink",
    "PerceoEvent",
    "Persona",
    "Prediction",
    "Project",
    "Reason",
    "RevenueImpact",
    "Step",
    "StepAction",
    "TestCase",
    "TestRun",
    "new_id",
    "now_ms",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
