"""The event envelope and event names."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from perceo.models.common import EntityId, EpochMs, Model, ProjectId, new_id, now_ms
from perceo.models.vocab import EventSource


class EventType(StrEnum):
    CHANGE_DETECTED = "observer.change.detected"
    FLOWS_AFFECTED = "observer.flows.affected"
    ANALYSIS_COMPLETE = "observer.analysis.complete"
    TESTS_STARTED = "coordinator.tests.started"
    TESTS_COMPLETED = "coordinator.tests.completed"
    TEST_FAILED = "coordinator.test.failed"
    DATA_SYNCED = "analytics.data.synced"
    METRICS_UPDATED = "analytics.metrics.updated"
    CORRELATION_COMPLETE = "analytics.correlation.complete"
    INSIGHT_GENERATED = "analyzer.insight.generated"
    FLOW_DISCOVERED = "analyzer.flow.discovered"
    PREDICTION_MADE = "analyzer.prediction.made"
    ANOMALY_DETECTED = "analyzer.anomaly.detected"
    FLOW_CREATED = "graph.flow.created"
    FLOW_UPDATED = "graph.flow.updated"
    FLOW_DELETED = "graph.flow.deleted"


class PerceoEvent(Model):
    id: EntityId = Field(default_factory=new_id)
    type: EventType
    timestamp: EpochMs = Field(default_factory=now_ms)
    source: EventSource
    project_id: ProjectId
    data: dict[str, Any] = Field(default_factory=dict)
