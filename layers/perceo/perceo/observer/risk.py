"""Risk: how much a change puts each flow at risk, and the change's overall level.

The formula, in full (README: "How risk is scored"):

1. **Confidence** of a reason (a chain of files from a changed file to a route file, `d` hops long):
   `confidence = kind_factor × max(0.3, 0.85^d)`, with `kind_factor` = 1.0 for `entry` and `import`, 0.9 for
   `layout`, 0.7 for `dependency` (a package bump) and 0.5 for `global` (config, env, global styles). A route's
   confidence is the MAXIMUM over its reasons, and a flow's the maximum over its affected pages — never the first.
2. **Change size** of what reaches a flow: `size = min(1, log10(1 + churn) / 3)`, where `churn` is the sum of added
   plus deleted lines of the changed files that reach the flow's pages (10 per file when git gives no count, as
   for binary or untracked files): 1 line → 0.1, 10 → 0.35, 100 → 0.67, 1,000 or more → 1.
3. **Exposure** of a flow: `exposure = 0.40·confidence + 0.35·share + 0.25·size`, where `share` is the fraction of
   the flow's distinct pages that are affected.
4. **Weight** of a flow: its priority (critical 1.0, high 0.75, medium 0.5, low 0.25), raised by production
   traffic when it is known: `weight = min(1, priority + 0.25·traffic)`, where `traffic` is the flow's users per
   day divided by the busiest flow's (0..1).
5. **Flow risk** = `weight × (0.45 + 0.55·exposure)`, rounded to 3 decimals. A flow that is touched at all keeps
   at least 45 % of its weight: a critical flow reached through a deep import is still worth a look.
6. **Overall risk** = `max(r for r in listed risks)`: the highest risk among the listed flows (`flows`, each
   with its `riskScore`) and the listed affected routes that no listed flow visits (each such route is scored as a
   one-page flow of medium priority, so `ci analyze` is meaningful before any flow exists). Nothing else counts:
   no bonus for breadth, nothing from files, steps or routes the report does not list. Nothing affected → 0.
   `explain` gives the formula and its inputs (`riskExplanation` in `ci analyze --json`), so anyone can recompute
   the score from the report alone.
7. **Level**: critical ≥ 0.8, high ≥ 0.6, medium ≥ 0.3, low below.

What this fixes from the first Perceo (§4.3): no substring or keyword matching (flows are matched to routes by
pattern), confidence is the maximum not the first match, a weighted *average* no longer lets many low-risk flows
hide one critical flow, and priority alone can no longer make every match "medium".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from perceo.models import AffectedRoute, ChangedFile, ImpactedFlow, Reason
from perceo.models.vocab import Priority, RiskLevel
from perceo.observer.routematch import routes_match

PRIORITY_WEIGHT: dict[str, float] = {"critical": 1.0, "high": 0.75, "medium": 0.5, "low": 0.25}
KIND_FACTOR: dict[str, float] = {
    "entry": 1.0,
    "route": 1.0,
    "import": 1.0,
    "layout": 0.9,
    "dependency": 0.7,
    "shell": 0.6,
    "global": 0.5,
}
HOP_DECAY = 0.85
MIN_PROXIMITY = 0.3
UNKNOWN_CHURN_LINES = 10
EXPOSURE_WEIGHTS = (0.40, 0.35, 0.25)  # confidence, share of pages, change size
TRAFFIC_BOOST = 0.25
RISK_FLOOR = 0.45
#: How the overall risk combines the listed risks (module docstring, step 6).
OVERALL_FORMULA = "max"
#: Lower bounds of each level, highest first.
LEVELS: tuple[tuple[float, RiskLevel], ...] = (
    (0.8, "critical"),
    (0.6, "high"),
    (0.3, "medium"),
    (0.0, "low"),
)
LEVEL_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}


class RiskAssessment(NamedTuple):
    score: float
    level: RiskLevel


def reason_confidence(reason: Reason) -> float:
    """How sure we are that the change at the start of the chain reaches the route at its end."""
    hops = max(len(reason.chain) - 1, 0)
    return KIND_FACTOR.get(reason.kind, 0.5) * max(MIN_PROXIMITY, HOP_DECAY**hops)


def route_confidence(route: AffectedRoute) -> float:
    return max((reason_confidence(r) for r in route.reasons), default=0.0)


def churn_of(change: ChangedFile | None) -> int:
    """Lines added plus deleted; a fixed guess when git gives no count."""
    if change is None or change.additions is None or change.deletions is None:
        return UNKNOWN_CHURN_LINES
    return change.additions + change.deletions


def change_size(churn: int) -> float:
    return min(1.0, math.log10(1 + max(churn, 0)) / 3)


def flow_risk(
    priority: Priority | str,
    *,
    share: float,
    confidence: float,
    churn: int,
    traffic: float | None = None,
) -> float:
    """One flow's risk in 0..1 (steps 3–5 of the module docstring)."""
    w_confidence, w_share, w_size = EXPOSURE_WEIGHTS
    exposure = w_confidence * _unit(confidence) + w_share * _unit(share) + w_size * change_size(churn)
    weight = PRIORITY_WEIGHT.get(priority, PRIORITY_WEIGHT["medium"])
    if traffic is not None:
        weight = min(1.0, weight + TRAFFIC_BOOST * _unit(traffic))
    return round(weight * (RISK_FLOOR + (1 - RISK_FLOOR) * exposure), 3)


def route_risk(route: AffectedRoute, changes: Sequence[ChangedFile] = ()) -> float:
    """An affected route no flow visits, scored as a one-page flow of medium priority."""
    by_path = {c.path: c for c in changes}
    churn = sum(churn_of(by_path.get(f)) for f in route.files)
    return flow_risk("medium", share=1.0, confidence=route_confidence(route), churn=churn)


def risk_level(score: float) -> RiskLevel:
    for bound, level in LEVELS:
        if score >= bound:
            return level
    return "low"


def overall_risk(risks: Iterable[float]) -> float:
    """The highest of the listed risks (0 when none is listed): one high-risk item is never diluted by many
    low-risk ones, and nothing outside the list can raise it."""
    return round(min(1.0, max(risks, default=0.0)), 3)


class RiskInput(NamedTuple):
    """One listed item the overall risk is computed from: a flow (its id) or a route no listed flow visits."""

    kind: str  # "flow" | "route"
    ref: str  # flow id, or route pattern
    name: str  # flow name, or route pattern
    risk: float


def risk_inputs(
    flows: Sequence[ImpactedFlow], affected: Sequence[AffectedRoute], changes: Sequence[ChangedFile] = ()
) -> list[RiskInput]:
    """The listed risks the overall score is the maximum of (step 6): every flow, and every affected route that
    no listed flow visits (scored by `route_risk`)."""
    pages = {page for flow in flows for page in flow.affected_pages}
    inputs = [RiskInput("flow", f.id, f.name, f.risk_score) for f in flows]
    inputs += [
        RiskInput("route", route.route, route.route, route_risk(route, changes))
        for route in affected
        if route.route not in pages and not any(routes_match(route.route, page) for page in pages)
    ]
    return inputs


def score(
    flows: Sequence[ImpactedFlow],
    affected: Sequence[AffectedRoute],
    *,
    changes: Sequence[ChangedFile] = (),
) -> RiskAssessment:
    """The change's overall risk score and level (steps 6–7 of the module docstring)."""
    value = overall_risk(item.risk for item in risk_inputs(flows, affected, changes))
    return RiskAssessment(value, risk_level(value) if value > 0 else "low")


def explain(
    flows: Sequence[ImpactedFlow], affected: Sequence[AffectedRoute], changes: Sequence[ChangedFile] = ()
) -> dict[str, object]:
    """The overall risk as a formula and its inputs (`riskExplanation` in `ci analyze --json`): the score is the
    maximum of `inputs[].riskScore`, each input a listed flow or a listed route no listed flow visits."""
    inputs = risk_inputs(flows, affected, changes)
    value = overall_risk(item.risk for item in inputs)
    top = max(inputs, key=lambda item: item.risk, default=None)
    return {
        "formula": "riskScore = max(inputs[].riskScore), 0 when there is no input",
        "combine": OVERALL_FORMULA,
        "inputs": [
            {
                "type": item.kind,
                **({"id": item.ref} if item.kind == "flow" else {}),
                "name": item.name,
                "riskScore": item.risk,
            }
            for item in inputs
        ],
        "routeScoring": "a route no listed flow visits is scored as a one-page flow of medium priority",
        "decidedBy": None if top is None else {"type": top.kind, "name": top.name, "riskScore": top.risk},
        "riskScore": value,
        "riskLevel": risk_level(value) if value > 0 else "low",
    }


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))
