"""When a backing store is down the API says so (503, without addresses), and the authorizer fails closed."""

from __future__ import annotations

import io
import json
import sys

import pytest
import redis
from api_handlers import body_of, invoke, load_event, load_handler
from api_integration_kit import PEPPER, api_settings, call, create_project

from perceo import wiring
from perceo.graph.port import FlowGraph
from perceo_cli.local.server import ServerProcess, free_port


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
    error = body_of(response)["error"]
    assert error["code"] == "backend_unavailable"
    assert "127.0.0.1" not in response["body"]


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
