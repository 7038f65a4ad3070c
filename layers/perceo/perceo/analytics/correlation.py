"""Sessions to daily flow metrics: align sessions to the project's flows in batches, fold each walk into the
metrics of its flow and day, and count the paths no flow covers. Streaming: a batch of sessions at a time.

Per flow and UTC day (the day a session started):

- `sessions`: sessions that walked the flow (see `alignment.py`), `completions`: those that reached its last step,
  `prodSuccessRate` = completions / sessions;
- `dropOff`: per step k, the sessions whose walk stopped before step k (the top one is `prodTopExitStep`);
- `prodDailyUsers`: distinct users among those sessions;
- `medianDurationMs` / `prodAvgDurationMs`: time from the first to the last matched step of completed walks;
  `stepMedianMs[k-1]`: median time from the previous matched step to step k;
- `revenueAtRisk`: dropped sessions x the value of one completion: the revenue property summed over completed
  sessions / completions when that property is configured and seen, else the flow's configured value, else the
  configured average order value; None when none is known;
- `gapScore`: the flow's users / the day's busiest flow's users x (1 - the flow's coverage score; 0 when no test is
  known to cover it): 1 for the most walked flow without tests, 0 for a fully covered or unwalked one.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perceo.analytics.alignment import FlowAligner, IntArray, Scoring, similarity
from perceo.analytics.model import (
    SIMILARITY_BUCKETS,
    FlowCorrelation,
    PageTraffic,
    Session,
    UntestedPath,
)
from perceo.analytics.routes import RouteMapper, RouteTokens
from perceo.models import FlowMetrics, FlowView

#: At most this many distinct unmatched paths are counted at once (the rarest are dropped first).
_UNTESTED_KEYS = 20_000
#: An unmatched path is cut to its first routes: the start of a journey is what a flow would cover.
_UNTESTED_LENGTH = 6


@dataclass(frozen=True)
class FlowSpec:
    """A flow as the correlation sees it: the route patterns of its journey, in order (consecutive repeats
    collapsed), and the values that weigh it."""

    id: str
    name: str
    routes: tuple[str, ...]
    coverage: float | None = None
    value: float | None = None


def flow_specs(flows: Iterable[FlowView], values: Mapping[str, float] | None = None) -> list[FlowSpec]:
    """Active flows with a journey: their pages in VISITS order, else their entry point. `values` maps a flow's
    name or id to the value of one completion."""
    specs: list[FlowSpec] = []
    for flow in flows:
        if not flow.is_active:
            continue
        routes: list[str] = []
        for route in flow.pages or ([flow.entry_point] if flow.entry_point else []):
            if not routes or routes[-1] != route:
                routes.append(route)
        if routes:
            value = (values or {}).get(flow.id, (values or {}).get(flow.name))
            specs.append(FlowSpec(flow.id, flow.name, tuple(routes), flow.coverage_score, value))
    return specs


@dataclass
class _FlowDay:
    sessions: int = 0
    completions: int = 0
    drop_off: Counter[int] = field(default_factory=Counter)
    users: set[str] = field(default_factory=set)
    durations: list[int] = field(default_factory=list)
    step_times: dict[int, list[int]] = field(default_factory=dict)
    revenue: float = 0.0


@dataclass
class CorrelationTotals:
    sessions: int = 0
    matched_sessions: int = 0
    matches: int = 0
    #: per flow (index into the flows): walks, completed walks, summed similarity of the walks
    flow_matches: Counter[int] = field(default_factory=Counter)
    flow_completions: Counter[int] = field(default_factory=Counter)
    flow_similarity: dict[int, float] = field(default_factory=dict)
    #: walks per similarity bucket (0.1 wide; the last includes 1.0)
    similarity_histogram: list[int] = field(default_factory=lambda: [0] * SIMILARITY_BUCKETS)

    def by_flow(self, flows: Sequence[FlowSpec]) -> list[FlowCorrelation]:
        """Every flow's walks, completions and mean similarity, the most walked first (then by name)."""
        rows = [
            FlowCorrelation(
                flow_id=flow.id,
                flow_name=flow.name,
                matches=self.flow_matches[f],
                completions=self.flow_completions[f],
                mean_similarity=round(self.flow_similarity.get(f, 0.0) / self.flow_matches[f], 4)
                if self.flow_matches[f]
                else None,
            )
            for f, flow in enumerate(flows)
        ]
        rows.sort(key=lambda r: (-r.matches, r.flow_name, r.flow_id))
        return rows


class Correlator:
    """Feed sessions with `add`; `metrics` then gives every flow's metrics for the days asked."""

    def __init__(
        self,
        project_id: str,
        flows: Sequence[FlowSpec],
        tokens: RouteTokens,
        *,
        min_similarity: float = 0.7,
        min_steps: int = 2,
        scoring: Scoring | None = None,
        revenue_property: str | None = None,
        average_order_value: float | None = None,
        batch_sessions: int = 20_000,
    ) -> None:
        self.project_id = project_id
        self.flows = list(flows)
        self.tokens = tokens
        self.scoring = scoring or Scoring()
        self.revenue_property = revenue_property
        self.average_order_value = average_order_value
        self.batch_sessions = batch_sessions
        self._aligner = (
            FlowAligner(
                [[tokens.token(r) for r in f.routes] for f in self.flows],
                min_similarity=min_similarity,
                scoring=self.scoring,
                min_steps=min_steps,
            )
            if self.flows
            else None
        )
        self._pending: list[Session] = []
        self._days: dict[tuple[int, str], _FlowDay] = {}
        self._untested: Counter[tuple[int, ...]] = Counter()
        self.totals = CorrelationTotals()

    def add(self, session: Session) -> None:
        self._pending.append(session)
        if len(self._pending) >= self.batch_sessions:
            self._align()

    def add_all(self, sessions: Iterable[Session]) -> None:
        for session in sessions:
            self.add(session)

    def metrics(self, days: Sequence[str], *, updated_at: int) -> list[FlowMetrics]:
        """Every flow's metrics for each of `days` (zeros for a flow nobody walked that day)."""
        self._align()
        out: list[FlowMetrics] = []
        for day in days:
            users = {f: len(self._days[(f, day)].users) for f in range(len(self.flows)) if (f, day) in self._days}
            busiest = max(users.values(), default=0)
            for f, flow in enumerate(self.flows):
                out.append(self._flow_metrics(f, flow, day, busiest, updated_at))
        return out

    def untested(self, *, limit: int = 10, min_sessions: int = 2) -> list[UntestedPath]:
        """The most walked route sequences (their first routes) of sessions that walked no flow."""
        self._align()
        top = [(path, n) for path, n in self._untested.most_common(limit) if n >= min_sessions]
        return [UntestedPath(routes=[self.tokens.route(t) or "" for t in path], sessions=n) for path, n in top]

    # -- partial results: a chunk's state, merged into another correlator (the cloud's fan-out, see `service.py`)

    def export(self) -> dict[str, Any]:
        """This correlator's state as JSON-ready data, flows by id and paths by route (token numbers differ from one
        chunk to another). What `absorb` merges; every list sorted, so a chunk exports the same bytes each time."""
        self._align()
        totals = self.totals
        flows = []
        for (f, day), stats in sorted(self._days.items(), key=lambda item: (self.flows[item[0][0]].id, item[0][1])):
            flows.append(
                {
                    "flowId": self.flows[f].id,
                    "day": day,
                    "sessions": stats.sessions,
                    "completions": stats.completions,
                    "dropOff": {str(k): n for k, n in sorted(stats.drop_off.items())},
                    "users": sorted(stats.users),
                    "durations": stats.durations,
                    "stepTimes": {str(k): v for k, v in sorted(stats.step_times.items())},
                    "revenue": stats.revenue,
                }
            )
        return {
            "flows": flows,
            "untested": sorted(([self.tokens.route(t) or "" for t in path], n) for path, n in self._untested.items()),
            "totals": {
                "sessions": totals.sessions,
                "matchedSessions": totals.matched_sessions,
                "matches": totals.matches,
                "similarityHistogram": totals.similarity_histogram,
                "byFlow": [
                    [
                        self.flows[f].id,
                        totals.flow_matches[f],
                        totals.flow_completions[f],
                        totals.flow_similarity.get(f, 0.0),
                    ]
                    for f in sorted(totals.flow_matches)
                ],
            },
        }

    def absorb(self, part: Mapping[str, Any]) -> None:
        """Add a chunk's exported state to this one. Chunks hold disjoint users (chunked by user), so users, sessions
        and walks add up; absorbing chunks in the same order gives the same figures every time."""
        self._align()
        index = {flow.id: f for f, flow in enumerate(self.flows)}
        for row in part["flows"]:
            f = index.get(row["flowId"])
            if f is None:
                continue  # a flow deleted between the chunk and the merge
            stats = self._days.get((f, row["day"]))
            if stats is None:
                stats = self._days[(f, row["day"])] = _FlowDay()
            stats.sessions += row["sessions"]
            stats.completions += row["completions"]
            stats.drop_off.update({int(k): n for k, n in row["dropOff"].items()})
            stats.users.update(row["users"])
            stats.durations.extend(row["durations"])
            for k, times in row["stepTimes"].items():
                stats.step_times.setdefault(int(k), []).extend(times)
            stats.revenue += row["revenue"]
        for routes, n in part["untested"]:
            self._untested[tuple(self.tokens.token(r or None) for r in routes)] += n
        totals, theirs = self.totals, part["totals"]
        totals.sessions += theirs["sessions"]
        totals.matched_sessions += theirs["matchedSessions"]
        totals.matches += theirs["matches"]
        for b, n in enumerate(theirs["similarityHistogram"]):
            totals.similarity_histogram[b] += n
        for flow_id, walks, done, similarity_sum in theirs["byFlow"]:
            f = index.get(flow_id)
            if f is not None:
                totals.flow_matches[f] += walks
                totals.flow_completions[f] += done
                totals.flow_similarity[f] = totals.flow_similarity.get(f, 0.0) + similarity_sum

    # -- internals

    def _align(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        self.totals.sessions += len(batch)
        walked = np.zeros(len(batch), dtype=bool)
        if self._aligner is not None:
            found = self._aligner.align([s.tokens for s in batch])
            walked[found.session] = True
            self._count_walks(found.flow, found.reached, found.score)
            for s, f, reached, positions in zip(
                found.session.tolist(), found.flow.tolist(), found.reached.tolist(), found.positions, strict=True
            ):
                self._fold(batch[s], f, reached, positions[:reached].tolist())
        self.totals.matched_sessions += int(walked.sum())
        for s in np.flatnonzero(~walked).tolist():
            self._count_untested(batch[s])

    def _count_walks(self, flows: IntArray, reached: IntArray, scores: IntArray) -> None:
        """Walks per flow, completions, and the similarity of each walk (score over walking its steps perfectly)."""
        totals = self.totals
        totals.matches += len(flows)
        if not len(flows):
            return
        lengths = np.array([len(f.routes) for f in self.flows], dtype=np.int64)
        sims = np.clip(scores / (self.scoring.match * np.maximum(reached, 1)), 0.0, 1.0)
        buckets = np.minimum((sims * SIMILARITY_BUCKETS).astype(np.int64), SIMILARITY_BUCKETS - 1)
        for b, n in zip(*np.unique(buckets, return_counts=True), strict=True):
            totals.similarity_histogram[int(b)] += int(n)
        count = len(self.flows)
        walks = np.bincount(flows, minlength=count).tolist()
        done = np.bincount(flows[reached == lengths[flows]], minlength=count).tolist()
        similarity_sums = np.bincount(flows, weights=sims, minlength=count).tolist()
        for f in range(count):
            if walks[f]:
                totals.flow_matches[f] += walks[f]
                totals.flow_completions[f] += done[f]
                totals.flow_similarity[f] = totals.flow_similarity.get(f, 0.0) + similarity_sums[f]

    def _fold(self, session: Session, f: int, reached: int, positions: list[int]) -> None:
        flow = self.flows[f]
        stats = self._days.get((f, session.day))
        if stats is None:
            stats = self._days[(f, session.day)] = _FlowDay()
        stats.sessions += 1
        stats.users.add(session.user)
        matched = [(k, session.times[j]) for k, j in enumerate(positions) if j >= 0]
        for (_, before), (k, at) in zip(matched, matched[1:], strict=False):
            stats.step_times.setdefault(k, []).append(at - before)
        if reached == len(flow.routes):
            stats.completions += 1
            stats.durations.append(matched[-1][1] - matched[0][1])
            stats.revenue += session.revenue
        else:
            stats.drop_off[reached + 1] += 1

    def _count_untested(self, session: Session) -> None:
        path: list[int] = []
        for token in session.tokens:
            if token and (not path or path[-1] != token):
                path.append(token)
        if len(set(path)) < 2:
            return
        self._untested[tuple(path[:_UNTESTED_LENGTH])] += 1
        if len(self._untested) > _UNTESTED_KEYS:
            self._untested = Counter({p: n for p, n in self._untested.items() if n > 1})

    def _flow_metrics(self, f: int, flow: FlowSpec, day: str, busiest: int, updated_at: int) -> FlowMetrics:
        stats = self._days.get((f, day)) or _FlowDay()
        dropped = stats.sessions - stats.completions
        users = len(stats.users)
        return FlowMetrics(
            project_id=self.project_id,
            flow_id=flow.id,
            day=day,
            basis="sessions",
            sessions=stats.sessions,
            completions=stats.completions,
            prod_success_rate=stats.completions / stats.sessions if stats.sessions else None,
            prod_daily_users=users,
            prod_top_exit_step=_top_step(stats.drop_off),
            prod_avg_duration_ms=statistics.fmean(stats.durations) if stats.durations else None,
            median_duration_ms=float(statistics.median(stats.durations)) if stats.durations else None,
            drop_off={str(k): n for k, n in sorted(stats.drop_off.items())},
            step_median_ms=[
                float(statistics.median(stats.step_times[k])) if k in stats.step_times else None
                for k in range(len(flow.routes))
            ],
            revenue_at_risk=self._at_risk(flow, stats, dropped),
            gap_score=_gap(users, busiest, flow.coverage),
            updated_at=updated_at,
        )

    def _at_risk(self, flow: FlowSpec, stats: _FlowDay, dropped: int) -> float | None:
        value: float | None = None
        if self.revenue_property is not None and stats.completions and stats.revenue > 0:
            value = stats.revenue / stats.completions
        if value is None:
            value = flow.value if flow.value is not None else self.average_order_value
        return round(dropped * value, 2) if value is not None else None


def pages_metrics(
    project_id: str,
    flows: Sequence[FlowSpec],
    mapper: RouteMapper,
    rows: Iterable[PageTraffic],
    day: str,
    *,
    average_order_value: float | None = None,
    updated_at: int,
) -> list[FlowMetrics]:
    """Metrics estimated from a day of page aggregates (GA4 has no per-session sequences without BigQuery): a flow's
    walks are the sessions on its first page; the sessions still there at step k are the fewest sessions of any page
    up to k (a funnel over page sessions); users are the first page's users. Durations and step times are unknown."""
    sessions: Counter[str] = Counter()
    users: Counter[str] = Counter()
    for row in rows:
        route = mapper.route_of(row.path)
        if route is not None:
            sessions[route] += row.sessions
            users[route] += row.users
    by_flow: list[tuple[FlowSpec, list[int], int]] = []
    for flow in flows:
        funnel: list[int] = []
        for route in flow.routes:
            funnel.append(min(sessions[route], funnel[-1]) if funnel else sessions[route])
        by_flow.append((flow, funnel, users[flow.routes[0]]))
    busiest = max((u for _, _, u in by_flow), default=0)
    out: list[FlowMetrics] = []
    for flow, funnel, flow_users in by_flow:
        entered, completed = funnel[0], funnel[-1]
        drop_off = {str(k + 2): funnel[k] - funnel[k + 1] for k in range(len(funnel) - 1) if funnel[k] > funnel[k + 1]}
        value = flow.value if flow.value is not None else average_order_value
        out.append(
            FlowMetrics(
                project_id=project_id,
                flow_id=flow.id,
                day=day,
                basis="pages",
                sessions=entered,
                completions=completed,
                prod_success_rate=completed / entered if entered else None,
                prod_daily_users=flow_users,
                prod_top_exit_step=_top_step(Counter({int(k): n for k, n in drop_off.items()})),
                drop_off=drop_off,
                step_median_ms=[None] * len(flow.routes),
                revenue_at_risk=round((entered - completed) * value, 2) if value is not None else None,
                gap_score=_gap(flow_users, busiest, flow.coverage),
                updated_at=updated_at,
            )
        )
    return out


def _top_step(drop_off: Counter[int]) -> int | None:
    if not drop_off:
        return None
    return min(drop_off, key=lambda k: (-drop_off[k], k))


def _gap(users: int, busiest: int, coverage: float | None) -> float:
    if busiest <= 0 or users <= 0:
        return 0.0
    return round(users / busiest * (1.0 - (coverage or 0.0)), 4)


def match_similarity(score: int, reached: int, scoring: Scoring | None = None) -> float:
    """The similarity reported for a walk: its score over walking its `reached` steps perfectly."""
    return similarity(score, reached, scoring)
