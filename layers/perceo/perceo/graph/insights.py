"""The analyzer's part of the flow graph: insights `(:Insight {projectId, key})-[:ABOUT]->(:Flow)`.

`InsightStore` is the port the analyzer needs; `InsightRecords` implements it over Cypher as a mixin of
`CypherFlowGraph` (both engines), with its queries here (module-level constants, linted with the others).

One insight per subject and day: `key` is `<subject>@<day first found>`, unique per project. Storing a finding
whose subject has a live insight (open, acknowledged, in progress) or one of the same day updates that insight
(severity, title, evidence, `lastSeenDay`; its status and id stay); otherwise it creates a new one. Re-running
the analyzer therefore never duplicates, and a problem found again after it was resolved opens a new insight.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from perceo.errors import ConflictError, InsightNotFoundError, ProjectNotFoundError, ValidationFailed
from perceo.models import Insight, new_id
from perceo.models.vocab import InsightStatus, InsightType, Severity

Row = dict[str, Any]

#: Statuses of an insight that is still being worked on: finding its subject again updates it.
LIVE_STATUSES: tuple[InsightStatus, ...] = ("open", "acknowledged", "in_progress")
#: Most insights one list returns, whatever the caller asks.
MAX_INSIGHTS = 1000


@dataclass(frozen=True)
class StoredInsight:
    insight: Insight
    #: True when this store made a new insight, False when it updated the live one of its subject.
    created: bool


@runtime_checkable
class InsightStore(Protocol):
    def store_insights(self, project_id: str, insights: Sequence[Insight]) -> list[StoredInsight]:
        """Create or update (one per subject and day, see the module docstring). ProjectNotFoundError when the
        project does not exist."""

    def list_insights(
        self,
        project_id: str,
        *,
        types: Sequence[InsightType] = (),
        statuses: Sequence[InsightStatus] = (),
        severities: Sequence[Severity] = (),
        flow_id: str | None = None,
        since_day: str = "",
        limit: int = 200,
    ) -> list[Insight]:
        """The project's insights last seen on or after `since_day`, most recently updated first."""

    def find_insight(self, project_id: str, ref: str) -> Insight:
        """An insight by id or by a unique prefix of its id (at least 6 characters). InsightNotFoundError;
        ValidationFailed when the prefix matches several."""

    def set_insight_status(self, project_id: str, insight_id: str, status: InsightStatus) -> Insight:
        """Move an insight to `status` (acknowledged, resolved, …); the same status again changes nothing.
        ConflictError when a resolved insight is acknowledged (it would hide a closed problem as being worked on)."""

    def auto_resolve_insights(self, project_id: str, *, found: Sequence[str], day: str, reason: str) -> list[Insight]:
        """Resolve (`resolvedBy: auto`, with `reason`) the project's open insights last seen on or before `day` whose
        subject is not in `found` (what the run of `day` found)."""


# --------------------------------------------------------------------------------------------------
# Cypher (every query is scoped by $projectId on the Insight node itself)

#: The insights of `$subjects` that are live, were found on `$day` or were resolved automatically on `$day`: what a
#: new finding updates (an auto-resolved one is re-opened, never duplicated the same day).
LIVE_INSIGHTS_OF_SUBJECTS = """
MATCH (i:Insight {projectId: $projectId})
WHERE i.subject IN $subjects
  AND (i.status IN $liveStatuses OR i.day = $day OR (i.resolvedBy = 'auto' AND i.resolvedDay = $day))
RETURN properties(i) AS insight
ORDER BY i.createdAt DESC
"""

#: Creates or updates the insights `$rows` ([{key, id, subject, day, flowId, props}]) by (projectId, key), with an
#: ABOUT edge to their flow when the project has it. An update keeps id, status, day and createdAt.
STORE_INSIGHTS = """
MATCH (project:Project {id: $projectId})
UNWIND $rows AS row
MERGE (i:Insight {projectId: $projectId, key: row.key})
ON CREATE SET i.id = row.id, i.subject = row.subject, i.day = row.day, i.status = 'open', i.createdAt = $now
SET i += row.props, i.lastSeenDay = row.day, i.updatedAt = $now
WITH i, row
OPTIONAL MATCH (f:Flow {projectId: $projectId})
WHERE f.id = row.flowId
WITH i, collect(f) AS flows
FOREACH (f IN flows | MERGE (i)-[:ABOUT]->(f))
RETURN properties(i) AS insight
"""

#: The project's insights, filtered (an empty list matches every value), most recently updated first.
LIST_INSIGHTS = """
MATCH (i:Insight {projectId: $projectId})
WHERE (size($types) = 0 OR i.type IN $types)
  AND (size($statuses) = 0 OR i.status IN $statuses)
  AND (size($severities) = 0 OR i.severity IN $severities)
  AND ($flowId IS NULL OR i.flowId = $flowId)
  AND i.lastSeenDay >= $since
RETURN properties(i) AS insight
ORDER BY i.updatedAt DESC, i.id DESC
LIMIT $limit
"""

#: At most two insights whose id starts with `$prefix` (two say the prefix is ambiguous).
FIND_INSIGHTS = """
MATCH (i:Insight {projectId: $projectId})
WHERE i.id STARTS WITH $prefix
RETURN properties(i) AS insight
ORDER BY i.id
LIMIT 2
"""

SET_INSIGHT_STATUS = """
MATCH (i:Insight {projectId: $projectId, id: $insightId})
SET i.status = $status, i.updatedAt = $now,
    i.acknowledgedAt = CASE WHEN $status = 'acknowledged' AND i.acknowledgedAt IS NULL THEN $now
                            ELSE i.acknowledgedAt END,
    i.resolvedAt = CASE WHEN $status = 'resolved' THEN $now ELSE null END,
    i.resolvedBy = CASE WHEN $status = 'resolved' THEN 'user' ELSE null END,
    i.resolution = null, i.resolvedDay = null
RETURN properties(i) AS insight
"""

#: Open insights last seen on or before `$day` that the run of `$day` did not find: resolved, by `auto`.
AUTO_RESOLVE_INSIGHTS = """
MATCH (i:Insight {projectId: $projectId})
WHERE i.status = 'open' AND NOT i.subject IN $found AND i.lastSeenDay <= $day
SET i.status = 'resolved', i.resolvedAt = $now, i.updatedAt = $now, i.resolvedBy = 'auto',
    i.resolution = $reason, i.resolvedDay = $day
RETURN properties(i) AS insight
"""

# --------------------------------------------------------------------------------------------------
# Mapping

_FIELDS = {field.alias or name for name, field in Insight.model_fields.items()}
#: Set by the store query itself (on create, or always), never from a row's props.
_SET_BY_QUERY = {"id", "projectId", "subject", "day", "status", "createdAt", "updatedAt", "lastSeenDay",
                 "acknowledgedAt", "resolvedAt", "resolvedBy", "resolution"}  # fmt: skip
#: What re-opens an insight resolved automatically earlier the same day (null removes the property).
_REOPEN = {"status": "open", "resolvedAt": None, "resolvedBy": None, "resolution": None, "resolvedDay": None}
_MIN_PREFIX = 6


def insight_row(insight: Insight, *, key: str, insight_id: str) -> Row:
    props = insight.model_dump(mode="json", exclude_none=False)
    props = {k: v for k, v in props.items() if k not in _SET_BY_QUERY}
    props["evidence"] = json.dumps(props["evidence"], separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    props["revenueImpact"] = None if props["revenueImpact"] is None else json.dumps(props["revenueImpact"])
    return {
        "key": key,
        "id": insight_id,
        "subject": insight.subject,
        "day": insight.day,
        "flowId": insight.flow_id,
        "props": props,
    }


def insight_from(props: Mapping[str, Any]) -> Insight:
    values = {k: v for k, v in props.items() if k in _FIELDS and v is not None}
    values["evidence"] = json.loads(values.get("evidence") or "{}")
    if "revenueImpact" in values:
        values["revenueImpact"] = json.loads(values["revenueImpact"])
    return Insight.model_validate(values)


class InsightRecords(ABC):
    """`InsightStore` over the adapter's `_read`/`_write` (a mixin of `CypherFlowGraph`)."""

    clock: Callable[[], int]
    batch_size: int

    @abstractmethod
    def _read(self, query: str, params: Mapping[str, Any]) -> list[Row]: ...

    @abstractmethod
    def _write(self, query: str, params: Mapping[str, Any]) -> list[Row]: ...

    def store_insights(self, project_id: str, insights: Sequence[Insight]) -> list[StoredInsight]:
        if not insights:
            return []
        _check(project_id, insights)
        stored: list[StoredInsight] = []
        for day in sorted({i.day for i in insights}):
            stored.extend(self._store_day(project_id, day, [i for i in insights if i.day == day]))
        return stored

    def _store_day(self, project_id: str, day: str, insights: Sequence[Insight]) -> list[StoredInsight]:
        subjects = [i.subject for i in insights]
        params = {"projectId": project_id, "subjects": subjects, "liveStatuses": list(LIVE_STATUSES), "day": day}
        existing: dict[str, Insight] = {}
        for row in self._read(LIVE_INSIGHTS_OF_SUBJECTS, params):
            found = insight_from(row["insight"])
            existing.setdefault(found.subject, found)  # newest first: the newest live one is updated
        rows = []
        for insight in insights:
            old = existing.get(insight.subject)
            if old is not None:
                row = insight_row(insight, key=f"{old.subject}@{old.day}", insight_id=old.id)
                if old.status == "resolved" and old.resolved_by == "auto":
                    row["props"].update(_REOPEN)
                rows.append(row)
            else:
                rows.append(insight_row(insight, key=f"{insight.subject}@{day}", insight_id=insight.id or new_id()))
        out: list[StoredInsight] = []
        for start in range(0, len(rows), self.batch_size):
            batch = rows[start : start + self.batch_size]
            result = self._write(STORE_INSIGHTS, {"projectId": project_id, "rows": batch, "now": self.clock()})
            if not result:
                raise ProjectNotFoundError(f"project {project_id} not found", details={"projectId": project_id})
            by_key = {row["key"]: row for row in batch}
            for written in result:  # rows come back in any order (the ABOUT edges are grouped per insight)
                row = by_key[written["insight"]["key"]]
                insight = insight_from(written["insight"])
                created = insight.subject not in existing and insight.id == row["id"]
                out.append(StoredInsight(insight=insight, created=created))
        return out

    def list_insights(
        self,
        project_id: str,
        *,
        types: Sequence[InsightType] = (),
        statuses: Sequence[InsightStatus] = (),
        severities: Sequence[Severity] = (),
        flow_id: str | None = None,
        since_day: str = "",
        limit: int = 200,
    ) -> list[Insight]:
        if limit < 1:
            return []
        params = {
            "projectId": project_id,
            "types": list(types),
            "statuses": list(statuses),
            "severities": list(severities),
            "flowId": flow_id,
            "since": since_day,
            "limit": min(limit, MAX_INSIGHTS),
        }
        return [insight_from(row["insight"]) for row in self._read(LIST_INSIGHTS, params)]

    def find_insight(self, project_id: str, ref: str) -> Insight:
        ref = ref.strip()
        if len(ref) < _MIN_PREFIX:
            raise ValidationFailed(f"an insight id needs at least {_MIN_PREFIX} characters (got {ref!r})")
        rows = self._read(FIND_INSIGHTS, {"projectId": project_id, "prefix": ref})
        exact = [row for row in rows if row["insight"]["id"] == ref]
        if exact:
            rows = exact
        if not rows:
            raise InsightNotFoundError(f"no insight {ref} in this project", details={"insightId": ref})
        if len(rows) > 1:
            raise ValidationFailed(f"{ref!r} matches several insights: give more of the id")
        return insight_from(rows[0]["insight"])

    def set_insight_status(self, project_id: str, insight_id: str, status: InsightStatus) -> Insight:
        current = self.find_insight(project_id, insight_id)
        if current.status == status:
            return current
        if status == "acknowledged" and current.status == "resolved":
            raise ConflictError(
                f"insight {current.id} is resolved: it cannot be acknowledged", details={"insightId": current.id}
            )
        params = {"projectId": project_id, "insightId": current.id, "status": status, "now": self.clock()}
        rows = self._write(SET_INSIGHT_STATUS, params)
        if not rows:
            raise InsightNotFoundError(f"no insight {insight_id} in this project", details={"insightId": insight_id})
        return insight_from(rows[0]["insight"])

    def auto_resolve_insights(self, project_id: str, *, found: Sequence[str], day: str, reason: str) -> list[Insight]:
        params = {"projectId": project_id, "found": list(found), "day": day, "reason": reason[:500],
                  "now": self.clock()}  # fmt: skip
        return [insight_from(row["insight"]) for row in self._write(AUTO_RESOLVE_INSIGHTS, params)]


def _check(project_id: str, insights: Sequence[Insight]) -> None:
    strangers = sorted({i.project_id for i in insights if i.project_id != project_id})
    if strangers:
        raise ValidationFailed(
            f"insights of project {', '.join(strangers)} cannot be written to project {project_id}",
            details={"field": "projectId"},
        )
    for insight in insights:
        if not insight.subject or not insight.day:
            raise ValidationFailed("an insight needs a subject and a day", details={"field": "subject"})
    subjects = [(i.day, i.subject) for i in insights]
    if len(set(subjects)) != len(subjects):
        raise ValidationFailed("two insights of one batch have the same subject and day", details={"field": "subject"})
