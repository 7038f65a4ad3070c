"""Failure probabilities that learn: a small logistic model per project, fitted on its recorded outcomes.

Every `ci analyze` records one prediction per flow (`perceo.coordinator.predictions`); a completed run of the flow at
that commit fills its outcome. Once a project has `MIN_OUTCOMES` decided outcomes (passed or failed) with at least
`MIN_PER_CLASS` of each, `fit_model` fits a logistic regression (Newton's method, L2-regularised; numpy only) on

    risk score · confidence · the flow's past failure rate (smoothed, runs before the prediction) · affected

and keeps it only when its 5-fold cross-validated Brier score beats the heuristic's on the same outcomes.
Otherwise the heuristic answers (`rules.failure_probability`). Either way the model says which one it is, on how
many outcomes, and both Brier scores: what the insight's evidence reports as its calibration.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from perceo.models import Prediction, TestRun

MIN_OUTCOMES = 40
MIN_PER_CLASS = 5
FOLDS = 5
L2 = 1.0
ITERATIONS = 25
#: Prior of the smoothed failure rate: PRIOR_RATE over PRIOR_RUNS pseudo-runs (as in `rules.failure_probability`).
PRIOR_RUNS = 10
PRIOR_RATE = 0.1
RISK_TO_PROBABILITY = 0.6

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PredictionModel:
    kind: Literal["heuristic", "logistic"]
    #: Decided outcomes it was measured on.
    outcomes: int
    #: Mean squared error of the probabilities on those outcomes (cross-validated for the logistic model).
    brier: float | None
    #: The heuristic's Brier score on the same outcomes, for comparison.
    heuristic_brier: float | None
    coefficients: tuple[float, ...] = ()

    def probability(self, risk: float, confidence: float, past_failure_rate: float, affected: bool = True) -> float:
        if self.kind == "logistic":
            row = _row(risk, confidence, past_failure_rate, affected)
            return float(_sigmoid(np.dot(row, np.array(self.coefficients))))
        return heuristic(risk, past_failure_rate)

    def to_json(self) -> dict[str, object]:
        return {
            "model": self.kind,
            "outcomes": self.outcomes,
            "brier": None if self.brier is None else round(self.brier, 4),
            "heuristicBrier": None if self.heuristic_brier is None else round(self.heuristic_brier, 4),
        }


def heuristic(risk: float, past_failure_rate: float) -> float:
    return 1 - (1 - RISK_TO_PROBABILITY * risk) * (1 - past_failure_rate)


def past_failure_rate(runs: Sequence[TestRun], before: int | None = None) -> float:
    """The flow's failure rate over its decided runs (created before `before`), pulled towards 10%."""
    decided = [
        r for r in runs if r.status in ("passed", "failed", "error") and (before is None or r.created_at < before)
    ]
    failed = sum(r.status != "passed" for r in decided)
    return (failed + PRIOR_RATE * PRIOR_RUNS) / (len(decided) + PRIOR_RUNS)


def _row(risk: float, confidence: float, rate: float, affected: bool) -> FloatArray:
    return np.array([1.0, risk, confidence, rate, 1.0 if affected else 0.0])


def _sigmoid(z: FloatArray | float) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))


def fit_logistic(x: FloatArray, y: FloatArray, *, l2: float = L2, iterations: int = ITERATIONS) -> FloatArray:
    """Coefficients by Newton's method (IRLS) with an L2 penalty on all but the intercept."""
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(iterations):
        p = _sigmoid(x @ w)
        gradient = x.T @ (p - y) + penalty * w
        hessian = (x.T * (p * (1 - p))) @ x + np.diag(penalty) + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    return w


def _brier(p: FloatArray, y: FloatArray) -> float:
    return float(np.mean((p - y) ** 2))


def fit_model(predictions: Sequence[Prediction], runs_by_flow: dict[str, list[TestRun]]) -> PredictionModel:
    """The project's model from its validated predictions (see the module docstring)."""
    rows: list[FloatArray] = []
    labels: list[float] = []
    heuristic_p: list[float] = []
    for prediction in sorted(predictions, key=lambda p: (p.created_at, p.id)):
        if prediction.actual_result not in ("passed", "failed"):
            continue
        rate = past_failure_rate(runs_by_flow.get(prediction.flow_id, []), before=prediction.created_at)
        rows.append(_row(prediction.probability, prediction.confidence, rate, prediction.affected))
        labels.append(1.0 if prediction.actual_result == "failed" else 0.0)
        heuristic_p.append(heuristic(prediction.probability, rate))
    n = len(labels)
    if not n:
        return PredictionModel("heuristic", 0, None, None)
    y = np.array(labels)
    base = _brier(np.array(heuristic_p), y)
    failures = int(y.sum())
    if n < MIN_OUTCOMES or min(failures, n - failures) < MIN_PER_CLASS:
        return PredictionModel("heuristic", n, base, base)
    x = np.vstack(rows)
    folds = np.arange(n) % FOLDS  # interleaved folds: each spans the whole history
    held_out = np.empty(n)
    for fold in range(FOLDS):
        train, test = folds != fold, folds == fold
        held_out[test] = _sigmoid(x[test] @ fit_logistic(x[train], y[train]))
    cross_validated = _brier(held_out, y)
    if not cross_validated < base or math.isnan(cross_validated):
        return PredictionModel("heuristic", n, base, base)
    coefficients = tuple(float(c) for c in fit_logistic(x, y))
    return PredictionModel("logistic", n, cross_validated, base, coefficients)
