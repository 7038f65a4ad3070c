"""Anomaly detection on flow series: seasonal baseline, robust spread, volume gates, drifts."""

from __future__ import annotations

import numpy as np
import pytest

from perceo.analyzer.anomaly import (
    DAILY,
    HOURLY,
    daily_series,
    detect,
    detect_points,
    episodes,
    hourly_series,
    weekday,
)
from perceo.models import FlowMetrics

DAYS = 100
WEEK = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.55, 0.5])  # busy weekdays, quiet weekends


def _success(rng: np.random.Generator, sessions: int = 2000, p: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    volume = rng.poisson(sessions * WEEK[np.arange(DAYS) % 7])
    rates = rng.binomial(volume, p) / volume
    return rates, volume


def _flagged_days(values: np.ndarray, volumes: np.ndarray, metric: str = "success_rate") -> list[int]:
    verdicts = detect_points(values, volumes, np.arange(len(values)) % 7, metric, DAILY)  # type: ignore[arg-type]
    return [int(i) for i in np.flatnonzero(verdicts.flagged)]


def test_a_one_day_drop_of_a_quarter_is_flagged_on_that_day_only() -> None:
    rng = np.random.default_rng(3)
    rates, volume = _success(rng)
    rates[80] *= 0.75

    assert _flagged_days(rates, volume) == [80]


def test_quiet_weekends_of_a_seasonal_flow_are_not_anomalies() -> None:
    rng = np.random.default_rng(4)
    users = rng.poisson(3000 * WEEK[np.arange(DAYS) % 7]).astype(float)

    assert _flagged_days(users, users.astype(int), "users") == []


def test_points_under_the_minimum_volume_are_never_judged() -> None:
    rng = np.random.default_rng(5)
    rates, volume = _success(rng)
    volume[70] = DAILY.min_volume - 1
    rates[70] = 0.2  # a collapse, but on too few sessions to say anything

    verdicts = detect_points(rates, volume, np.arange(DAYS) % 7, "success_rate", DAILY)

    assert not verdicts.judged[70] and not verdicts.flagged[70]
    assert not verdicts.judged[: DAILY.min_history].any()  # no history yet: nothing is judged


def test_users_falling_to_zero_are_flagged_although_the_day_has_no_volume() -> None:
    rng = np.random.default_rng(6)
    users = rng.poisson(800 * WEEK[np.arange(DAYS) % 7]).astype(float)
    users[90] = 0

    [anomaly] = [a for a in _series_anomalies(users, "users") if a.at == "day-90"]

    assert anomaly.kind == "drop" and anomaly.direction == "down" and anomaly.bad
    assert anomaly.change == pytest.approx(-1.0)


def test_a_slow_slide_of_the_success_rate_is_reported_as_a_drift() -> None:
    rng = np.random.default_rng(7)
    days = np.arange(DAYS)
    p = 0.85 * (1 - 0.3 * np.clip((days - 60) / 20, 0, 1))  # -30% over 20 days, from day 60 on
    volume = rng.poisson(3000 * WEEK[days % 7])
    rates = rng.binomial(volume, p) / volume

    found = detect_points(rates, volume, days % 7, "success_rate", DAILY)
    first = int(np.flatnonzero(found.flagged)[0])

    assert 60 < first <= 80
    assert found.drift.any()
    assert not found.flagged[:60].any()


def test_a_lasting_shift_becomes_the_new_normal() -> None:
    rng = np.random.default_rng(8)
    users = rng.poisson(2000 * WEEK[np.arange(DAYS) % 7]).astype(float)
    users[50:] *= 1.6  # a launch: more users for good

    flagged = _flagged_days(users, users.astype(int), "users")

    assert flagged and flagged[0] == 50
    assert max(flagged) < 50 + 40  # the alert ends; the new level is learnt


def test_episodes_are_runs_of_flagged_points() -> None:
    assert episodes([False, True, True, False, True]) == [(1, 2), (4, 4)]
    assert episodes([]) == []


def test_daily_series_keep_weekdays_through_days_without_metrics() -> None:
    metrics = [
        FlowMetrics(project_id="p", flow_id="f", day="2026-03-02", sessions=100, completions=80,
                    prod_success_rate=0.8, prod_daily_users=90, median_duration_ms=1000.0),
        FlowMetrics(project_id="p", flow_id="f", day="2026-03-04", sessions=50, completions=40,
                    prod_success_rate=0.8, prod_daily_users=45, median_duration_ms=1200.0),
    ]  # fmt: skip

    success, users, duration = daily_series(metrics, until="2026-03-05")

    assert success.at == ("2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05")
    assert success.seasons == (0, 1, 2, 3) == tuple(weekday(d) for d in success.at)
    assert success.values == (0.8, None, 0.8, None) and success.volumes == (100, 0, 50, 0)
    assert users.values == (90.0, 0.0, 45.0, 0.0)  # no metrics that day: nobody walked the flow
    assert duration.values == (1000.0, None, 1200.0, None) and duration.volumes == (80, 0, 40, 0)


def test_hourly_series_use_the_hour_of_the_week() -> None:
    series = hourly_series("f", "users", [("2026-03-02T00", 5.0, 5), ("2026-03-08T23", 7.0, 7)])

    assert series.seasons == (0, 167)
    assert HOURLY.period == 168


def _series_anomalies(values: np.ndarray, metric: str) -> list:  # type: ignore[type-arg]
    from perceo.analyzer.anomaly import Series

    n = len(values)
    series = Series(
        "f",
        metric,  # type: ignore[arg-type]
        tuple(f"day-{i}" for i in range(n)),
        tuple(float(v) for v in values),
        tuple(int(v) for v in values),
        tuple(i % 7 for i in range(n)),
    )
    return detect(series)
