"""Driving the real API Lambdas the way API Gateway does: authorizer first, then the area's handler."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import redis
from api_handlers import as_caller, body_of, invoke, load_event, with_body, with_path, with_query

from perceo import wiring
from perceo.config.settings import Settings
from perceo.graph.port import FlowGraph
from perceo_cli.local.server import ServerProcess

ADMIN_KEY = "integration-admin-key-0123456789-abcdefghij"
PEPPER = b"integration-api-pepper-0123456789abcdef"


def function_of(area: str) -> str:
    """The Lambda (`functions/api/<area>`) that serves the sample events in `events/api/<area>/`."""
    return f"api/{area}"


@dataclass
class Caller:
    """A project and one of its keys, with the context the authorizer returned for it."""

    project_id: str
    key: str
    context: dict[str, str]


def call(
    sample: str,
    caller: Caller | None,
    *,
    body: Any = None,
    raw_body: str | None = None,
    query: dict[str, str] | None = None,
    **path: str,
) -> dict[str, Any]:
    """Invoke the Lambda serving `events/api/<sample>.json` as `caller` (None: no authorizer context)."""
    event = load_event(f"api/{sample}.json")
    if path:
        with_path(event, **path)
    if query is not None:
        with_query(event, **query)
    if raw_body is not None:
        with_body(event, raw_body, raw=True)
    elif body is not None:
        with_body(event, body)
    as_caller(event, caller.context if caller else None)
    return invoke(function_of(sample.split("/")[0]), event)


def authorizer_context(key: str) -> dict[str, str]:
    """What the REQUEST authorizer Lambda answers for `key` (its context, as API Gateway forwards it)."""
    event = load_event("authorizer/bearer-key.json")
    event["headers"]["Authorization"] = f"Bearer {key}"
    answer = invoke("authorizer", event)
    return dict(answer["context"])


def create_project(name: str, *, scopes: list[str] | None = None, admin_key: str = ADMIN_KEY) -> Caller:
    """POST /projects with the admin key, then authorize the returned key."""
    event = load_event("api/projects/create-project.json")
    event["headers"]["Authorization"] = f"Bearer {admin_key}"
    request: dict[str, Any] = {"name": name, "framework": "nextjs"}
    if scopes is not None:
        request["scopes"] = scopes
    with_body(event, request)
    response = invoke("api/projects", event)
    assert response["statusCode"] == 201, response
    created = body_of(response)
    key = created["apiKey"]["key"]
    return Caller(project_id=created["project"]["id"], key=key, context=authorizer_context(key))


def key_for(owner: Caller, scopes: list[str], name: str) -> Caller:
    """Another key of `owner`'s project, created through POST /keys."""
    response = call("keys/create-key", owner, body={"name": name, "scopes": scopes})
    assert response["statusCode"] == 201, response
    key = body_of(response)["key"]
    return Caller(project_id=owner.project_id, key=key, context=authorizer_context(key))


def fresh(event: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(event)


def error_code(response: dict[str, Any]) -> str:
    return str(body_of(response)["error"]["code"])


def api_settings(server: ServerProcess, graph_name: str, **extra: str) -> Settings:
    url = f"redis://{server.host}:{server.port}"
    env = {
        "STAGE": "test",
        "POWERTOOLS_SERVICE_NAME": "perceo",
        "GRAPH_URI": url,
        "GRAPH_NAME": graph_name,
        "REDIS_URL": url,
        "KEY_RATE_LIMIT_PER_SECOND": "1000",
        "KEY_RATE_LIMIT_BURST": "1000",
        **extra,
    }
    return Settings.from_env(env)


def api_services(
    server: ServerProcess, graph_name: str, graph: FlowGraph, redis_client: redis.Redis, **overrides: Any
) -> wiring.Services:
    """The API's services over the test's graph and Redis: real keys and rate limits (Redis), the test pepper and
    admin key, analytics events, provider credentials and alert channels in memory, and whatever else the test
    passes."""
    from perceo.analytics.stores import MemoryCredentialStore, MemoryObjectStore

    overrides.setdefault("analytics_store", MemoryObjectStore())
    overrides.setdefault("analytics_credentials", MemoryCredentialStore())
    overrides.setdefault("alert_secrets", MemoryCredentialStore())
    return wiring.build_services(
        api_settings(server, graph_name), graph=graph, redis=redis_client, pepper=PEPPER, admin_key=ADMIN_KEY,
        **overrides,
    )  # fmt: skip
