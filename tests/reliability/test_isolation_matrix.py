"""Tenant isolation and scopes, for every operation of `openapi.json`, through the local cloud's gateway.

1. Another project's key (every scope) on every route, aimed at project A's ids and at A's names: 403 or 404 on every
   route that names a resource, and on the others an answer that carries nothing of A; A's data is unchanged after.
2. A key with exactly one scope on every route: 403 naming the scope when the route's documented `security` does not
   list it (nor is it `project:admin`), never a 401/403 when it does. The document and the handlers' `authorize()`
   calls are held equal this way.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from cloud_harness import RunningCloud
from openapi_routes import Operation, operations, valid_body, valid_query

from perceo.models.vocab import SCOPES

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("reliability-cloud")]  # one worker, one cloud

OPERATIONS = operations()
KEYED = [op for op in OPERATIONS if op.scheme == "apiKey"]


def _send(client: httpx.Client, operation: Operation, values: dict[str, str], body: Any) -> httpx.Response:
    return client.request(operation.method, operation.url(values), json=body, params=valid_query(operation))


def _seed(cloud: RunningCloud) -> dict[str, Any]:
    """Project A with one of everything a route can name; its ids, names and key."""
    project, key = cloud.create_project(f"tenant-a-{secrets.token_hex(3)}")
    with cloud.http(key) as client:
        persona = client.post("personas", json={"name": "SecretShopper"}).json()
        flow = client.post(
            "flows", json={"name": "SecretCheckout", "personas": ["SecretShopper"], "pages": ["/secret"]}
        ).json()
        change = {"changeSet": {"baseSha": "a" * 40, "headSha": "b" * 40}, "affectedRoutes": [{"route": "/secret"}]}
        analysis = client.post("observer/analyze", json=change).json()
        review = client.post(f"analyses/{analysis['id']}/review", json={})
        assert review.status_code == 202, review.text
        # A RunTests of a flow A does not have: it fails at once in the background, but the run is A's.
        run = client.post("coordinator/runs", json={"baseUrl": "http://93.184.216.34", "flowIds": ["nope"]})
        assert run.status_code == 202, run.text
        alert = client.post("analyzer/alerts", json={"name": "secret-pager", "channel": {
            "kind": "webhook", "url": "https://hooks.tenant-a.example/x", "secret": "whsec-tenant-a"}})  # fmt: skip
        assert alert.status_code == 201, alert.text
    return {
        "project": project,
        "key": key,
        "ids": {
            "/flows": flow["id"],
            "/personas": persona["id"],
            "/analyses": analysis["id"],
            "/workflows": review.json()["workflowId"],
            "/projects": project["id"],
            "/keys": key[:12],
            "/coordinator": run.json()["workflowId"],
            "/analyzer": cloud.seed_insight(project["id"], flow["id"]),
            "/analyzer/alerts": "secret-pager",
        },
        "names": {"/flows": flow["name"], "/personas": persona["name"]},
    }


def _snapshot(cloud: RunningCloud, key: str) -> dict[str, Any]:
    with cloud.http(key) as client:
        return {
            "flows": client.get("flows", params={"includeSteps": "true"}).json(),
            "personas": client.get("personas").json(),
            "analyses": client.get("analyses").json(),
            "keys": [
                {k: v for k, v in key_record.items() if k not in ("lastUsedAt", "lastUsedIp")}
                for key_record in client.get("keys", params={"includeInactive": "true"}).json()["keys"]
            ],
            "project": client.get("projects/me").json(),
            "insights": client.get("analyzer/insights").json(),
            "alerts": client.get("analyzer/alerts").json(),
        }


def _target(operation: Operation, refs: dict[str, str], *, every: bool = True) -> dict[str, str] | None:
    """The path parameter aimed at `refs`' resource of the route's area; `every`: each area must have one."""
    if not operation.params:
        return None
    area = "/" + operation.path.strip("/").split("/")[0]
    deeper = "/".join(operation.path.split("/")[:3])  # `/analyzer/alerts/{name}` names an alert, not an insight
    area = deeper if deeper in refs else area
    assert area in refs or not every, f"no target for {operation.name}: add one here"
    return {operation.params[0]: refs[area]} if area in refs else None


def test_another_projects_key_cannot_see_or_change_anything_on_any_route(cloud: RunningCloud) -> None:
    a = _seed(cloud)
    _, b_key = cloud.create_project(f"tenant-b-{secrets.token_hex(3)}")
    before = _snapshot(cloud, a["key"])
    secrets_of_a = [a["project"]["id"], a["key"][:12], *a["ids"].values(), *a["names"].values(), "/secret",
                    "hooks.tenant-a.example", "whsec-tenant-a"]  # fmt: skip
    tried: list[tuple[str, str, int]] = []

    with cloud.http(b_key) as client:
        for operation in OPERATIONS:
            for attack, refs in (("ids", a["ids"]), ("names", a["names"])):
                target = _target(operation, refs, every=attack == "ids")
                if attack == "names" and target is None:
                    continue  # no route names this resource by name
                response = _send(client, operation, target or {}, valid_body(operation, unique=attack))
                tried.append((operation.name, attack, response.status_code))
                assert response.status_code < 500, (operation.name, attack, response.text)
                if target is not None and operation.scheme == "apiKey":
                    assert response.status_code in (403, 404), (operation.name, attack, response.text)
                aimed = set(target.values()) if target else set()
                leaked = [s for s in secrets_of_a if s not in aimed and s in response.text]
                assert not leaked, (operation.name, attack, leaked)

    assert _snapshot(cloud, a["key"]) == before
    routes = {name for name, _, _ in tried}
    assert routes == {op.name for op in OPERATIONS} and len(routes) >= 26
    print(f"isolation matrix: {len(routes)} routes x (ids, names) = {len(tried)} attacks, 0 leaks")


def test_a_single_scope_key_gets_exactly_the_routes_its_scope_opens(cloud: RunningCloud) -> None:
    project, admin = cloud.create_project(f"scopes-{secrets.token_hex(3)}")
    with cloud.http(admin) as client:
        flow = client.post("flows", json={"name": "Scoped"}).json()
        persona = client.post("personas", json={"name": "Scoped"}).json()
        analysis = client.post("observer/analyze", json=valid_body(KEYED_BY_NAME["POST /observer/analyze"])).json()
        keys = {
            scope: client.post("keys", json={"name": f"only-{scope}", "scopes": [scope]}).json()["key"]
            for scope in SCOPES
        }
    refs = {
        "/flows": flow["id"],
        "/personas": persona["id"],
        "/analyses": analysis["id"],
        "/workflows": "wf-" + "0" * 32,
        "/projects": project["id"],
        "/keys": admin[:12],
        "/coordinator": "wf-" + "0" * 32,
        "/analyzer": cloud.seed_insight(project["id"], flow["id"]),
        "/analyzer/alerts": "matrix-none",  # no such rule: `test` must not send anywhere
    }
    # The project's deletion last, by the last scope that may: nothing after it needs the project.
    ordered = sorted(KEYED, key=lambda op: op.name == "DELETE /projects/{id}")
    cells = 0
    for operation in ordered:
        for scope in sorted(SCOPES, key=lambda s: s == "project:admin"):
            allowed = not operation.scopes or scope in operation.scopes or scope == "project:admin"
            with cloud.http(keys[scope]) as client:
                response = _send(
                    client, operation, _target(operation, refs) or {}, valid_body(operation, scope=scope, unique=scope)
                )
            cells += 1
            assert response.status_code < 500, (operation.name, scope, response.text)
            refused = response.status_code == 403 and "requiredScopes" in response.json()["error"]["details"]
            if allowed:
                assert response.status_code != 401 and not refused, (operation.name, scope, response.text)
            else:
                assert refused, (operation.name, scope, response.status_code, response.text)
                assert set(response.json()["error"]["details"]["requiredScopes"]) == set(operation.scopes)
    assert cells == len(KEYED) * len(SCOPES)
    print(f"scope matrix: {len(SCOPES)} scopes x {len(KEYED)} routes = {cells} cells")


KEYED_BY_NAME = {op.name: op for op in KEYED}
