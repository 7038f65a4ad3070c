"""Alert rules in the flow graph: `(:AlertRule {projectId, name})`, one per name and project.

`AlertRuleStore` is the port; `AlertRuleRecords` implements it over Cypher as a mixin of `CypherFlowGraph`. A rule
names its channel; the channel's URL and signing secret are never stored here (they live in a secrets store).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from perceo.analyzer.alertrules import AlertRule
from perceo.errors import ProjectNotFoundError, ValidationFailed

Row = dict[str, Any]


@runtime_checkable
class AlertRuleStore(Protocol):
    def save_alert_rule(self, project_id: str, rule: AlertRule) -> AlertRule:
        """Create the rule, or replace the project's rule of that name (which keeps its id)."""

    def list_alert_rules(self, project_id: str) -> list[AlertRule]:
        """The project's rules by name."""

    def delete_alert_rule(self, project_id: str, name: str) -> bool:
        """False when the project has no rule of that name."""


SAVE_ALERT_RULE = """
MATCH (project:Project {id: $projectId})
MERGE (r:AlertRule {projectId: $projectId, name: $name})
ON CREATE SET r.id = $id
SET r.types = $types, r.minSeverity = $minSeverity, r.channel = $channel, r.flows = $flows,
    r.anomalies = $anomalies, r.riskLevels = $riskLevels
RETURN properties(r) AS rule
"""

LIST_ALERT_RULES = """
MATCH (r:AlertRule {projectId: $projectId})
RETURN properties(r) AS rule
ORDER BY r.name
"""

DELETE_ALERT_RULE = """
MATCH (r:AlertRule {projectId: $projectId, name: $name})
DELETE r
RETURN count(*) AS deleted
"""


def rule_from(props: Mapping[str, Any]) -> AlertRule:
    return AlertRule(
        id=props["id"],
        project_id=props["projectId"],
        name=props["name"],
        types=json.loads(props.get("types") or "[]"),
        min_severity=props["minSeverity"],
        channel=props["channel"],
        flows=json.loads(props.get("flows") or "[]"),
        anomalies=bool(props.get("anomalies") or False),
        risk_levels=json.loads(props.get("riskLevels") or "[]"),
    )


class AlertRuleRecords(ABC):
    @abstractmethod
    def _read(self, query: str, params: Mapping[str, Any]) -> list[Row]: ...

    @abstractmethod
    def _write(self, query: str, params: Mapping[str, Any]) -> list[Row]: ...

    def save_alert_rule(self, project_id: str, rule: AlertRule) -> AlertRule:
        if rule.project_id != project_id:
            raise ValidationFailed(
                f"a rule of project {rule.project_id} cannot be saved in project {project_id}",
                details={"field": "projectId"},
            )
        params = {
            "projectId": project_id,
            "name": rule.name,
            "id": rule.id,
            "types": json.dumps(list(rule.types)),
            "minSeverity": rule.min_severity,
            "channel": rule.channel,
            "flows": json.dumps(list(rule.flows)),
            "anomalies": rule.anomalies,
            "riskLevels": json.dumps(list(rule.risk_levels)),
        }
        rows = self._write(SAVE_ALERT_RULE, params)
        if not rows:
            raise ProjectNotFoundError(f"project {project_id} not found", details={"projectId": project_id})
        return rule_from(rows[0]["rule"])

    def list_alert_rules(self, project_id: str) -> list[AlertRule]:
        return [rule_from(row["rule"]) for row in self._read(LIST_ALERT_RULES, {"projectId": project_id})]

    def delete_alert_rule(self, project_id: str, name: str) -> bool:
        rows = self._write(DELETE_ALERT_RULE, {"projectId": project_id, "name": name})
        return bool(rows and rows[0]["deleted"])
