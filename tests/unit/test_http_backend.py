"""The API client of the CLI: error mapping, retries and Retry-After, on httpx's in-memory transport (no sockets).

`httpx.MockTransport` is httpx's own transport for answering requests with a function; the handler here
plays the API and records what it got.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from perceo.errors import (
    AnalysisNotFoundError,
    AuthenticationError,
    BackendUnavailableError,
    ConfigError,
    FlowNotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ValidationFailed,
)
from perceo.models import ChangeSet, FlowUpdate
from perceo_cli.backend.http import ApiClient, HttpBackend
from perceo_cli.runner import exit_status_for

BASE = "https://api.example.test/dev"
KEY = "prc_" + "A" * 43


class Api:
    """Answers requests from a list of responses (the last one repeats) and records the requests."""

    def __init__(self, *responses: httpx.Response | Callable[[httpx.Request], httpx.Response]) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        return answer(request) if callable(answer) else answer


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"error": {"code": code, "message": message, "details": {"x": 1}}}
    return httpx.Response(status, json=body, headers=headers)


def client(api: Api, sleeps: list[float] | None = None, **kwargs: object) -> ApiClient:
    recorded = sleeps if sleeps is not None else []
    return ApiClient(BASE, KEY, transport=httpx.MockTransport(api), sleep=recorded.append, jitter=lambda: 1.0, **kwargs)


def test_requests_carry_the_key_as_bearer_and_go_under_the_stage_path() -> None:
    api = Api(httpx.Response(200, json={"id": "p1", "name": "demo", "createdAt": 1, "updatedAt": 1}))

    project = HttpBackend(client(api)).project()

    (request,) = api.requests
    assert project.name == "demo"
    assert str(request.url) == f"{BASE}/projects/me"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["User-Agent"].startswith("perceo-cli/")


@pytest.mark.parametrize(
    ("response", "error_type", "message"),
    [
        (error(404, "flow_not_found", "no flow 'x' in this project"), FlowNotFoundError, "no flow 'x' in this project"),
        (error(422, "validation_failed", "invalid request: body.name: required"), ValidationFailed, "body.name"),
        (error(403, "forbidden", "this API key lacks scope flows:write"), PermissionDeniedError, "flows:write"),
        (error(401, "unauthenticated", "missing or invalid API key"), AuthenticationError, "perceo login"),
        (error(409, "some_future_code", "already exists"), Exception, "already exists"),
        (httpx.Response(403, json={"message": "Missing Authentication Token"}), ConfigError, "has no route GET"),
        (httpx.Response(403, json={"Message": "User is not authorized"}), PermissionDeniedError, "not authorized"),
        (httpx.Response(400, text="bad"), ValidationFailed, "bad"),
    ],
)
def test_api_errors_become_perceo_errors_with_the_servers_message(
    response: httpx.Response, error_type: type[Exception], message: str
) -> None:
    with pytest.raises(error_type, match=message) as raised:
        client(Api(response)).request("GET", "/flows/x")

    assert "Traceback" not in str(raised.value)


def test_same_error_type_gives_the_same_exit_code_as_the_local_backend() -> None:
    with pytest.raises(FlowNotFoundError) as not_found:
        client(Api(error(404, "flow_not_found", "no flow"))).request("GET", "/flows/x")
    with pytest.raises(ValidationFailed) as invalid:
        client(Api(error(422, "validation_failed", "bad"))).request("POST", "/flows")

    assert exit_status_for(not_found.value) == exit_status_for(FlowNotFoundError("x")) == 2  # a name that is not there
    assert exit_status_for(invalid.value) == exit_status_for(ValidationFailed("x")) == 2


def test_429_is_retried_after_the_servers_retry_after() -> None:
    api = Api(error(429, "rate_limited", "slow down", {"Retry-After": "3"}), httpx.Response(200, json={"ok": True}))
    sleeps: list[float] = []

    answer = client(api, sleeps).request("POST", "/observer/analyze", json={})

    assert answer == {"ok": True}
    assert sleeps == [3.0]
    assert len(api.requests) == 2


def test_retry_after_as_an_http_date_is_understood() -> None:
    api = Api(httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), httpx.Response(204))
    sleeps: list[float] = []

    client(api, sleeps).request("GET", "/health")

    assert sleeps == [0.0]  # a date in the past: retry at once


def test_5xx_on_a_get_is_retried_with_exponential_backoff_then_reported() -> None:
    api = Api(error(502, "llm_error", "upstream"))
    sleeps: list[float] = []

    with pytest.raises(Exception, match="upstream"):
        client(api, sleeps, max_attempts=4, backoff_base_s=0.5).request("GET", "/flows")

    assert sleeps == [0.5, 1.0, 2.0]
    assert len(api.requests) == 4


def test_500_on_a_post_is_not_retried_since_the_server_may_have_acted() -> None:
    api = Api(error(500, "internal_error", "internal error; quote request id r1"))

    with pytest.raises(BackendUnavailableError, match="failed \\(500\\): internal error; quote request id r1"):
        client(api).request("POST", "/keys", json={})

    assert len(api.requests) == 1


def test_503_on_a_post_is_retried_since_the_server_did_not_act_but_502_is_not() -> None:
    unavailable = Api(httpx.Response(503), httpx.Response(200, json={"ok": True}))
    bad_gateway = Api(httpx.Response(502), httpx.Response(200, json={"ok": True}))

    assert client(unavailable).request("POST", "/observer/analyze", json={}) == {"ok": True}
    with pytest.raises(BackendUnavailableError, match="failed \\(502\\)"):
        client(bad_gateway).request("PATCH", "/flows/f1", json={})

    assert (len(unavailable.requests), len(bad_gateway.requests)) == (2, 1)


def test_a_retry_after_longer_than_a_minute_is_reported_not_waited() -> None:
    api = Api(error(429, "rate_limited", "over quota", {"Retry-After": "3600"}))
    sleeps: list[float] = []

    with pytest.raises(RateLimitedError) as raised:
        client(api, sleeps).request("GET", "/flows")

    assert raised.value.retry_after_s == 3600
    assert sleeps == []


def test_connection_failures_are_retried_and_then_named() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    api = Api(refuse)

    with pytest.raises(BackendUnavailableError, match=f"cannot reach the Perceo API at {BASE}"):
        client(api, max_attempts=3).request("POST", "/observer/analyze", json={})

    assert len(api.requests) == 3


def test_read_timeout_on_a_post_is_not_retried() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    api = Api(slow)

    with pytest.raises(BackendUnavailableError, match="did not answer in time"):
        client(api).request("POST", "/observer/analyze", json={})

    assert len(api.requests) == 1


def test_an_answer_that_is_not_json_points_at_the_url() -> None:
    api = Api(httpx.Response(200, text="<html>hello</html>"))

    with pytest.raises(BackendUnavailableError, match="not JSON; is the API URL right"):
        client(api).request("GET", "/flows")


def flow_json(flow_id: str, name: str) -> dict:
    return {"id": flow_id, "projectId": "p1", "name": name, "createdAt": 1, "updatedAt": 1}


def test_flow_names_with_spaces_are_resolved_from_the_list() -> None:
    api = Api(httpx.Response(200, json={"flows": [flow_json("f1", "Sign up"), flow_json("f2", "Checkout")]}))

    flow = HttpBackend(client(api)).get_flow("sign up")

    assert flow.id == "f1"
    assert api.requests[0].url.params["includeSteps"] == "true"


def test_unknown_flow_name_is_the_same_error_as_the_local_backend() -> None:
    api = Api(httpx.Response(200, json={"flows": []}))

    with pytest.raises(FlowNotFoundError, match="no flow 'Nope at all' in this project"):
        HttpBackend(client(api)).get_flow("Nope at all")


def test_update_flow_sends_only_the_changed_fields_and_returns_the_flow() -> None:
    view = {**flow_json("f1", "Checkout"), "priority": "high", "pages": ["/cart"], "personas": [], "steps": []}
    api = Api(httpx.Response(200, json=view))

    flow = HttpBackend(client(api)).update_flow("f1", FlowUpdate(priority="high"))

    (request,) = api.requests
    assert (request.method, request.url.path) == ("PATCH", "/dev/flows/f1")
    assert json.loads(request.content) == {"priority": "high"}
    assert flow.priority == "high"
    assert not hasattr(flow, "pages")


def test_fields_a_newer_api_added_are_ignored_at_every_level_of_the_answer() -> None:
    step = {"id": "s1", "flowId": "f1", "order": 1, "name": "Open the cart", "addedLater": {"x": 1}}
    view = {**flow_json("f1", "Checkout"), "pages": ["/cart"], "personas": [], "steps": [step], "shinyNewField": True}
    api = Api(httpx.Response(200, json={"flows": [view], "nextCursor": None, "pageInfo": {"total": 1}}))

    (flow,) = HttpBackend(client(api)).list_flows()

    assert (flow.id, flow.name, [step.name for step in flow.steps]) == ("f1", "Checkout", ["Open the cart"])


def test_an_answer_missing_a_required_field_is_still_an_unexpected_shape() -> None:
    api = Api(httpx.Response(200, json={"id": "p1", "createdAt": 1, "updatedAt": 1}))

    with pytest.raises(BackendUnavailableError, match="unexpected shape .* reading Project"):
        HttpBackend(client(api)).project()


def test_update_flow_refuses_fields_the_api_computes() -> None:
    with pytest.raises(ValidationFailed, match="riskScore"):
        HttpBackend(client(Api(httpx.Response(500)))).update_flow("f1", FlowUpdate(risk_score=0.5))


def test_analyze_posts_the_change_set_and_routes() -> None:
    analysis = {
        "id": "a1",
        "projectId": "p1",
        "baseSha": "a" * 40,
        "headSha": "b" * 40,
        "riskLevel": "low",
        "riskScore": 0.0,
        "createdAt": 1,
    }
    api = Api(httpx.Response(200, json=analysis))

    result = HttpBackend(client(api)).analyze(ChangeSet(base_sha="a" * 40, head_sha="b" * 40), [])

    body = json.loads(api.requests[0].content)
    assert body["changeSet"]["baseSha"] == "a" * 40
    assert body["affectedRoutes"] == []
    assert result.id == "a1"


def test_analysis_id_that_cannot_exist_is_not_found_without_a_request() -> None:
    api = Api(httpx.Response(500))

    with pytest.raises(AnalysisNotFoundError, match="analysis a b not found"):
        HttpBackend(client(api)).get_analysis("a b")

    assert api.requests == []
