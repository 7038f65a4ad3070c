"""Anomaly detection on each flow's series: success rate, users and duration, by day (or by hour).

How a point is judged (`detect_points`):

1. **Volume first.** A success rate or a duration is judged only on a point with at least `min_volume`
   sessions (completions for durations); users are judged when the *expected* count is at least `min_volume`
   (a fall to zero users is the loudest anomaly of all). Points below the volume never judge and never teach.
2. **Seasonal baseline.** The history is the last `window` points before the one judged (8 weeks by day), less
   points already flagged (an outage does not become the norm; a shift that lasts `adapt_after` points does).
   Counts and durations are compared on a log scale (a 30% drop reads the same at 100 and 10,000 users), rates
   as they are. Each season (day of week; hour of week for hourly series) gets its offset: the median of its
   points minus the median of all. The expected value is the median of the last `level_window` deseasonalised
   points plus the season's offset.
3. **Robust spread.** 1.4826 x the median absolute deviation (MAD), the larger of two readings: the
   season-over-season differences (each point minus the same season a cycle before, / sqrt 2) and the
   deseasonalised history (which also holds its trend). Taking the larger keeps a calm stretch from making the
   spread too small (a MAD of ~50 points is itself uncertain, and an underestimated spread is what makes false
   alarms). Never less than the sampling noise of the point itself (binomial for a rate at its volume, Poisson
   for a count) nor than `min_spread` of the expected value.
4. **Two gates.** A point is anomalous when its robust score |value - expected| / spread is at least
   `z_threshold` **and** the change is at least `min_effect` of the expected value: small but significant
   wobbles of a busy flow are not worth an alert.
5. **Slow drifts.** A drift moves the baseline along with it, so it is also checked against an older level:
   the median of the `drift_reference` points that end `drift_gap` points back. The median of the last
   `drift_window` points must differ from it by `drift_z` times the noise of the two medians and by
   `min_drift_effect`; both gates apply to the two levels, never to one point.

`bench/anomaly_eval.py` measures precision, recall and the false-alarm rate on generated series with injected
drops, spikes and slow drifts; the README quotes its figures (the defaults below are the ones it measures).
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from perceo.models import FlowMetrics

Metric = Literal["success_rate", "users", "duration"]
METRICS: tuple[Metric, ...] = ("success_rate", "users", "duration")
AnomalyKind = Literal["drop", "spike", "drift"]
Direction = Literal["down", "up"]
#: The direction in which each metric is bad news (the other one is reported too, as good news).
BAD_DIRECTION: dict[Metric, Direction] = {"success_rate": "down", "users": "down", "duration": "up"}

#: 1.4826 x MAD estimates the standard deviation of normal noise.
_MAD_TO_SD = 1.4826
#: The standard deviation of a median of n normal points is about sqrt(pi/2) sigma / sqrt(n).
_MEDIAN_EFFICIENCY = math.sqrt(math.pi / 2)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class DetectorConfig:
    """The detector's knobs; `DAILY` and `HOURLY` are the measured defaults."""

    #: Points per season cycle: 7 for days (day of week), 168 for hours (hour of week).
    period: int = 7
    #: History looked at before each point.
    window: int = 56
    #: Recent history the level is the median of.
    level_window: int = 14
    #: Judged points needed in the history before a point is judged.
    min_history: int = 28
    #: Points of the judged point's own season needed in the history.
    min_season_points: int = 3
    #: Sessions (completions for durations; expected users for users) a point needs to be judged.
    min_volume: int = 50
    z_threshold: float = 5.0
    #: Smallest change worth an alert, relative to the expected value.
    min_effect: float = 0.10
    #: Floor of the spread, relative to the expected value.
    min_spread: float = 0.01
    drift_window: int = 7
    drift_gap: int = 14
    #: Points of history before the gap that make the older level.
    drift_reference: int = 28
    drift_z: float = 4.0
    min_drift_effect: float = 0.15
    #: A run of flagged points this long becomes the new normal (it re-enters the history).
    adapt_after: int = 7


DAILY = DetectorConfig()
HOURLY = DetectorConfig(
    period=168, window=24 * 28, level_window=24 * 3, min_history=24 * 14, min_season_points=2, min_volume=30,
    drift_window=24, drift_gap=24 * 7, drift_reference=24 * 14, adapt_after=24,
)  # fmt: skip


@dataclass(frozen=True)
class Series:
    """One metric of one flow: a value and its volume per point, in time order, with each point's season."""

    flow_id: str
    metric: Metric
    #: Each point's label: the day (YYYY-MM-DD) or the hour (YYYY-MM-DDTHH).
    at: tuple[str, ...]
    values: tuple[float | None, ...]
    volumes: tuple[int, ...]
    #: Each point's season: 0..period-1 (weekday for days).
    seasons: tuple[int, ...]


@dataclass(frozen=True)
class Anomaly:
    flow_id: str
    metric: Metric
    at: str
    kind: AnomalyKind
    direction: Direction
    value: float
    expected: float
    #: Robust score: (value - expected) / spread, on the scale the metric is judged on.
    score: float
    #: (value - expected) / expected.
    change: float
    volume: int

    @property
    def bad(self) -> bool:
        """True when the change is bad news for the flow (a drop in success, a slower flow, fewer users)."""
        return BAD_DIRECTION[self.metric] == self.direction

    def to_json(self) -> dict[str, object]:
        return {
            "flowId": self.flow_id,
            "metric": self.metric,
            "at": self.at,
            "kind": self.kind,
            "direction": self.direction,
            "value": round(self.value, 4),
            "expected": round(self.expected, 4),
            "score": round(self.score, 2),
            "change": round(self.change, 4),
            "volume": self.volume,
        }


@dataclass(frozen=True)
class PointVerdicts:
    """Per point of a series: flagged or not, why, and what was expected (NaN where not judged)."""

    judged: BoolArray
    flagged: BoolArray
    drift: BoolArray
    expected: FloatArray
    score: FloatArray


def _log_scale(metric: Metric) -> bool:
    return metric != "success_rate"


def detect_points(
    values: Sequence[float | None] | FloatArray,
    volumes: Sequence[int] | IntArray,
    seasons: Sequence[int] | IntArray,
    metric: Metric,
    config: DetectorConfig = DAILY,
) -> PointVerdicts:
    """Judge every point of one series (see the module docstring). Values are raw: rates 0..1, counts, ms."""
    raw = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    vol = np.asarray(volumes, dtype=np.int64)
    season = np.asarray(seasons, dtype=np.int64) % config.period
    n = len(raw)
    log_scale = _log_scale(metric)
    y = np.log1p(np.maximum(raw, 0.0)) if log_scale else raw
    usable = ~np.isnan(y)
    if metric != "users":
        usable &= vol >= config.min_volume
    judged = np.zeros(n, dtype=bool)
    flagged = np.zeros(n, dtype=bool)
    drift = np.zeros(n, dtype=bool)
    expected = np.full(n, np.nan)
    score = np.full(n, np.nan)
    excluded = np.zeros(n, dtype=bool)
    run_start = -1  # first point of the current run of flagged points
    for t in range(n):
        if run_start >= 0 and t - run_start >= config.adapt_after:
            excluded[run_start:t] = False  # a lasting shift: the new normal
            run_start = -1
        if not usable[t]:
            continue
        start = max(0, t - config.window)
        idx = np.flatnonzero(usable[start:t] & ~excluded[start:t]) + start
        if len(idx) < config.min_history:
            continue
        if np.count_nonzero(season[idx] == season[t]) < config.min_season_points:
            continue
        baseline = _Baseline(y[idx], season[idx], idx, config)
        exp_y = baseline.level + baseline.offset(int(season[t]))
        exp_raw = float(np.expm1(exp_y)) if log_scale else exp_y
        if metric == "users" and exp_raw < config.min_volume:
            continue
        floor = config.min_spread * _unit(exp_raw, log_scale)
        spread = max(baseline.spread, _noise(metric, exp_raw, int(vol[t])), floor)
        judged[t] = True
        expected[t] = exp_raw
        z = (y[t] - exp_y) / spread
        score[t] = z
        change = _change(float(raw[t]), exp_raw)
        is_point = abs(z) >= config.z_threshold and abs(change) >= config.min_effect
        is_drift = False
        if not is_point and _may_drift(baseline, idx, t, float(raw[t]), int(season[t]), log_scale, config):
            drift_exp = _drift(y, usable, season, idx, t, spread, log_scale, config)
            if drift_exp is not None:
                is_drift = True
                expected[t] = float(np.expm1(drift_exp)) if log_scale else drift_exp
                score[t] = (y[t] - drift_exp) / spread
        if is_point or is_drift:
            flagged[t] = True
            drift[t] = is_drift
            excluded[t] = True
            if run_start < 0:
                run_start = t
        else:
            run_start = -1
    return PointVerdicts(judged=judged, flagged=flagged, drift=drift, expected=expected, score=score)


class _Baseline:
    """The seasonal offsets, the level and the robust spread of one history (`pos`: the points' indexes)."""

    def __init__(self, y: FloatArray, season: IntArray, pos: IntArray, config: DetectorConfig) -> None:
        values = y.tolist()
        overall = statistics.median(values)
        groups: dict[int, list[float]] = {}
        for value, key in zip(values, season.tolist(), strict=True):
            groups.setdefault(key, []).append(value)
        offsets = np.zeros(config.period)
        for key, members in groups.items():
            if len(members) >= 2:
                offsets[key] = statistics.median(members) - overall
        self.offsets = offsets
        residual = y - offsets[season]
        self.residual = residual
        self.level = _median(residual[-config.level_window :])
        # Season-over-season differences read the noise without the trend; residuals around offsets fitted on
        # a few points each understate it, but hold the trend. The larger of the two (module docstring, 3.).
        earlier = np.searchsorted(pos, pos - config.period)
        paired = (earlier < len(pos)) & (pos[np.minimum(earlier, len(pos) - 1)] == pos - config.period)
        if np.count_nonzero(paired) >= _MIN_PAIRS:
            diffs = y[paired] - y[earlier[paired]]
            self.spread = max(_MAD_TO_SD * _mad(diffs) / math.sqrt(2), _MAD_TO_SD * _mad(residual))
        else:
            self.spread = _MAD_TO_SD * _mad(residual)

    def offset(self, key: int) -> float:
        return float(self.offsets[key])


#: Season-over-season pairs needed to read the spread from them.
_MIN_PAIRS = 8


def _median(values: FloatArray) -> float:
    # numpy's median costs ~50 us of overhead per call; on the few dozen points of a history, sorting a list is
    # ten times faster (same result: the mean of the two middle values for an even count)
    return float(statistics.median(values.tolist()))


def _mad(values: FloatArray) -> float:
    return _median(np.abs(values - _median(values)))


def _noise(metric: Metric, expected: float, volume: int) -> float:
    """The sampling noise of one point, on the scale it is judged on."""
    if metric == "success_rate":
        p = min(max(expected, 0.0), 1.0)
        return math.sqrt(p * (1 - p) / max(volume, 1))
    if metric == "users":
        return 1.0 / math.sqrt(max(expected, 1.0))  # Poisson, on the log scale
    return 0.0  # durations: the history's spread says it


def _unit(expected: float, log_scale: bool) -> float:
    # on the log scale a relative change is already a difference of logs
    return 1.0 if log_scale else max(abs(expected), 1e-9)


def _change(value: float, expected: float) -> float:
    return (value - expected) / expected if expected else (math.inf if value else 0.0)


def _may_drift(
    baseline: _Baseline, hist: IntArray, t: int, value: float, key: int, log_scale: bool, config: DetectorConfig
) -> bool:
    """A cheap first look (most points stop here): is the point far enough from the history's older level?"""
    older = baseline.residual[(hist < t - config.drift_gap) & (hist >= t - config.drift_gap - config.drift_reference)]
    if len(older) == 0:
        return False
    old_y = _median(older) + baseline.offset(key)
    old = float(np.expm1(old_y)) if log_scale else old_y
    return abs(_change(value, old)) >= 0.8 * config.min_drift_effect


def _drift(
    y: FloatArray,
    usable: BoolArray,
    season: IntArray,
    hist: IntArray,
    t: int,
    spread: float,
    log_scale: bool,
    config: DetectorConfig,
) -> float | None:
    """The older level (on the y scale, with t's season) when the recent level moved away from it, else None.

    Recent: the median of the last `drift_window` points (t included, flagged ones too); older: the median of
    the history that ends `drift_gap` points before t. Both gates apply to the two medians, never to one point."""
    reference = hist[(hist < t - config.drift_gap) & (hist >= t - config.drift_gap - config.drift_reference)]
    first = t - config.drift_window + 1
    if len(reference) < config.min_history // 2 or first < 0:
        return None
    recent = np.flatnonzero(usable[first : t + 1]) + first
    if len(recent) < max(3, config.drift_window // 2):
        return None
    base = _Baseline(y[reference], season[reference], reference, config)
    old_level = _median(base.residual)
    new_level = _median(y[recent] - base.offsets[season[recent]])
    noise = max(base.spread, spread) * _MEDIAN_EFFICIENCY * math.sqrt(1 / len(recent) + 1 / len(reference))
    if abs(new_level - old_level) / noise < config.drift_z:
        return None
    old, new = np.expm1([old_level, new_level]) if log_scale else (old_level, new_level)
    if abs(_change(float(new), float(old))) < config.min_drift_effect:
        return None
    return old_level + base.offset(int(season[t]))


def detect(series: Series, config: DetectorConfig = DAILY) -> list[Anomaly]:
    """The anomalous points of one series, oldest first."""
    verdicts = detect_points(series.values, series.volumes, series.seasons, series.metric, config)
    found: list[Anomaly] = []
    for t in np.flatnonzero(verdicts.flagged):
        value = series.values[t]
        assert value is not None  # only usable points are flagged
        expected = float(verdicts.expected[t])
        direction: Direction = "down" if value < expected else "up"
        kind: AnomalyKind = "drift" if verdicts.drift[t] else ("drop" if direction == "down" else "spike")
        found.append(
            Anomaly(
                flow_id=series.flow_id,
                metric=series.metric,
                at=series.at[t],
                kind=kind,
                direction=direction,
                value=float(value),
                expected=expected,
                score=float(verdicts.score[t]),
                change=_change(float(value), expected),
                volume=series.volumes[t],
            )
        )
    return found


def episodes(flags: Sequence[bool] | BoolArray) -> list[tuple[int, int]]:
    """Runs of consecutive flagged points as (first, last) indexes: one alert each."""
    runs: list[tuple[int, int]] = []
    start = -1
    for i, flag in enumerate(flags):
        if flag and start < 0:
            start = i
        elif not flag and start >= 0:
            runs.append((start, i - 1))
            start = -1
    if start >= 0:
        runs.append((start, len(flags) - 1))
    return runs


# --------------------------------------------------------------------------------------------------
# Daily series from the flow metrics in the graph


def weekday(day: str) -> int:
    """0 (Monday) .. 6 (Sunday) of a YYYY-MM-DD day."""
    return dt.date.fromisoformat(day).weekday()


def daily_series(metrics: Iterable[FlowMetrics], *, until: str | None = None) -> list[Series]:
    """Each flow's three daily series (success rate, users, duration) from its stored metrics.

    Days without metrics are gaps (no value, no volume) so that every point keeps its true weekday; the series
    runs from each flow's first day to `until` (default: its last day)."""
    by_flow: dict[str, dict[str, FlowMetrics]] = {}
    for m in metrics:
        by_flow.setdefault(m.flow_id, {})[m.day] = m
    out: list[Series] = []
    for flow_id in sorted(by_flow):
        days = by_flow[flow_id]
        first = min(days)
        last = max(max(days), until) if until else max(days)
        span = _days(first, last)
        seasons = tuple(weekday(d) for d in span)
        rows = [days.get(d) for d in span]
        success = tuple(None if m is None else m.prod_success_rate for m in rows)
        sessions = tuple(0 if m is None else m.sessions for m in rows)
        users = tuple(
            0.0 if m is None or m.prod_daily_users is None else float(m.prod_daily_users) for m in rows
        )  # a day with no metrics had no users: the users series has no gaps
        user_volume = tuple(int(u) for u in users)
        duration = tuple(None if m is None else (m.median_duration_ms or m.prod_avg_duration_ms) for m in rows)
        completions = tuple(0 if m is None else m.completions for m in rows)
        out.append(Series(flow_id, "success_rate", tuple(span), success, sessions, seasons))
        out.append(Series(flow_id, "users", tuple(span), users, user_volume, seasons))
        out.append(Series(flow_id, "duration", tuple(span), duration, completions, seasons))
    return out


def hourly_series(flow_id: str, metric: Metric, points: Sequence[tuple[str, float | None, int]]) -> Series:
    """A series of (YYYY-MM-DDTHH, value, volume) hours, for `HOURLY`: each hour's season is its hour of week."""
    seasons = tuple(weekday(at[:10]) * 24 + int(at[11:13]) for at, _, _ in points)
    return Series(
        flow_id,
        metric,
        tuple(at for at, _, _ in points),
        tuple(v for _, v, _ in points),
        tuple(n for _, _, n in points),
        seasons,
    )


def _days(first: str, last: str) -> list[str]:
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
