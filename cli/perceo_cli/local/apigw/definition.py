"""The REST API a SAM template defines, as the local API Gateway serves it: routes (`Events` of type `Api`),
Lambda authorizers, CORS, gateway responses, stage throttling and binary media types, read through the template's
intrinsics (`perceo_cli.local.template`)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from perceo.errors import ConfigError
from perceo_cli.local.template import DEFAULT_ACCOUNT, DEFAULT_REGION, NO_VALUE, FunctionSpec, Intrinsics

#: API Gateway's account-level defaults when the template sets no throttling.
DEFAULT_THROTTLE_RATE = 10_000.0
DEFAULT_THROTTLE_BURST = 5_000


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
