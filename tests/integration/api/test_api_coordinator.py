"""The `/coordinator/…` routes through the real handlers (authorizer context as API Gateway forwards it) on the real
FalkorDB and Redis: results recorded per project, never linked to or shown from another project's flows; scopes;
uploaded reports; RunTests started only for browsable URLs."""

from __future__ import annotations

import json

from api_handlers import body_of
from api_integration_kit import api_services, call, create_project, error_code, key_for
from redis import Redis

from perceo import wiring
from perceo.graph.port import FlowGraph
from perceo.workflows.bundle import InMemoryBundleStore
from perceo_cli.local.server import ServerProcess

SHA = "9fceb02d0ae598e95dc970b74767f19372d61af8"


def _suite(flow_id: str, status: str = "failed") -> dict[str, object]:
    message = None if status == "passed" else "total is wrong"
    test = {"id": "e2e/test_cart.py::test_total", "name": "test_total", "file": "e2e/test_cart.py",
            "status": status, "flowIds": [flow_id], "message": message}  # fmt: skip
    return {
        "report": {
            "runner": "pytest", "selection": "affected", "status": status, "commitSha": SHA, "tests": [test],
            "flows": [{"flowId": flow_id, "name": "Checkout", "status": status, "tests": 1,
                       "failed": 0 if status == "passed" else 1}],
        },
        "context": {"triggeredBy": "ci", "commitSha": SHA},
        "coverage": {flow_id: 0.5},
    }  # fmt: skip


def test_results_are_recorded_per_project_and_another_project_never_sees_or_links_them(
    api: wiring.Services, graph: FlowGraph, workflows: None
) -> None:
    a, b = create_project("Coordinator A"), create_project("Coordinator B")
    flow = body_of(call("flows/create-flow", a, body={"name": "Checkout", "pages": ["/cart"]}))

    recorded = call("coordinator/record-suite", a, body=_suite(flow["id"]))
    assert recorded["statusCode"] == 201, recorded["body"]
    (outcome,) = body_of(recorded)["flows"]
    runs = body_of(call("coordinator/list-results", a, query={"commitSha": SHA}))["runs"]
    assert [r["id"] for r in runs] == [outcome["testRunId"]] and runs[0]["flowId"] == flow["id"]
    assert graph.get_flow(a.project_id, flow["id"]).coverage_score == 0.5  # type: ignore[union-attr]

    # B names A's flow: its run is kept in B without a flow; A's flow and results are untouched
    theirs = call("coordinator/record-suite", b, body=_suite(flow["id"], status="passed"))
    assert theirs["statusCode"] == 201, theirs["body"]
    assert body_of(call("coordinator/list-results", b, query={"flowId": flow["id"]}))["runs"] == []
    (b_run,) = body_of(call("coordinator/list-results", b, query={"commitSha": SHA}))["runs"]
    assert b_run["flowId"] is None
    assert body_of(call("coordinator/list-results", a, query={"flowId": flow["id"]}))["runs"] == runs
    assert flow["id"] not in json.dumps(body_of(call("coordinator/flaky", b)))
    assert [r.id for r in graph.list_test_runs(a.project_id)] == [outcome["testRunId"]]


def test_an_uploaded_report_is_mapped_by_file_and_a_second_one_on_the_same_commit_shows_a_flaky_test(
    api: wiring.Services, workflows: None
) -> None:
    a = create_project("Coordinator reports")
    flow = body_of(call("flows/create-flow", a, body={"name": "Checkout", "pages": ["/cart"]}))

    def upload(xml: str) -> dict[str, object]:
        body = {"format": "junit", "content": xml, "context": {"commitSha": SHA},
                "flowsOf": {"e2e/test_cart.py": [flow["id"]]}}  # fmt: skip
        response = call("coordinator/upload-report", a, body=body)
        assert response["statusCode"] == 201, response["body"]
        return dict(body_of(response))

    failing = upload(
        '<testsuite><testcase classname="e2e" name="total" file="e2e/test_cart.py"><failure message="no"/>'
        "</testcase></testsuite>"
    )
    passing = upload('<testsuite><testcase classname="e2e" name="total" file="e2e/test_cart.py"/></testsuite>')

    assert failing["status"] == "failed" and passing["status"] == "passed"
    assert [f["flowId"] for f in failing["flows"]] == [flow["id"]]  # type: ignore[index]
    (flaky,) = body_of(call("coordinator/flaky", a))["tests"]
    assert flaky["commits"] == [SHA] and flaky["flowIds"] == [flow["id"]]

    broken = call("coordinator/upload-report", a, body={"format": "junit", "content": "<testsuite><x"})
    assert broken["statusCode"] == 422 and error_code(broken) == "invalid_report"


def test_scopes_guard_the_routes_and_runs_start_only_for_public_urls(api: wiring.Services, workflows: None) -> None:
    a = create_project("Coordinator scopes")
    reader = key_for(a, ["flows:read"], "reader")

    denied = call("coordinator/record-suite", reader, body=_suite("f1"))
    assert denied["statusCode"] == 403 and error_code(denied) == "forbidden"
    assert call("coordinator/list-results", reader)["statusCode"] == 200

    local = call("coordinator/start-run", a, body={"baseUrl": "http://127.0.0.1:8080"})
    assert local["statusCode"] == 422 and "private or local address" in body_of(local)["error"]["message"]
    metadata = call("coordinator/start-run", a, body={"baseUrl": "http://169.254.169.254/latest"})
    assert metadata["statusCode"] == 422
    started = call("coordinator/start-run", a, body={"baseUrl": "http://93.184.216.34", "parallelism": 2})
    assert started["statusCode"] == 202, started["body"]
    view = body_of(call("coordinator/get-run", a, id=body_of(started)["workflowId"]))
    assert view["workflow"]["kind"] == "tests" and view["results"] == []

    quality = call("coordinator/predictions", a)
    assert quality["statusCode"] == 200 and body_of(quality)["validated"] == 0


def test_reports_whose_numbers_or_names_no_test_run_can_hold_are_422_and_record_nothing(
    api: wiring.Services, graph: FlowGraph, workflows: None
) -> None:
    """A negative duration, retry or count, or a step name too long for its test case: a 422 naming the field, not
    a 500 from the TestRun built after validation (the fuzzing suite found the first)."""
    a = create_project("Coordinator bad numbers")
    flow = body_of(call("flows/create-flow", a, body={"name": "Checkout", "pages": ["/cart"]}))
    bad_outcomes = [{"durationMs": -1}, {"retries": -1}, {"tests": -1}, {"failed": -1}]
    for bad in bad_outcomes:
        body = _suite(flow["id"])
        body["report"]["flows"][0].update(bad)  # type: ignore[index]
        response = call("coordinator/record-suite", a, body=body)
        assert response["statusCode"] == 422 and error_code(response) == "validation_failed", (bad, response["body"])
    body = _suite(flow["id"])
    body["report"]["totals"] = {"total": -1}  # type: ignore[index]
    assert call("coordinator/record-suite", a, body=body)["statusCode"] == 422

    step = {"stepId": flow["id"], "order": 1, "name": "x" * 2100, "status": "passed"}
    synthetic = {
        "report": {"suiteId": flow["id"], "baseUrl": "https://staging.example.com", "status": "passed",
                   "flows": [{"flowId": flow["id"], "name": "Checkout", "status": "passed",
                              "baseUrl": "https://staging.example.com", "steps": [step]}]},
    }  # fmt: skip
    response = call("coordinator/record-synthetic", a, body=synthetic)
    assert response["statusCode"] == 422 and error_code(response) == "validation_failed", response["body"]

    assert body_of(call("coordinator/list-results", a))["runs"] == []


def test_a_stored_screenshot_is_linked_for_its_own_project_only(
    api: wiring.Services, falkordb_server: ServerProcess, graph_name: str, graph: FlowGraph, redis_client: Redis
) -> None:
    bundles = InMemoryBundleStore()
    wiring.install(api_services(falkordb_server, graph_name, graph, redis_client, bundles=bundles))
    a, b = create_project("Artifacts A"), create_project("Artifacts B")
    key = f"artifacts/{a.project_id}/wf-01hx5z8k2m3n4p5q6r7s8t9v0w/f-1/step-2-failure.png"
    bundles.put_bytes(key, b"\x89PNG\r\n\x1a\n")

    linked = call("coordinator/artifact", a, query={"key": key})
    assert linked["statusCode"] == 200, linked["body"]
    assert body_of(linked)["url"] == bundles.presigned_url(key, 300) and body_of(linked)["expiresInSeconds"] == 300

    # another project's key, a key that names nothing, a way out of the prefix: all 404 (nothing revealed)
    assert call("coordinator/artifact", b, query={"key": key})["statusCode"] == 404
    assert call("coordinator/artifact", a, query={"key": key.replace("step-2", "step-3")})["statusCode"] == 404
    sideways = f"artifacts/{a.project_id}/../{b.project_id}/wf-1/f-1/x.png"
    assert call("coordinator/artifact", a, query={"key": sideways})["statusCode"] == 404
    assert call("coordinator/artifact", a, query={"key": "workflows/x/request.json"})["statusCode"] == 422
    ingest = key_for(a, ["ingest"], "ingest only")
    assert call("coordinator/artifact", ingest, query={"key": key})["statusCode"] == 403
