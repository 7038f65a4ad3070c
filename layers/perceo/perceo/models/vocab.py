"""Vocabularies shared by every part of Perceo.

The values are stored as-is in the graph and sent over the API, so they must stay exactly as they are.
"""

from __future__ import annotations

from typing import Literal, get_args

Priority = Literal["critical", "high", "medium", "low"]
RiskLevel = Literal["critical", "high", "medium", "low"]
Source = Literal["auto_generated", "user_configured"]
ProjectRole = Literal["owner", "admin", "member", "viewer"]
ActionType = Literal["click", "fill", "navigate", "wait", "scroll", "hover", "assert", "screenshot"]
ChangeStatus = Literal["added", "modified", "deleted", "renamed", "copied"]
TestRunStatus = Literal["pending", "running", "passed", "failed", "error", "skipped"]
TestTrigger = Literal["pr", "watch", "manual", "schedule", "ci"]
AgentType = Literal["playwright", "computer-use", "hybrid"]
InsightType = Literal["discrepancy", "coverage-gap", "ux-issue", "prediction", "performance", "regression"]
Severity = Literal["critical", "high", "medium", "low", "info"]
InsightStatus = Literal["open", "acknowledged", "in_progress", "resolved", "dismissed", "false_positive"]
PredictionBasis = Literal["ml-model", "heuristic", "pattern", "historical"]
TestOutcome = Literal["passed", "failed", "error", "skipped"]
EventSource = Literal["observer", "coordinator", "analyzer", "analytics", "graph", "cli", "dashboard"]
AnalyticsProvider = Literal["ga4", "mixpanel", "amplitude", "posthog", "custom"]
SyncStatus = Literal["success", "failed", "partial"]
Scope = Literal[
    "ci:analyze",
    "ci:test",
    "computer-use:run",
    "flows:read",
    "flows:write",
    "insights:read",
    "events:publish",
    # POST /analytics/events only (the browser snippet's key: it can read nothing)
    "ingest",
    "workflows:start",
    "keys:manage",
    "project:admin",
]
KeyAuditAction = Literal["created", "used", "revoked", "expired"]

PRIORITIES: tuple[Priority, ...] = get_args(Priority)
RISK_LEVELS: tuple[RiskLevel, ...] = get_args(RiskLevel)
ACTION_TYPES: tuple[ActionType, ...] = get_args(ActionType)
SCOPES: tuple[Scope, ...] = get_args(Scope)

#: Scopes a CI key gets by default (the original's `github-actions` key role).
CI_KEY_SCOPES: tuple[Scope, ...] = ("ci:analyze", "ci:test", "flows:read", "insights:read", "events:publish")
