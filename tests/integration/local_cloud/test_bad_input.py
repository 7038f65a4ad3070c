"""Bad input through the local API Gateway and the real handlers: a 4xx whose message says what is wrong."""

from __future__ import annotations

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
