"""Anomaly detection quality: precision, recall and false alarms on 500 generated flow series per seed.

Each series is one flow's daily metrics over 120 days (success rate, users, duration, with weekly seasonality,
a slow trend, over-dispersed day-to-day noise and binomial/Poisson sampling noise at the flow's volume). The
last 70 days may carry one injected anomaly:

- drop: the success rate falls by 10-50% (relative) for 1-4 days (drops under 20% are reported apart: the
  target is on drops of 20% or more);
- spike: users jump x1.8-3 (with their sessions) for 1-3 days, or the duration x1.5-3;
- drift: the success rate slides down 20-40% over 14-21 days and stays there;
- none (the false-alarm control).

Each detector judges all three series of every flow. Consecutive flagged days of one series are one alert. An
alert is true when it is on the injected series and overlaps the anomaly's days (plus 3 days after); an anomaly
is found when a true alert overlaps it. Precision = true alerts / alerts; recall = found / injected; false
alarms = false alerts per 1,000 judged series-days.

Ours: `perceo.analyzer.anomaly.detect_points` with `DAILY`. Baseline, in the same run: a plain z-score (value
against the mean and standard deviation of the previous 28 days, |z| >= 3, no seasonality, no volume gate).
Targets: precision >= 0.9 and recall >= 0.8 on drops of 20% or more. Medians over `--seeds` seeds.

Run: .venv/bin/python bench/anomaly_eval.py [--series 500] [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from perceo.analyzer.anomaly import DAILY, METRICS, Metric, detect_points, episodes

DAYS = 120
INJECT_FROM = 50  # anomalies start in the last 70 days (the detectors need history first)
GRACE = 3  # days after an anomaly an alert still counts for it
KINDS = ("drop", "spike", "drift", "none")
KIND_WEIGHTS = (0.35, 0.2, 0.15, 0.3)


@dataclass
class Flow:
    values: dict[Metric, np.ndarray]
    volumes: dict[Metric, np.ndarray]
    kind: str
    metric: Metric | None = None
    days: tuple[int, int] = (0, -1)
    size: float = 0.0


def generate(rng: np.random.Generator) -> Flow:
    t = np.arange(DAYS)
    weekday = t % 7
    week_factor = np.array([1.0, 1.05, 1.05, 1.0, 0.95, rng.uniform(0.5, 0.8), rng.uniform(0.45, 0.75)])
    base_users = float(np.exp(rng.uniform(np.log(60), np.log(8000))))
    trend = 1 + rng.uniform(-0.25, 0.25) * t / DAYS
    users_mean = base_users * week_factor[weekday] * trend * np.exp(rng.normal(0, 0.05, DAYS))
    sessions_per_user = rng.uniform(1.1, 1.6)
    p_base = rng.uniform(0.55, 0.97)
    weekday_rate = rng.normal(0, 0.01, 7)
    p = p_base + weekday_rate[weekday] + rng.uniform(-0.03, 0.03) * t / DAYS + rng.normal(0, 0.012, DAYS)
    dur_base = rng.uniform(20_000, 180_000)
    dur = dur_base * (1 + rng.normal(0, 0.03, 7))[weekday] * np.exp(rng.normal(0, 0.06, DAYS))

    kind = str(rng.choice(KINDS, p=KIND_WEIGHTS))
    flow = Flow(values={}, volumes={}, kind=kind)
    start = int(rng.integers(INJECT_FROM, DAYS - 5))
    if kind == "drop":
        length = int(rng.integers(1, 5))
        size = float(rng.uniform(0.10, 0.50))
        p[start : start + length] *= 1 - size
        flow.metric, flow.days, flow.size = "success_rate", (start, min(start + length, DAYS) - 1), size
    elif kind == "spike":
        length = int(rng.integers(1, 4))
        size = float(rng.uniform(1.8, 3.0) if rng.random() < 0.5 else rng.uniform(1.5, 3.0))
        if size >= 1.8 and rng.random() < 0.5:
            users_mean[start : start + length] *= size
            flow.metric = "users"
        else:
            dur[start : start + length] *= size
            flow.metric = "duration"
        flow.days, flow.size = (start, min(start + length, DAYS) - 1), size
    elif kind == "drift":
        start = int(rng.integers(INJECT_FROM, DAYS - 25))
        length = int(rng.integers(14, 22))
        size = float(rng.uniform(0.20, 0.40))
        ramp = np.clip((t - start) / length, 0, 1)
        p *= 1 - size * ramp
        flow.metric, flow.days, flow.size = "success_rate", (start, DAYS - 1), size

    users = rng.poisson(np.maximum(users_mean, 0))
    sessions = rng.poisson(users * sessions_per_user)
    completions = rng.binomial(sessions, np.clip(p, 0.0, 1.0))
    rate = np.where(sessions > 0, completions / np.maximum(sessions, 1), np.nan)
    flow.values = {"success_rate": rate, "users": users.astype(float), "duration": dur}
    flow.volumes = {"success_rate": sessions, "users": users, "duration": completions}
    return flow


Detector = Callable[[np.ndarray, np.ndarray, np.ndarray, Metric], tuple[np.ndarray, np.ndarray]]


def ours(values: np.ndarray, volumes: np.ndarray, seasons: np.ndarray, metric: Metric) -> tuple[np.ndarray, np.ndarray]:
    verdicts = detect_points(values, volumes, seasons, metric, DAILY)
    return verdicts.flagged, verdicts.judged


def plain_zscore(
    values: np.ndarray, volumes: np.ndarray, seasons: np.ndarray, metric: Metric
) -> tuple[np.ndarray, np.ndarray]:
    n = len(values)
    flagged = np.zeros(n, dtype=bool)
    judged = np.zeros(n, dtype=bool)
    for i in range(28, n):
        history = values[i - 28 : i]
        history = history[~np.isnan(history)]
        if len(history) < 14 or np.isnan(values[i]):
            continue
        sd = float(np.std(history))
        judged[i] = True
        flagged[i] = sd > 0 and abs(values[i] - float(np.mean(history))) / sd >= 3
    return flagged, judged


@dataclass
class Tally:
    alerts: int = 0
    true_alerts: int = 0
    false_alerts: int = 0
    judged_days: int = 0
    found: dict[str, list[bool]] = field(default_factory=dict)

    def precision(self) -> float:
        return self.true_alerts / self.alerts if self.alerts else 1.0

    def recall(self, key: str) -> float:
        hits = self.found.get(key, [])
        return sum(hits) / len(hits) if hits else float("nan")

    def false_per_1000(self) -> float:
        return 1000 * self.false_alerts / self.judged_days if self.judged_days else 0.0


def evaluate(flows: list[Flow], detector: Detector) -> Tally:
    tally = Tally()
    seasons = np.arange(DAYS) % 7
    for flow in flows:
        hit = False
        for metric in METRICS:
            flagged, judged = detector(flow.values[metric], flow.volumes[metric], seasons, metric)
            tally.judged_days += int(judged.sum())
            for first, last in episodes(flagged):
                tally.alerts += 1
                lo, hi = flow.days
                if metric == flow.metric and first <= hi + GRACE and last >= lo:
                    tally.true_alerts += 1
                    hit = True
                else:
                    tally.false_alerts += 1
        if flow.kind != "none":
            tally.found.setdefault(_bucket(flow), []).append(hit)
    return tally


def _bucket(flow: Flow) -> str:
    if flow.kind == "drop":
        return "drop >= 20%" if flow.size >= 0.20 else "drop 10-20%"
    if flow.kind == "spike":
        return f"spike ({flow.metric})"
    return "drift 20-40%"


BUCKETS = ("drop >= 20%", "drop 10-20%", "spike (users)", "spike (duration)", "drift 20-40%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[Tally]] = {"ours": [], "plain z-score": []}
    seconds: dict[str, list[float]] = {"ours": [], "plain z-score": []}
    for seed in range(args.seeds):
        rng = np.random.default_rng(1000 + seed)
        flows = [generate(rng) for _ in range(args.series)]
        for name, detector in (("ours", ours), ("plain z-score", plain_zscore)):
            started = time.perf_counter()
            results[name].append(evaluate(flows, detector))
            seconds[name].append(time.perf_counter() - started)
    print(f"{args.series} flows x 3 series x {DAYS} days per seed, {args.seeds} seeds (medians; min..max)")
    print(f"{'':28}{'ours':>22}{'plain z-score':>22}")

    def row(label: str, pick: Callable[[Tally], float], fmt: str = "{:.3f}") -> None:
        cells = []
        for name in results:
            values = [pick(t) for t in results[name]]
            med = statistics.median(values)
            cells.append(f"{fmt.format(med)} ({fmt.format(min(values))}..{fmt.format(max(values))})")
        print(f"{label:28}{cells[0]:>22}{cells[1]:>22}")

    row("precision", Tally.precision)
    for bucket in BUCKETS:
        row(f"recall, {bucket}", lambda t, b=bucket: t.recall(b))
    row("alerts", lambda t: t.alerts, "{:.0f}")
    row("false alerts / 1000 days", Tally.false_per_1000, "{:.2f}")
    timing = "".join(f"{statistics.median(seconds[name]):>22.2f}" for name in results)
    print(f"{'seconds per seed':28}{timing}")
    ours_p = statistics.median(t.precision() for t in results["ours"])
    base_p = statistics.median(t.precision() for t in results["plain z-score"])
    ours_r = statistics.median(t.recall("drop >= 20%") for t in results["ours"])
    base_r = statistics.median(t.recall("drop >= 20%") for t in results["plain z-score"])
    print(f"ratio ours / plain z-score: precision {ours_p / base_p:.2f}, recall on drops >= 20% {ours_r / base_r:.2f}")
    met = ours_p >= 0.9 and ours_r >= 0.8
    print(f"targets (precision >= 0.9, recall >= 0.8 on drops >= 20%): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
