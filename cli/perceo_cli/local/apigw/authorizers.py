"""Lambda authorizers as API Gateway runs them: identity sources (missing ones are 401 without a call), the
REQUEST/TOKEN event, a policy cache per identity for `ReauthorizeEvery` seconds, and each request's method ARN held
against the (cached) policy: an explicit Deny or no Allow is 403, an authorizer that fails or answers nonsense 500."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perceo_cli.local.apigw.definition import Authorizer, RestApi, Route
from perceo_cli.local.apigw.events import event_headers, request_context
from perceo_cli.local.apigw.messages import GatewayRequest, grouped, header
from perceo_cli.local.apigw.responses import GatewayError, authorizer_error, unauthorized
from perceo_cli.local.apigw.routing import method_arn
from perceo_cli.local.lambdas import Invoker, LambdaInvocationError

logger = logging.getLogger(__name__)


@dataclass
class CachedPolicy:
    expires_at: float
    principal_id: str
    statements: list[dict[str, Any]]
    context: dict[str, str]


class Authorizers:
    """The API's authorizers, invoked through `runtime`, with their policy cache."""

    def __init__(
        self,
        api: RestApi,
        runtime: Invoker,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.api = api
        self.runtime = runtime
        self._clock = clock
        self._wall_clock = wall_clock
        self._cache: dict[tuple[str, tuple[str, ...]], CachedPolicy] = {}
        self._cache_lock = threading.Lock()
        #: Calls made to each authorizer (cache misses), for tests and the bench.
        self.calls: dict[str, int] = {}

    def authorize(
        self,
        request: GatewayRequest,
        route: Route,
        path: str,
        path_params: dict[str, str],
        query: list[tuple[str, str]],
        context: dict[str, Any],
    ) -> dict[str, Any]:
        """The `requestContext.authorizer` the integration gets; GatewayError (401, 403, 500) otherwise."""
        assert route.authorizer is not None
        authorizer = self.api.authorizers[route.authorizer]
        identity = self._identity(authorizer, request, query)
        if identity is None:
            raise unauthorized()
        if authorizer.payload_type == "TOKEN" and authorizer.token_validation:
            if not re.fullmatch(authorizer.token_validation, identity[0]):
                raise unauthorized()
        arn = method_arn(self.api, request.method.upper(), path)
        policy = self._cached(authorizer, identity)
        if policy is None:
            event = self._event(authorizer, request, route, path, path_params, query, context, arn)
            policy = self._call(authorizer, event, identity, context["requestId"])
        enforce(policy.statements, arn)
        return {"principalId": policy.principal_id, "integrationLatency": 0, **policy.context}

    def authorize_preflight(
        self, request: GatewayRequest, resource: str, path: str, path_params: dict[str, str], request_id: str
    ) -> None:
        """`AddDefaultAuthorizerToCorsPreflight`: an OPTIONS request passes the resource's authorizers too."""
        names = {r.authorizer for r in self.api.routes if r.resource == resource and r.authorizer}
        for name in sorted(n for n in names if n is not None):
            authorizer = self.api.authorizers[name]
            route = Route(method="OPTIONS", resource=resource, function=authorizer.function, authorizer=name)
            context = request_context(self.api, request, route, path, request_id, self._wall_clock())
            self.authorize(request, route, path, path_params, [], context)

    def _identity(
        self, authorizer: Authorizer, request: GatewayRequest, query: list[tuple[str, str]]
    ) -> tuple[str, ...] | None:
        values: list[str] = []
        for name in authorizer.identity_headers:
            value = header(request.headers, name)
            if not value:
                return None
            values.append(value)
        query_values = dict(query)
        for name in authorizer.identity_query:
            if not query_values.get(name):
                return None
            values.append(query_values[name])
        return tuple(values)

    def _event(
        self,
        authorizer: Authorizer,
        request: GatewayRequest,
        route: Route,
        path: str,
        path_params: dict[str, str],
        query: list[tuple[str, str]],
        context: dict[str, Any],
        arn: str,
    ) -> dict[str, Any]:
        if authorizer.payload_type == "TOKEN":
            token = header(request.headers, authorizer.identity_headers[0]) or ""
            return {"type": "TOKEN", "authorizationToken": token, "methodArn": arn}
        headers, multi_headers = grouped(event_headers(request))
        query_single, query_multi = grouped(query)
        return {
            "type": "REQUEST",
            "methodArn": arn,
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

    def _cached(self, authorizer: Authorizer, identity: tuple[str, ...]) -> CachedPolicy | None:
        if authorizer.reauthorize_every_s <= 0:
            return None
        with self._cache_lock:
            cached = self._cache.get((authorizer.name, identity))
            if cached is not None and cached.expires_at > self._clock():
                return cached
            return None

    def _call(
        self, authorizer: Authorizer, event: dict[str, Any], identity: tuple[str, ...], request_id: str
    ) -> CachedPolicy:
        self.calls[authorizer.name] = self.calls.get(authorizer.name, 0) + 1
        try:
            result = self.runtime.invoke(authorizer.function, event, request_id=request_id)
        except LambdaInvocationError as error:
            if error.error_message == "Unauthorized":
                raise unauthorized() from error
            raise authorizer_error() from error
        policy = parse_policy(result, authorizer.name)
        if authorizer.reauthorize_every_s > 0:
            policy.expires_at = self._clock() + authorizer.reauthorize_every_s
            with self._cache_lock:
                self._cache[(authorizer.name, identity)] = policy
        return policy


def parse_policy(result: Any, name: str) -> CachedPolicy:
    """Validate an authorizer's answer the way API Gateway does; nonsense is an authorizer configuration error."""
    if not isinstance(result, dict) or not isinstance(result.get("policyDocument"), dict):
        logger.warning("authorizer %s returned no policyDocument", name)
        raise authorizer_error()
    statements = result["policyDocument"].get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    principal = result.get("principalId")
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements) or principal is None:
        logger.warning("authorizer %s returned a malformed policy", name)
        raise authorizer_error()
    context: dict[str, str] = {}
    for key, value in (result.get("context") or {}).items():
        if isinstance(value, bool):
            context[key] = str(value).lower()
        elif isinstance(value, str | int | float):
            context[key] = str(value)
        else:
            logger.warning("authorizer %s: context[%s] is not a string, number or boolean", name, key)
            raise authorizer_error()
    return CachedPolicy(expires_at=0.0, principal_id=str(principal), statements=statements, context=context)


def resource_matches(pattern: str, arn: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, arn) is not None


def statement_applies(statement: dict[str, Any], method_arn: str) -> bool:
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    if not any(a in {"execute-api:Invoke", "execute-api:*", "*"} for a in actions):
        return False
    resources = statement.get("Resource", [])
    resources = [resources] if isinstance(resources, str) else resources
    return any(resource_matches(str(r), method_arn) for r in resources)


def enforce(statements: list[dict[str, Any]], method_arn: str) -> None:
    applicable = [s for s in statements if statement_applies(s, method_arn)]
    if any(str(s.get("Effect")).lower() == "deny" for s in applicable):
        raise GatewayError(
            "ACCESS_DENIED", 403, {"Message": "User is not authorized to access this resource with an explicit deny"}
        )
    if not any(str(s.get("Effect")).lower() == "allow" for s in applicable):
        raise GatewayError("ACCESS_DENIED", 403, {"Message": "User is not authorized to access this resource"})
