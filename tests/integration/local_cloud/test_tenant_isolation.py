"""Tenant isolation through HTTP: project B's key against project A's ids is 403 or 404 on every route.

The routes come from `template.yaml` itself (as the local API Gateway reads them), so a route added later
with a path parameter fails here until the test knows which of A's ids to try on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from cloud_harness import RunningCloud

from perceo_cli.local.apigw import read_rest_api
from perceo_cli.local.cloud import default_template
from perceo_cli.local.template import Intrinsics, load_template, read_functions

#: A valid body for the routes that need one, so that validation (422) cannot mask a missing tenant check.
BODIES = {
    ("PATCH", "/flows/{id}"): {"priority": "low", "description": "changed by B"},
    ("PUT", "/flows/{id}/steps"): {"steps": [{"name": "B was here"}]},
    ("PATCH", "/personas/{id}"): {"description": "changed by B"},
    ("POST", "/analyses/{id}/review"): {"llmThreshold": 0.9},
    # an export of B's own would be refused only by the path's project: a shape-valid body, whatever it holds
    ("POST", "/projects/{id}/import"): {"export": '{"format":"perceo-export","version":1}\n', "replace": True},
    ("POST", "/analyzer/alerts/{name}/test"): {},
}
ALERT = "a-pager"


@dataclass
class ProjectA:
    project_id: str
    key: str
    flow_id: str
    persona_id: str
    analysis_id: str
    workflow_id: str
    run_id: str
    insight_id: str

    def ids(self) -> dict[str, str]:
        """A's id for each resource that takes one, by the resource's path prefix."""
        return {
            "/projects/{id}": self.project_id,
            "/flows/{id}": self.flow_id,
            "/flows/{id}/steps": self.flow_id,
            "/personas/{id}": self.persona_id,
            "/analyses/{id}": self.analysis_id,
            "/analyses/{id}/review": self.analysis_id,
            "/keys/{prefix}": self.key[:12],
            "/workflows/{id}": self.workflow_id,
            "/coordinator/runs/{id}": self.run_id,
            "/analyzer/insights/{id}/ack": self.insight_id,
            "/analyzer/insights/{id}/resolve": self.insight_id,
            "/projects/{id}/export": self.project_id,
            "/projects/{id}/import": self.project_id,
            "/analyzer/alerts/{name}": ALERT,
            "/analyzer/alerts/{name}/test": ALERT,
        }


def template_routes() -> list[tuple[str, str]]:
    template = default_template()
    assert template is not None
    intrinsics = Intrinsics(
        template=load_template(template),
        source=template,
        parameters={"Neo4jUri": "bolt://127.0.0.1:1", "Neo4jSecretArn": "arn:aws:secretsmanager:x"},
    )
    api = read_rest_api(intrinsics, read_functions(intrinsics))
    return sorted((route.method, route.resource) for route in api.routes)


@pytest.fixture(scope="module")
def project_a(cloud: RunningCloud) -> Iterator[ProjectA]:
    project, key = cloud.create_project("tenant-a")
    with cloud.http(key) as client:
        persona = client.post("personas", json={"name": "Shopper", "behaviors": ["buys"]}).json()
        flow = client.post(
            "flows",
            json={
                "name": "Checkout",
                "priority": "critical",
                "personas": ["Shopper"],
                "pages": ["/cart", "/pay"],
                "steps": [{"name": "open the cart"}],
            },
        ).json()
        analysis = client.post(
            "observer/analyze",
            json={
                "changeSet": {"baseSha": "a" * 40, "headSha": "b" * 40},
                "affectedRoutes": [{"route": "/cart", "files": ["app/cart/page.tsx"]}],
            },
        ).json()
        # A bootstrap of a repository nobody serves: it fails in the background, but its workflow is A's.
        workflow = client.post(
            "observer/bootstrap", json={"repoUrl": "https://127.0.0.1:9/nobody/nothing.git", "useLlm": False}
        )
        # A RunTests of a flow A does not have: it fails at once in the background, but the run is A's.
        run = client.post("coordinator/runs", json={"baseUrl": "http://93.184.216.34", "flowIds": ["nope"]})
        alert = client.post(
            "analyzer/alerts",
            json={"name": ALERT, "channel": {"kind": "webhook", "url": "https://hooks.tenant-a.example/x",
                                             "secret": "whsec-tenant-a"}},
        )  # fmt: skip
    assert alert.status_code == 201, alert.text
    assert workflow.status_code == 202, workflow.text
    assert run.status_code == 202, run.text
    yield ProjectA(
        project["id"], key, flow["id"], persona["id"], analysis["id"], workflow.json()["workflowId"],
        run.json()["workflowId"], cloud.seed_insight(project["id"], flow["id"]),
    )  # fmt: skip


@pytest.fixture(scope="module")
def key_b(cloud: RunningCloud) -> str:
    _, key = cloud.create_project("tenant-b")
    return key


def _path(resource: str, ids: dict[str, str]) -> str:
    value = ids[resource]
    return resource.replace("{id}", value).replace("{prefix}", value).replace("{name}", value)


def routes_with_ids() -> list[tuple[str, str]]:
    return [(method, resource) for method, resource in template_routes() if "{" in resource]


@pytest.mark.parametrize(("method", "resource"), routes_with_ids())
def test_project_b_cannot_reach_project_a_through_any_route(
    cloud: RunningCloud, project_a: ProjectA, key_b: str, method: str, resource: str
) -> None:
    ids = project_a.ids()
    assert resource in ids, f"{method} {resource} is new: add project A's id for it to ProjectA.ids()"
    path = _path(resource, ids)

    with cloud.http(key_b) as client:
        response = client.request(method, path.lstrip("/"), json=BODIES.get((method, resource)))

    assert response.status_code in (403, 404), (method, path, response.status_code, response.text)
    assert project_a.project_id not in response.text or response.status_code == 403


def test_project_b_lists_none_of_project_as_data(cloud: RunningCloud, project_a: ProjectA, key_b: str) -> None:
    with cloud.http(key_b) as client:
        flows = client.get("flows").json()["flows"]
        personas = client.get("personas").json()["personas"]
        analyses = client.get("analyses").json()["analyses"]
        keys = client.get("keys").json()["keys"]
        me = client.get("projects/me").json()
        analysis = client.post(
            "observer/analyze",
            json={"changeSet": {"baseSha": "a" * 40, "headSha": "b" * 40}, "affectedRoutes": [{"route": "/cart"}]},
        ).json()

    assert flows == [] and personas == [] and analyses == []
    assert all(k["projectId"] == me["id"] != project_a.project_id for k in keys)
    assert analysis["flows"] == []  # B's analysis of A's routes finds none of A's flows


def test_project_a_is_untouched_after_bs_attempts(cloud: RunningCloud, project_a: ProjectA, key_b: str) -> None:
    with cloud.http(key_b) as client:
        for method, resource in routes_with_ids():
            path = _path(resource, project_a.ids())
            client.request(method, path.lstrip("/"), json=BODIES.get((method, resource)))

    with cloud.http(project_a.key) as client:
        flow = client.get(f"flows/{project_a.flow_id}")
        steps = client.get(f"flows/{project_a.flow_id}/steps")
        persona = client.get(f"personas/{project_a.persona_id}")
        insights = client.get("analyzer/insights")
        alerts = client.get("analyzer/alerts")
        me = client.get("projects/me")

    assert flow.status_code == 200 and flow.json()["priority"] == "critical"
    assert [s["name"] for s in steps.json()["steps"]] == ["open the cart"]
    assert persona.status_code == 200 and persona.json()["description"] == ""
    assert [(i["id"], i["status"]) for i in insights.json()["insights"]] == [(project_a.insight_id, "open")]
    assert me.status_code == 200 and me.json()["id"] == project_a.project_id
    assert [r["rule"]["name"] for r in alerts.json()["rules"]] == [ALERT], alerts.text


def test_every_templated_route_is_served(cloud: RunningCloud, project_a: ProjectA) -> None:
    """No route of the template is a 403 "Missing Authentication Token" (the emulator would not know it)."""
    with cloud.http(project_a.key) as client:
        for method, resource in template_routes():
            if method in ("DELETE", "POST", "PUT", "PATCH"):
                continue
            path = resource.replace("{id}", "x").replace("{prefix}", "prc_AAAAAAAA")
            response = client.request(method, path.lstrip("/"))
            assert response.json() != {"message": "Missing Authentication Token"}, (method, path)
            assert isinstance(response, httpx.Response)
