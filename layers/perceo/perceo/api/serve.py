"""Serving one API Gateway (REST, v1 proxy) event with a powertools resolver.

`serve(app, event, context)` is what every API Lambda's `lambda_handler` returns. Around `app.resolve` it:

1. opens the request scope (request id, the caller the authorizer vouched for);
2. answers 413 for a body over `MAX_BODY_BYTES` (after base64 decoding) before anything parses it;
3. checks that the calling key is still active, then takes a token from its bucket and answers 429 with
   `Retry-After` when it is empty. The REQUEST authorizer's answer is cached by API Gateway for minutes, so it
   cannot count requests nor see a revocation; every request passes through here, so the per-key limit and the
   key's status (a key revoked, expired or deleted with its project since is a 401 at once) live here;
   then answers 400 / 415 for a request no route can read (`perceo.api.body`: not UTF-8, not JSON by its
   Content-Type, nested too deeply, huge numbers, NUL characters; `text_routes` also take `text/plain`);
4. adds `X-Request-Id`, and the CORS headers (powertools `CORSConfig`) when the request comes from the allowed
   origin, on every answer: routed, early (413/429) or failed.

Steps 2 and 3 are not powertools middlewares: the resolver runs its request validation (which parses the body)
before any user middleware, so a limit there would parse an oversized body first and answer 422 instead of 413,
and requests with invalid bodies would not be counted against the key's rate. CORS is not the resolver's `cors=`
either: that fixes one origin when the module is imported, while the origin is a deployment setting that the
early answers need too; `CORSConfig` computes the headers for both.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import os
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, cast

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from perceo.api.body import RouteKey, check_request
from perceo.api.errors import domain_error_response, internal_error_response
from perceo.api.request import RequestScope, header, request_scope
from perceo.errors import PayloadTooLargeError, PerceoError, RateLimitedError
from perceo.heap import freeze_startup_heap_once
from perceo.models.api import MAX_BODY_BYTES
from perceo.wiring import services

logger = logging.getLogger(__name__)

#: Request headers a browser may send besides powertools' own list (Authorization, Content-Type, X-Amz-…).
CORS_EXTRA_HEADERS = ("X-Request-Id",)


def serve(
    app: APIGatewayRestResolver,
    event: dict[str, Any],
    context: LambdaContext | None,
    *,
    metrics: Metrics | None = None,
    text_routes: frozenset[RouteKey] = frozenset(),
) -> dict[str, Any]:
    """The proxy response to one API Gateway REST event; counts it by status class (`Http2xx`…) in `metrics`.
    `text_routes` are the app's routes that take their JSON body as `text/plain` too (`perceo.api.body`)."""
    with request_scope(event) as scope:
        try:
            early = _early_answer(event, scope, text_routes)
        except PerceoError as error:
            early = domain_error_response(error, request_id=scope.request_id)
        except Exception:
            logger.exception("unhandled error before routing")
            early = internal_error_response(scope.request_id)
        # powertools accepts a missing context (tests, the local emulator); its signature does not say so.
        response = _proxy_response(early) if early is not None else app.resolve(event, cast(LambdaContext, context))
        if metrics is not None:
            metrics.add_metric(name=f"Http{int(response['statusCode']) // 100}xx", unit=MetricUnit.Count, value=1)
        answer = _with_headers(response, event, scope)
    if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
        # In a Lambda environment, the first request built the long-lived clients (graph, Redis, secrets): with the
        # imports, they are the heap a full GC pass would walk on every later request that triggers one. (The
        # local cloud's workers freeze their heap themselves once every handler is imported.)
        freeze_startup_heap_once()
    return answer


def body_size(event: Mapping[str, Any]) -> int:
    """Bytes of the request body as the route would see it (base64 bodies are measured decoded)."""
    body = event.get("body")
    if not isinstance(body, str) or not body:
        return 0
    if event.get("isBase64Encoded"):
        try:
            return len(base64.b64decode(body, validate=False))
        except (binascii.Error, ValueError):
            return len(body)
    return len(body.encode("utf-8"))


def _early_answer(
    event: Mapping[str, Any], scope: RequestScope, text_routes: frozenset[RouteKey]
) -> Response[str] | None:
    size = body_size(event)
    if size > MAX_BODY_BYTES:
        raise PayloadTooLargeError(
            f"request body is {size} bytes; the API accepts at most {MAX_BODY_BYTES} bytes (5 MB)",
            details={"limitBytes": MAX_BODY_BYTES, "sizeBytes": size},
        )
    principal = scope.principal
    if principal is not None:
        # The authorizer's answer may be cached from before a revocation or the project's deletion: the key's
        # status is read on every request (one key-store read), so neither waits for the cache to expire.
        services().keys.require_active(principal)
        decision = services().limiter.check(principal.key_id)
        if not decision.allowed:
            raise RateLimitedError(
                f"too many requests for API key {principal.prefix}; retry after {decision.retry_after_header} s",
                retry_after_s=decision.retry_after_s,
            )
    check_request(event, text_routes=text_routes)
    return None


def _proxy_response(response: Response[str]) -> dict[str, Any]:
    return {
        "statusCode": response.status_code,
        "body": response.body,
        "isBase64Encoded": False,
        "multiValueHeaders": {
            name: [value] if isinstance(value, str) else list(value) for name, value in response.headers.items()
        },
    }


def _with_headers(response: dict[str, Any], event: Mapping[str, Any], scope: RequestScope) -> dict[str, Any]:
    headers: dict[str, list[str]] = dict(response.get("multiValueHeaders") or {})
    single = response.pop("headers", None)
    if isinstance(single, Mapping):
        for name, value in single.items():
            headers.setdefault(name, [str(value)])
    if response.get("statusCode") == HTTPStatus.NO_CONTENT:  # a route that returns None: no body at all
        response["body"] = ""
        headers.pop("Content-Type", None)
    if scope.request_id:
        headers["X-Request-Id"] = [scope.request_id]
    cors = _cors_config(_allowed_origin())
    if cors is not None:
        origin = header(event, "Origin")
        allowed = cors.allowed_origin(origin) if origin else None
        for name, value in cors.to_dict(allowed).items():
            headers[name] = [value]
        headers["Vary"] = ["Origin"]  # the answer depends on the Origin header: caches must key on it
    response["multiValueHeaders"] = headers
    return response


@functools.cache
def _cors_config(allowed_origin: str | None) -> CORSConfig | None:
    """CORS for the one allowed origin (never `*`); None when the deployment allows none."""
    if not allowed_origin or allowed_origin == "*":
        return None
    return CORSConfig(allow_origin=allowed_origin, allow_headers=list(CORS_EXTRA_HEADERS))


def _allowed_origin() -> str | None:
    try:
        return services().settings.allowed_cors_origin
    except PerceoError:  # settings that do not load are reported by the route that needs them
        return None


def json_body(response: Mapping[str, Any]) -> Any:
    """The decoded JSON body of a proxy response (tests, the local emulator)."""
    body = response.get("body")
    return json.loads(body) if isinstance(body, str) and body else None
