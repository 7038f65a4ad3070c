"""The coordinator's part of the flow graph over Cypher: test runs, coverage scores and predictions.

A mixin of `CypherFlowGraph` (kept apart so the coordinator's records read as one piece); it needs only the
adapter's `_read`/`_write` and the graph's clock.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from perceo.errors import ConflictError, ProjectNotFoundError, ValidationFailed
from perceo.graph import queries as q
from perceo.graph.runs_mapping import Row, prediction_from, prediction_row, run_from, run_row
from perceo.models.runs import Prediction, TestRun
from perceo.models.vocab import TestOutcome

#: Most runs or predictions one list returns, whatever the caller asks.
MAX_RECORDS = 5000


class TestRunRecords(ABC):
    __test__ = False  # not a pytest test class

    clock: Callable[[], int]
    batch_size: int

    @abstractmethod
    def _read(self, query: str, params: Mapping[str, Any]) -> list[Row]: ...

    @abstractmethod
    def _write(self, query: str, params: Mapping[str, Any]) -> list[Row]: ...

    def record_test_runs(self, project_id: str, runs: Sequence[TestRun]) -> list[TestRun]:
        """Store runs (re-storing an id replaces it) with a TESTS edge to their flow when the project has it.

        Returns the stored runs; a run whose flow the project does not have is stored without a flow (flowId
        None), so its outcome is kept but no other project's flow is ever linked. ProjectNotFoundError when the
        project does not exist; ConflictError when an id belongs to another project's run (the others are kept).
        """
        if not runs:
            return []
        _check_project(project_id, runs)
        linked: dict[str, list[str]] = {}
        rows = [run_row(run) for run in runs]
        for start in range(0, len(rows), self.batch_size):
            batch = rows[start : start + self.batch_size]
            for row in self._write(q.RECORD_TEST_RUNS, {"projectId": project_id, "rows": batch}):
                linked[row["id"]] = row["linked"]
        if not linked:
            self._require_project(project_id)
        refused = [run.id for run in runs if run.id not in linked]
        stored = [
            run if linked[run.id] else run.model_copy(update={"flow_id": None}) for run in runs if run.id in linked
        ]
        if refused:
            raise ConflictError(
                f"test run id(s) {', '.join(refused)} belong to another project", details={"runIds": refused}
            )
        return stored

    def list_test_runs(
        self,
        project_id: str,
        *,
        flow_id: str | None = None,
        commit_sha: str | None = None,
        suite_id: str | None = None,
        since: int = 0,
        limit: int = 100,
    ) -> list[TestRun]:
        """The project's runs, newest first (at most `limit`, capped at MAX_RECORDS), filtered as asked."""
        if limit < 1:
            return []
        params = {
            "projectId": project_id,
            "flowId": flow_id,
            "commitSha": commit_sha,
            "suiteId": suite_id,
            "since": since,
            "limit": min(limit, MAX_RECORDS),
        }
        return [run_from(row["run"]) for row in self._read(q.LIST_TEST_RUNS, params)]

    def latest_test_runs(self, project_id: str) -> dict[str, TestRun]:
        """The newest run of each tested flow of the project, by flow id."""
        latest: dict[str, TestRun] = {}
        for row in self._read(q.LATEST_TEST_RUNS, {"projectId": project_id}):
            run = run_from(row["run"])
            assert run.flow_id is not None  # the query reads runs with a flow only
            kept = latest.get(run.flow_id)
            if kept is None or (run.created_at, run.id) > (kept.created_at, kept.id):
                latest[run.flow_id] = run
        return latest

    def set_coverage_scores(self, project_id: str, scores: Mapping[str, float | None]) -> int:
        """Set flows' coverageScore (None clears it) and move their updatedAt. Returns how many flows it set."""
        if not scores:
            return 0
        rows = [{"flowId": flow_id, "score": score} for flow_id, score in scores.items()]
        params = {"projectId": project_id, "rows": rows, "now": self.clock()}
        result = self._write(q.SET_COVERAGE_SCORES, params)
        return int(result[0]["updated"]) if result else 0

    def record_predictions(self, project_id: str, predictions: Sequence[Prediction]) -> int:
        """Store predictions with an ABOUT edge to their flow. Returns how many were written."""
        if not predictions:
            return 0
        _check_project(project_id, predictions)
        written = 0
        rows = [prediction_row(p) for p in predictions]
        for start in range(0, len(rows), self.batch_size):
            result = self._write(
                q.RECORD_PREDICTIONS, {"projectId": project_id, "rows": rows[start : start + self.batch_size]}
            )
            written += int(result[0]["written"]) if result else 0
        if written == 0:
            self._require_project(project_id)
        if written < len(predictions):
            raise ConflictError(f"{len(predictions) - written} prediction id(s) belong to another project")
        return written

    def list_predictions(
        self,
        project_id: str,
        *,
        analysis_id: str | None = None,
        validated_only: bool = False,
        since: int = 0,
        limit: int = 1000,
    ) -> list[Prediction]:
        """The project's predictions, newest first (at most `limit`, capped at MAX_RECORDS)."""
        if limit < 1:
            return []
        params = {
            "projectId": project_id,
            "analysisId": analysis_id,
            "validatedOnly": validated_only,
            "since": since,
            "limit": min(limit, MAX_RECORDS),
        }
        return [prediction_from(row["prediction"]) for row in self._read(q.LIST_PREDICTIONS, params)]

    def validate_predictions(
        self, project_id: str, outcomes: Sequence[tuple[str, str, TestOutcome]], *, validated_at: int | None = None
    ) -> int:
        """Fill the outcome of the unvalidated predictions of each (flow id, commit sha, result). Returns how many."""
        if not outcomes:
            return 0
        at = self.clock() if validated_at is None else validated_at
        rows = [
            {
                "flowId": flow_id,
                "commitSha": sha,
                "result": result,
                "decided": result in ("passed", "failed"),
                "failed": result == "failed",
                "validatedAt": at,
            }
            for flow_id, sha, result in outcomes
        ]
        result = self._write(q.VALIDATE_PREDICTIONS, {"projectId": project_id, "rows": rows})
        return int(result[0]["validated"]) if result else 0

    def _require_project(self, project_id: str) -> None:
        if not self._read(q.GET_PROJECT, {"projectId": project_id}):
            raise ProjectNotFoundError(f"project {project_id} not found", details={"projectId": project_id})


def _check_project(project_id: str, items: Sequence[TestRun | Prediction]) -> None:
    strangers = sorted({item.project_id for item in items if item.project_id != project_id})
    if strangers:
        raise ValidationFailed(
            f"records of project {', '.join(strangers)} cannot be written to project {project_id}",
            details={"field": "projectId"},
        )
