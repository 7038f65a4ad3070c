"""Retention: what the `cleanup` job deletes from the flow graph, per project, older than a cutoff.

Each query deletes at most `$limit` nodes of one project and returns how many it deleted; the caller repeats it
until fewer than `$limit` go, so a large backlog never becomes one huge transaction. Only insights that are closed
(resolved, dismissed, false positive) are ever deleted: an open or acknowledged one stays whatever its age.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

Row = dict[str, Any]

#: Most nodes one query deletes.
DELETE_BATCH = 500

DELETE_OLD_ANALYSES = """
MATCH (a:ChangeAnalysis {projectId: $projectId})
WHERE a.createdAt < $before
WITH a LIMIT $limit
DETACH DELETE a
RETURN count(*) AS deleted
"""

DELETE_OLD_TEST_RUNS = """
MATCH (r:TestRun {projectId: $projectId})
WHERE r.createdAt < $before
WITH r LIMIT $limit
DETACH DELETE r
RETURN count(*) AS deleted
"""

DELETE_OLD_PREDICTIONS = """
MATCH (p:Prediction {projectId: $projectId})
WHERE p.createdAt < $before
WITH p LIMIT $limit
DETACH DELETE p
RETURN count(*) AS deleted
"""

DELETE_OLD_CLOSED_INSIGHTS = """
MATCH (i:Insight {projectId: $projectId})
WHERE i.status IN ['resolved', 'dismissed', 'false_positive'] AND i.updatedAt < $before
WITH i LIMIT $limit
DETACH DELETE i
RETURN count(*) AS deleted
"""

#: `left(m.day, 10)`, not `m.day`: FalkorDB 4.16 answers a `<` on an indexed string property through the index and
#: gets it wrong (`m.day < '2025-01-21'` matched '2026-02-20'); a computed value is compared row by row, correctly.
DELETE_OLD_FLOW_METRICS = """
MATCH (m:FlowMetrics {projectId: $projectId})
WHERE left(m.day, 10) < $beforeDay
WITH m LIMIT $limit
DETACH DELETE m
RETURN count(*) AS deleted
"""


class RetentionRecords(ABC):
    @abstractmethod
    def _write(self, query: str, params: Mapping[str, Any]) -> list[Row]: ...

    def delete_older(self, project_id: str, what: str, *, before: int, before_day: str = "") -> int:
        """Delete the project's `what` (analyses, test_runs, predictions, closed_insights, flow_metrics) older than
        `before` (epoch ms; flow metrics: days before `before_day`). Returns how many were deleted."""
        query = _QUERIES[what]
        total = 0
        while True:
            params = {"projectId": project_id, "before": before, "beforeDay": before_day, "limit": DELETE_BATCH}
            rows = self._write(query, params)
            deleted = int(rows[0]["deleted"]) if rows else 0
            total += deleted
            if deleted < DELETE_BATCH:
                return total


_QUERIES = {
    "analyses": DELETE_OLD_ANALYSES,
    "test_runs": DELETE_OLD_TEST_RUNS,
    "predictions": DELETE_OLD_PREDICTIONS,
    "closed_insights": DELETE_OLD_CLOSED_INSIGHTS,
    "flow_metrics": DELETE_OLD_FLOW_METRICS,
}
