"""analyze_change: flows read from the graph, scored, recorded with AFFECTS data and published on the bus.

The graph here is an honest in-memory fake of the three FlowGraph methods analyze_change uses (the FalkorDB
adapter is exercised in tests/integration/observer); the bus is the real in-memory bus.
"""

from __future__ import annotations

from collections.abc import Sequence

from perceo.bus.memory import InMemoryBus
from perceo.models import AffectedRoute, ChangeAnalysis, ChangedFile, ChangeSet, EventType, FlowView, Reason
from perceo.observer.analyze import analyze_change


class FlowsOnlyGraph:
    """Just enough of FlowGraph for analyze_change: routes, the active flows at some routes, record analyses."""

    def __init__(self, flows: Sequence[FlowView]) -> None:
        self.flows = list(flows)
        self.recorded: list[ChangeAnalysis] = []

    def matchable_routes(self, project_id: str) -> list[str]:
        mine = [f for f in self.flows if f.project_id == project_id]
        return sorted({*(p for f in mine for p in f.pages), *(f.entry_point for f in mine if f.entry_point)})

    def flows_at_routes(self, project_id: str, routes: Sequence[str]) -> list[FlowView]:
        return [
            f
            for f in self.flows
            if f.project_id == project_id and f.is_active and (set(f.pages) & set(routes) or f.entry_point in routes)
        ]

    def record_analysis(self, analysis: ChangeAnalysis) -> ChangeAnalysis:
        self.recorded.append(analysis)
        return analysis


CHANGE = ChangeSet(
    base_sha="a" * 40,
    head_sha="b" * 40,
    files=[ChangedFile(path="components/Button.tsx", status="modified", additions=2, deletions=1)],
)
CART = AffectedRoute(
    route="/cart",
    files=["components/Button.tsx"],
    reasons=[Reason(changed_file="components/Button.tsx", chain=["components/Button.tsx", "app/cart/page.tsx"])],
    distance=1,
)


def _flows() -> list[FlowView]:
    return [
        FlowView(id="checkout", project_id="p1", name="Checkout", priority="critical", pages=["/", "/cart", "/pay"]),
        FlowView(id="browse", project_id="p1", name="Browse", priority="low", pages=["/", "/products"]),
        FlowView(id="other", project_id="p2", name="Other project", priority="critical", pages=["/cart"]),
    ]


def test_analysis_maps_routes_to_flows_records_and_publishes() -> None:
    graph, bus = FlowsOnlyGraph(_flows()), InMemoryBus()

    analysis = analyze_change("p1", CHANGE, [CART], graph=graph, bus=bus, clock=lambda: 1234)  # type: ignore[arg-type]

    assert [f.id for f in analysis.flows] == ["checkout"]
    checkout = analysis.flows[0]
    assert checkout.affected_pages == ["/cart"]
    assert checkout.reasons[0].route == "/cart"
    assert checkout.reasons[0].chain == ["components/Button.tsx", "app/cart/page.tsx"]
    assert analysis.risk_score == checkout.risk_score and analysis.risk_level in ("high", "critical", "medium")
    assert analysis.created_at == 1234
    assert graph.recorded == [analysis]
    events = [event for _, event in bus.replay("p1")]
    assert [e.type for e in events] == [EventType.FLOWS_AFFECTED, EventType.ANALYSIS_COMPLETE]
    assert events[0].data["flows"][0]["id"] == "checkout"
    assert events[0].data["analysisId"] == analysis.id
    assert events[1].data["affectedRoutes"] == ["/cart"]
    assert bus.replay("p2") == []


def test_analysis_without_graph_or_bus_covers_routes_only() -> None:
    analysis = analyze_change("local", CHANGE, [CART])
    assert analysis.flows == []
    assert analysis.affected_routes == [CART]
    assert analysis.risk_level == "medium"  # an affected route no flow visits counts as a medium one-page flow


def test_nothing_affected_publishes_completion_only_and_scores_zero() -> None:
    bus = InMemoryBus()
    analysis = analyze_change("p1", CHANGE, [], graph=FlowsOnlyGraph(_flows()), bus=bus)  # type: ignore[arg-type]
    assert (analysis.risk_score, analysis.risk_level, analysis.flows) == (0.0, "low", [])
    assert [e.type for _, e in bus.replay("p1")] == [EventType.ANALYSIS_COMPLETE]
