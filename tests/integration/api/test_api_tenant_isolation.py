"""Project B's key, with every scope, tries every route against project A's ids: 403 or 404, never A's data."""

from __future__ import annotations

import json

from api_handlers import EVENTS, as_caller, body_of, invoke, load_event, with_path, with_query
from api_integration_kit import Caller, call, create_project, function_of

from perceo import wiring
from perceo.graph.insights import InsightStore
from perceo.graph.port import FlowGraph
from perceo.models import Insight

#: Routes that do not take a project API key.
NOT_KEYED = {
    "api/health/get-health.json",
    "api/health/get-openapi.json",
    "api/projects/create-project.json",
    "api/analytics/ingest-beacon.json",  # its key is ?writeKey= (tests/integration/api/test_api_analytics.py)
}


def _seed(owner: Caller) -> dict[str, str]:
    """A's flow (with a step), persona and analysis; returns the ids B will aim at."""
    persona = body_of(call("flows/create-persona", owner, body={"name": "Shopper"}))
    flow = body_of(
        call(
            "flows/create-flow",
            owner,
            body={"name": "Sign in", "personas": ["Shopper"], "pages": ["/login"], "steps": [{"name": "Open"}]},
        )
    )
    analysis = body_of(
        call("observer/analyze", owner, body=json.loads(load_event("api/observer/analyze.json")["body"]))
    )
    started = call("workflows/start-bootstrap", owner, body={"repoUrl": "https://github.com/acme/a.git"})
    assert started["statusCode"] == 202, started["body"]
    workflow = body_of(started)
    run = call("coordinator/start-run", owner, body={"baseUrl": "http://93.184.216.34", "flowIds": [flow["id"]]})
    assert run["statusCode"] == 202, run["body"]
    alert = call("analyzer/add-alert", owner, body={"name": "a-pager", "channel": {
        "kind": "webhook", "url": "https://hooks.tenant-a.example/x", "secret": "whsec-tenant-a"}})  # fmt: skip
    assert alert["statusCode"] == 201, alert["body"]
    artifact = f"artifacts/{owner.project_id}/{body_of(run)['workflowId']}/{flow['id']}/step-1-failure.png"
    wiring.services().bundles.put_bytes(artifact, b"\x89PNG\r\n\x1a\n")
    return {
        "artifact": artifact,
        "alert": "a-pager",
        "flow": flow["id"],
        "persona": persona["id"],
        "analysis": analysis["id"],
        "workflow": workflow["workflowId"],
        "run": body_of(run)["workflowId"],
    }


def _seed_insight(graph: FlowGraph, owner: Caller, flow_id: str) -> str:
    """An insight of A (the analyzer's rules need weeks of metrics; the store is what B must not reach)."""
    assert isinstance(graph, InsightStore)
    insight = Insight(project_id=owner.project_id, flow_id=flow_id, type="coverage-gap", severity="high",
                      title="Sign in has no test", message="No test.", subject=f"coverage-gap:{flow_id}",
                      day="2026-04-09")  # fmt: skip
    return graph.store_insights(owner.project_id, [insight])[0].insight.id


#: The first path segment of a route with an `{id}` → which of A's ids it takes (sub-routes included).
ID_OF = {"flows": "flow", "personas": "persona", "analyses": "analysis", "workflows": "workflow"}
#: Routes with an `{id}` deeper in the path → which of A's ids they take.
NESTED_ID_OF = {"/analyzer/insights/{id}": "insight"}


def _target(resource: str, a: Caller, ids: dict[str, str]) -> dict[str, str]:
    if "{" not in resource:
        return {}
    if resource == "/projects/{id}" or resource.startswith("/projects/{id}/"):  # the project, its export/import
        return {"id": a.project_id}
    if resource == "/keys/{prefix}":
        return {"prefix": a.context["prefix"]}
    for prefix, kind in NESTED_ID_OF.items():
        if resource.startswith(prefix):
            return {"id": ids[kind]}
    if resource == "/coordinator/runs/{id}":
        return {"id": ids["run"]}
    if resource.startswith("/analyzer/alerts/{name}"):
        return {"name": ids["alert"]}
    area = resource.strip("/").split("/")[0]
    assert resource.startswith(f"/{area}/{{id}}") and area in ID_OF, f"no target for {resource}: add one here"
    return {"id": ids[ID_OF[area]]}


def test_another_projects_key_gets_403_or_404_on_every_route_and_never_sees_or_changes_data(
    api: wiring.Services, graph: FlowGraph, workflows: None
) -> None:
    a, b = create_project("Tenant A"), create_project("Tenant B")
    ids = _seed(a)
    ids["insight"] = _seed_insight(graph, a, ids["flow"])
    assert isinstance(graph, InsightStore)
    insights_before = [i.model_dump() for i in graph.list_insights(a.project_id)]
    before = {
        "flows": [f.model_dump() for f in graph.list_flows(a.project_id, include_steps=True)],
        "personas": [p.model_dump() for p in graph.list_personas(a.project_id)],
        "analyses": [x.id for x in graph.list_analyses(a.project_id)],
        "alerts": [r.model_dump() for r in wiring.services().alerts.rules_of(a.project_id)],
    }
    secrets_of_a = [a.project_id, a.context["prefix"], *ids.values(), "hooks.tenant-a.example", "whsec-tenant-a"]
    samples = sorted(str(p.relative_to(EVENTS)) for p in (EVENTS / "api").rglob("*.json"))

    tried = []
    for sample in samples:
        if sample in NOT_KEYED:
            continue
        event = load_event(sample)
        target = _target(event["resource"], a, ids)
        if target:
            with_path(event, **target)
        if event["resource"] == "/coordinator/artifacts":  # A's screenshot, named in the query
            target = {"key": ids["artifact"]}
            with_query(event, **target)
        response = invoke(function_of(sample.split("/")[1]), as_caller(event, b.context))
        tried.append(sample)
        if target:
            assert response["statusCode"] in (403, 404), (sample, response["statusCode"], response["body"])
        else:
            assert 200 <= response["statusCode"] < 300, (sample, response["statusCode"], response["body"])
        # The id B sent may be echoed in the error; nothing else of A's may appear.
        unasked = [value for value in secrets_of_a if value not in target.values()]
        leaked = [value for value in unasked if value in (response.get("body") or "")]
        assert not leaked, (sample, leaked)

    assert len(tried) == len(samples) - len(NOT_KEYED) >= 20
    assert [f.model_dump() for f in graph.list_flows(a.project_id, include_steps=True)] == before["flows"]
    assert [p.model_dump() for p in graph.list_personas(a.project_id)] == before["personas"]
    assert [x.id for x in graph.list_analyses(a.project_id)] == before["analyses"]
    assert [i.model_dump() for i in graph.list_insights(a.project_id)] == insights_before
    served = wiring.services()  # the workflows fixture installed its own
    assert [r.model_dump() for r in served.alerts.rules_of(a.project_id)] == before["alerts"]
    assert served.alerts.channels.get(a.project_id, "a-pager") is not None
    assert api.keys.authenticate(a.key).project_id == a.project_id
    assert graph.get_project(a.project_id) is not None
