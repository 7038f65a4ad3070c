"""Helpers for tests that call the real Lambda handlers with the sample events in `events/`.

Handlers are loaded from their files (`functions/api/<area>/app.py`, `functions/authorizer/app.py`) the way
Lambda loads them, with the environment variables the template gives every function, then called with an
event loaded from `events/` and tweaked by the test.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"
FUNCTIONS = REPO / "functions"

#: What `template.yaml` Globals give every function (the parts the handlers read at import).
FUNCTION_ENV = {
    "POWERTOOLS_SERVICE_NAME": "perceo",
    "POWERTOOLS_METRICS_NAMESPACE": "Perceo",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}

_loaded: dict[str, ModuleType] = {}


def load_handler(code_dir: str) -> ModuleType:
    """The handler module in `functions/<code_dir>/app.py`, imported once per test process."""
    if code_dir not in _loaded:
        path = FUNCTIONS / code_dir / "app.py"
        name = "perceo_handler_" + code_dir.replace("/", "_")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None, path
        module = importlib.util.module_from_spec(spec)
        saved = {key: os.environ.get(key) for key in FUNCTION_ENV}
        os.environ.update(FUNCTION_ENV)
        try:
            spec.loader.exec_module(module)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        _loaded[code_dir] = module
    return _loaded[code_dir]


@dataclass
class FakeLambdaContext:
    function_name: str = "perceo-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:perceo-test"
    aws_request_id: str = "test-request"


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of `events/<name>` (e.g. "api/flows/list-flows.json")."""
    return copy.deepcopy(json.loads((EVENTS / name).read_text()))


def invoke(code_dir: str, event: dict[str, Any]) -> dict[str, Any]:
    """Call the function's `lambda_handler` as Lambda would."""
    response: dict[str, Any] = load_handler(code_dir).lambda_handler(event, FakeLambdaContext())
    return response


def as_caller(event: dict[str, Any], context: dict[str, str] | None) -> dict[str, Any]:
    """The event as API Gateway passes it after the authorizer answered with `context` (None: no authorizer)."""
    request_context = event.setdefault("requestContext", {})
    if context is None:
        request_context.pop("authorizer", None)
    else:
        request_context["authorizer"] = {"principalId": context["keyId"], **context, "integrationLatency": 12}
    return event


def with_body(event: dict[str, Any], body: Any, *, raw: bool = False) -> dict[str, Any]:
    """Replace the body: `body` as JSON, or as the exact text when `raw`."""
    event["body"] = body if raw else json.dumps(body)
    event["isBase64Encoded"] = False
    return event


def with_path(event: dict[str, Any], **params: str) -> dict[str, Any]:
    """Set path parameters and rewrite `path` from the event's `resource` template."""
    path = event["resource"]
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    event["pathParameters"] = dict(params)
    event["path"] = path
    event["requestContext"]["path"] = "/" + event["requestContext"]["stage"] + path
    return event


def with_query(event: dict[str, Any], **query: str) -> dict[str, Any]:
    event["queryStringParameters"] = dict(query) or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} or None
    return event


def body_of(response: dict[str, Any]) -> Any:
    body = response.get("body")
    return json.loads(body) if body else None


def header_of(response: dict[str, Any], name: str) -> str | None:
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower():
            return values[0] if isinstance(values, list) else str(values)
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None
