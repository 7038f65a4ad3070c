"""Predictions checked against outcomes: what `ci analyze` said per flow, and how well that held.

Every analysis records one prediction per active flow: `affected` (the analysis named the flow) and `probability`
(its risk score, 0 when not affected). A completed run of the flow at the same commit fills `actual_result`.
Over the validated predictions: precision and recall of "affected" against "failed" (a run that `failed`; an
`error` run says nothing about the code and is left out, as are skipped ones), and calibration of the risk
scores as probabilities of failure: the Brier score and a reliability table by risk bucket.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from perceo.models.change import ChangeAnalysis
from perceo.models.common import Model
from perceo.models.entities import Flow
from perceo.models.runs import Prediction
from perceo.models.vocab import TestOutcome

#: Upper bounds of the reliability table's risk buckets: [0, 0.2), [0.2, 0.4), … [0.8, 1.0].
BUCKET_EDGES = (0.2, 0.4, 0.6, 0.8, 1.0)


def predictions_from(
    analysis: ChangeAnalysis, flows: Sequence[Flow], *, pr_number: int | None = None, created_at: int | None = None
) -> list[Prediction]:
    """One prediction per active flow of `flows` for the analysis's head commit."""
    impacted = {f.id: f for f in analysis.flows}
    predictions = []
    for flow in flows:
        if not flow.is_active:
            continue
        hit = impacted.get(flow.id)
        reasons = "; ".join(sorted({r.changed_file for r in hit.reasons})[:5]) if hit else ""
        predictions.append(
            Prediction(
                project_id=analysis.project_id,
                flow_id=flow.id,
                analysis_id=analysis.id,
                affected=hit is not None,
                probability=hit.risk_score if hit else 0.0,
                confidence=hit.confidence if hit else 1.0,
                reasoning=f"changed: {reasons}" if hit else "not reached by the change",
                based_on="heuristic",
                commit_sha=analysis.head_sha,
                pr_number=pr_number,
                created_at=created_at if created_at is not None else analysis.created_at,
            )
        )
    return predictions


def affected_predictions(
    analysis: ChangeAnalysis, *, pr_number: int | None = None, created_at: int | None = None
) -> list[Prediction]:
    """One prediction per flow the analysis names (affected, its risk as the probability): what is stored when the
    analysis is made. A flow it does not name gets its "not affected" prediction when a run of it at the analysis's
    commit is recorded (`unaffected_prediction`), so an analysis writes a handful of predictions, not one per flow."""
    return [
        Prediction(
            project_id=analysis.project_id,
            flow_id=hit.id,
            analysis_id=analysis.id,
            affected=True,
            probability=hit.risk_score,
            confidence=hit.confidence,
            reasoning="changed: " + "; ".join(sorted({r.changed_file for r in hit.reasons})[:5]),
            based_on="heuristic",
            commit_sha=analysis.head_sha,
            pr_number=pr_number,
            created_at=created_at if created_at is not None else analysis.created_at,
        )
        for hit in analysis.flows
    ]


def unaffected_prediction(
    analysis: ChangeAnalysis, flow_id: str, result: TestOutcome, *, validated_at: int
) -> Prediction:
    """The "not affected" prediction of a flow the analysis did not name, validated by the run that tested it."""
    decided = result in ("passed", "failed")
    return Prediction(
        project_id=analysis.project_id,
        flow_id=flow_id,
        analysis_id=analysis.id,
        affected=False,
        probability=0.0,
        confidence=1.0,
        reasoning="not reached by the change",
        based_on="heuristic",
        commit_sha=analysis.head_sha,
        actual_result=result,
        prediction_correct=(result == "passed") if decided else None,
        created_at=analysis.created_at,
        validated_at=validated_at,
    )


class ReliabilityBucket(Model):
    low: float
    high: float
    count: int = 0
    #: Mean predicted risk of the bucket's predictions (None when empty).
    mean_predicted: float | None = None
    #: Share of them whose flow failed (None when empty).
    observed_failure_rate: float | None = None


class PredictionQuality(Model):
    """How the recorded predictions held against test outcomes (only validated, decided ones count)."""

    predictions: int = 0
    validated: int = 0
    #: Validated predictions whose outcome was passed or failed (error/skipped runs are not counted).
    decided: int = 0
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    true_negatives: int = 0
    precision: float | None = None
    recall: float | None = None
    brier_score: float | None = None
    reliability: list[ReliabilityBucket] = Field(default_factory=list)


def prediction_quality(predictions: Sequence[Prediction]) -> PredictionQuality:
    """Precision/recall of `affected` vs failed, the Brier score and the reliability table."""
    validated = [p for p in predictions if p.actual_result is not None]
    decided = [p for p in validated if p.actual_result in ("passed", "failed")]
    tp = sum(p.affected and p.actual_result == "failed" for p in decided)
    fp = sum(p.affected and p.actual_result == "passed" for p in decided)
    fn = sum(not p.affected and p.actual_result == "failed" for p in decided)
    tn = sum(not p.affected and p.actual_result == "passed" for p in decided)
    brier = (
        sum((p.probability - (p.actual_result == "failed")) ** 2 for p in decided) / len(decided) if decided else None
    )
    buckets = []
    low = 0.0
    for high in BUCKET_EDGES:
        inside = [p for p in decided if low <= p.probability < high or (high == 1.0 and p.probability == 1.0)]
        buckets.append(
            ReliabilityBucket(
                low=low,
                high=high,
                count=len(inside),
                mean_predicted=round(sum(p.probability for p in inside) / len(inside), 4) if inside else None,
                observed_failure_rate=round(sum(p.actual_result == "failed" for p in inside) / len(inside), 4)
                if inside
                else None,
            )
        )
        low = high
    return PredictionQuality(
        predictions=len(predictions),
        validated=len(validated),
        decided=len(decided),
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        true_negatives=tn,
        precision=round(tp / (tp + fp), 4) if tp + fp else None,
        recall=round(tp / (tp + fn), 4) if tp + fn else None,
        brier_score=round(brier, 4) if brier is not None else None,
        reliability=buckets,
    )
