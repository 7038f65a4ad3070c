"""The API backend's analyzer methods: the requests they send and the models they read back (httpx.MockTransport
answers as the API would)."""

from __future__ import annotations

import json

import httpx
import pytest

from perceo.errors import InsightNotFoundError, ValidationFailed
from perceo_cli.backend.http import ApiClient, HttpBackend

BASE = "https://api.example.test/dev"
INSIGHT = {
    "id": "5d41402abc4b2a76b9719d911017c592", "projectId": "p1", "flowId": "f1", "type": "coverage-gap",
    "severity": "high", "title": "t", "message": "m", "status": "acknowledged", "subject": "coverage-gap:f1",
    "day": "2026-04-09", "someFieldOfANewerApi": 1,
}  # fmt: skip


def _backend(seen: list[httpx.Request]) -> HttpBackend:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/insights"):
            return httpx.Response(200, json={"insights": [INSIGHT]})
        if request.url.path.endswith("/ack"):
            if "ffffff" in request.url.path:
                body = {"error": {"code": "insight_not_found", "message": "no insight ffffff", "details": {}}}
                return httpx.Response(404, json=body)
            return httpx.Response(200, json=INSIGHT)
        return httpx.Response(500)

    return HttpBackend(ApiClient(BASE, "prc_test", transport=httpx.MockTransport(answer), sleep=lambda _: None))


def test_list_sends_the_filters_as_comma_separated_query_values() -> None:
    seen: list[httpx.Request] = []

    [insight] = _backend(seen).list_insights(
        types=["coverage-gap", "ux-issue"], statuses=["open"], min_severity="high", since_day="2026-04-01"
    )

    assert insight.id == INSIGHT["id"]
    assert seen[0].method == "GET" and seen[0].url.path == "/dev/analyzer/insights"
    assert dict(seen[0].url.params) == {
        "limit": "200", "type": "coverage-gap,ux-issue", "status": "open", "severity": "high", "since": "2026-04-01",
    }  # fmt: skip


def test_ack_posts_to_the_insight_and_maps_not_found() -> None:
    seen: list[httpx.Request] = []
    backend = _backend(seen)

    assert backend.set_insight_status("5d41402a", "acknowledged").status == "acknowledged"
    assert (seen[0].method, seen[0].url.path) == ("POST", "/dev/analyzer/insights/5d41402a/ack")
    with pytest.raises(InsightNotFoundError):
        backend.set_insight_status("ffffff", "acknowledged")
    with pytest.raises(ValidationFailed):
        backend.set_insight_status("5d41402a", "open")
    assert json.loads(seen[0].content or b"null") is None
