"""The analyzer's routes through the real Lambda handler over the real graph: run, list, ack, resolve, coverage;
scopes; bad input. (Another project's key on every route: test_api_tenant_isolation.py.)"""

from __future__ import annotations

import datetime as dt

from api_handlers import body_of
from api_integration_kit import call, create_project, error_code, key_for

from perceo import wiring
from perceo.graph.port import FlowGraph
from perceo.models import Flow, FlowMetrics


def _busy_untested_flow(graph: FlowGraph, project_id: str) -> str:
    """A flow with ~900 users a day for the last 10 days and no test: a coverage gap."""
    (flow,) = graph.upsert_flows(project_id, [Flow(project_id=project_id, name="Checkout", priority="critical")])
    today = dt.datetime.now(dt.UTC).date()
    days = [(today - dt.timedelta(days=n)).isoformat() for n in range(10)]
    graph.upsert_flow_metrics(project_id, [
        FlowMetrics(project_id=project_id, flow_id=flow.id, day=d, sessions=1000, completions=800,
                    prod_success_rate=0.8, prod_daily_users=900)
        for d in days
    ])  # fmt: skip
    return flow.id


def test_run_list_ack_resolve_and_coverage(api: wiring.Services, graph: FlowGraph) -> None:
    owner = create_project("Analyzed")
    flow_id = _busy_untested_flow(graph, owner.project_id)

    ran = call("analyzer/run-analyzer", owner)
    assert ran["statusCode"] == 200, ran["body"]
    run = body_of(ran)
    assert run["created"] == 1 and run["insights"][0]["type"] == "coverage-gap"
    insight_id = run["insights"][0]["id"]
    assert run["insights"][0]["flowId"] == flow_id and run["insights"][0]["severity"] == "critical"

    again = body_of(call("analyzer/run-analyzer", owner))
    assert again["created"] == 0 and again["updated"] == 1

    listed = call("analyzer/list-insights", owner, query={"type": "coverage-gap,ux-issue", "severity": "high"})
    assert [i["id"] for i in body_of(listed)["insights"]] == [insight_id]

    acked = call("analyzer/ack-insight", owner, id=insight_id[:8])
    assert acked["statusCode"] == 200 and body_of(acked)["status"] == "acknowledged"
    resolved = call("analyzer/resolve-insight", owner, id=insight_id)
    assert body_of(resolved)["status"] == "resolved"
    conflict = call("analyzer/ack-insight", owner, id=insight_id)
    assert conflict["statusCode"] == 409

    coverage = body_of(call("analyzer/get-coverage", owner))
    assert coverage["uncovered"] == 1 and coverage["flows"][0]["usersAtRisk"] == 900


def test_scopes_and_bad_input(api: wiring.Services, graph: FlowGraph) -> None:
    owner = create_project("Scoped")
    _busy_untested_flow(graph, owner.project_id)
    reader = key_for(owner, ["insights:read"], "reader")
    ci_only = key_for(owner, ["ci:analyze"], "ci")
    insight_id = body_of(call("analyzer/run-analyzer", reader))["insights"][0]["id"]

    assert call("analyzer/list-insights", ci_only, query={})["statusCode"] == 403
    assert call("analyzer/run-analyzer", ci_only)["statusCode"] == 403
    assert call("analyzer/ack-insight", reader, id=insight_id)["statusCode"] == 403  # needs flows:write

    bad = call("analyzer/list-insights", owner, query={"type": "regresion"})
    assert bad["statusCode"] == 422 and error_code(bad) == "validation_failed" and "regresion" in bad["body"]
    missing = call("analyzer/ack-insight", owner, id="0123456789abcdef")
    assert missing["statusCode"] == 404 and error_code(missing) == "insight_not_found"
