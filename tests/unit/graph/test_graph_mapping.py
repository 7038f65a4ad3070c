"""Models to graph properties and back: everything survives the trip, maps become JSON strings."""

from __future__ import annotations

from typing import Any

from perceo.graph.mapping import (
    affects_rows,
    analysis_from,
    analysis_props,
    flow_from,
    flow_row,
    flow_update_props,
    flow_views_from,
    flows_with_pages_from,
    step_from,
    step_row,
)
from perceo.graph.queries import FLOW_PROPERTIES, STEP_PROPERTIES
from perceo.models import (
    AffectedRoute,
    ChangeAnalysis,
    ChangedFile,
    ExpectedState,
    Flow,
    FlowUpdate,
    ImpactedFlow,
    Reason,
    Step,
    StepAction,
)


def is_primitive_property(value: Any) -> bool:
    """What Neo4j and FalkorDB can store: a primitive, or a list of one primitive type."""
    if isinstance(value, (str, int, float, bool)):
        return True
    return isinstance(value, list) and all(isinstance(v, (str, int, float, bool)) for v in value)


def test_a_step_round_trips_with_actions_and_expected_state_as_json_strings() -> None:
    step = Step(
        flow_id="f1",
        order=2,
        name="Pay",
        actions=[StepAction(type="fill", target="#card", value="4242", options={"delay": 5, "keys": ["a"]})],
        expected_state=ExpectedState(url="/done", text={"h1": "Thanks"}, attributes={"#x": {"aria": True}}),
        timeout_ms=5000,
        retry_count=1,
    )

    row = step_row(step)

    assert all(is_primitive_property(v) for v in row.values())
    assert isinstance(row["actions"], str) and isinstance(row["expectedState"], str)
    assert step_from({**row, "flowId": "f1", "projectId": "p1"}) == step


def test_a_flow_row_keeps_identity_apart_from_what_every_upsert_sets() -> None:
    flow = Flow(project_id="p1", name="Checkout", entry_point=None, trigger_conditions=["sale"], created_at=7)

    row = flow_row(flow, updated_at=8)

    assert (row["id"], row["name"], row["createdAt"]) == (flow.id, "Checkout", 7)
    assert "id" not in row["props"] and "createdAt" not in row["props"] and "projectId" not in row["props"]
    assert row["props"]["entryPoint"] is None  # None in `SET f += props` removes a stale value
    assert row["props"]["updatedAt"] == 8
    stored = {**row["props"], "id": flow.id, "projectId": "p1", "name": "Checkout", "createdAt": 7, "entryPoint": None}
    assert flow_from(stored) == flow.model_copy(update={"updated_at": 8})


def test_a_flow_update_sets_only_given_fields_and_clears_only_optional_ones() -> None:
    update = FlowUpdate(priority=None, entry_point=None, coverage_score=None, is_active=False)

    props = flow_update_props(update, updated_at=123)

    assert props == {"entryPoint": None, "coverageScore": None, "isActive": False, "updatedAt": 123}
    assert flow_update_props(FlowUpdate(), updated_at=9) == {"updatedAt": 9}


def test_flow_views_order_pages_by_visit_connections_by_rank_steps_by_order_and_keep_flow_order() -> None:
    first, second = Flow(project_id="p1", name="Checkout"), Flow(project_id="p1", name="Browse")
    steps = [step_row(Step(flow_id=first.id, order=n, name=f"s{n}")) for n in (3, 1, 2)]
    links = [
        {"flowId": first.id, "kind": 1, "value": "/b", "rank": 2},
        {"flowId": first.id, "kind": 1, "value": "/a", "rank": 1},
        {"flowId": first.id, "kind": 1, "value": "/b", "rank": 3},
        {"flowId": first.id, "kind": 2, "value": "Visitor", "rank": 0},
        {"flowId": first.id, "kind": 2, "value": "Buyer", "rank": 0},
        {"flowId": first.id, "kind": 3, "value": "z", "rank": 2},
        {"flowId": first.id, "kind": 3, "value": "y", "rank": 1},
        {"flowId": second.id, "kind": 1, "value": "/", "rank": 1},
    ]

    views = flow_views_from(
        [first.model_dump(mode="json"), second.model_dump(mode="json")],
        links,
        [{**s, "flowId": first.id} for s in steps],
    )

    assert [v.name for v in views] == ["Checkout", "Browse"]
    assert views[0].pages == ["/a", "/b", "/b"]
    assert views[0].connected_flows == ["y", "z"]
    assert views[0].personas == ["Buyer", "Visitor"]
    assert [s.order for s in views[0].steps] == [1, 2, 3]
    assert (views[1].pages, views[1].personas, views[1].steps) == (["/"], [], [])


def test_flows_with_pages_keep_each_flow_once_with_its_pages_by_visit_order_whatever_rows_repeat() -> None:
    checkout, browse = Flow(project_id="p1", name="Checkout"), Flow(project_id="p1", name="Browse", entry_point="/")
    columns = {**checkout.model_dump(mode="json"), "coverageScore": None}  # a missing property is a null column
    rows = [
        {**columns, "route": "/pay", "rank": 3},
        {**columns, "route": "/", "rank": 1},
        {**browse.model_dump(mode="json"), "route": None, "rank": None},
        {**columns, "route": "/cart", "rank": 2},
        {**columns, "route": "/", "rank": 1},  # the same edge again, from the other half of the query
    ]

    views = flows_with_pages_from(rows)

    assert [(v.name, v.pages) for v in views] == [("Checkout", ["/", "/cart", "/pay"]), ("Browse", [])]
    empty = {"personas": [], "steps": [], "connectedFlows": []}
    assert views[0].model_dump(exclude={"pages"}) == {**checkout.model_dump(), **empty}
    assert views[1].entry_point == "/"


def test_the_flow_columns_the_queries_read_are_the_flow_fields() -> None:
    assert list(FLOW_PROPERTIES) == [field.alias or name for name, field in Flow.model_fields.items()]
    step_fields = [field.alias or name for name, field in Step.model_fields.items()]
    assert sorted([*STEP_PROPERTIES, "flowId"]) == sorted(step_fields)  # a step's flowId is read from its flow


def test_an_analysis_round_trips_through_node_properties_and_affects_edges() -> None:
    reason = Reason(changed_file="src/a.ts", chain=["src/a.ts", "app/page.tsx"])
    analysis = ChangeAnalysis(
        project_id="p1",
        base_sha="abcdef1",
        head_sha="1234567",
        risk_level="critical",
        risk_score=0.9,
        files=[ChangedFile(path="src/a.ts", status="renamed", old_path="src/b.ts")],
        affected_routes=[AffectedRoute(route="/", files=["app/page.tsx"], reasons=[reason], distance=2)],
        flows=[
            ImpactedFlow(id="f2", name="B", risk_score=0.2, confidence=0.5, affected_pages=["/"], reasons=[reason]),
            ImpactedFlow(id="f1", name="A", priority="high", risk_score=0.9, confidence=1.0),
        ],
        created_at=42,
    )

    props = analysis_props(analysis)
    edges = affects_rows(analysis.flows)

    assert all(is_primitive_property(v) for v in props.values())
    assert all(is_primitive_property(v) for edge in edges for v in edge.values())
    node = {**props, "id": analysis.id, "projectId": "p1"}
    assert analysis_from({"analysis": node, "flows": list(reversed(edges))}) == analysis


def test_an_affects_entry_that_comes_back_empty_is_left_out_not_a_failure() -> None:
    """An engine answering null for an edge (FalkorDB did, under a sort) costs that flow, not the whole list."""
    analysis = ChangeAnalysis(
        project_id="p1",
        base_sha="a" * 40,
        head_sha="b" * 40,
        risk_level="low",
        risk_score=0.1,
        flows=[ImpactedFlow(id="f1", name="A", risk_score=0.2, confidence=0.5)],
        created_at=42,
    )
    node = {**analysis_props(analysis), "id": analysis.id, "projectId": "p1"}
    broken = [None, {"flowId": "f9"}, {"flowId": "f8", "name": None, "riskScore": 0.1, "confidence": 1.0}]

    read = analysis_from({"analysis": node, "flows": [*broken, *affects_rows(analysis.flows)]})

    assert [flow.id for flow in read.flows] == ["f1"]
