"""The risk formula, term by term (documented in perceo.observer.risk and the README)."""

from __future__ import annotations

import pytest

from perceo.models import AffectedRoute, ChangedFile, ImpactedFlow, Reason
from perceo.observer.risk import (
    change_size,
    churn_of,
    explain,
    flow_risk,
    overall_risk,
    reason_confidence,
    risk_inputs,
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


def test_overall_is_the_highest_listed_risk_and_nothing_else() -> None:
    assert overall_risk([]) == 0.0
    assert overall_risk([0.5]) == 0.5
    # no breadth bonus: many other risky items do not raise the highest one (they are listed beside it)
    assert overall_risk([0.5, 0.4, 0.1]) == 0.5
    assert overall_risk([0.7] + [0.5] * 20) == 0.7
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


def _route(path: str, changed: str, kind: str = "import", hops: int = 1) -> AffectedRoute:
    chain = [changed, *(f"{path}-{i}.tsx" for i in range(hops))]
    return AffectedRoute(route=path, files=[changed], reasons=[Reason(changed_file=changed, chain=chain, kind=kind)])


def test_the_overall_risk_is_reproducible_from_the_listed_items_alone() -> None:
    """riskExplanation: every input is a listed flow or a listed route no listed flow visits, and the score is their
    maximum; a route's input is recomputable from its listed confidence and the listed line counts."""
    changes = [
        ChangedFile(path="a.tsx", status="modified", additions=40, deletions=2),
        ChangedFile(path="b.tsx", status="modified", additions=1, deletions=0),
        ChangedFile(path="c.tsx", status="modified"),  # no count: 10 lines
    ]
    routes = [_route("/cart", "a.tsx"), _route("/about", "b.tsx", hops=3), _route("/docs", "c.tsx", kind="global")]
    flows = [_flow(0.31, ["/cart"])]
    explanation = explain(flows, routes, changes)
    assert explanation["combine"] == "max"
    inputs = explanation["inputs"]
    assert isinstance(inputs, list)
    assert [(i["type"], i["name"]) for i in inputs] == [("flow", "F"), ("route", "/about"), ("route", "/docs")]
    by_path = {c.path: c for c in changes}
    for item in inputs[1:]:
        route = next(r for r in routes if r.route == item["name"])
        churn = sum(churn_of(by_path[f]) for f in route.files)
        expected = flow_risk("medium", share=1.0, confidence=route_confidence(route), churn=churn)
        assert item["riskScore"] == expected
    assert explanation["riskScore"] == max(i["riskScore"] for i in inputs)
    assert score(flows, routes, changes=changes).score == explanation["riskScore"]
    top = explanation["decidedBy"]
    assert isinstance(top, dict)
    assert top["riskScore"] == explanation["riskScore"]


def test_nothing_outside_the_list_raises_the_overall_risk() -> None:
    """Adding items that score below the top leaves the score as it was (the old formula added 0.02 each)."""
    changes = [ChangedFile(path="a.tsx", status="modified", additions=5, deletions=4)]
    top = _route("/cart", "a.tsx", kind="entry", hops=0)
    alone = score([], [top], changes=changes).score
    crowd = [top, *(_route(f"/p{i}", "a.tsx", hops=2) for i in range(8))]
    assert all(item.risk >= 0.3 for item in risk_inputs([], crowd, changes))
    assert score([], crowd, changes=changes).score == alone
    assert explain([], [], [])["riskScore"] == 0.0
    assert explain([], [], [])["decidedBy"] is None
