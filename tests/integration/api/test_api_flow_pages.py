"""GET /flows a page at a time: `limit` (default 100, at most 500) and the opaque `nextCursor`, on the real flows
Lambda over a real FalkorDB graph. A cursor is only a position: it never shows another project's flows."""

from __future__ import annotations

from typing import Any

import pytest
from api_handlers import body_of
from api_integration_kit import Caller, call, create_project

from perceo import wiring
from perceo.graph.port import FlowGraph
from perceo.models import Flow


@pytest.fixture
def owner(api: wiring.Services) -> Caller:
    return create_project("Shop")


def seed(graph: FlowGraph, caller: Caller, count: int, prefix: str = "Flow") -> list[str]:
    flows = [Flow(project_id=caller.project_id, name=f"{prefix} {n:03d}") for n in range(count)]
    graph.upsert_flows(caller.project_id, flows)
    return sorted(f.name for f in flows)


def list_page(caller: Caller, **query: str) -> dict[str, Any]:
    response = call("flows/list-flows", caller, query=query)
    assert response["statusCode"] == 200, response
    page: dict[str, Any] = body_of(response)
    return page


def test_following_next_cursor_walks_every_flow_once_by_name(owner: Caller, graph: FlowGraph) -> None:
    names = seed(graph, owner, 7)
    graph.set_flow_pages(owner.project_id, graph.list_flows(owner.project_id)[0].id, ["/", "/cart"])

    pages = [list_page(owner, limit="3")]
    while pages[-1]["nextCursor"] is not None:
        pages.append(list_page(owner, limit="3", cursor=pages[-1]["nextCursor"]))

    assert [len(p["flows"]) for p in pages] == [3, 3, 1]
    assert [f["name"] for p in pages for f in p["flows"]] == names
    assert pages[0]["flows"][0]["pages"] == ["/", "/cart"]
    everything = list_page(owner, limit="500", includeSteps="true")
    assert everything["nextCursor"] is None
    assert [f for p in pages for f in p["flows"]] == [{**f, "steps": []} for f in everything["flows"]]


def test_without_a_limit_a_page_holds_100_flows(owner: Caller, graph: FlowGraph) -> None:
    names = seed(graph, owner, 101)

    first = list_page(owner)
    rest = list_page(owner, cursor=first["nextCursor"])

    assert [f["name"] for f in first["flows"]] == names[:100]
    assert ([f["name"] for f in rest["flows"]], rest["nextCursor"]) == (names[100:], None)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "query.limit"),
        ({"limit": "501"}, "query.limit"),
        ({"limit": "many"}, "query.limit"),
        ({"cursor": "x" * 2049}, "query.cursor"),
    ],
)
def test_a_limit_out_of_range_or_an_oversized_cursor_is_422_naming_it(
    owner: Caller, query: dict[str, str], field: str
) -> None:
    response = call("flows/list-flows", owner, query=query)

    assert response["statusCode"] == 422
    assert field in [problem["field"] for problem in body_of(response)["error"]["details"]["errors"]]


@pytest.mark.parametrize("cursor", ["garbage", "WyJhIl0", "eyJuYW1lIjogImEifQ"])
def test_a_cursor_the_api_did_not_give_out_is_422_naming_the_cursor(owner: Caller, cursor: str) -> None:
    response = call("flows/list-flows", owner, query={"cursor": cursor})

    assert response["statusCode"] == 422
    error = body_of(response)["error"]
    assert (error["code"], error["details"]) == ("validation_failed", {"field": "cursor"})


def test_another_projects_cursor_pages_through_the_callers_own_flows_only(owner: Caller, graph: FlowGraph) -> None:
    other = create_project("Other")
    seed(graph, owner, 4, prefix="B")
    seed(graph, other, 2, prefix="A")
    later = seed(graph, other, 2, prefix="C")
    owner_cursor = list_page(owner, limit="2")["nextCursor"]  # after the owner's "B 001"

    page = list_page(other, limit="10", cursor=owner_cursor)

    assert [f["name"] for f in page["flows"]] == later
    assert {f["projectId"] for f in page["flows"]} == {other.project_id}
