"""Perceo's vocabulary: pydantic v2 models of everything Perceo stores or sends."""

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
from perceo.models.runs import AnalyticsEvent, FlowMetrics, Insight, Prediction, RevenueImpact, TestRun

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
    "TestRun",
    "new_id",
    "now_ms",
]
