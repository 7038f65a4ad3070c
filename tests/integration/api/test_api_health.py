"""GET /health reports the graph and Redis as they are, without an API key and without addresses."""

from __future__ import annotations

import redis
from api_handlers import body_of, header_of, invoke, load_event
from api_integration_kit import api_settings

from perceo import __version__, wiring
from perceo.graph.port import FlowGraph
from perceo_cli.local.server import ServerProcess, free_port


def test_health_is_ok_when_graph_and_redis_answer(api: wiring.Services) -> None:
    response = invoke("api/health", load_event("api/health/get-health.json"))

    assert response["statusCode"] == 200
    health = body_of(response)
    assert (health["status"], health["version"], health["stage"]) == ("ok", __version__, "test")
    assert health["checks"]["graph"]["ok"] and health["checks"]["redis"]["ok"]
    assert health["checks"]["redis"]["latencyMs"] >= 0


def test_health_is_503_naming_what_is_down_but_not_where(
    falkordb_server: ServerProcess, graph_name: str, graph: FlowGraph
) -> None:
    dead = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5)
    wiring.install(wiring.build_services(api_settings(falkordb_server, graph_name), graph=graph, redis=dead))
    try:
        response = invoke("api/health", load_event("api/health/get-health.json"))
    finally:
        wiring.reset()

    assert response["statusCode"] == 503
    assert header_of(response, "Retry-After") == "2"
    health = body_of(response)
    assert health["status"] == "degraded"
    assert health["checks"]["graph"]["ok"] is True
    redis_check = health["checks"]["redis"]
    assert (redis_check["ok"], redis_check["error"], redis_check["lastError"]) == (
        False,
        "ConnectionError",
        "ConnectionError",
    )
    assert redis_check["latencyMs"] >= 0 and redis_check["lastErrorAt"] > 0
    assert "127.0.0.1" not in response["body"]


def test_health_keeps_the_last_error_after_the_dependency_recovers(
    api: wiring.Services, falkordb_server: ServerProcess, graph_name: str, graph: FlowGraph
) -> None:
    dead = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5)
    wiring.install(wiring.build_services(api_settings(falkordb_server, graph_name), graph=graph, redis=dead))
    failed = body_of(invoke("api/health", load_event("api/health/get-health.json")))
    wiring.install(api)

    recovered = invoke("api/health", load_event("api/health/get-health.json"))

    assert recovered["statusCode"] == 200 and header_of(recovered, "Retry-After") is None
    redis_check = body_of(recovered)["checks"]["redis"]
    assert (redis_check["ok"], redis_check["error"]) == (True, None)
    assert (redis_check["lastError"], redis_check["lastErrorAt"]) == (
        "ConnectionError",
        failed["checks"]["redis"]["lastErrorAt"],
    )


def test_dependencies_built_from_settings_alone_reach_the_graph_and_redis(
    falkordb_server: ServerProcess, graph_name: str, graph: FlowGraph
) -> None:
    deps = wiring.build_services(api_settings(falkordb_server, graph_name))  # GRAPH_URI and REDIS_URL, nothing injected
    wiring.install(deps)
    try:
        response = invoke("api/health", load_event("api/health/get-health.json"))
    finally:
        wiring.reset()

    assert response["statusCode"] == 200, response["body"]
    assert body_of(response)["checks"]["graph"]["ok"] is True
