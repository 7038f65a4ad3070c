"""The insight rules: pure functions from a snapshot of a project (flows, daily metrics, test runs, change
analyses, anomalies) to findings. Each rule's thresholds are fields of `Thresholds`, documented in the README.

| rule | type | finds |
|---|---|---|
| `discrepancies` | discrepancy | tests pass while the production success rate fell, or tests fail while it holds |
| `coverage_gaps` | coverage-gap | a busy flow with no test run ever, or none for `stale_run_days` |
| `ux_issues` | ux-issue | drop-off concentrated at one step; a step whose time grew |
| `performance` | performance | a flow whose duration rose above its seasonal baseline (anomaly, spike or drift) |
| `regressions` | regression | a flow's tests went from passing to failing at a commit; its production success rate fell
  (anomaly) with the commits analysed in the days before named |
| `predictions` | prediction | flows a recent, not yet tested change puts at risk, with a failure probability |

Every finding has a subject (`<type>:<flow id>[:<detail>]`): the store keeps one insight per subject and day.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from perceo.analyzer.anomaly import Anomaly
from perceo.analyzer.learning import PredictionModel, heuristic, past_failure_rate
from perceo.models import ChangeAnalysis, FlowMetrics, FlowView, Insight, TestRun
from perceo.models.vocab import InsightType, Priority, Severity

SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")
DECIDED = ("passed", "failed", "error")


@dataclass(frozen=True)
class Thresholds:
    """What each rule needs to speak. Defaults are the README's; a project can override them."""

    #: "Now": the last `recent_days` days (today included) of metrics and anomalies.
    recent_days: int = 3
    #: The baseline a recent figure is compared with: the `baseline_days` days before the recent ones.
    baseline_days: int = 28
    #: Sessions a flow needs over the recent days for its production success rate to count.
    min_sessions: int = 50
    # discrepancy
    #: Tests "pass": at least this share of the flow's decided runs of the last `test_window_days` passed.
    tests_pass_rate: float = 0.9
    #: Tests "fail": at most this share passed (at least `min_failing_runs` runs).
    tests_fail_rate: float = 0.5
    min_failing_runs: int = 2
    test_window_days: int = 7
    #: Production "fell": the recent success rate is this much below the baseline (relative), or an anomaly says so.
    prod_drop: float = 0.15
    #: Production "holds": within this much of the baseline (relative).
    prod_steady: float = 0.05
    # coverage gap
    #: A flow is busy with at least this many users a day (median of the last 7 days with metrics).
    coverage_min_users: int = 50
    #: A tested flow whose newest run is older than this is a gap too.
    stale_run_days: int = 14
    # ux
    #: One step holds at least this share of the flow's drop-offs of the last 7 days…
    dropoff_share: float = 0.5
    #: …and at least this many sessions, and this share of the sessions that walked the flow, dropped there.
    dropoff_min_sessions: int = 20
    dropoff_min_rate: float = 0.10
    #: A step's median time of the last 7 days is this much above that of the 28 days before (relative)…
    step_slowdown: float = 0.5
    #: …and by at least this many milliseconds.
    step_slowdown_ms: float = 1000.0
    # prediction
    #: Below this failure probability a change's flow is not reported.
    prediction_min_probability: float = 0.5
    #: Analyses older than this many days are no longer "pending".
    prediction_window_days: int = 7


@dataclass(frozen=True)
class Snapshot:
    """What the rules read: one project's state on `today` (UTC)."""

    project_id: str
    today: str
    flows: Sequence[FlowView]
    metrics: Sequence[FlowMetrics]
    runs: Sequence[TestRun]
    analyses: Sequence[ChangeAnalysis]
    anomalies: Sequence[Anomaly]
    #: What answers failure probabilities: the project's fitted model, or the heuristic (None).
    model: PredictionModel | None = None
    #: Derived lookups (built once).
    metrics_by_flow: dict[str, list[FlowMetrics]] = field(default_factory=dict)
    runs_by_flow: dict[str, list[TestRun]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_flow: dict[str, list[FlowMetrics]] = defaultdict(list)
        for m in sorted(self.metrics, key=lambda m: m.day):
            by_flow[m.flow_id].append(m)
        runs: dict[str, list[TestRun]] = defaultdict(list)
        for run in sorted(self.runs, key=lambda r: (r.created_at, r.id)):
            if run.flow_id is not None:
                runs[run.flow_id].append(run)
        object.__setattr__(self, "metrics_by_flow", dict(by_flow))
        object.__setattr__(self, "runs_by_flow", dict(runs))

    def day_ago(self, days: int) -> str:
        return (dt.date.fromisoformat(self.today) - dt.timedelta(days=days)).isoformat()

    def recent(self, flow_id: str, t: Thresholds) -> list[FlowMetrics]:
        since = self.day_ago(t.recent_days - 1)
        return [m for m in self.metrics_by_flow.get(flow_id, []) if m.day >= since]

    def baseline(self, flow_id: str, t: Thresholds) -> list[FlowMetrics]:
        first, last = self.day_ago(t.recent_days + t.baseline_days - 1), self.day_ago(t.recent_days)
        return [m for m in self.metrics_by_flow.get(flow_id, []) if first <= m.day <= last]

    def recent_anomalies(self, flow_id: str, metric: str, t: Thresholds) -> list[Anomaly]:
        since = self.day_ago(t.recent_days - 1)
        return [a for a in self.anomalies if a.flow_id == flow_id and a.metric == metric and a.at >= since and a.bad]


Rule = Callable[[Snapshot, Thresholds], list[Insight]]


# --------------------------------------------------------------------------------------------------
# helpers


def _bump(severity: Severity, levels: int = 1) -> Severity:
    """`levels` steps more severe (never past critical)."""
    return SEVERITIES[max(0, SEVERITIES.index(severity) - levels)]


def _for_priority(severity: Severity, priority: Priority) -> Severity:
    """Critical flows one level up; low-priority flows one level down."""
    if priority == "critical":
        return _bump(severity)
    if priority == "low":
        return SEVERITIES[min(len(SEVERITIES) - 1, SEVERITIES.index(severity) + 1)]
    return severity


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _rate(metrics: Iterable[FlowMetrics]) -> tuple[float | None, int]:
    """Sessions-weighted success rate and its sessions."""
    sessions = completions = 0
    for m in metrics:
        if m.prod_success_rate is not None and m.sessions:
            sessions += m.sessions
            completions += m.completions
    return (completions / sessions if sessions else None), sessions


def _baseline_rate(metrics: Sequence[FlowMetrics], t: Thresholds) -> float | None:
    """The median daily success rate of the baseline days that had enough sessions to say something."""
    rates = [
        m.prod_success_rate
        for m in metrics
        if m.prod_success_rate is not None and m.sessions >= max(1, t.min_sessions // t.recent_days)
    ]
    return statistics.median(rates) if len(rates) >= 3 else None


def _run_ref(run: TestRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "commit": run.commit_sha,
        "at": run.created_at,
        "runner": run.runner,
        "suiteId": run.suite_id,
    }


def _day_ms(day: str) -> int:
    return int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp() * 1000)


def _insight(snapshot: Snapshot, flow: FlowView, kind: InsightType, detail: str | None, **fields: Any) -> Insight:
    subject = f"{kind}:{flow.id}" + (f":{detail}" if detail else "")
    evidence = {"flow": {"id": flow.id, "name": flow.name, "priority": flow.priority}, **fields.pop("evidence")}
    return Insight(
        project_id=snapshot.project_id,
        flow_id=flow.id,
        type=kind,
        subject=subject,
        day=snapshot.today,
        evidence=evidence,
        **fields,
    )


def _windows(snapshot: Snapshot, t: Thresholds) -> dict[str, dict[str, str]]:
    return {
        "recent": {"from": snapshot.day_ago(t.recent_days - 1), "to": snapshot.today},
        "baseline": {
            "from": snapshot.day_ago(t.recent_days + t.baseline_days - 1),
            "to": snapshot.day_ago(t.recent_days),
        },
    }


# --------------------------------------------------------------------------------------------------
# discrepancy


def discrepancies(snapshot: Snapshot, t: Thresholds) -> list[Insight]:
    found: list[Insight] = []
    since_ms = _day_ms(snapshot.day_ago(t.test_window_days - 1))
    for flow in snapshot.flows:
        runs = [r for r in snapshot.runs_by_flow.get(flow.id, []) if r.created_at >= since_ms and r.status in DECIDED]
        if not runs:
            continue
        passed = sum(r.status == "passed" for r in runs)
        pass_rate = passed / len(runs)
        recent_rate, sessions = _rate(snapshot.recent(flow.id, t))
        base_rate = _baseline_rate(snapshot.baseline(flow.id, t), t)
        if recent_rate is None or sessions < t.min_sessions or base_rate is None or base_rate == 0:
            continue
        change = (recent_rate - base_rate) / base_rate
        anomalies = snapshot.recent_anomalies(flow.id, "success_rate", t)
        evidence = {
            "tests": {"runs": len(runs), "passed": passed, "passRate": round(pass_rate, 3),
                      "window": {"from": snapshot.day_ago(t.test_window_days - 1), "to": snapshot.today},
                      "latest": _run_ref(runs[-1])},
            "production": {"successRate": round(recent_rate, 4), "baselineSuccessRate": round(base_rate, 4),
                           "change": round(change, 4), "sessions": sessions, **_windows(snapshot, t)},
            "anomalies": [a.to_json() for a in anomalies],
        }  # fmt: skip
        if pass_rate >= t.tests_pass_rate and (-change >= t.prod_drop or anomalies):
            fell = max(-change, max((-a.change for a in anomalies), default=0.0))
            severity: Severity = "critical" if fell >= 0.3 else "high" if fell >= t.prod_drop else "medium"
            found.append(
                _insight(
                    snapshot, flow, "discrepancy", "tests-pass-production-fails",
                    severity=_for_priority(severity, flow.priority) if severity != "critical" else severity,
                    title=f"{flow.name}: tests pass but production success fell {_pct(-change)}",
                    message=(
                        f"{passed} of {len(runs)} test runs of {flow.name} passed in the last {t.test_window_days} "
                        f"days, while {_pct(recent_rate)} of its production sessions completed over the last "
                        f"{t.recent_days} days against {_pct(base_rate)} before ({sessions} sessions)."
                    ),
                    suggested_action=(
                        "The tests miss what breaks for users: replay the sessions that drop off (see the top exit "
                        "step), check browsers, data and feature flags the tests do not cover, and add that case."
                    ),
                    evidence=evidence,
                )
            )  # fmt: skip
        elif pass_rate <= t.tests_fail_rate and len(runs) >= t.min_failing_runs and abs(change) <= t.prod_steady:
            found.append(
                _insight(
                    snapshot, flow, "discrepancy", "tests-fail-production-works",
                    severity=_for_priority("medium", flow.priority),
                    title=f"{flow.name}: tests fail but users complete it ({_pct(recent_rate)})",
                    message=(
                        f"Only {passed} of {len(runs)} test runs of {flow.name} passed in the last "
                        f"{t.test_window_days} days, while production completes as before ({_pct(recent_rate)} "
                        f"against {_pct(base_rate)})."
                    ),
                    suggested_action=(
                        "The test is likely broken or flaky, not the flow: fix its selectors, data or timing so "
                        "that a red test means a broken flow again."
                    ),
                    evidence=evidence,
                )
            )  # fmt: skip
    return found


# --------------------------------------------------------------------------------------------------
# coverage gap


def daily_users(metrics: Sequence[FlowMetrics]) -> float | None:
    """The median users a day of the last 7 days with metrics (None with fewer than 3 such days)."""
    users = [m.prod_daily_users for m in metrics[-7:] if m.prod_daily_users is not None]
    return float(statistics.median(users)) if len(users) >= 3 else None


def coverage_gaps(snapshot: Snapshot, t: Thresholds) -> list[Insight]:
    found: list[Insight] = []
    busiest = max((daily_users(ms) or 0.0 for ms in snapshot.metrics_by_flow.values()), default=0.0)
    now_ms = _day_ms(snapshot.today) + 86_400_000
    for flow in snapshot.flows:
        if not flow.is_active:
            continue
        users = daily_users(snapshot.metrics_by_flow.get(flow.id, []))
        if users is None or users < t.coverage_min_users:
            continue
        runs = snapshot.runs_by_flow.get(flow.id, [])
        last = runs[-1] if runs else None
        idle_days = None if last is None else (now_ms - last.created_at) // 86_400_000
        if last is not None and idle_days is not None and idle_days <= t.stale_run_days:
            continue
        share = users / busiest if busiest else 0.0
        severity: Severity = "high" if share >= 0.5 else "medium"
        evidence = {
            "users": {"perDay": users, "shareOfBusiest": round(share, 3), "days": 7},
            "runs": {"count": len(runs), "latest": None if last is None else _run_ref(last), "idleDays": idle_days},
            "thresholds": {"minUsersPerDay": t.coverage_min_users, "staleRunDays": t.stale_run_days},
        }
        if last is None:
            title = f"{flow.name}: {users:.0f} users a day and no test"
            message = f"{flow.name} is walked by {users:.0f} users a day and no test run of it was ever recorded."
            detail = "no-test"
        else:
            title = f"{flow.name}: {users:.0f} users a day and no test run for {idle_days} days"
            message = f"{flow.name} is walked by {users:.0f} users a day; its last test run was {idle_days} days ago."
            detail = "stale"
        found.append(
            _insight(
                snapshot, flow, "coverage-gap", detail,
                severity=_for_priority(severity, flow.priority),
                title=title,
                message=message,
                suggested_action=(
                    f"Map a test to {flow.name} (coordinator.flowTests) or run its steps in a browser "
                    "(`perceo flows run`), and run it in CI."
                ),
                evidence=evidence,
            )
        )  # fmt: skip
    return found


# --------------------------------------------------------------------------------------------------
# ux issue


def _step_name(flow: FlowView, order: int) -> str:
    for step in flow.steps:
        if step.order == order:
            return step.name
    if 0 < order <= len(flow.pages):
        return flow.pages[order - 1]
    return f"step {order}"


def ux_issues(snapshot: Snapshot, t: Thresholds) -> list[Insight]:
    found: list[Insight] = []
    for flow in snapshot.flows:
        metrics = snapshot.metrics_by_flow.get(flow.id, [])
        week = [m for m in metrics if m.day >= snapshot.day_ago(6)]
        if not week:
            continue
        found.extend(_dropoff(snapshot, flow, week, t))
        before = [m for m in metrics if snapshot.day_ago(34) <= m.day <= snapshot.day_ago(7)]
        found.extend(_step_slowdowns(snapshot, flow, week, before, t))
    return found


def _dropoff(snapshot: Snapshot, flow: FlowView, week: Sequence[FlowMetrics], t: Thresholds) -> list[Insight]:
    dropped: dict[int, int] = defaultdict(int)
    for m in week:
        for step, count in m.drop_off.items():
            dropped[int(step)] += count
    sessions = sum(m.sessions for m in week)
    total = sum(dropped.values())
    if not total or not sessions:
        return []
    order, count = max(dropped.items(), key=lambda item: (item[1], -item[0]))
    share, rate = count / total, count / sessions
    if share < t.dropoff_share or count < t.dropoff_min_sessions or rate < t.dropoff_min_rate:
        return []
    severity: Severity = "high" if rate >= 0.3 else "medium" if rate >= 0.15 else "low"
    name = _step_name(flow, order)
    return [
        _insight(
            snapshot, flow, "ux-issue", f"drop-off:{order}",
            severity=_for_priority(severity, flow.priority),
            title=f"{flow.name}: {_pct(rate)} of sessions drop off at step {order} ({name})",
            message=(
                f"{count} of the {sessions} sessions that walked {flow.name} in the last 7 days stopped before step "
                f"{order} ({name}): {_pct(share)} of all its drop-offs."
            ),
            suggested_action=f"Look at what step {order - 1 if order > 1 else 1} asks of users before {name}: errors, "
            "slow loads, confusing copy, a required field; watch a few sessions that stop there.",
            evidence={
                "step": {"order": order, "name": name},
                "dropOff": {"sessions": count, "shareOfDropOffs": round(share, 3), "rateOfSessions": round(rate, 3),
                            "byStep": {str(k): v for k, v in sorted(dropped.items())}},
                "sessions": sessions,
                "window": {"from": snapshot.day_ago(6), "to": snapshot.today},
            },
        )
    ]  # fmt: skip


def _step_slowdowns(
    snapshot: Snapshot, flow: FlowView, week: Sequence[FlowMetrics], before: Sequence[FlowMetrics], t: Thresholds
) -> list[Insight]:
    found: list[Insight] = []
    steps = max((len(m.step_median_ms) for m in week), default=0)
    for index in range(steps):
        recent = [m.step_median_ms[index] for m in week if index < len(m.step_median_ms)]
        older = [m.step_median_ms[index] for m in before if index < len(m.step_median_ms)]
        recent_ms = [v for v in recent if v is not None]
        older_ms = [v for v in older if v is not None]
        if len(recent_ms) < 3 or len(older_ms) < 7:
            continue
        now, then = statistics.median(recent_ms), statistics.median(older_ms)
        if then <= 0 or (now - then) / then < t.step_slowdown or now - then < t.step_slowdown_ms:
            continue
        growth = (now - then) / then
        order = index + 1
        name = _step_name(flow, order)
        found.append(
            _insight(
                snapshot, flow, "ux-issue", f"step-time:{order}",
                severity=_for_priority("high" if growth >= 1.0 else "medium", flow.priority),
                title=f"{flow.name}: step {order} ({name}) takes {_pct(growth)} longer",
                message=(
                    f"Users now take {now / 1000:.1f} s (median, last 7 days) to reach step {order} ({name}) of "
                    f"{flow.name}, against {then / 1000:.1f} s over the 4 weeks before."
                ),
                suggested_action=f"Profile the page before {name} (slow API calls, heavy bundles) and check what "
                "changed in it recently.",
                evidence={
                    "step": {"order": order, "name": name},
                    "medianMs": {"recent": now, "baseline": then, "growth": round(growth, 3)},
                    "days": {"recent": len(recent_ms), "baseline": len(older_ms)},
                    "window": {"recent": {"from": snapshot.day_ago(6), "to": snapshot.today},
                               "baseline": {"from": snapshot.day_ago(34), "to": snapshot.day_ago(7)}},
                },
            )
        )  # fmt: skip
    return found


# --------------------------------------------------------------------------------------------------
# performance


def performance(snapshot: Snapshot, t: Thresholds) -> list[Insight]:
    found: list[Insight] = []
    for flow in snapshot.flows:
        anomalies = snapshot.recent_anomalies(flow.id, "duration", t)
        if not anomalies:
            continue
        worst = max(anomalies, key=lambda a: a.change)
        severity: Severity = "high" if worst.change >= 1.0 else "medium" if worst.change >= 0.5 else "low"
        found.append(
            _insight(
                snapshot, flow, "performance", "duration",
                severity=_for_priority(severity, flow.priority),
                title=f"{flow.name} got {_pct(worst.change)} slower ({worst.kind} on {worst.at})",
                message=(
                    f"Completing {flow.name} took {worst.value / 1000:.1f} s (median) on {worst.at}, against "
                    f"{worst.expected / 1000:.1f} s expected for that day of the week ({worst.volume} completions, "
                    f"robust score {worst.score:.1f})."
                ),
                suggested_action="Compare the flow's slowest step (`perceo analyze insights --type ux-issue`) and "
                "the deploys of that day; profile the pages of the flow.",
                evidence={"anomalies": [a.to_json() for a in anomalies], **_windows(snapshot, t)},
            )
        )  # fmt: skip
    return found


# --------------------------------------------------------------------------------------------------
# regression


def regressions(snapshot: Snapshot, t: Thresholds) -> list[Insight]:
    return [*_test_regressions(snapshot, t), *_production_regressions(snapshot, t)]


def _test_regressions(snapshot: Snapshot, t: Thresholds) -> list[Insight]:
    found: list[Insight] = []
    for flow in snapshot.flows:
        runs = [r for r in snapshot.runs_by_flow.get(flow.id, []) if r.status in DECIDED]
        if not runs or runs[-1].status == "passed":
            continue
        last_pass = max((i for i, r in enumerate(runs) if r.status == "passed"), default=None)
        if last_pass is None:
            continue  # never passed: a broken test or flow, not a regression
        first_fail = runs[last_pass + 1]
        failing = runs[last_pass + 1 :]
        commit = first_fail.commit_sha or "an unrecorded commit"
        found.append(
            _insight(
                snapshot, flow, "regression", f"tests:{first_fail.commit_sha or first_fail.id}",
                severity=_for_priority("high", flow.priority),
                title=f"{flow.name} fails since commit {commit[:12]}",
                message=(
                    f"The tests of {flow.name} passed at {(runs[last_pass].commit_sha or 'the previous run')[:12]} and "
                    f"have failed in all {len(failing)} run(s) since {commit[:12]}"
                    + (f": {first_fail.failure_message[:200]}" if first_fail.failure_message else ".")
                ),
                suggested_action=f"Look at what commit {commit[:12]} changed in the files behind {flow.name} "
                "(`perceo ci analyze`), fix it or revert it.",
                evidence={
                    "commit": first_fail.commit_sha,
                    "lastPassingRun": _run_ref(runs[last_pass]),
                    "firstFailingRun": _run_ref(first_fail),
                    "failingRuns": len(failing),
                },
            )
        )  # fmt: skip
    return found


def _production_regressions(snapshot: Snapshot, t: Thresholds) -> list[Insight]:
    found: list[Insight] = []
    for flow in snapshot.flows:
        anomalies = snapshot.recent_anomalies(flow.id, "success_rate", t)
        if not anomalies:
            continue
        first = min(anomalies, key=lambda a: a.at)
        worst = min(anomalies, key=lambda a: a.change)
        commits = _commits_before(snapshot, flow.id, first.at)
        named = commits[0]["commit"] if commits else None
        action = (
            f"Check commit {str(named)[:12]} first (it touched {flow.name})"
            if commits and commits[0]["touchesFlow"]
            else "Check the deploys and configuration changes of that day"
        )
        severity: Severity = "critical" if worst.change <= -0.3 else "high"
        title = f"{flow.name}: success rate fell {_pct(-worst.change)} since {first.at}" + (
            f" after commit {str(named)[:12]}" if named else ""
        )
        found.append(
            _insight(
                snapshot, flow, "regression", "production",
                severity=_for_priority(severity, flow.priority) if severity != "critical" else severity,
                title=title,
                message=(
                    f"{_pct(worst.value)} of {flow.name}'s sessions completed on {worst.at} against "
                    f"{_pct(worst.expected)} expected ({worst.volume} sessions). "
                    + (f"Changes analysed in the 2 days before: {', '.join(str(c['commit'])[:12] for c in commits)}."
                       if commits else "No change analysed in the 2 days before explains it.")
                ),
                suggested_action=action + "; roll back if the drop continues.",
                evidence={"commit": named, "commits": commits, "anomalies": [a.to_json() for a in anomalies]},
            )
        )  # fmt: skip
    return found


def _commits_before(snapshot: Snapshot, flow_id: str, day: str) -> list[dict[str, Any]]:
    """Analysed changes from two days before `day` to its end: those that touched the flow first, newest first."""
    start, end = _day_ms(day) - 2 * 86_400_000, _day_ms(day) + 86_400_000
    seen: dict[str, dict[str, Any]] = {}
    for analysis in sorted(snapshot.analyses, key=lambda a: a.created_at, reverse=True):
        if not start <= analysis.created_at < end:
            continue
        touches = any(f.id == flow_id for f in analysis.flows)
        entry = seen.setdefault(
            analysis.head_sha,
            {"commit": analysis.head_sha, "analysisId": analysis.id, "at": analysis.created_at, "touchesFlow": False},
        )
        entry["touchesFlow"] = entry["touchesFlow"] or touches
    return sorted(seen.values(), key=lambda c: (not c["touchesFlow"], -int(c["at"])))


# --------------------------------------------------------------------------------------------------
# prediction


def failure_probability(risk_score: float, runs: Sequence[TestRun]) -> tuple[float, float]:
    """The heuristic: (probability that the flow's tests fail for the change, its smoothed past failure rate).

    p = 1 - (1 - 0.6 x risk) x (1 - h), where h = (failed + 0.1 x 10) / (decided runs + 10)."""
    history = past_failure_rate(runs)
    return heuristic(risk_score, history), history


def predictions(snapshot: Snapshot, t: Thresholds) -> list[Insight]:
    found: list[Insight] = []
    since = _day_ms(snapshot.day_ago(t.prediction_window_days - 1))
    flows = {f.id: f for f in snapshot.flows}
    tested = {(r.flow_id, r.commit_sha) for r in snapshot.runs if r.commit_sha}
    model = snapshot.model or PredictionModel("heuristic", 0, None, None)
    latest: dict[str, ChangeAnalysis] = {}
    for analysis in sorted(snapshot.analyses, key=lambda a: a.created_at):
        if analysis.created_at >= since:
            latest[analysis.head_sha] = analysis
    for analysis in latest.values():
        for impacted in analysis.flows:
            flow = flows.get(impacted.id)
            if flow is None or (flow.id, analysis.head_sha) in tested:
                continue  # gone, or already tested at that commit (the outcome is known)
            runs = snapshot.runs_by_flow.get(flow.id, [])
            history = past_failure_rate(runs)
            probability = model.probability(impacted.risk_score, impacted.confidence, history)
            if probability < t.prediction_min_probability:
                continue
            severity: Severity = "high" if probability >= 0.75 else "medium"
            found.append(
                _insight(
                    snapshot, flow, "prediction", f"{analysis.head_sha[:16]}",
                    severity=_for_priority(severity, flow.priority),
                    title=f"{flow.name} is likely to fail for {analysis.head_sha[:12]} ({_pct(probability)})",
                    message=(
                        f"The change {analysis.base_sha[:12]}..{analysis.head_sha[:12]} reaches {flow.name} "
                        f"(risk {impacted.risk_score:.2f}, confidence {impacted.confidence:.2f}); its tests failed in "
                        f"{_pct(history)} of past runs (smoothed); {model.kind} model."
                    ),
                    suggested_action=f"Run the tests of {flow.name} on this change before merging (`perceo ci test`) "
                    "and review the files in the evidence.",
                    evidence={
                        "commit": analysis.head_sha,
                        "baseSha": analysis.base_sha,
                        "analysisId": analysis.id,
                        "probability": round(probability, 3),
                        "model": model.kind,
                        "calibration": model.to_json(),
                        "features": {"riskScore": impacted.risk_score, "confidence": impacted.confidence,
                                     "pastFailureRate": round(history, 3), "pastRuns": len(runs)},
                        "reasons": [r.model_dump(mode="json") for r in impacted.reasons[:5]],
                        "affectedPages": impacted.affected_pages,
                    },
                )
            )  # fmt: skip
    return found


RULES: tuple[Rule, ...] = (discrepancies, coverage_gaps, ux_issues, performance, regressions, predictions)
