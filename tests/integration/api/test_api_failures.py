"""When a backing store is down the API says so (503, without addresses), and the authorizer fails closed."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
import redis
from api_handlers import body_of, header_of, invoke, load_event, load_handler
from api_integration_kit import PEPPER, api_settings, call, create_project

from perceo import wiring
from perceo.graph.port import FlowGraph
from perceo_cli.local.server import ServerProcess, free_port, start_server, stop_server


def _dead_redis() -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5)


def test_a_request_while_redis_is_down_is_503_naming_no_address(
    api: wiring.Services, falkordb_server: ServerProcess, graph_name: str, graph: FlowGraph
) -> None:
    caller = create_project("Shop")
    wiring.install(wiring.build_services(api_settings(falkordb_server, graph_name), graph=graph, redis=_dead_redis()))
    try:
        response = call("flows/list-flows", caller)
    finally:
        wiring.reset()

    assert response["statusCode"] == 503
    assert header_of(response, "Retry-After") == "2"
    error = body_of(response)["error"]
    assert error["code"] == "backend_unavailable"
    assert error["message"].endswith("(Redis) is unavailable; try again shortly")  # which dependency, not where
    assert error["details"]["dependency"].endswith("(Redis)")
    assert "127.0.0.1" not in response["body"]


def test_a_write_while_the_graph_is_down_and_redis_up_is_503_and_writes_nothing(
    api: wiring.Services,
    falkordb_server: ServerProcess,
    graph_name: str,
    graph: FlowGraph,
    redis_client: redis.Redis,
    tmp_path: Path,
) -> None:
    from perceo.graph.falkor import FalkorFlowGraph

    caller = create_project("Shop")
    doomed = start_server(tmp_path, persistent=False)  # a graph of its own, stopped under the API
    dead_graph = FalkorFlowGraph(doomed.url, graph_name)
    stop_server(doomed.pid)
    wiring.install(
        wiring.build_services(
            api_settings(falkordb_server, graph_name), graph=dead_graph, redis=redis_client, pepper=PEPPER
        )
    )
    try:
        write = call("flows/create-flow", caller, body={"name": "Lost"})
        health = invoke("api/health", load_event("api/health/get-health.json"))
    finally:
        wiring.reset()
        dead_graph.close()

    assert (write["statusCode"], header_of(write, "Retry-After")) == (503, "2")
    assert body_of(write)["error"]["code"] == "backend_unavailable"
    assert body_of(write)["error"]["message"] == "the flow graph is unavailable; try again shortly"
    assert health["statusCode"] == 503
    checks = body_of(health)["checks"]
    assert (checks["graph"]["ok"], checks["redis"]["ok"]) == (False, True)
    assert graph.list_flows(caller.project_id) == []


def test_the_authorizer_fails_closed_when_redis_is_down(
    falkordb_server: ServerProcess, graph_name: str, graph: FlowGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    wiring.install(
        wiring.build_services(
            api_settings(falkordb_server, graph_name), graph=graph, redis=_dead_redis(), pepper=PEPPER
        )
    )
    event = load_event("authorizer/bearer-key.json")
    # Loaded first: its Logger keeps the stream stdout is at import, which must outlive this test.
    load_handler("authorizer")
    emitted = io.StringIO()
    monkeypatch.setattr(sys, "stdout", emitted)  # where powertools prints the metrics (EMF) as it flushes them
    try:
        with pytest.raises(Exception) as raised:
            invoke("authorizer", event)
    finally:
        wiring.reset()
        monkeypatch.undo()

    assert "Unauthorized" not in str(raised.value)  # an error (API Gateway answers 500), never an Allow
    metrics = [json.loads(line) for line in emitted.getvalue().splitlines() if line.startswith('{"_aws"')]
    assert any(m.get("KeyCheckFailed") == [1.0] for m in metrics), metrics  # what an alarm on the store watches
