"""Flows, steps and personas through the flows Lambda: edits mark flows user-edited; bad input writes nothing."""

from __future__ import annotations

import pytest
from api_handlers import body_of
from api_integration_kit import Caller, call, create_project, error_code, key_for

from perceo import wiring
from perceo.graph.port import FlowGraph

STEP = {"name": "Open the cart", "actions": [{"type": "navigate", "value": "/cart"}]}


@pytest.fixture
def owner(api: wiring.Services) -> Caller:
    return create_project("Shop")


def _flow(owner: Caller, name: str = "Checkout", **extra: object) -> dict[str, object]:
    response = call("flows/create-flow", owner, body={"name": name, **extra})
    assert response["statusCode"] == 201, response
    created: dict[str, object] = body_of(response)
    return created


def test_a_flow_is_created_with_personas_pages_and_steps_and_read_back(owner: Caller) -> None:
    assert call("flows/create-persona", owner, body={"name": "Shopper", "behaviors": ["buys"]})["statusCode"] == 201

    created = _flow(owner, personas=["shopper"], pages=["/cart", "/checkout"], steps=[STEP], priority="critical")
    listed = body_of(call("flows/list-flows", owner, query={"includeSteps": "true"}))["flows"]
    fetched = body_of(call("flows/get-flow", owner, id=str(created["id"])))

    assert created["source"] == "user_configured" and created["userEdited"] is True
    assert fetched["personas"] == ["Shopper"]
    assert fetched["pages"] == ["/cart", "/checkout"]
    assert [s["name"] for s in fetched["steps"]] == ["Open the cart"]
    assert [f["id"] for f in listed] == [created["id"]]


def test_editing_a_generated_flow_marks_it_user_edited(owner: Caller, graph: FlowGraph) -> None:
    from perceo.models import Flow

    generated = graph.upsert_flows(owner.project_id, [Flow(project_id=owner.project_id, name="Sign in")])[0]
    assert generated.user_edited is False

    response = call("flows/update-flow", owner, body={"priority": "high", "pages": ["/login"]}, id=generated.id)

    assert response["statusCode"] == 200
    updated = body_of(response)
    assert (updated["priority"], updated["userEdited"], updated["pages"]) == ("high", True, ["/login"])


def test_replacing_steps_numbers_them_in_order_and_marks_the_flow(owner: Caller, graph: FlowGraph) -> None:
    from perceo.models import Flow

    generated = graph.upsert_flows(owner.project_id, [Flow(project_id=owner.project_id, name="Browse")])[0]
    steps = [STEP, {"name": "Pay", "actions": [{"type": "click", "target": "#pay"}], "timeoutMs": 5000}]

    replaced = call("flows/replace-steps", owner, body={"steps": steps}, id=generated.id)
    listed = call("flows/list-steps", owner, id=generated.id)

    assert replaced["statusCode"] == 200
    assert [(s["order"], s["name"]) for s in body_of(listed)["steps"]] == [(1, "Open the cart"), (2, "Pay")]
    assert body_of(listed)["steps"][1]["timeoutMs"] == 5000
    assert graph.get_flow(owner.project_id, generated.id).user_edited is True  # type: ignore[union-attr]


def test_deleting_a_flow_makes_it_404(owner: Caller) -> None:
    created = _flow(owner)

    deleted = call("flows/delete-flow", owner, id=str(created["id"]))
    again = call("flows/get-flow", owner, id=str(created["id"]))

    assert deleted["statusCode"] == 204 and deleted["body"] == ""
    assert again["statusCode"] == 404 and error_code(again) == "flow_not_found"


def test_personas_are_created_read_edited_and_deleted(owner: Caller) -> None:
    created = body_of(call("flows/create-persona", owner, body={"name": "Admin", "description": "Runs the shop"}))

    fetched = call("flows/get-persona", owner, id=created["id"])
    edited = call("flows/update-persona", owner, body={"behaviors": ["refunds"]}, id=created["id"])
    deleted = call("flows/delete-persona", owner, id=created["id"])
    listed = body_of(call("flows/list-personas", owner))["personas"]

    assert body_of(fetched)["description"] == "Runs the shop"
    assert body_of(edited)["behaviors"] == ["refunds"] and body_of(edited)["source"] == "user_configured"
    assert body_of(edited)["id"] == created["id"]
    assert deleted["statusCode"] == 204 and listed == []


def test_names_are_unique_per_project(owner: Caller) -> None:
    _flow(owner, "Checkout")
    call("flows/create-persona", owner, body={"name": "Shopper"})

    flow = call("flows/create-flow", owner, body={"name": "checkout"})
    persona = call("flows/create-persona", owner, body={"name": "SHOPPER"})

    assert flow["statusCode"] == persona["statusCode"] == 409
    assert error_code(flow) == "conflict"


def test_an_unknown_persona_rejects_the_whole_flow(owner: Caller, graph: FlowGraph) -> None:
    response = call("flows/create-flow", owner, body={"name": "Ghost", "personas": ["Nobody"], "steps": [STEP]})

    assert response["statusCode"] == 422
    assert "Nobody" in body_of(response)["error"]["message"]
    assert graph.list_flows(owner.project_id) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "priority": "urgent"}, "body.priority"),
        ({"name": "A", "pages": ["no-leading-slash"]}, "body.pages.0"),
        ({"name": "A", "steps": [{"name": "s", "actions": [{"type": "teleport"}]}]}, "body.steps.0.actions.0.type"),
        ({"name": "A", "steps": [{"name": "s", "order": 3}]}, "body.steps.0.order"),
        ({"name": "A", "steps": [STEP] * 201}, "body.steps"),
        ({"name": "A", "userEdited": False}, "body.userEdited"),
        ({"name": "A", "projectId": "someone-else"}, "body.projectId"),
        ({"name": 42}, "body.name"),
    ],
)
def test_invalid_flows_are_422_naming_the_field_and_nothing_is_written(
    owner: Caller, graph: FlowGraph, body: dict[str, object], field: str
) -> None:
    response = call("flows/create-flow", owner, body=body)

    assert response["statusCode"] == 422
    assert field in [problem["field"] for problem in body_of(response)["error"]["details"]["errors"]]
    assert graph.list_flows(owner.project_id) == []


@pytest.mark.parametrize(
    "ref",
    ["x' OR 1=1 //", "a}) DETACH DELETE n //", "../flows", "%2e%2e", "id with spaces", "x" * 65, "$id"],
)
def test_injection_strings_in_ids_are_rejected_and_harm_nothing(owner: Caller, graph: FlowGraph, ref: str) -> None:
    created = _flow(owner)

    responses = [
        call("flows/get-flow", owner, id=ref),
        call("flows/delete-flow", owner, id=ref),
        call("flows/update-flow", owner, body={"priority": "low"}, id=ref),
        call("flows/delete-persona", owner, id=ref),
    ]

    assert all(r["statusCode"] in (404, 422) for r in responses), [r["statusCode"] for r in responses]
    assert [f.id for f in graph.list_flows(owner.project_id)] == [created["id"]]


def test_reading_needs_flows_read_and_writing_needs_flows_write(owner: Caller) -> None:
    reader = key_for(owner, ["flows:read"], "reader")
    ci = key_for(owner, ["ci:analyze"], "ci")

    assert call("flows/list-flows", reader)["statusCode"] == 200
    assert call("flows/list-flows", ci)["statusCode"] == 403
    denied = call("flows/create-flow", reader, body={"name": "Nope"})
    assert denied["statusCode"] == 403
    assert body_of(denied)["error"]["details"]["requiredScopes"] == ["flows:write"]
    assert call("flows/list-flows", None)["statusCode"] == 401
