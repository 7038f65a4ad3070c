"""The local API Gateway on a small template (`fake_app/`): routing, events, the authorizer, CORS, errors.

The functions are real files loaded the way the emulator loads the real handlers; they echo what they got.
Most tests call `Gateway.handle` directly; the last ones go through the HTTP server on a free loopback port.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from perceo.errors import ConfigError
from perceo_cli.local.apigw import ApiServer, Gateway, GatewayRequest, GatewayResponse, read_rest_api
from perceo_cli.local.lambdas import LambdaInvocationError, LambdaRuntime, LambdaWorkerPool
from perceo_cli.local.template import Intrinsics, load_template, read_functions

TEMPLATE = Path(__file__).parent / "fake_app" / "template.yaml"
ORIGIN = "https://app.example"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def build(parameters: dict[str, str] | None = None, *, clock: FakeClock | None = None) -> Gateway:
    document = load_template(TEMPLATE)
    intrinsics = Intrinsics(
        template=document,
        source=TEMPLATE,
        parameters=parameters or {},
        physical_ids={"TheSecret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:fake-abc"},
    )
    functions = read_functions(intrinsics)
    runtime = LambdaRuntime(functions)
    api = read_rest_api(intrinsics, functions)
    return Gateway(api, runtime, clock=clock or FakeClock())


@pytest.fixture
def gateway() -> Gateway:
    return build()


def call(
    gateway: Gateway,
    method: str,
    target: str,
    *,
    token: str | None = "allow",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> GatewayResponse:
    all_headers = [("Host", "127.0.0.1:9999"), ("User-Agent", "pytest")]
    if token is not None:
        all_headers.append(("Authorization", f"Bearer {token}"))
    all_headers += headers or []
    return gateway.handle(GatewayRequest(method=method, target=target, headers=all_headers, body=body))


def echoed(response: GatewayResponse) -> dict:
    assert response.status == 200, response.body
    return response.json()


# ---------------------------------------------------------------------------------------------------- events


def test_proxy_event_carries_path_query_headers_and_request_context(gateway: Gateway) -> None:
    response = call(
        gateway,
        "GET",
        "/test/items/a%20b?tag=x&tag=y&empty=&q=%C3%A9",
        headers=[("X-Multi", "1"), ("X-Multi", "2")],
    )

    event = echoed(response)["event"]
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/a b"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "a b"}
    assert event["queryStringParameters"] == {"tag": "y", "empty": "", "q": "é"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["x", "y"], "empty": [""], "q": ["é"]}
    assert event["headers"]["X-Multi"] == "2"
    assert event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "test"
    assert context["resourcePath"] == "/items/{id}"
    assert context["path"] == "/test/items/a b"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "pytest"
    assert context["requestId"] == response.header("x-amzn-RequestId")


def test_authorizer_context_reaches_the_handler_as_strings(gateway: Gateway) -> None:
    authorizer = echoed(call(gateway, "GET", "/test/items"))["event"]["requestContext"]["authorizer"]

    assert authorizer["principalId"] == "user-1"
    assert (authorizer["projectId"], authorizer["count"], authorizer["admin"]) == ("p1", "3", "true")


def test_text_body_is_passed_as_text_and_binary_media_type_as_base64(gateway: Gateway) -> None:
    text = echoed(call(gateway, "POST", "/test/items", body=b'{"name": "caf\xc3\xa9"}'))["event"]
    binary = echoed(
        call(gateway, "POST", "/test/upload", headers=[("Content-Type", "application/octet-stream")], body=b"\x00\x01")
    )["event"]
    not_utf8 = echoed(call(gateway, "POST", "/test/upload", headers=[("Content-Type", "text/plain")], body=b"\xff"))[
        "event"
    ]

    assert (text["body"], text["isBase64Encoded"]) == ('{"name": "café"}', False)
    assert (base64.b64decode(binary["body"]), binary["isBase64Encoded"]) == (b"\x00\x01", True)
    assert (base64.b64decode(not_utf8["body"]), not_utf8["isBase64Encoded"]) == (b"\xff", True)


def test_base64_response_is_decoded_to_bytes(gateway: Gateway) -> None:
    response = call(gateway, "GET", "/test/files/a/b/c.bin")

    assert response.status == 200
    assert response.body == bytes(range(256))
    assert response.header("Content-Type") == "application/octet-stream"


def test_single_and_multi_value_response_headers_are_merged(gateway: Gateway) -> None:
    response = call(gateway, "GET", "/test/items")

    assert response.header("X-Single") == "one"
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["a=1", "b=2"]


def test_functions_get_the_template_environment_with_intrinsics_resolved() -> None:
    env = build({"Stage": "other"}).runtime.environment
    no_greeting = build({"UseGreeting": "false"}).runtime.environment

    assert env == {
        "FAKE_STAGE": "other",
        "FAKE_GREETING": "hello-other",
        "FAKE_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:fake-abc",
        "FAKE_JOINED": "a-other-c",
    }
    assert "FAKE_GREETING" not in no_greeting


# ---------------------------------------------------------------------------------------------------- routing


def test_literal_resource_beats_a_path_parameter(gateway: Gateway) -> None:
    special = echoed(call(gateway, "GET", "/test/items/special"))["event"]
    other = echoed(call(gateway, "GET", "/test/items/42"))["event"]

    assert (special["resource"], special["pathParameters"]) == ("/items/special", None)
    assert (other["resource"], other["pathParameters"]) == ("/items/{id}", {"id": "42"})


def test_greedy_proxy_path_takes_the_rest_of_the_path_for_any_method(gateway: Gateway) -> None:
    event = echoed(call(gateway, "DELETE", "/test/files/a/b/c.txt"))["event"]

    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert event["httpMethod"] == "DELETE"


@pytest.mark.parametrize(
    ("method", "target"),
    [("GET", "/test/nowhere"), ("DELETE", "/test/items"), ("GET", "/test/items/1/2"), ("GET", "/test")],
)
def test_unknown_resource_or_method_is_missing_authentication_token(gateway: Gateway, method: str, target: str) -> None:
    response = call(gateway, method, target)

    assert response.status == 403
    assert response.json() == {"message": "Missing Authentication Token"}
    assert response.header("Access-Control-Allow-Origin") == ORIGIN


def test_wrong_stage_is_forbidden(gateway: Gateway) -> None:
    response = call(gateway, "GET", "/prod/items")

    assert (response.status, response.json()) == (403, {"message": "Forbidden"})


def test_each_function_module_is_loaded_in_isolation(gateway: Gateway) -> None:
    echo = gateway.runtime.module("EchoFunction")
    crash = gateway.runtime.module("CrashFunction")

    assert (echo.WHO, crash.WHO) == ("echo", "crash")
    assert echo.__name__ != crash.__name__


# ---------------------------------------------------------------------------------------------------- authorizer


def test_authorizer_gets_a_request_event_with_the_method_arn(gateway: Gateway) -> None:
    calls = gateway.runtime.module("AuthFunction").CALLS
    calls.clear()

    call(gateway, "GET", "/test/items/7?x=1")

    (event,) = calls
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == gateway.method_arn("GET", "/items/7")
    assert event["methodArn"].endswith(f"{gateway.api.api_id}/test/GET/items/7")
    assert event["headers"]["Authorization"] == "Bearer allow"
    assert event["queryStringParameters"] == {"x": "1"}
    assert event["pathParameters"] == {"id": "7"}
    assert event["resource"] == "/items/{id}"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"


def test_missing_identity_source_is_401_without_calling_the_authorizer(gateway: Gateway) -> None:
    response = call(gateway, "GET", "/test/items", token=None)

    assert (response.status, response.json()) == (401, {"message": "Unauthorized"})
    assert gateway.authorizer_calls == {}


@pytest.mark.parametrize(
    ("token", "status", "body"),
    [
        ("wrong", 401, {"message": "Unauthorized"}),
        ("deny", 403, {"Message": "User is not authorized to access this resource with an explicit deny"}),
        ("nonsense", 500, {"message": None}),
        ("crash", 500, {"message": None}),
        ("nested-context", 500, {"message": None}),
    ],
)
def test_authorizer_answers_become_gateway_responses(gateway: Gateway, token: str, status: int, body: dict) -> None:
    response = call(gateway, "GET", "/test/items", token=token)

    assert (response.status, response.json()) == (status, body)


def test_allow_for_other_resources_only_is_403(gateway: Gateway) -> None:
    allowed = call(gateway, "GET", "/test/items/1", token="narrow")
    denied = call(gateway, "POST", "/test/items", token="narrow")

    assert allowed.status == 200
    assert (denied.status, denied.json()) == (403, {"Message": "User is not authorized to access this resource"})


def test_policy_is_cached_per_identity_for_reauthorize_every_seconds() -> None:
    clock = FakeClock()
    gateway = build(clock=clock)

    for _ in range(3):
        assert call(gateway, "GET", "/test/items").status == 200
    call(gateway, "GET", "/test/items", token="narrow")
    clock.now += 299
    call(gateway, "GET", "/test/items")
    calls_before_expiry = gateway.authorizer_calls["KeyAuthorizer"]
    clock.now += 2
    call(gateway, "GET", "/test/items")

    assert calls_before_expiry == 2  # one per distinct Authorization value
    assert gateway.authorizer_calls["KeyAuthorizer"] == 3


def test_cached_policy_is_evaluated_against_each_method_arn() -> None:
    gateway = build()

    first = call(gateway, "GET", "/test/items/1", token="narrow")
    second = call(gateway, "POST", "/test/items", token="narrow")

    assert (first.status, second.status) == (200, 403)
    assert gateway.authorizer_calls["KeyAuthorizer"] == 1


def test_public_route_skips_the_authorizer(gateway: Gateway) -> None:
    event = echoed(call(gateway, "GET", "/test/public", token=None))["event"]

    assert "authorizer" not in event["requestContext"]
    assert gateway.authorizer_calls == {}


# ---------------------------------------------------------------------------------------------------- CORS, errors


def test_preflight_is_answered_from_the_template_without_the_authorizer(gateway: Gateway) -> None:
    response = call(gateway, "OPTIONS", "/test/items/3", token=None, headers=[("Origin", ORIGIN)])

    assert response.status == 200
    assert response.header("Access-Control-Allow-Origin") == ORIGIN
    assert response.header("Access-Control-Allow-Methods") == "GET,POST,OPTIONS"
    assert response.header("Access-Control-Allow-Headers") == "Authorization,Content-Type"
    assert response.header("Access-Control-Max-Age") == "600"
    assert gateway.authorizer_calls == {}


def test_cors_origin_comes_from_the_template_parameter() -> None:
    response = call(build({"Origin": "http://localhost:3000"}), "OPTIONS", "/test/items", token=None)

    assert response.header("Access-Control-Allow-Origin") == "http://localhost:3000"


@pytest.mark.parametrize("target", ["/test/crash", "/test/malformed"])
def test_handler_failure_or_malformed_answer_is_502(gateway: Gateway, target: str) -> None:
    response = call(gateway, "GET", target, token=None)

    assert (response.status, response.json()) == (502, {"message": "Internal server error"})


def test_oversized_body_uses_the_templates_gateway_response(gateway: Gateway) -> None:
    response = call(gateway, "POST", "/test/upload", body=b"x" * (10 * 1024 * 1024 + 1))

    assert response.status == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    # As in API Gateway, a customised response type replaces DEFAULT_4XX, headers included.
    assert response.header("Access-Control-Allow-Origin") is None


def test_stage_throttle_answers_429_once_the_burst_is_spent() -> None:
    clock = FakeClock()
    base = build(clock=clock)
    gateway = Gateway(dataclasses.replace(base.api, throttle_rate=1.0, throttle_burst=2), base.runtime, clock=clock)

    statuses = [call(gateway, "GET", "/test/public", token=None).status for _ in range(3)]
    clock.now += 1.0
    after_refill = call(gateway, "GET", "/test/public", token=None).status

    assert statuses == [200, 200, 429]
    assert after_refill == 200


# ---------------------------------------------------------------------------------------------------- template errors


def test_template_parameter_outside_allowed_values_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"parameter Stage='prod' is not one of test, other"):
        build({"Stage": "prod"})


def test_missing_handler_file_names_the_function_and_the_file(tmp_path: Path) -> None:
    text = TEMPLATE.read_text().replace("CodeUri: fns/crash/", "CodeUri: fns/missing/")
    template = tmp_path / "template.yaml"
    template.write_text(text)
    (tmp_path / "fns").symlink_to(TEMPLATE.parent / "fns")

    with pytest.raises(ConfigError, match=r"CrashFunction needs .*fns/missing/app\.py, which does not exist"):
        read_functions(Intrinsics(template=load_template(template), source=template))


def test_handler_exception_is_reported_with_lambdas_error_contract(gateway: Gateway) -> None:
    with pytest.raises(LambdaInvocationError) as raised:
        gateway.runtime.invoke("CrashFunction", {"path": "/crash"})

    assert raised.value.payload() == {"errorType": "ValueError", "errorMessage": "handler bug"}


def test_a_handler_that_exits_is_a_runtime_exit_error_as_lambda_reports_it(gateway: Gateway) -> None:
    with pytest.raises(LambdaInvocationError) as raised:
        gateway.runtime.invoke("CrashFunction", {"path": "/exit"}, request_id="req-1")

    assert raised.value.payload() == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: req-1 Error: Runtime exited with error: exit status 7",
    }
    with pytest.raises(LambdaInvocationError, match="handler bug"):  # the runtime still serves the next call
        gateway.runtime.invoke("CrashFunction", {"path": "/crash"})


# ---------------------------------------------------------------------------------------------------- over HTTP


@pytest.fixture
def server(gateway: Gateway) -> Iterator[ApiServer]:
    running = ApiServer(gateway).start()
    try:
        yield running
    finally:
        running.stop()


def test_http_server_serves_the_stage_url_with_keep_alive(server: ApiServer) -> None:
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer allow"}) as client:
        first = client.get("/items", params={"a": "1"})
        second = client.post("/items", json={"n": 1})
        head = client.head("/items")

    assert server.url == f"http://127.0.0.1:{server.port}/test"
    assert first.status_code == second.status_code == 200
    assert first.json()["event"]["queryStringParameters"] == {"a": "1"}
    assert json.loads(second.json()["event"]["body"]) == {"n": 1}
    assert first.headers["x-amzn-requestid"] != second.headers["x-amzn-requestid"]
    assert head.status_code == 403  # no HEAD method on /items: API Gateway answers as for any unknown method
    assert head.content == b""


def test_http_server_reads_chunked_request_bodies(server: ApiServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"part": '
        yield b"1}"

    with httpx.Client(base_url=server.url) as client:
        response = client.post("/upload", content=chunks(), headers={"Content-Type": "application/json"})

    assert json.loads(response.json()["event"]["body"]) == {"part": 1}


def test_runtime_writes_the_function_environment_into_the_given_mapping() -> None:
    environ: dict[str, str] = {"KEEP": "1"}
    document = load_template(TEMPLATE)
    functions = read_functions(Intrinsics(template=document, source=TEMPLATE))

    LambdaRuntime(functions, environ=environ, extra_environment={"FAKE_STAGE": "overridden"})

    assert environ["FAKE_STAGE"] == "overridden"
    assert environ["FAKE_SECRET_ARN"] == "TheSecret"  # a resource nobody provided: its logical id
    assert environ["KEEP"] == "1"
    assert "FAKE_STAGE" not in os.environ or os.environ["FAKE_STAGE"] != "overridden"


# ---------------------------------------------------------------------------------------------------- worker pool


def test_worker_pool_runs_invocations_in_parallel_processes_with_the_function_environment(tmp_path: Path) -> None:
    document = load_template(TEMPLATE)
    intrinsics = Intrinsics(template=document, source=TEMPLATE)
    functions = read_functions(intrinsics)
    runtime = LambdaRuntime(functions)
    pool = LambdaWorkerPool(functions, environment=runtime.environment, workers=2)
    try:
        pool.wait_ready()
        gateway = Gateway(read_rest_api(intrinsics, functions), pool, clock=FakeClock())
        target = f"/test/files/rendezvous/x?dir={tmp_path}&n=2"
        with ThreadPoolExecutor(max_workers=2) as threads:
            answers = list(threads.map(lambda _: call(gateway, "GET", target).json(), range(2)))
        failed = call(gateway, "GET", "/test/crash", token=None)
    finally:
        pool.close()

    pids = sorted(answer["pid"] for answer in answers)
    assert len(set(pids)) == 2 and os.getpid() not in pids  # two workers, neither of them this process
    assert all(answer["seen"] == pids for answer in answers)  # each saw the other inside the handler
    assert {answer["stage"] for answer in answers} == {"test"}
    assert all(answer["frozen"] > 1_000 for answer in answers)  # start-up heap frozen (perceo.heap)
    assert failed.status == 502
