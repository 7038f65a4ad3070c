"""The one mapping from errors to HTTP answers: status code, headers and the body `{error: {code, message, details}}`.

Routes never catch: domain code raises typed `PerceoError`s, powertools raises `RequestValidationError` for a
request that does not match the route's models, and `register_error_handlers` turns each into its answer here.
Anything else is a 500 with a generic message and the request id; the exception is logged, never returned.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from perceo.api.request import current_request_id
from perceo.errors import (
    AuthenticationError,
    BackendUnavailableError,
    BadRequestError,
    ConfigError,
    ConflictError,
    InvalidRefError,
    LLMError,
    NotFoundError,
    PayloadTooLargeError,
    PerceoError,
    PermissionDeniedError,
    RateLimitedError,
    UnsupportedMediaTypeError,
    ValidationFailed,
)

logger = logging.getLogger(__name__)

JSON = "application/json"

#: Most specific class first; the first `isinstance` match wins.
STATUS_BY_ERROR: tuple[tuple[type[PerceoError], HTTPStatus], ...] = (
    (AuthenticationError, HTTPStatus.UNAUTHORIZED),
    (PermissionDeniedError, HTTPStatus.FORBIDDEN),
    (NotFoundError, HTTPStatus.NOT_FOUND),
    (ConflictError, HTTPStatus.CONFLICT),
    (PayloadTooLargeError, HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
    (BadRequestError, HTTPStatus.BAD_REQUEST),
    (UnsupportedMediaTypeError, HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
    (ValidationFailed, HTTPStatus.UNPROCESSABLE_ENTITY),
    (InvalidRefError, HTTPStatus.UNPROCESSABLE_ENTITY),
    (RateLimitedError, HTTPStatus.TOO_MANY_REQUESTS),
    (BackendUnavailableError, HTTPStatus.SERVICE_UNAVAILABLE),
    (LLMError, HTTPStatus.BAD_GATEWAY),
)

#: Errors whose message is for operators, not clients: answered with the generic 500.
_INTERNAL: tuple[type[PerceoError], ...] = (ConfigError,)

_MAX_VALIDATION_ERRORS = 20

#: `Retry-After` (seconds) of a 503: stores that restart (the local cloud's supervisor, a Redis failover) are back
#: within a few seconds. The template's authorizer gateway responses say the same.
RETRY_AFTER_UNAVAILABLE_S = 2


def status_for(error: PerceoError) -> HTTPStatus:
    if isinstance(error, _INTERNAL):
        return HTTPStatus.INTERNAL_SERVER_ERROR
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return HTTPStatus.INTERNAL_SERVER_ERROR


def error_body(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": dict(details or {})}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> Response[str]:
    return Response(
        status_code=int(status),
        content_type=JSON,
        body=json.dumps(error_body(code, message, details), separators=(",", ":")),
        headers=dict(headers or {}),
    )


def domain_error_response(error: PerceoError, *, request_id: str | None) -> Response[str]:
    """The answer to a typed domain error."""
    status = status_for(error)
    if status == HTTPStatus.INTERNAL_SERVER_ERROR:
        logger.error("internal error (%s): %s", type(error).__name__, error.message)
        return internal_error_response(request_id)
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        # 502/503: the message says which dependency, not where it lives; the full text goes to the log.
        logger.error("dependency failure (%s): %s", type(error).__name__, error.message)
        unavailable = status == HTTPStatus.SERVICE_UNAVAILABLE
        dependency = error.dependency if isinstance(error, BackendUnavailableError) else None
        if not unavailable:
            message = "the LLM call failed"
        elif dependency:
            message = f"{dependency} is unavailable; try again shortly"
        else:
            message = "a backing service is unavailable; try again shortly"
        failure: dict[str, Any] = {"requestId": request_id} if request_id else {}
        if dependency:
            failure["dependency"] = dependency
        retry: dict[str, str] = {}
        if unavailable:
            retry["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE_S)
            failure["retryAfterSeconds"] = RETRY_AFTER_UNAVAILABLE_S
        return error_response(status, error.code, message, failure, headers=retry)
    headers: dict[str, str] = {}
    details = dict(error.details)
    if isinstance(error, AuthenticationError):
        # The reason a key was rejected (unknown, revoked, expired…) is for the audit trail, not the caller.
        details = {}
        headers["WWW-Authenticate"] = 'Bearer realm="perceo"'
    if isinstance(error, RateLimitedError):
        retry_after = max(1, math.ceil(error.retry_after_s))
        headers["Retry-After"] = str(retry_after)
        details["retryAfterSeconds"] = retry_after
    return error_response(status, error.code, error.message, details, headers=headers)


def internal_error_response(request_id: str | None) -> Response[str]:
    message = "internal error" + (f"; quote request id {request_id} when reporting it" if request_id else "")
    return error_response(
        HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", message, {"requestId": request_id} if request_id else None
    )


def validation_error_response(errors: Sequence[Mapping[str, Any]]) -> Response[str]:
    """422 naming each field that is wrong and why (never echoing the input: it may be a key or huge)."""
    problems = [_describe_validation_error(error) for error in errors[:_MAX_VALIDATION_ERRORS]]
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    more = len(errors) - len(problems)
    if more > 0:
        summary += f"; and {more} more"
    return error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "validation_failed",
        f"invalid request: {summary}",
        {"errors": problems},
    )


def _describe_validation_error(error: Mapping[str, Any]) -> dict[str, str]:
    loc = [str(part) for part in error.get("loc", ())]
    kind = str(error.get("type", "invalid"))
    if kind == "json_invalid":
        return {"field": "body", "type": kind, "message": "the request body is not valid JSON"}
    if loc == ["body"] and kind == "missing":
        return {"field": "body", "type": kind, "message": "a JSON request body is required"}
    if kind == "extra_forbidden":
        message = "unknown field (not allowed)"
    else:
        message = str(error.get("msg", "invalid value"))
    return {"field": ".".join(loc) or "request", "type": kind, "message": message}


def register_error_handlers(
    app: ApiGatewayResolver, *, request_id: Callable[[], str | None] = current_request_id
) -> None:
    """Install the mapping on a resolver. `request_id()` returns the current request's id (quoted in 500s)."""

    @app.exception_handler(PerceoError)
    def _domain(error: PerceoError) -> Response[str]:
        return domain_error_response(error, request_id=request_id())

    @app.exception_handler(RequestValidationError)
    def _invalid(error: RequestValidationError) -> Response[str]:
        return validation_error_response(list(error.errors()))

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(_: RequestUnsupportedContentType) -> Response[str]:
        # `serve` answers this before the resolver does (perceo.api.body); kept so no path to a 500 remains.
        return error_response(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            UnsupportedMediaTypeError.code,
            "request bodies must be JSON: send Content-Type: application/json",
        )

    @app.not_found
    def _no_route(_: RouteNotFoundError) -> Response[str]:
        return error_response(HTTPStatus.NOT_FOUND, "route_not_found", "no such route")

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[str]:
        logger.exception("unhandled error in a route", exc_info=error)
        return internal_error_response(request_id())
