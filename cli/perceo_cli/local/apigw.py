"""A local API Gateway: the REST API of a SAM template served over HTTP on loopback, without Docker.

It reads the routes (`Events` of type `Api` on the API), the authorizers, CORS, gateway responses and
throttling from the template, and does what API Gateway does for a REST API with Lambda proxy integrations:

- URLs are `http://host:port/<stage>/<path>`; the stage is the API's StageName, as in the real invoke URL.
- Resource matching prefers literal segments over `{param}` over `{proxy+}`; an unknown resource or a method
  the resource lacks is 403 `{"message":"Missing Authentication Token"}`.
- A REQUEST (or TOKEN) Lambda authorizer is called with its event shape (`type`, `methodArn`, headers, query,
  path parameters, requestContext). Missing identity sources are 401 without a call; `Unauthorized` raised by
  the authorizer is 401; an explicit Deny (or no Allow for the method ARN) is 403; an authorizer that fails or
  answers nonsense is 500. Policies are cached per identity-source values for `ReauthorizeEvery` seconds and,
  as in API Gateway, a cached policy is re-evaluated against each request's method ARN.
- The proxy event (v1) has resource, path, httpMethod, headers and multiValueHeaders, query parameters (single
  and multi-value), pathParameters, stageVariables, body (base64 for binary media types or bytes that are not
  UTF-8) and requestContext (requestId, stage, resourcePath, identity.sourceIp, the authorizer's principalId
  and context, with values as strings).
- CORS preflight (OPTIONS) is answered from the template's `Cors` without the authorizer, as SAM's mock
  integration does; gateway-made errors carry the headers of the template's `GatewayResponses`.
- A stage-wide token bucket from `MethodSettings` answers 429; bodies over 10 MB are 413.

`Gateway.handle` is the whole behaviour on plain values (tests and benchmarks call it directly); `ApiServer`
puts it behind a stdlib `ThreadingHTTPServer`.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from perceo.errors import ConfigError
from perceo_cli.local.lambdas import Invoker, LambdaInvocationError
from perceo_cli.local.template import DEFAULT_ACCOUNT, DEFAULT_REGION, NO_VALUE, FunctionSpec, Intrinsics

logger = logging.getLogger(__name__)

#: API Gateway's payload limit for REST APIs.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
#: API Gateway's account-level defaults when the template sets no throttling.
DEFAULT_THROTTLE_RATE = 10_000.0
DEFAULT_THROTTLE_BURST = 5_000
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "+json", "+xml")


# ------------------------------------------------------------------------------------------------ the API model


@dataclass(frozen=True)
class Route:
    """One method on one resource, integrated with one function."""

    method: str  # GET, POST, ..., or ANY
    resource: str  # the resource path template, e.g. /flows/{id}
    function: str  # logical id
    authorizer: str | None  # authorizer name, None for `Authorizer: NONE`
    segments: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(s for s in self.resource.split("/") if s))


@dataclass(frozen=True)
class Authorizer:
    name: str
    function: str  # logical id
    payload_type: str  # REQUEST or TOKEN
    identity_headers: tuple[str, ...]
    identity_query: tuple[str, ...]
    reauthorize_every_s: int
    token_validation: str | None = None


@dataclass(frozen=True)
class Cors:
    allow_origin: str
    allow_headers: str | None
    allow_methods: str | None
    max_age: str | None
    allow_credentials: bool


@dataclass(frozen=True)
class GatewayResponseSpec:
    status: int | None
    headers: Mapping[str, str]
    template: str | None


@dataclass(frozen=True)
class RestApi:
    logical_id: str
    api_id: str
    stage: str
    routes: tuple[Route, ...]
    authorizers: Mapping[str, Authorizer]
    cors: Cors | None
    add_authorizer_to_preflight: bool
    gateway_responses: Mapping[str, GatewayResponseSpec]
    throttle_rate: float
    throttle_burst: int
    binary_media_types: tuple[str, ...]
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT

    def methods_on(self, resource: str) -> list[str]:
        return sorted({r.method for r in self.routes if r.resource == resource})


def _unquote(value: Any) -> str:
    """SAM's CORS and gateway-response values are quoted for API Gateway: "'value'"."""
    text = str(value)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


def _function_of(node: Any, functions: Mapping[str, FunctionSpec], where: str, source: str) -> str:
    """The logical id of the function an authorizer's FunctionArn points at (`!GetAtt Fn.Arn`)."""
    if isinstance(node, Mapping) and "Fn::GetAtt" in node:
        target = node["Fn::GetAtt"]
        name = target[0] if isinstance(target, list) else str(target).split(".", 1)[0]
        if name in functions:
            return str(name)
    raise ConfigError(f"{source}: {where}: the local cloud needs FunctionArn: !GetAtt <Function>.Arn of this template")


def read_rest_api(
    intrinsics: Intrinsics, functions: Mapping[str, FunctionSpec], *, api_logical_id: str | None = None
) -> RestApi:
    """The REST API `api_logical_id` (default: the template's only AWS::Serverless::Api) and its routes."""
    source = str(intrinsics.source)
    apis = [
        k for k, v in intrinsics.resources.items() if isinstance(v, Mapping) and v.get("Type") == "AWS::Serverless::Api"
    ]
    if api_logical_id is None:
        if len(apis) != 1:
            raise ConfigError(f"{source}: expected one AWS::Serverless::Api, found {len(apis)}; name the one to serve")
        api_logical_id = apis[0]
    elif api_logical_id not in apis:
        raise ConfigError(f"{source}: no AWS::Serverless::Api named {api_logical_id}")
    where = f"Resources.{api_logical_id}.Properties"
    raw = intrinsics.resources[api_logical_id].get("Properties") or {}
    props = intrinsics.resolve(raw, where)
    auth_raw = raw.get("Auth") or {}
    auth = props.get("Auth") or {}

    authorizers: dict[str, Authorizer] = {}
    for name, spec in (auth.get("Authorizers") or {}).items():
        identity = spec.get("Identity") or {}
        payload_type = str(spec.get("FunctionPayloadType", "TOKEN")).upper()
        token_header = [identity.get("Header", "Authorization")] if payload_type == "TOKEN" else []
        headers = identity.get("Headers") or token_header
        authorizers[name] = Authorizer(
            name=name,
            function=_function_of(auth_raw["Authorizers"][name].get("FunctionArn"), functions, f"{where}.Auth", source),
            payload_type=payload_type,
            identity_headers=tuple(str(h) for h in headers),
            identity_query=tuple(str(q) for q in identity.get("QueryStrings") or []),
            reauthorize_every_s=int(identity.get("ReauthorizeEvery", 300)),
            token_validation=identity.get("ValidationExpression"),
        )
    default_authorizer = auth.get("DefaultAuthorizer")
    if default_authorizer is not None and default_authorizer not in authorizers:
        raise ConfigError(f"{source}: {where}.Auth.DefaultAuthorizer {default_authorizer} is not defined")

    routes = _read_routes(intrinsics, functions, api_logical_id, authorizers, default_authorizer)
    cors = _read_cors(props.get("Cors"))
    throttle_rate, throttle_burst = DEFAULT_THROTTLE_RATE, DEFAULT_THROTTLE_BURST
    for setting in props.get("MethodSettings") or []:
        if setting.get("ResourcePath") == "/*" and setting.get("HttpMethod") == "*":
            throttle_rate = float(setting.get("ThrottlingRateLimit", throttle_rate))
            throttle_burst = int(setting.get("ThrottlingBurstLimit", throttle_burst))
    responses = {
        kind: GatewayResponseSpec(
            status=int(spec["StatusCode"]) if spec.get("StatusCode") else None,
            headers={k: _unquote(v) for k, v in ((spec.get("ResponseParameters") or {}).get("Headers") or {}).items()},
            template=(spec.get("ResponseTemplates") or {}).get("application/json"),
        )
        for kind, spec in (props.get("GatewayResponses") or {}).items()
    }
    digest = hashlib.sha256(f"{intrinsics.source}:{api_logical_id}".encode()).hexdigest()
    return RestApi(
        logical_id=api_logical_id,
        api_id="local" + digest[:5],
        stage=str(props.get("StageName", "Prod")),
        routes=tuple(routes),
        authorizers=authorizers,
        cors=cors,
        add_authorizer_to_preflight=bool(auth.get("AddDefaultAuthorizerToCorsPreflight", True)),
        gateway_responses=responses,
        throttle_rate=throttle_rate,
        throttle_burst=throttle_burst,
        binary_media_types=tuple(str(t).replace("~1", "/") for t in props.get("BinaryMediaTypes") or []),
        region=intrinsics.region,
        account_id=intrinsics.account_id,
    )


def _read_routes(
    intrinsics: Intrinsics,
    functions: Mapping[str, FunctionSpec],
    api_logical_id: str,
    authorizers: Mapping[str, Authorizer],
    default_authorizer: str | None,
) -> list[Route]:
    routes: list[Route] = []
    seen: dict[tuple[str, str], str] = {}
    for logical_id in functions:
        events = (intrinsics.resources[logical_id].get("Properties") or {}).get("Events") or {}
        for event_name, event in events.items():
            if not isinstance(event, Mapping) or event.get("Type") != "Api":
                continue
            props = event.get("Properties") or {}
            if props.get("RestApiId") != {"Ref": api_logical_id}:
                continue
            where = f"Resources.{logical_id}.Properties.Events.{event_name}"
            path = str(intrinsics.resolve(props.get("Path"), where))
            method = str(intrinsics.resolve(props.get("Method"), where)).upper()
            method = "ANY" if method in {"ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD"} else method
            auth = (props.get("Auth") or {}).get("Authorizer", default_authorizer)
            authorizer = None if auth in (None, "NONE") else str(auth)
            if authorizer is not None and authorizer not in authorizers:
                raise ConfigError(f"{intrinsics.source}: {where}: unknown authorizer {authorizer}")
            key = (method, path.rstrip("/") or "/")
            if key in seen:
                raise ConfigError(f"{intrinsics.source}: {where}: {method} {path} is also routed by {seen[key]}")
            seen[key] = f"{logical_id}.{event_name}"
            routes.append(Route(method=method, resource=key[1], function=logical_id, authorizer=authorizer))
    return routes


def _read_cors(cors: Any) -> Cors | None:
    if cors is None or cors is NO_VALUE:
        return None
    if isinstance(cors, str):
        return Cors(
            allow_origin=_unquote(cors), allow_headers=None, allow_methods=None, max_age=None, allow_credentials=False
        )
    return Cors(
        allow_origin=_unquote(cors.get("AllowOrigin", "'*'")),
        allow_headers=_unquote(cors["AllowHeaders"]) if cors.get("AllowHeaders") else None,
        allow_methods=_unquote(cors["AllowMethods"]) if cors.get("AllowMethods") else None,
        max_age=_unquote(cors["MaxAge"]) if cors.get("MaxAge") else None,
        allow_credentials=bool(cors.get("AllowCredentials", False)),
    )


# ------------------------------------------------------------------------------------------------ requests


@dataclass(frozen=True)
class GatewayRequest:
    method: str
    #: The request target as sent: path (percent-encoded) and query string.
    target: str
    headers: Sequence[tuple[str, str]]
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body)


class _GatewayError(Exception):
    """A response API Gateway makes itself (a gateway response type), not the integration."""

    def __init__(self, kind: str, status: int, body: dict[str, Any]) -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = status
        self.body = body
        #: `$context.error.message`: None for the errors API Gateway answers with `{"message": null}`.
        self.message: str | None = next(iter(body.values()), None)


def _missing_token() -> _GatewayError:
    return _GatewayError("MISSING_AUTHENTICATION_TOKEN", 403, {"message": "Missing Authentication Token"})


def _unauthorized() -> _GatewayError:
    return _GatewayError("UNAUTHORIZED", 401, {"message": "Unauthorized"})


def _authorizer_error() -> _GatewayError:
    return _GatewayError("AUTHORIZER_CONFIGURATION_ERROR", 500, {"message": None})


def _bad_gateway() -> _GatewayError:
    return _GatewayError("DEFAULT_5XX", 502, {"message": "Internal server error"})


class TokenBucket:
    """API Gateway's stage throttle: `rate` requests per second, bursts of `burst`."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


@dataclass
class _CachedPolicy:
    expires_at: float
    principal_id: str
    statements: list[dict[str, Any]]
    context: dict[str, str]


def _match_route(api: RestApi, path_segments: list[str]) -> tuple[str, dict[str, str]] | None:
    """The best resource for the path and its path parameters: literal segments beat {param} beat {proxy+}."""
    best: tuple[tuple[int, ...], str, dict[str, str]] | None = None
    for resource in {r.resource for r in api.routes}:
        segments = [s for s in resource.split("/") if s]
        params: dict[str, str] = {}
        rank: list[int] = []
        matched = True
        for i, segment in enumerate(segments):
            if segment.startswith("{") and segment.endswith("+}"):
                if i >= len(path_segments):
                    matched = False
                    break
                params[segment[1:-2]] = "/".join(path_segments[i:])
                rank.append(0)
                break
            if i >= len(path_segments):
                matched = False
                break
            if segment.startswith("{") and segment.endswith("}"):
                params[segment[1:-1]] = path_segments[i]
                rank.append(1)
            elif segment == path_segments[i]:
                rank.append(2)
            else:
                matched = False
                break
        else:
            matched = matched and len(segments) == len(path_segments)
        if matched and (best is None or tuple(rank) > best[0]):
            best = (tuple(rank), "/" + "/".join(segments), params)
    return None if best is None else (best[1], best[2])


def _grouped(pairs: Sequence[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    found = None
    for key, value in headers:
        if key.lower() == name.lower():
            found = value
    return found


class Gateway:
    """API Gateway's request handling for one REST API, invoking functions through a LambdaRuntime."""

    def __init__(
        self,
        api: RestApi,
        runtime: Invoker,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        throttle: bool = True,
    ) -> None:
        self.api = api
        self.runtime = runtime
        self._clock = clock
        self._wall_clock = wall_clock
        self._bucket = TokenBucket(api.throttle_rate, api.throttle_burst, clock) if throttle else None
        self._cache: dict[tuple[str, tuple[str, ...]], _CachedPolicy] = {}
        self._cache_lock = threading.Lock()
        #: Calls made to each authorizer (cache misses), for tests and the bench.
        self.authorizer_calls: dict[str, int] = {}

    # -- entry point ---------------------------------------------------------------------------------------------

    def handle(self, request: GatewayRequest) -> GatewayResponse:
        request_id = str(uuid.uuid4())
        try:
            return self._handle(request, request_id)
        except _GatewayError as error:
            return self._gateway_response(error, request_id)

    def _handle(self, request: GatewayRequest, request_id: str) -> GatewayResponse:
        split = urlsplit(request.target)
        raw_segments = [s for s in split.path.split("/") if s]
        if not raw_segments or unquote(raw_segments[0]) != self.api.stage:
            raise _GatewayError("DEFAULT_4XX", 403, {"message": "Forbidden"})
        segments = [unquote(s) for s in raw_segments[1:]]
        path = "/" + "/".join(segments)
        if len(request.body) > MAX_PAYLOAD_BYTES:
            raise _GatewayError("REQUEST_TOO_LARGE", 413, {"message": "Request Too Long"})
        if self._bucket is not None and not self._bucket.take():
            raise _GatewayError("THROTTLED", 429, {"message": "Too Many Requests"})
        method = request.method.upper()
        matched = _match_route(self.api, segments)
        if matched is None:
            raise _missing_token()
        resource, path_params = matched
        if method == "OPTIONS" and self.api.cors is not None and not self._route_for(resource, "OPTIONS"):
            if self.api.add_authorizer_to_preflight:
                self._authorize_preflight(request, resource, path, path_params, request_id)
            return self._preflight(resource, request_id)
        route = self._route_for(resource, method)
        if route is None:
            raise _missing_token()

        query = parse_qsl(split.query, keep_blank_values=True)
        context = self._request_context(request, route, path, request_id)
        authorizer_context: dict[str, Any] | None = None
        if route.authorizer is not None:
            authorizer_context = self._authorize(request, route, path, path_params, query, context)
            context["authorizer"] = authorizer_context
        event = self._proxy_event(request, route, path, path_params, query, context)
        return self._integrate(route, event, request_id)

    def _route_for(self, resource: str, method: str) -> Route | None:
        candidates = [r for r in self.api.routes if r.resource == resource and r.method in (method, "ANY")]
        candidates.sort(key=lambda r: r.method == "ANY")
        return candidates[0] if candidates else None

    # -- events ----------------------------------------------------------------------------------------------------

    def method_arn(self, method: str, path: str) -> str:
        return (
            f"arn:aws:execute-api:{self.api.region}:{self.api.account_id}:{self.api.api_id}/"
            f"{self.api.stage}/{method}{path}"
        )

    def _request_context(self, request: GatewayRequest, route: Route, path: str, request_id: str) -> dict[str, Any]:
        now = self._wall_clock()
        host = _header(request.headers, "Host") or "localhost"
        return {
            "accountId": self.api.account_id,
            "apiId": self.api.api_id,
            "resourceId": hashlib.sha256(route.resource.encode()).hexdigest()[:6],
            "resourcePath": route.resource,
            "httpMethod": request.method.upper(),
            "path": f"/{self.api.stage}{path}",
            "stage": self.api.stage,
            "protocol": request.protocol,
            "domainName": host,
            "domainPrefix": host.split(".")[0].split(":")[0],
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now * 1000),
            "identity": {
                "sourceIp": request.source_ip,
                "userAgent": _header(request.headers, "User-Agent"),
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

    def _event_headers(self, request: GatewayRequest) -> list[tuple[str, str]]:
        headers = [(k, v) for k, v in request.headers if k.lower() not in {"x-forwarded-for", "x-forwarded-proto"}]
        forwarded = _header(request.headers, "X-Forwarded-For")
        headers.append(("X-Forwarded-For", f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip))
        headers.append(("X-Forwarded-Proto", "http"))
        return headers

    def _proxy_event(
        self,
        request: GatewayRequest,
        route: Route,
        path: str,
        path_params: dict[str, str],
        query: list[tuple[str, str]],
        context: dict[str, Any],
    ) -> dict[str, Any]:
        headers, multi_headers = _grouped(self._event_headers(request))
        query_single, query_multi = _grouped(query)
        body: str | None = None
        is_base64 = False
        if request.body:
            content_type = _header(request.headers, "Content-Type") or ""
            if self._is_binary(content_type):
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

    def _is_binary(self, content_type: str) -> bool:
        media_type = content_type.split(";")[0].strip().lower()
        patterns = self.api.binary_media_types
        return bool(media_type) and any(fnmatch.fnmatch(media_type, pattern.lower()) for pattern in patterns)

    # -- authorizers ---------------------------------------------------------------------------------------------

    def _identity(
        self, authorizer: Authorizer, request: GatewayRequest, query: list[tuple[str, str]]
    ) -> tuple[str, ...] | None:
        values: list[str] = []
        for name in authorizer.identity_headers:
            value = _header(request.headers, name)
            if not value:
                return None
            values.append(value)
        query_values = dict(query)
        for name in authorizer.identity_query:
            if not query_values.get(name):
                return None
            values.append(query_values[name])
        return tuple(values)

    def _authorize(
        self,
        request: GatewayRequest,
        route: Route,
        path: str,
        path_params: dict[str, str],
        query: list[tuple[str, str]],
        context: dict[str, Any],
    ) -> dict[str, Any]:
        assert route.authorizer is not None
        authorizer = self.api.authorizers[route.authorizer]
        identity = self._identity(authorizer, request, query)
        if identity is None:
            raise _unauthorized()
        if authorizer.payload_type == "TOKEN" and authorizer.token_validation:
            if not re.fullmatch(authorizer.token_validation, identity[0]):
                raise _unauthorized()
        method_arn = self.method_arn(request.method.upper(), path)
        policy = self._cached(authorizer, identity)
        if policy is None:
            event = self._authorizer_event(authorizer, request, route, path, path_params, query, context, method_arn)
            policy = self._call_authorizer(authorizer, event, identity, context["requestId"])
        _enforce(policy.statements, method_arn)
        return {"principalId": policy.principal_id, "integrationLatency": 0, **policy.context}

    def _authorize_preflight(
        self, request: GatewayRequest, resource: str, path: str, path_params: dict[str, str], request_id: str
    ) -> None:
        names = {r.authorizer for r in self.api.routes if r.resource == resource and r.authorizer}
        for name in sorted(n for n in names if n is not None):
            authorizer = self.api.authorizers[name]
            route = Route(method="OPTIONS", resource=resource, function=authorizer.function, authorizer=name)
            context = self._request_context(request, route, path, request_id)
            self._authorize(request, route, path, path_params, [], context)

    def _authorizer_event(
        self,
        authorizer: Authorizer,
        request: GatewayRequest,
        route: Route,
        path: str,
        path_params: dict[str, str],
        query: list[tuple[str, str]],
        context: dict[str, Any],
        method_arn: str,
    ) -> dict[str, Any]:
        if authorizer.payload_type == "TOKEN":
            token = _header(request.headers, authorizer.identity_headers[0]) or ""
            return {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        headers, multi_headers = _grouped(self._event_headers(request))
        query_single, query_multi = _grouped(query)
        return {
            "type": "REQUEST",
            "methodArn": method_arn,
            "resource": route.resource,
            "path": path,
            "httpMethod": request.method.upper(),
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query_single,
            "multiValueQueryStringParameters": query_multi,
            "pathParameters": path_params,
            "stageVariables": {},
            "requestContext": context,
        }

    def _cached(self, authorizer: Authorizer, identity: tuple[str, ...]) -> _CachedPolicy | None:
        if authorizer.reauthorize_every_s <= 0:
            return None
        with self._cache_lock:
            cached = self._cache.get((authorizer.name, identity))
            if cached is not None and cached.expires_at > self._clock():
                return cached
            return None

    def _call_authorizer(
        self, authorizer: Authorizer, event: dict[str, Any], identity: tuple[str, ...], request_id: str
    ) -> _CachedPolicy:
        self.authorizer_calls[authorizer.name] = self.authorizer_calls.get(authorizer.name, 0) + 1
        try:
            result = self.runtime.invoke(authorizer.function, event, request_id=request_id)
        except LambdaInvocationError as error:
            if error.error_message == "Unauthorized":
                raise _unauthorized() from error
            raise _authorizer_error() from error
        policy = _parse_policy(result, authorizer.name)
        if authorizer.reauthorize_every_s > 0:
            policy.expires_at = self._clock() + authorizer.reauthorize_every_s
            with self._cache_lock:
                self._cache[(authorizer.name, identity)] = policy
        return policy

    # -- integration and responses -----------------------------------------------------------------------------

    def _integrate(self, route: Route, event: dict[str, Any], request_id: str) -> GatewayResponse:
        try:
            result = self.runtime.invoke(route.function, event, request_id=request_id)
        except LambdaInvocationError as error:
            logger.warning(
                "%s %s: function %s failed (%s)", event["httpMethod"], event["path"], route.function, error.error_type
            )
            raise _bad_gateway() from error
        status, headers, body = _proxy_response(result, route.function)
        names = {k.lower() for k, _ in headers}
        if "content-type" not in names:
            headers.append(("Content-Type", "application/json"))
        headers += self._standard_headers(request_id)
        return GatewayResponse(status=status, headers=headers, body=body)

    def _standard_headers(self, request_id: str) -> list[tuple[str, str]]:
        return [
            ("x-amzn-RequestId", request_id),
            ("x-amz-apigw-id", request_id[:16]),
            ("X-Amzn-Trace-Id", f"Root=1-{int(self._wall_clock()):08x}-{request_id.replace('-', '')[:24]}"),
        ]

    def _preflight(self, resource: str, request_id: str) -> GatewayResponse:
        cors = self.api.cors
        assert cors is not None
        methods = cors.allow_methods or ",".join([*self.api.methods_on(resource), "OPTIONS"])
        headers = [("Access-Control-Allow-Origin", cors.allow_origin), ("Access-Control-Allow-Methods", methods)]
        if cors.allow_headers:
            headers.append(("Access-Control-Allow-Headers", cors.allow_headers))
        if cors.max_age:
            headers.append(("Access-Control-Max-Age", cors.max_age))
        if cors.allow_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        headers += [("Content-Type", "application/json"), *self._standard_headers(request_id)]
        return GatewayResponse(status=200, headers=headers, body=b"")

    def _gateway_response(self, error: _GatewayError, request_id: str) -> GatewayResponse:
        group = "DEFAULT_5XX" if error.status >= 500 else "DEFAULT_4XX"
        spec = self.api.gateway_responses.get(error.kind) or self.api.gateway_responses.get(group)
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
        headers += [("x-amzn-ErrorType", _error_type(error)), *self._standard_headers(request_id)]
        return GatewayResponse(status=status, headers=headers, body=body.encode("utf-8"))


def _error_type(error: _GatewayError) -> str:
    return {
        "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
        "UNAUTHORIZED": "UnauthorizedException",
        "ACCESS_DENIED": "AccessDeniedException",
        "AUTHORIZER_CONFIGURATION_ERROR": "AuthorizerConfigurationException",
        "THROTTLED": "TooManyRequestsException",
        "REQUEST_TOO_LARGE": "RequestTooLargeException",
    }.get(error.kind, "InternalServerErrorException" if error.status >= 500 else "ForbiddenException")


def _parse_policy(result: Any, name: str) -> _CachedPolicy:
    """Validate an authorizer's answer the way API Gateway does; nonsense is an authorizer configuration error."""
    if not isinstance(result, dict) or not isinstance(result.get("policyDocument"), dict):
        logger.warning("authorizer %s returned no policyDocument", name)
        raise _authorizer_error()
    statements = result["policyDocument"].get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    principal = result.get("principalId")
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements) or principal is None:
        logger.warning("authorizer %s returned a malformed policy", name)
        raise _authorizer_error()
    context: dict[str, str] = {}
    for key, value in (result.get("context") or {}).items():
        if isinstance(value, bool):
            context[key] = str(value).lower()
        elif isinstance(value, str | int | float):
            context[key] = str(value)
        else:
            logger.warning("authorizer %s: context[%s] is not a string, number or boolean", name, key)
            raise _authorizer_error()
    return _CachedPolicy(expires_at=0.0, principal_id=str(principal), statements=statements, context=context)


def _resource_matches(pattern: str, arn: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, arn) is not None


def _statement_applies(statement: dict[str, Any], method_arn: str) -> bool:
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    if not any(a in {"execute-api:Invoke", "execute-api:*", "*"} for a in actions):
        return False
    resources = statement.get("Resource", [])
    resources = [resources] if isinstance(resources, str) else resources
    return any(_resource_matches(str(r), method_arn) for r in resources)


def _enforce(statements: list[dict[str, Any]], method_arn: str) -> None:
    applicable = [s for s in statements if _statement_applies(s, method_arn)]
    if any(str(s.get("Effect")).lower() == "deny" for s in applicable):
        raise _GatewayError(
            "ACCESS_DENIED", 403, {"Message": "User is not authorized to access this resource with an explicit deny"}
        )
    if not any(str(s.get("Effect")).lower() == "allow" for s in applicable):
        raise _GatewayError("ACCESS_DENIED", 403, {"Message": "User is not authorized to access this resource"})


def _proxy_response(result: Any, function: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of a Lambda proxy response; 502 when it is not one (as API Gateway answers)."""
    allowed = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies"}
    if not isinstance(result, dict) or not set(result) <= allowed:
        logger.warning("function %s returned a malformed proxy response", function)
        raise _bad_gateway()
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
        raise _bad_gateway() from error
    if not 100 <= status <= 599:
        raise _bad_gateway()
    return status, headers, body


# ------------------------------------------------------------------------------------------------ the HTTP server


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "perceo-local-apigw"
    # Headers and body go out in separate writes; with Nagle on, the body waits for the client's delayed ACK
    # (about 40 ms on Linux) on every keep-alive request.
    disable_nagle_algorithm = True
    gateway: Gateway  # set on the per-server subclass

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError as error:
            self.send_error(400, str(error))
            return
        request = GatewayRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        started = time.perf_counter()
        response = self.gateway.handle(request)
        logger.info(
            "%s %s -> %s (%.1f ms)",
            request.method,
            urlsplit(request.target).path,
            response.status,
            (time.perf_counter() - started) * 1000,
        )
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_PAYLOAD_BYTES + 1:
                    raise ValueError("request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_PAYLOAD_BYTES:
            # Read (and drop) it so the connection stays usable; the gateway answers 413 from the size alone.
            remaining = length
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            return b"\0" * (MAX_PAYLOAD_BYTES + 1)
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        logger.debug("http: " + format, *args)


class ApiServer:
    """The gateway behind a ThreadingHTTPServer on loopback; `url` is the stage's invoke URL."""

    def __init__(self, gateway: Gateway, *, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("GatewayRequestHandler", (_RequestHandler,), {"gateway": gateway})
        self.gateway = gateway
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/{self.gateway.api.stage}"

    def start(self) -> ApiServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-apigw", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
