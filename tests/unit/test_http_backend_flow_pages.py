"""The HTTP backend lists every flow by following GET /flows' nextCursor (httpx's in-memory transport plays the
API and records the requests; no sockets)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from perceo.errors import BackendUnavailableError
from perceo_cli.backend.http import FLOW_PAGE_SIZE, ApiClient, HttpBackend

BASE = "https://api.example.test/dev"
KEY = "prc_" + "A" * 43


def flow_json(n: int) -> dict[str, Any]:
    return {"id": f"f{n}", "projectId": "p1", "name": f"Flow {n}", "createdAt": 1, "updatedAt": 1}


class PagedApi:
    """GET /flows over `flows` in pages of `page_size`; the cursor is the next index (opaque to the client)."""

    def __init__(self, flows: list[dict[str, Any]], page_size: int, *, stuck: bool = False) -> None:
        self.flows, self.page_size, self.stuck = flows, page_size, stuck
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        start = 0 if self.stuck else int(request.url.params.get("cursor", "0"))
        end = start + self.page_size
        more = end < len(self.flows)
        return httpx.Response(
            200, json={"flows": self.flows[start:end], "nextCursor": str(end) if more or self.stuck else None}
        )


def backend(api: PagedApi) -> HttpBackend:
    return HttpBackend(ApiClient(BASE, KEY, transport=httpx.MockTransport(api), sleep=lambda _: None))


def test_every_page_is_read_and_the_flows_come_back_in_order() -> None:
    flows = [flow_json(n) for n in range(7)]
    api = PagedApi(flows, page_size=3)

    listed = backend(api).list_flows()

    assert [f.id for f in listed] == [f["id"] for f in flows]
    assert [r.url.params.get("cursor") for r in api.requests] == [None, "3", "6"]
    assert {(r.url.params["limit"], r.url.params["includeSteps"]) for r in api.requests} == {
        (str(FLOW_PAGE_SIZE), "true")
    }


def test_an_api_without_pages_is_read_in_one_request() -> None:
    api = PagedApi([flow_json(1)], page_size=100)

    assert [f.id for f in backend(api).list_flows()] == ["f1"]
    assert len(api.requests) == 1


def test_a_cursor_that_does_not_move_is_an_error_not_an_endless_loop() -> None:
    api = PagedApi([flow_json(1), flow_json(2)], page_size=1, stuck=True)

    with pytest.raises(BackendUnavailableError, match="same page of flows twice"):
        backend(api).list_flows()
    assert len(api.requests) == 2
