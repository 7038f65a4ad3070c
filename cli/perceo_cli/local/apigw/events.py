"""The events a function receives: the request context and the Lambda proxy event (v1) API Gateway builds."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
from datetime import UTC, datetime
from typing import Any

from perceo_cli.local.apigw.definition import RestApi, Route
from perceo_cli.local.apigw.messages import GatewayRequest, grouped, header


def request_context(
    api: RestApi, request: GatewayRequest, route: Route, path: str, request_id: str, now: float
) -> dict[str, Any]:
    """`requestContext` of the events (`now`: the wall clock)."""
    host = header(request.headers, "Host") or "localhost"
    return {
        "accountId": api.account_id,
        "apiId": api.api_id,
        "resourceId": hashlib.sha256(route.resource.encode()).hexdigest()[:6],
        "resourcePath": route.resource,
        "httpMethod": request.method.upper(),
        "path": f"/{api.stage}{path}",
        "stage": api.stage,
        "protocol": request.protocol,
        "domainName": host,
        "domainPrefix": host.split(".")[0].split(":")[0],
        "requestId": request_id,
        "extendedRequestId": request_id,
        "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(now * 1000),
        "identity": {
            "sourceIp": request.source_ip,
            "userAgent": header(request.headers, "User-Agent"),
            "accountId": None,
            "apiKey": None,
            "caller": None,
            "user": None,
            "userArn": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "accessKey": None,
        },
    }


def event_headers(request: GatewayRequest) -> list[tuple[str, str]]:
    """The request's headers as a function sees them: API Gateway sets X-Forwarded-For and -Proto."""
    headers = [(k, v) for k, v in request.headers if k.lower() not in {"x-forwarded-for", "x-forwarded-proto"}]
    forwarded = header(request.headers, "X-Forwarded-For")
    headers.append(("X-Forwarded-For", f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip))
    headers.append(("X-Forwarded-Proto", "http"))
    return headers


def proxy_event(
    api: RestApi,
    request: GatewayRequest,
    route: Route,
    path: str,
    path_params: dict[str, str],
    query: list[tuple[str, str]],
    context: dict[str, Any],
) -> dict[str, Any]:
    """The Lambda proxy event (v1); the body is base64 for binary media types and bytes that are not UTF-8."""
    headers, multi_headers = grouped(event_headers(request))
    query_single, query_multi = grouped(query)
    body: str | None = None
    is_base64 = False
    if request.body:
        content_type = header(request.headers, "Content-Type") or ""
        if is_binary(api, content_type):
            body, is_base64 = base64.b64encode(request.body).decode("ascii"), True
        else:
            try:
                body = request.body.decode("utf-8")
            except UnicodeDecodeError:
                body, is_base64 = base64.b64encode(request.body).decode("ascii"), True
    return {
        "resource": route.resource,
        "path": path,
        "httpMethod": request.method.upper(),
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query_single or None,
        "multiValueQueryStringParameters": query_multi or None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def is_binary(api: RestApi, content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    patterns = api.binary_media_types
    return bool(media_type) and any(fnmatch.fnmatch(media_type, pattern.lower()) for pattern in patterns)
