"""The analyzer's one entry point: read a project's state, detect anomalies, run the rules, store insights.

`Analyzer` takes its ports in the constructor (the composition root builds them): the flow graph (flows, metrics,
runs, analyses), the insight store (the same graph in both modes) and the event bus. The CLI's local backend and
the API call the same methods, so both give the same answers.

- `run(project)`: anomalies of every flow's daily series (`anomaly.py`) -> the rules (`rules.py`) -> insights
  stored one per subject and day (re-running never duplicates) -> `analyzer.anomaly.detected` for each new
  anomaly day and `analyzer.insight.generated` for each new insight.
- `insights(project, …)`, `acknowledge`, `resolve`: read and triage.
- `coverage(project)`: flows x tests x traffic, ranked by the users a day no recent test guards.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field

from perceo.analyzer.anomaly import DAILY, Anomaly, DetectorConfig, daily_series, detect
from perceo.analyzer.learning import PredictionModel, fit_model, past_failure_rate
from perceo.analyzer.rules import RULES, SEVERITIES, Rule, Snapshot, Thresholds, daily_users
from perceo.bus.port import EventBus
from perceo.errors import AnalysisNotFoundError, ProjectNotFoundError, ValidationFailed
from perceo.graph.insights import InsightStore, StoredInsight
from perceo.graph.port import FlowGraph
from perceo.models import EventType, Insight, PerceoEvent, TestRun, now_ms
from perceo.models.common import Model
from perceo.models.vocab import InsightStatus, InsightType, Severity

if TYPE_CHECKING:
    from perceo.config.model import AnalyzerSection

log = logging.getLogger(__name__)

#: Days of metrics read for a run: the detector's window, its minimum history and a week to judge.
HISTORY_DAYS = DAILY.window + 14
#: Most insights a list returns.
MAX_LIST = 1000


class AnalyzerRun(Model):
    """What one `analyze insights` run found (the `--json` document's core)."""

    project_id: str
    day: str
    flows: int
    metric_days: int
    runs: int
    analyses: int
    anomalies: list[dict[str, Any]] = Field(default_factory=list)
    created: int = 0
    updated: int = 0
    insights: list[Insight] = Field(default_factory=list)
    #: Open insights this run no longer found: resolved automatically (`resolvedBy: auto`, with the reason).
    resolved: list[Insight] = Field(default_factory=list)
    #: The alerts this run sent (`perceo.analyzer.alerts.Delivery` as JSON); empty where no rule is set.
    alerts: list[dict[str, Any]] = Field(default_factory=list)


class InsightList(Model):
    """`GET /analyzer/insights`."""

    insights: list[Insight] = Field(default_factory=list)


class FlowPrediction(Model):
    flow_id: str
    name: str
    priority: str
    risk_score: float
    confidence: float
    past_failure_rate: float
    past_runs: int
    #: The probability that the flow's tests fail for this change.
    probability: float
    reasons: list[dict[str, Any]] = Field(default_factory=list)


class PredictionReport(Model):
    """`analyze predict`: the flows a change reaches, each with a failure probability and what it rests on."""

    project_id: str
    analysis_id: str
    base_sha: str
    head_sha: str
    #: Which model answered and its measured calibration: {model, outcomes, brier, heuristicBrier}.
    model: dict[str, Any]
    flows: list[FlowPrediction] = Field(default_factory=list)


class CoverageRow(Model):
    flow_id: str
    name: str
    priority: str
    users_per_day: float | None
    runs: int
    last_run_status: str | None
    last_run_at: int | None
    idle_days: int | None
    pass_rate: float | None
    covered: bool
    #: Users a day of the flow when no recent test guards it, else 0: what the ranking is by.
    users_at_risk: float


class CoverageReport(Model):
    project_id: str
    day: str
    stale_run_days: int
    flows: list[CoverageRow]
    covered: int
    uncovered: int
    users_at_risk: float


@dataclass(frozen=True)
class AnalyzerOptions:
    thresholds: Thresholds = Thresholds()
    detector: DetectorConfig = DAILY
    rules: Sequence[Rule] = RULES

    @classmethod
    def from_config(cls, section: AnalyzerSection) -> AnalyzerOptions:
        """`analyzer.thresholds` and `analyzer.anomaly` of a project's config (validated there)."""
        return cls(
            thresholds=Thresholds(**section.thresholds.model_dump(by_alias=False)),
            detector=dataclasses.replace(DAILY, **section.anomaly.model_dump(by_alias=False)),
        )


class Analyzer:
    def __init__(
        self,
        graph: FlowGraph,
        insights: InsightStore,
        *,
        bus: EventBus | None = None,
        options: AnalyzerOptions | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.graph = graph
        self.store = insights
        self.bus = bus
        self.options = options or AnalyzerOptions()
        self.clock = clock

    # -- running the rules

    def snapshot(self, project_id: str, *, today: str | None = None) -> Snapshot:
        """The project's state the rules read: active flows, `HISTORY_DAYS` of metrics, runs and analyses."""
        self._require_project(project_id)
        day = today or _day(self.clock())
        first = _shift(day, -(HISTORY_DAYS - 1))
        since_ms = _day_ms(first)
        flows = [f for f in self.graph.list_flows(project_id, include_steps=True) if f.is_active]
        metrics = self.graph.list_flow_metrics(project_id, since=first, until=day)
        runs = self.graph.list_test_runs(project_id, since=since_ms, limit=5000)
        analyses = [a for a in self.graph.list_analyses(project_id, limit=200) if a.created_at >= since_ms]
        anomalies = self.anomalies(metrics, until=day)
        return Snapshot(project_id, day, flows, metrics, runs, analyses, anomalies, model=self.model(project_id))

    def model(self, project_id: str) -> PredictionModel:
        """The project's failure-probability model, fitted on its validated predictions (`learning.py`)."""
        outcomes = self.graph.list_predictions(project_id, validated_only=True, limit=5000)
        if not outcomes:
            return PredictionModel("heuristic", 0, None, None)
        runs: dict[str, list[TestRun]] = {}
        for run in self.graph.list_test_runs(project_id, limit=5000):
            if run.flow_id is not None:
                runs.setdefault(run.flow_id, []).append(run)
        return fit_model(outcomes, runs)

    def anomalies(self, metrics: Sequence[Any], *, until: str) -> list[Anomaly]:
        found: list[Anomaly] = []
        for series in daily_series(metrics, until=until):
            found.extend(detect(series, self.options.detector))
        return found

    def run(self, project_id: str, *, today: str | None = None) -> AnalyzerRun:
        """Detect, run every rule, store the insights (one per subject and day) and publish what is new."""
        snapshot = self.snapshot(project_id, today=today)
        findings: list[Insight] = []
        for rule in self.options.rules:
            findings.extend(rule(snapshot, self.options.thresholds))
        stored = self.store.store_insights(project_id, findings) if findings else []
        reason = f"no rule found this on {snapshot.today}: its condition no longer holds"
        resolved = self.store.auto_resolve_insights(
            project_id, found=[f.subject for f in findings], day=snapshot.today, reason=reason
        )
        recent = _shift(snapshot.today, -(self.options.thresholds.recent_days - 1))
        fresh = [a for a in snapshot.anomalies if a.at >= recent]
        self._publish_all(project_id, stored, fresh)
        return AnalyzerRun(
            project_id=project_id,
            day=snapshot.today,
            flows=len(snapshot.flows),
            metric_days=len({m.day for m in snapshot.metrics}),
            runs=len(snapshot.runs),
            analyses=len(snapshot.analyses),
            anomalies=[a.to_json() for a in fresh],
            created=sum(s.created for s in stored),
            updated=sum(not s.created for s in stored),
            insights=sorted((s.insight for s in stored), key=_rank),
            resolved=sorted(resolved, key=_rank),
        )

    def _publish_all(self, project_id: str, stored: Sequence[StoredInsight], anomalies: Sequence[Anomaly]) -> None:
        if self.bus is None:
            return
        for item in stored:
            if item.created:
                insight = item.insight
                data = {"insightId": insight.id, "type": insight.type, "severity": insight.severity,
                        "flowId": insight.flow_id, "title": insight.title}  # fmt: skip
                self._publish(project_id, EventType.INSIGHT_GENERATED, data)
        for anomaly in anomalies:
            self._publish(project_id, EventType.ANOMALY_DETECTED, anomaly.to_json())

    def _publish(self, project_id: str, kind: EventType, data: dict[str, Any]) -> None:
        assert self.bus is not None
        try:
            self.bus.publish(PerceoEvent(type=kind, source="analyzer", project_id=project_id, data=data))
        except Exception:  # the insights are stored; a bus outage must not fail the run
            log.warning("could not publish %s for project %s", kind.value, project_id, exc_info=True)

    # -- predictions

    def predict(self, project_id: str, analysis_id: str) -> PredictionReport:
        """Failure probabilities of the flows a stored change analysis reaches, most likely first."""
        self._require_project(project_id)
        analysis = self.graph.get_analysis(project_id, analysis_id)
        if analysis is None:
            raise AnalysisNotFoundError(
                f"no analysis {analysis_id} in this project", details={"analysisId": analysis_id}
            )
        model = self.model(project_id)
        runs: dict[str, list[TestRun]] = {}
        for run in self.graph.list_test_runs(project_id, limit=5000):
            if run.flow_id is not None:
                runs.setdefault(run.flow_id, []).append(run)
        flows: list[FlowPrediction] = []
        for impacted in analysis.flows:
            history = past_failure_rate(runs.get(impacted.id, []))
            flows.append(
                FlowPrediction(
                    flow_id=impacted.id,
                    name=impacted.name,
                    priority=impacted.priority,
                    risk_score=impacted.risk_score,
                    confidence=impacted.confidence,
                    past_failure_rate=round(history, 4),
                    past_runs=len(runs.get(impacted.id, [])),
                    probability=round(model.probability(impacted.risk_score, impacted.confidence, history), 4),
                    reasons=[r.model_dump(mode="json") for r in impacted.reasons[:5]],
                )
            )
        flows.sort(key=lambda f: (-f.probability, f.name.casefold()))
        return PredictionReport(
            project_id=project_id,
            analysis_id=analysis.id,
            base_sha=analysis.base_sha,
            head_sha=analysis.head_sha,
            model=model.to_json(),
            flows=flows,
        )

    # -- reading and triage

    def insights(
        self,
        project_id: str,
        *,
        types: Sequence[InsightType] = (),
        statuses: Sequence[InsightStatus] = (),
        min_severity: Severity | None = None,
        since_day: str = "",
        limit: int = 200,
    ) -> list[Insight]:
        """Stored insights, most severe first, then most recently seen."""
        self._require_project(project_id)
        severities = SEVERITIES[: SEVERITIES.index(min_severity) + 1] if min_severity else ()
        found = self.store.list_insights(
            project_id,
            types=types,
            statuses=statuses,
            severities=severities,
            since_day=since_day,
            limit=min(limit, MAX_LIST),
        )
        return sorted(found, key=_rank)

    def acknowledge(self, project_id: str, ref: str) -> Insight:
        return self.store.set_insight_status(project_id, ref, "acknowledged")

    def resolve(self, project_id: str, ref: str) -> Insight:
        return self.store.set_insight_status(project_id, ref, "resolved")

    # -- coverage

    def coverage(self, project_id: str, *, today: str | None = None) -> CoverageReport:
        """Every active flow with its traffic and its tests: covered when a run is at most `stale_run_days` old;
        ranked by the users a day of the flows nobody tests, then by priority and name."""
        self._require_project(project_id)
        t = self.options.thresholds
        day = today or _day(self.clock())
        first = _shift(day, -27)
        flows = [f for f in self.graph.list_flows(project_id) if f.is_active]
        metrics = self.graph.list_flow_metrics(project_id, since=first, until=day)
        runs = self.graph.list_test_runs(project_id, since=_day_ms(first) - 365 * 86_400_000, limit=5000)
        snapshot = Snapshot(project_id, day, flows, metrics, runs, [], [])
        end_ms = _day_ms(day) + 86_400_000
        rows: list[CoverageRow] = []
        for flow in flows:
            users = daily_users(snapshot.metrics_by_flow.get(flow.id, []))
            flow_runs = snapshot.runs_by_flow.get(flow.id, [])
            last = flow_runs[-1] if flow_runs else None
            idle = None if last is None else int((end_ms - last.created_at) // 86_400_000)
            decided = [r for r in flow_runs[-20:] if r.status in ("passed", "failed", "error")]
            covered = idle is not None and idle <= t.stale_run_days
            rows.append(
                CoverageRow(
                    flow_id=flow.id,
                    name=flow.name,
                    priority=flow.priority,
                    users_per_day=users,
                    runs=len(flow_runs),
                    last_run_status=None if last is None else last.status,
                    last_run_at=None if last is None else last.created_at,
                    idle_days=idle,
                    pass_rate=round(sum(r.status == "passed" for r in decided) / len(decided), 3) if decided else None,
                    covered=covered,
                    users_at_risk=0.0 if covered else (users or 0.0),
                )
            )
        priorities = ("critical", "high", "medium", "low")
        rows.sort(key=lambda r: (-r.users_at_risk, r.covered, priorities.index(r.priority), r.name.casefold()))
        return CoverageReport(
            project_id=project_id,
            day=day,
            stale_run_days=t.stale_run_days,
            flows=rows,
            covered=sum(r.covered for r in rows),
            uncovered=sum(not r.covered for r in rows),
            users_at_risk=sum(r.users_at_risk for r in rows),
        )

    def _require_project(self, project_id: str) -> None:
        if self.graph.get_project(project_id) is None:
            raise ProjectNotFoundError(f"project {project_id} not found", details={"projectId": project_id})


def _rank(insight: Insight) -> tuple[int, int, str]:
    return (SEVERITIES.index(insight.severity), -(insight.updated_at or insight.created_at), insight.id)


def _day(epoch_ms: int) -> str:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC).date().isoformat()


def _shift(day: str, days: int) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()


def _day_ms(day: str) -> int:
    return int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp() * 1000)


def parse_since(value: str, *, today: str) -> str:
    """`--since`: a day (YYYY-MM-DD) or a number of days back (`7d`, `7`). ValidationFailed otherwise."""
    text = value.strip().lower().removesuffix("d")
    if text.isdigit():
        return _shift(today, -int(text))
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise ValidationFailed(
            f"--since must be a day (YYYY-MM-DD) or a number of days like 7d (got {value!r})",
            details={"field": "since"},
        ) from None
