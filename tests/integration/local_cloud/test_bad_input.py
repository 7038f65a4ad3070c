"""Bad input through the local API Gateway and the real handlers: a 4xx whose message says what is wrong."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest
from cloud_harness import RunningCloud


@pytest.fixture(scope="module")
def key(cloud: RunningCloud) -> str:
    _, raw = cloud.create_project("bad-input")
    return raw


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        ("POST", "flows", {"name": "x", "priorty": "high"}, 422, "body.priorty: unknown field"),
        ("POST", "flows", {"name": "x", "priority": "urgent"}, 422, "body.priority"),
        ("POST", "flows", {}, 422, "body.name"),
        ("PATCH", "flows/Checkout", {"isActive": "perhaps"}, 422, "body.isActive"),
        ("GET", "flows/has%20space", None, 422, "id"),
        ("POST", "observer/analyze", {"changeSet": {"baseSha": "main", "headSha": "b" * 40}}, 422, "baseSha"),
        (
            "POST",
            "observer/analyze",
            {
                "changeSet": {"baseSha": "a" * 40, "headSha": "b" * 40},
                "affectedRoutes": [{"route": "/a"}, {"route": "/a"}],
            },
            422,
            "listed twice",
        ),
        ("GET", "analyses?limit=0", None, 422, "limit"),
        ("GET", "flows/nope", None, 404, "no flow 'nope' in this project"),
        ("DELETE", "personas/nope", None, 404, "nope"),
    ],
)
def test_bad_request_is_a_4xx_naming_the_problem(
    cloud: RunningCloud, key: str, method: str, path: str, body: dict | None, status: int, says: str
) -> None:
    with cloud.http(key) as client:
        response = client.request(method, path, json=body)

    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert says in error["message"], error
    assert "Traceback" not in response.text


def test_body_over_the_limit_is_413_with_the_limit_named(cloud: RunningCloud, key: str) -> None:
    with cloud.http(key) as client:
        response = client.post("flows", content=b"x" * (5 * 1024 * 1024 + 10), headers={"Content-Type": "text/plain"})

    assert response.status_code == 413
    assert "5 MB" in response.json()["error"]["message"]


def test_create_project_without_the_admin_key_is_401(cloud: RunningCloud, key: str) -> None:
    with cloud.http(key) as client:
        response = client.post("projects", json={"name": "sneaky"})

    assert response.status_code == 401
    assert "admin key" in response.json()["error"]["message"]


def _documented_error(response: httpx.Response) -> dict:
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    return error


@pytest.mark.parametrize(
    ("content", "content_type", "status", "says"),
    [
        (b'{"name": "\xff\xfe"}', "application/json", 400, "not UTF-8"),
        (b'{"name": "plain"}', "text/plain", 415, "application/json"),
        (b'{"name": "a\\u0000b"}', "application/json", 400, "NUL"),
        (b'{"name": "d", "description": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json", 400, "nested"),
        (b'{"name": "h", "priority": ' + b"9" * 5001 + b"}", "application/json", 400, "digits"),
    ],
    ids=["not-utf8", "text-plain", "nul", "deep", "5001-digits"],
)
def test_an_unreadable_body_is_a_4xx_of_the_documented_shape_and_stores_nothing(
    cloud: RunningCloud, key: str, content: bytes, content_type: str, status: int, says: str
) -> None:
    with cloud.http(key) as client:
        response = client.post("flows", content=content, headers={"Content-Type": content_type})
        flows = client.get("flows").json()["flows"]

    assert response.status_code == status, response.text
    assert says in _documented_error(response)["message"]
    assert flows == []


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "BREW"])
def test_an_unknown_method_is_405_with_allow_and_a_json_body(cloud: RunningCloud, key: str, method: str) -> None:
    with cloud.http(key) as client:
        response = client.request(method, "flows")

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST, OPTIONS"
    assert _documented_error(response)["message"] == "Method Not Allowed"


@pytest.mark.parametrize(
    "headers",
    [{"X-Big": "a" * 100_000}, {f"X-Part-{i}": "b" * 1000 for i in range(11)}, {f"X-{i}": "c" for i in range(120)}],
    ids=["one-100kB-header", "11kB-over-11-headers", "120-headers"],
)
def test_oversized_headers_are_431_with_a_json_body(cloud: RunningCloud, key: str, headers: dict[str, str]) -> None:
    with cloud.http(key) as client:
        response = client.get("flows", headers=headers)

    assert response.status_code == 431
    assert _documented_error(response)["message"].startswith("Request Header Fields Too Large")


def test_a_request_line_over_the_gateway_quota_is_a_documented_414(cloud: RunningCloud, key: str) -> None:
    """Found by the nightly fuzzing: a cursor of 2,048 emoji is 24 kB once percent-encoded."""
    with cloud.http(key) as client:
        response = client.get("flows", params={"cursor": "\U0001f60d" * 2048})

    assert response.status_code == 414
    assert _documented_error(response)["message"].startswith("URI Too Long")
    documented = json.loads((Path(__file__).parents[3] / "openapi.json").read_text())
    assert "414" in documented["paths"]["/flows"]["get"]["responses"]


def test_a_request_the_http_server_cannot_parse_is_a_json_400(cloud: RunningCloud) -> None:
    host, port = httpx.URL(cloud.api_url).host, httpx.URL(cloud.api_url).port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"GET /dev/flows HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")

    assert head.startswith(b"HTTP/1.1 400")
    assert b"Content-Type: application/json" in head
    assert json.loads(body)["error"]["code"] == "bad_request"


@pytest.mark.parametrize(
    "url", ["ext::sh -c touch% /tmp/pwned", "file:///etc", "/srv/repo", "http://127.0.0.1/a/b", "--upload-pack=x"]
)
def test_a_projects_git_remote_url_gets_the_bootstrap_repo_url_policy(cloud: RunningCloud, url: str) -> None:
    with cloud.http(cloud.admin_key) as client:
        response = client.post("projects", json={"name": f"git-{abs(hash(url))}", "gitRemoteUrl": url})

    assert response.status_code == 422
    error = _documented_error(response)
    assert (error["code"], error["details"]["field"]) == ("git_url_rejected", "gitRemoteUrl")
    assert url not in response.text


def test_a_projects_allowed_git_remote_url_is_stored(cloud: RunningCloud) -> None:
    with cloud.http(cloud.admin_key) as client:
        response = client.post("projects", json={"name": "git-ok", "gitRemoteUrl": "https://127.0.0.1/acme/shop.git"})

    assert response.status_code == 201
    assert response.json()["project"]["gitRemoteUrl"] == "https://127.0.0.1/acme/shop.git"
