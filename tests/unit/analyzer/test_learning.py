"""The per-project failure model: heuristic until there are enough outcomes, logistic only when it measurably
beats the heuristic on held-out outcomes."""

from __future__ import annotations

import numpy as np

from perceo.analyzer.learning import MIN_OUTCOMES, fit_logistic, fit_model, heuristic, past_failure_rate
from perceo.models import Prediction, TestRun


def _outcomes(n: int, seed: int = 5, *, informative: bool = True) -> list[Prediction]:
    """Flows fail when the change's risk is high (or at random, when not informative)."""
    rng = np.random.default_rng(seed)
    made = []
    for i in range(n):
        risk = float(rng.uniform(0, 1))
        chance = 0.05 + 0.9 * (risk > 0.6) if informative else 0.3
        failed = bool(rng.random() < chance)
        made.append(Prediction(project_id="p", flow_id=f"f{i % 7}", probability=risk, confidence=0.8, affected=True,
                               commit_sha=f"{i:040x}", actual_result="failed" if failed else "passed",
                               created_at=1_000 + i))  # fmt: skip
    return made


def test_few_outcomes_keep_the_heuristic() -> None:
    model = fit_model(_outcomes(MIN_OUTCOMES - 1), {})

    assert model.kind == "heuristic" and model.outcomes == MIN_OUTCOMES - 1
    assert model.brier is not None and model.probability(0.5, 0.8, 0.1) == heuristic(0.5, 0.1)


def test_enough_informative_outcomes_fit_a_better_calibrated_logistic_model() -> None:
    model = fit_model(_outcomes(300), {})

    assert model.kind == "logistic" and model.outcomes == 300
    assert model.brier is not None and model.heuristic_brier is not None and model.brier < model.heuristic_brier
    assert model.probability(0.9, 0.8, 0.1) > 0.7 > 0.2 > model.probability(0.2, 0.8, 0.1)


def test_a_base_rate_the_heuristic_misses_is_learnt() -> None:
    model = fit_model(_outcomes(300, informative=False), {})

    # a 30% coin: the logistic model learns the base rate, which the risk-driven heuristic gets wrong
    assert model.kind == "logistic" and abs(model.probability(0.9, 0.8, 0.1) - 0.3) < 0.1


def test_the_past_failure_rate_counts_only_earlier_decided_runs() -> None:
    runs = [TestRun(project_id="p", flow_id="f", status=s, created_at=t)  # type: ignore[arg-type]
            for s, t in (("failed", 1), ("passed", 2), ("skipped", 3), ("failed", 10))]  # fmt: skip

    assert past_failure_rate(runs, before=5) == (1 + 1) / (2 + 10)
    assert past_failure_rate(runs) == (2 + 1) / (3 + 10)


def test_newton_recovers_known_coefficients() -> None:
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(20_000), rng.normal(size=20_000)])
    y = (rng.random(20_000) < 1 / (1 + np.exp(-(0.5 - 2.0 * x[:, 1])))).astype(float)

    w = fit_logistic(x, y, l2=0.0)

    assert abs(w[0] - 0.5) < 0.1 and abs(w[1] + 2.0) < 0.1
