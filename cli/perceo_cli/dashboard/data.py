"""What the dashboard's views show, computed from what the Backend port returns (no HTTP, no templates here).

Every view reads through `Backend`, so the same page works on the embedded store and on the API; a part the
backend does not have (`NotOnThisBackendError`) becomes a notice on the page, never an error page.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from perceo_cli.backend.port import NotOnThisBackendError

if TYPE_CHECKING:
    from perceo.coordinator.predictions import PredictionQuality
    from perceo.models import ChangeAnalysis, FlowView, Insight
    from perceo.models.runs import FlowMetrics, TestRun
    from perceo.models.vocab import InsightStatus
    from perceo_cli.backend.port import Backend

T = TypeVar("T")

#: Days of production history the views show.
HISTORY_DAYS = 30
#: Days read to judge anomalies on the days shown: the detector's baseline needs weeks of history before a day.
ANOMALY_HISTORY_DAYS = 90


@dataclass(frozen=True)
class Part(Generic[T]):
    """A part of a view: its value, or why the backend has none (shown as a notice)."""

    value: T
    missing: str | None = None


def part(read: Callable[[], T], empty: T) -> Part[T]:
    try:
        return Part(read())
    except NotOnThisBackendError as error:
        return Part(empty, error.message)


@dataclass(frozen=True)
class FlowRow:
    id: str
    name: str
    priority: str
    risk: float
    coverage: float | None
    success_rate: float | None
    users_per_day: float | None
    last_test: str | None
    last_test_at: int | None
    pages: int
    steps: int


@dataclass(frozen=True)
class Series:
    """One flow's daily production figures, oldest first (None: no data that day)."""

    flow_id: str
    name: str
    days: list[str]
    success_rate: list[float | None]
    users: list[int | None]
    duration_ms: list[float | None]
    funnel: list[tuple[int, str, int]] = field(default_factory=list)
    #: Anomalies on the days shown: {day, metric (success_rate | users | duration_ms), direction, kind}.
    anomalies: list[dict[str, str]] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return any(v is not None for v in self.users)


@dataclass(frozen=True)
class TestSummary:
    __test__ = False  # not a pytest test class
    runs: list[TestRun]
    failures: list[TestRun]
    flaky: list[TestRun]
    pass_rate: float | None
    #: How `ci analyze`'s selection held against test outcomes (what `ci test --observe` measures), None if unknown.
    selection: PredictionQuality | None = None


class DashboardData:
    """The views' data, read through the backend each time a page is asked for (the store is the truth)."""

    def __init__(self, backend: Backend, *, today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.UTC).date()):
        self.backend = backend
        self.today = today

    def project_name(self) -> str:
        return self.backend.project().name

    def flows(self) -> list[FlowView]:
        return sorted(self.backend.list_flows(), key=lambda f: (-_PRIORITY.get(f.priority, 0), f.name.lower()))

    def flow(self, flow_id: str) -> FlowView:
        return self.backend.get_flow(flow_id)

    def metrics(self, days: int = HISTORY_DAYS) -> Part[list[FlowMetrics]]:
        until = self.today()
        since = until - dt.timedelta(days=days - 1)
        return part(lambda: self.backend.list_flow_metrics(since=since.isoformat(), until=until.isoformat()), [])

    def runs(self, flow_id: str | None = None, limit: int = 200) -> Part[list[TestRun]]:
        return part(lambda: self.backend.list_test_runs(flow_id=flow_id, limit=limit), [])

    def analyses(self, limit: int = 20) -> list[ChangeAnalysis]:
        return self.backend.list_analyses(limit=limit)

    def flow_rows(self) -> tuple[list[FlowRow], list[str]]:
        metrics, runs = self.metrics(), self.runs()
        by_flow: dict[str, list[FlowMetrics]] = defaultdict(list)
        for m in metrics.value:
            by_flow[m.flow_id].append(m)
        latest: dict[str, TestRun] = {}
        for run in runs.value:  # newest first
            if run.flow_id is not None:
                latest.setdefault(run.flow_id, run)
        rows = []
        for flow in self.flows():
            days = by_flow.get(flow.id, [])
            last = latest.get(flow.id)
            rows.append(
                FlowRow(
                    id=flow.id,
                    name=flow.name,
                    priority=flow.priority,
                    risk=flow.risk_score,
                    coverage=flow.coverage_score,
                    success_rate=_success_rate(days),
                    users_per_day=_users_per_day(days),
                    last_test=(("flaky" if last.flaky else last.status) if last else None),
                    last_test_at=last.created_at if last else None,
                    pages=len(flow.pages),
                    steps=len(flow.steps),
                )
            )
        return rows, [m for m in (metrics.missing, runs.missing) if m]

    def history(self, flow_id: str) -> tuple[list[ChangeAnalysis], Part[list[TestRun]]]:
        """The analyses that put this flow at risk (of the latest 100) and its test runs."""
        touched = [a for a in self.analyses(limit=100) if any(f.id == flow_id for f in a.flows)]
        return touched, self.runs(flow_id=flow_id, limit=50)

    def insights(self) -> Part[list[Insight]]:
        """Open and acknowledged insights, most severe first."""
        return part(lambda: self.backend.list_insights(statuses=("open", "acknowledged")), [])

    def set_insight_status(self, ref: str, status: InsightStatus) -> Insight:
        return self.backend.set_insight_status(ref, status)

    def production(self) -> tuple[list[Series], str | None]:
        metrics = self.metrics(ANOMALY_HISTORY_DAYS)
        flows = self.flows()
        until = self.today()
        days = [(until - dt.timedelta(days=n)).isoformat() for n in range(HISTORY_DAYS - 1, -1, -1)]
        by_key = {(m.flow_id, m.day): m for m in metrics.value}
        anomalies = anomalies_by_flow(metrics.value, until=days[-1])
        series = []
        for flow in flows:
            rows = [by_key.get((flow.id, day)) for day in days]
            series.append(
                Series(
                    flow_id=flow.id,
                    name=flow.name,
                    days=days,
                    success_rate=[r.prod_success_rate if r else None for r in rows],
                    users=[r.prod_daily_users if r else None for r in rows],
                    duration_ms=[r.prod_avg_duration_ms if r else None for r in rows],
                    funnel=funnel(flow, [r for r in rows if r is not None]),
                    anomalies=[a for a in anomalies.get(flow.id, []) if a["day"] >= days[0]],
                )
            )
        series.sort(key=lambda s: (not s.has_data, -sum(u or 0 for u in s.users), s.name.lower()))
        return series, metrics.missing

    def tests(self) -> tuple[TestSummary, str | None]:
        runs = self.runs(limit=200)
        quality = part(self.backend.prediction_quality, None)
        done = [r for r in runs.value if r.status in ("passed", "failed", "error")]
        summary = TestSummary(
            runs=runs.value,
            failures=[r for r in runs.value if r.status in ("failed", "error")],
            flaky=[r for r in runs.value if r.flaky],
            pass_rate=(sum(r.status == "passed" for r in done) / len(done)) if done else None,
            selection=quality.value,
        )
        return summary, runs.missing


_PRIORITY = {"critical": 4, "high": 3, "medium": 2, "low": 1}


def _success_rate(days: Sequence[FlowMetrics]) -> float | None:
    sessions = sum(d.sessions for d in days)
    return sum(d.completions for d in days) / sessions if sessions else None


def _users_per_day(days: Sequence[FlowMetrics]) -> float | None:
    users = [d.prod_daily_users for d in days if d.prod_daily_users is not None]
    return sum(users) / len(users) if users else None


def anomalies_by_flow(metrics: Sequence[FlowMetrics], *, until: str) -> dict[str, list[dict[str, str]]]:
    """The analyzer's anomaly detector (seasonal baseline, robust spread, volume gates) over each flow's daily
    series, as the chart marks them."""
    from perceo.analyzer.anomaly import daily_series, detect

    found: dict[str, list[dict[str, str]]] = defaultdict(list)
    for series in daily_series(metrics, until=until):
        for anomaly in detect(series):
            found[anomaly.flow_id].append(
                {
                    "day": anomaly.at[:10],
                    "metric": "duration_ms" if anomaly.metric == "duration" else anomaly.metric,
                    "direction": str(anomaly.direction),
                    "kind": str(anomaly.kind),
                }
            )
    return found


def funnel(flow: FlowView, days: Sequence[FlowMetrics]) -> list[tuple[int, str, int]]:
    """(step, its name, sessions that reached it) over these days: step 1 is reached by every session that walked
    the flow, step k by those of step k-1 minus the sessions that dropped off before k (`dropOff["k"]`)."""
    if not days or not flow.steps:
        return []
    reached = sum(d.sessions for d in days)
    dropped: dict[int, int] = defaultdict(int)
    for d in days:
        for key, count in d.drop_off.items():
            if key.isdigit():
                dropped[int(key)] += count
    rows = []
    for step in sorted(flow.steps, key=lambda s: s.order):
        reached -= dropped.get(step.order, 0) if step.order > 1 else 0
        rows.append((step.order, step.name, max(reached, 0)))
    return rows
