"""The real handlers behind the local API Gateway: the authorizer, key management, errors and CORS.

Keys are seeded straight into the cloud's Redis with `ApiKeyService` (the same code `POST /projects` uses), so
these tests need no flow graph.
"""

from __future__ import annotations

import secrets

import httpx
from cloud_harness import RunningCloud

from perceo.models.vocab import SCOPES


def seeded_key(cloud: RunningCloud, project_id: str | None = None, scopes: tuple[str, ...] = SCOPES) -> tuple[str, str]:
    project_id = project_id or f"proj-{secrets.token_hex(4)}"
    raw, _ = cloud.key_service().create(project_id, "admin", scopes, created_by="test")
    return project_id, raw


def test_request_without_a_key_is_401_from_the_gateway_with_the_templates_body(cloud: RunningCloud) -> None:
    with cloud.http() as client:
        response = client.get("keys")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="perceo"'
    assert response.headers["x-amzn-ErrorType"] == "UnauthorizedException"


def test_request_with_an_unknown_key_is_401_after_the_authorizer_says_no(cloud: RunningCloud) -> None:
    with cloud.http("prc_" + "Z" * 43) as client:
        response = client.get("keys")

    assert response.status_code == 401
    assert "missing or invalid API key" in response.json()["error"]["message"]


def test_unknown_route_is_403_missing_authentication_token(cloud: RunningCloud) -> None:
    _, key = seeded_key(cloud)
    with cloud.http(key) as client:
        response = client.get("no/such/route")

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Missing Authentication Token"


def test_keys_are_created_listed_and_revoked_through_the_api(cloud: RunningCloud) -> None:
    project_id, key = seeded_key(cloud)

    with cloud.http(key) as client:
        created = client.post("keys", json={"name": "ci", "scopes": ["ci:analyze", "flows:read"]})
        listed = client.get("keys")
        prefix = created.json()["apiKey"]["prefix"]
        revoked = client.delete(f"keys/{prefix}", params={"reason": "rotated"})
        after = client.get("keys", params={"includeInactive": "true"})

    assert created.status_code == 201
    assert created.json()["key"].startswith(prefix)
    assert sorted(k["name"] for k in listed.json()["keys"]) == ["admin", "ci"]
    assert all(k["projectId"] == project_id for k in listed.json()["keys"])
    assert revoked.status_code == 200 and revoked.json()["revocationReason"] == "rotated"
    assert {k["prefix"]: k["revokedAt"] is not None for k in after.json()["keys"]}[prefix] is True


def test_a_new_key_works_through_the_authorizer(cloud: RunningCloud) -> None:
    _, key = seeded_key(cloud)
    with cloud.http(key) as client:
        new_key = client.post("keys", json={"name": "second", "scopes": ["keys:manage"]}).json()["key"]
    with cloud.http(new_key) as client:
        response = client.get("keys")

    assert response.status_code == 200


def test_another_projects_key_prefix_is_not_found(cloud: RunningCloud) -> None:
    _, key_a = seeded_key(cloud)
    _, key_b = seeded_key(cloud)

    with cloud.http(key_b) as client:
        response = client.delete(f"keys/{key_a[:12]}")
    with cloud.http(key_a) as client:
        still_there = client.get("keys").json()["keys"]

    assert response.status_code == 404
    assert [k["prefix"] for k in still_there] == [key_a[:12]]


def test_a_key_without_the_scope_is_403_with_the_scope_named(cloud: RunningCloud) -> None:
    _, key = seeded_key(cloud, scopes=("flows:read",))

    with cloud.http(key) as client:
        response = client.get("keys")

    assert response.status_code == 403
    assert "keys:manage" in response.json()["error"]["message"]


def test_bad_input_is_422_naming_the_field(cloud: RunningCloud) -> None:
    _, key = seeded_key(cloud)

    with cloud.http(key) as client:
        unknown_scope = client.post("keys", json={"name": "x", "scopes": ["root"]})
        not_json = client.post("keys", content=b"{nope", headers={"Content-Type": "application/json"})
        bad_prefix = client.delete("keys/short")

    assert unknown_scope.status_code == 422
    assert "scopes" in unknown_scope.json()["error"]["message"]
    assert not_json.status_code == 422
    assert "not valid JSON" in not_json.json()["error"]["message"]
    assert bad_prefix.status_code == 422


def test_cors_preflight_is_answered_by_the_gateway_from_the_template(cloud: RunningCloud) -> None:
    response = httpx.options(
        f"{cloud.api_url}/flows",
        headers={"Origin": "https://app.perceo.dev", "Access-Control-Request-Method": "GET"},
    )

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.perceo.dev"
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Max-Age"] == "600"


def test_handler_answers_carry_cors_headers_for_the_allowed_origin(cloud: RunningCloud) -> None:
    _, key = seeded_key(cloud)
    with cloud.http(key) as client:
        allowed = client.get("keys", headers={"Origin": "https://app.perceo.dev"})
        other = client.get("keys", headers={"Origin": "https://evil.example"})

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.perceo.dev"
    assert "Access-Control-Allow-Origin" not in other.headers
