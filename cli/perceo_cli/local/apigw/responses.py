"""What the gateway answers itself and how it reads what a function answers: gateway errors with the template's
`GatewayResponses`, the CORS preflight from its `Cors`, the headers every answer carries, and Lambda proxy
responses (a malformed one is a 502, as in API Gateway)."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from perceo_cli.local.apigw.definition import RestApi
from perceo_cli.local.apigw.messages import GatewayResponse

logger = logging.getLogger(__name__)


class GatewayError(Exception):
    """A response API Gateway makes itself (a gateway response type), not the integration."""

    def __init__(
        self, kind: str, status: int, body: dict[str, Any], *, headers: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = status
        self.body = body
        #: Headers this answer needs besides the template's (`Allow` on a 405).
        self.headers = list(headers or [])
        #: `$context.error.message`: None for the errors API Gateway answers with `{"message": null}`.
        self.message: str | None = next(iter(body.values()), None)


def missing_token() -> GatewayError:
    return GatewayError("MISSING_AUTHENTICATION_TOKEN", 403, {"message": "Missing Authentication Token"})


def unauthorized() -> GatewayError:
    return GatewayError("UNAUTHORIZED", 401, {"message": "Unauthorized"})


def authorizer_error() -> GatewayError:
    return GatewayError("AUTHORIZER_CONFIGURATION_ERROR", 500, {"message": None})


def method_not_allowed(allowed: list[str]) -> GatewayError:
    return GatewayError("DEFAULT_4XX", 405, {"message": "Method Not Allowed"}, headers=[("Allow", ", ".join(allowed))])


def uri_too_long(limit: int) -> GatewayError:
    return GatewayError("DEFAULT_4XX", 414, {"message": f"URI Too Long: the request line may be {limit} bytes"})


def headers_too_large(limit: int) -> GatewayError:
    message = f"Request Header Fields Too Large: the request line and headers may total {limit} bytes"
    return GatewayError("DEFAULT_4XX", 431, {"message": message})


def bad_gateway() -> GatewayError:
    return GatewayError("DEFAULT_5XX", 502, {"message": "Internal server error"})


def standard_headers(request_id: str, now: float) -> list[tuple[str, str]]:
    """The headers API Gateway adds to every answer (`now`: the wall clock, for the trace id)."""
    return [
        ("x-amzn-RequestId", request_id),
        ("x-amz-apigw-id", request_id[:16]),
        ("X-Amzn-Trace-Id", f"Root=1-{int(now):08x}-{request_id.replace('-', '')[:24]}"),
    ]


def preflight(api: RestApi, resource: str, standard: list[tuple[str, str]]) -> GatewayResponse:
    """The answer to an OPTIONS request on `resource`, from the API's `Cors` (SAM's mock integration)."""
    cors = api.cors
    assert cors is not None
    methods = cors.allow_methods or ",".join([*api.methods_on(resource), "OPTIONS"])
    headers = [("Access-Control-Allow-Origin", cors.allow_origin), ("Access-Control-Allow-Methods", methods)]
    if cors.allow_headers:
        headers.append(("Access-Control-Allow-Headers", cors.allow_headers))
    if cors.max_age:
        headers.append(("Access-Control-Max-Age", cors.max_age))
    if cors.allow_credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    headers += [("Content-Type", "application/json"), *standard]
    return GatewayResponse(status=200, headers=headers, body=b"")


def gateway_response(
    api: RestApi, error: GatewayError, request_id: str, standard: list[tuple[str, str]]
) -> GatewayResponse:
    """A gateway error as the template's `GatewayResponses` shape it (its type's, else DEFAULT_4XX/5XX)."""
    group = "DEFAULT_5XX" if error.status >= 500 else "DEFAULT_4XX"
    spec = api.gateway_responses.get(error.kind) or api.gateway_responses.get(group)
    status = spec.status if spec is not None and spec.status else error.status
    body = json.dumps(error.body, separators=(",", ":"))
    if spec is not None and spec.template:
        body = (
            spec.template.replace("$context.error.messageString", json.dumps(error.message))
            .replace("$context.error.message", error.message or "")
            .replace("$context.requestId", request_id)
        )
    headers = [("Content-Type", "application/json")]
    if spec is not None:
        headers += list(spec.headers.items())
    headers += [*error.headers, ("x-amzn-ErrorType", error_type(error)), *standard]
    return GatewayResponse(status=status, headers=headers, body=body.encode("utf-8"))


def error_type(error: GatewayError) -> str:
    known = {
        "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
        "UNAUTHORIZED": "UnauthorizedException",
        "ACCESS_DENIED": "AccessDeniedException",
        "AUTHORIZER_CONFIGURATION_ERROR": "AuthorizerConfigurationException",
        "THROTTLED": "TooManyRequestsException",
        "REQUEST_TOO_LARGE": "RequestTooLargeException",
    }
    if error.kind in known:
        return known[error.kind]
    if error.status >= 500:
        return "InternalServerErrorException"
    return {
        405: "MethodNotAllowedException",
        414: "RequestUriTooLongException",
        431: "RequestHeaderFieldsTooLargeException",
    }.get(error.status, "ForbiddenException")


def proxy_response(result: Any, function: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of a Lambda proxy response; 502 when it is not one (as API Gateway answers)."""
    allowed = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies"}
    if not isinstance(result, dict) or not set(result) <= allowed:
        logger.warning("function %s returned a malformed proxy response", function)
        raise bad_gateway()
    try:
        status = int(result.get("statusCode", 200))
        headers: list[tuple[str, str]] = []
        multi = result.get("multiValueHeaders") or {}
        for name, values in multi.items():
            headers += [(str(name), str(v)) for v in values]
        for name, value in (result.get("headers") or {}).items():
            if name not in multi:
                headers.append((str(name), str(value)))
        raw_body = result.get("body")
        text = "" if raw_body is None else str(raw_body)
        body = base64.b64decode(text) if result.get("isBase64Encoded") else text.encode("utf-8")
    except (TypeError, ValueError, AttributeError) as error:
        logger.warning("function %s returned a malformed proxy response: %s", function, error)
        raise bad_gateway() from error
    if not 100 <= status <= 599:
        raise bad_gateway()
    return status, headers, body
