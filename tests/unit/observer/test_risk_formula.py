"""The risk formula, term by term (documented in perceo.observer.risk and the README)."""

from __future__ import annotations

import pytest

from perceo.models import AffectedRoute, ChangedFile, ImpactedFlow, Reason
from perceo.observer.risk import (
    change_size,
    churn_of,
    flow_risk,
    overall_risk,
    reason_confidence,
    risk_level,
    route_confidence,
    score,
)


def test_reason_confidence_decays_per_hop_and_by_kind() -> None:
    assert reason_confidence(Reason(changed_file="a", chain=["a"], kind="entry")) == 1.0
    assert reason_confidence(Reason(changed_file="a", chain=["a", "b"], kind="import")) == pytest.approx(0.85)
    assert reason_confidence(Reason(changed_file="a", chain=["a", "b", "c"], kind="import")) == pytest.approx(0.7225)
    assert reason_confidence(Reason(changed_file="a", chain=["a"], kind="layout")) == pytest.approx(0.9)
    assert reason_confidence(Reason(changed_file="l", chain=["l", "f", "p"], kind="dependency")) == pytest.approx(
        0.7 * 0.7225
    )
    assert reason_confidence(Reason(changed_file="g", chain=["g", "p"], kind="global")) == pytest.approx(0.5 * 0.85)
    deep = Reason(changed_file="a", chain=[str(i) for i in range(20)], kind="import")
    assert reason_confidence(deep) == pytest.approx(0.3)  # the floor


def test_route_confidence_is_the_maximum_over_reasons_not_the_first() -> None:
    route = AffectedRoute(
        route="/x",
        reasons=[
            Reason(changed_file="g", chain=["g", "p"], kind="global"),
            Reason(changed_file="p", chain=["p"], kind="entry"),
        ],
    )
    assert route_confidence(route) == 1.0


def test_change_size_is_logarithmic_in_churn() -> None:
    assert change_size(0) == 0
    assert change_size(1) == pytest.approx(0.1003, abs=1e-3)
    assert change_size(9) == pytest.approx(1 / 3)
    assert change_size(999) == pytest.approx(1.0)
    assert change_size(10**6) == 1.0
    assert churn_of(ChangedFile(path="a", status="modified", additions=3, deletions=4)) == 7
    assert churn_of(ChangedFile(path="a", status="modified")) == 10  # no count (binary, untracked): a guess


def test_flow_risk_formula() -> None:
    # critical, entry page changed (confidence 1), 1 of 3 pages, 9 lines:
    # exposure = 0.4*1 + 0.35*(1/3) + 0.25*(1/3) = 0.6; risk = 1.0 * (0.45 + 0.55*0.6) = 0.78
    assert flow_risk("critical", share=1 / 3, confidence=1.0, churn=9) == pytest.approx(0.78)
    # the same change on a low-priority flow weighs a quarter
    assert flow_risk("low", share=1 / 3, confidence=1.0, churn=9) == pytest.approx(0.195)
    # fully exposed critical flow: 1.0
    assert flow_risk("critical", share=1.0, confidence=1.0, churn=5000) == 1.0
    # touched at all keeps 45 % of its weight
    assert flow_risk("high", share=0.0, confidence=0.0, churn=0) == pytest.approx(0.75 * 0.45, abs=1e-3)


def test_traffic_raises_the_weight_up_to_one() -> None:
    base = flow_risk("medium", share=1.0, confidence=1.0, churn=9)
    assert flow_risk("medium", share=1.0, confidence=1.0, churn=9, traffic=0.0) == base
    assert flow_risk("medium", share=1.0, confidence=1.0, churn=9, traffic=1.0) == pytest.approx(base * 0.75 / 0.5)
    assert flow_risk("critical", share=1.0, confidence=1.0, churn=9, traffic=1.0) == flow_risk(
        "critical", share=1.0, confidence=1.0, churn=9
    )


def test_levels() -> None:
    assert [risk_level(v) for v in (0.0, 0.29, 0.3, 0.59, 0.6, 0.79, 0.8, 1.0)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
        "critical",
        "critical",
    ]


def test_overall_is_the_highest_risk_plus_a_small_breadth_bonus() -> None:
    assert overall_risk([]) == 0.0
    assert overall_risk([0.5]) == 0.5
    assert overall_risk([0.5, 0.4, 0.1]) == pytest.approx(0.52)  # 0.1 is below 0.3: no bonus for it
    assert overall_risk([0.7] + [0.5] * 20) == pytest.approx(0.8)  # the bonus is capped at +0.1
    # many low-risk flows never dilute one high-risk flow (the first Perceo averaged them)
    assert overall_risk([0.85] + [0.1] * 30) == 0.85


def _flow(risk: float, pages: list[str]) -> ImpactedFlow:
    return ImpactedFlow(id="f", name="F", risk_score=risk, confidence=1.0, affected_pages=pages)


def test_score_counts_routes_no_flow_visits_as_medium_one_page_flows() -> None:
    entry = AffectedRoute(
        route="/cart", files=["c.tsx"], reasons=[Reason(changed_file="c.tsx", chain=["c.tsx"], kind="entry")]
    )
    changes = [ChangedFile(path="c.tsx", status="modified", additions=5, deletions=4)]
    # before init: routes only -> 0.5 * (0.45 + 0.55 * (0.4 + 0.35 + 0.25/3)) = 0.454
    assessment = score([], [entry], changes=changes)
    assert assessment.score == pytest.approx(0.454, abs=1e-3)
    assert assessment.level == "medium"
    # a flow covering the route replaces it
    assert score([_flow(0.2, ["/cart"])], [entry], changes=changes).score == pytest.approx(0.2)
    # nothing affected
    assert score([], []) == (0.0, "low")
