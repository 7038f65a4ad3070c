"""API Gateway's request handling for one REST API with Lambda proxy integrations, on plain values:
`Gateway.handle` takes a request and returns the response (tests and benchmarks call it directly; `server` puts it
on the wire). The stage, throttling and payload limit first, then the route, the CORS preflight, the authorizer,
and the function."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from perceo.auth.ratelimit import InMemoryRateLimiter, RateDecision
from perceo_cli.local.apigw.authorizers import Authorizers
from perceo_cli.local.apigw.definition import RestApi, Route
from perceo_cli.local.apigw.events import proxy_event, request_context
from perceo_cli.local.apigw.messages import MAX_PAYLOAD_BYTES, GatewayRequest, GatewayResponse
from perceo_cli.local.apigw.responses import (
    GatewayError,
    bad_gateway,
    gateway_response,
    headers_too_large,
    method_not_allowed,
    missing_token,
    preflight,
    proxy_response,
    standard_headers,
    uri_too_long,
)
from perceo_cli.local.apigw.routing import match_route, method_arn, route_for
from perceo_cli.local.lambdas import Invoker, LambdaInvocationError

logger = logging.getLogger(__name__)

#: The methods a REST API routes; anything else (TRACE, CONNECT, made-up ones) is a 405 naming what the resource has.
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
#: API Gateway's quota for REST APIs: the request line and header values together, in bytes.
MAX_HEADER_BYTES = 10240


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
        self._wall_clock = wall_clock
        self._throttle = _stage_throttle(api, clock) if throttle else None
        self._authorizers = Authorizers(api, runtime, clock=clock, wall_clock=wall_clock)

    @property
    def authorizer_calls(self) -> dict[str, int]:
        """Calls made to each authorizer (cache misses), for tests and the bench."""
        return self._authorizers.calls

    def method_arn(self, method: str, path: str) -> str:
        return method_arn(self.api, method, path)

    def handle(self, request: GatewayRequest) -> GatewayResponse:
        request_id = str(uuid.uuid4())
        try:
            return self._handle(request, request_id)
        except GatewayError as error:
            return gateway_response(self.api, error, request_id, self._standard_headers(request_id))

    def _handle(self, request: GatewayRequest, request_id: str) -> GatewayResponse:
        split = urlsplit(request.target)
        raw_segments = [s for s in split.path.split("/") if s]
        if not raw_segments or unquote(raw_segments[0]) != self.api.stage:
            raise GatewayError("DEFAULT_4XX", 403, {"message": "Forbidden"})
        segments = [unquote(s) for s in raw_segments[1:]]
        path = "/" + "/".join(segments)
        request_line = len(request.method) + len(request.target) + len(request.protocol) + 2
        if request_line > MAX_HEADER_BYTES:
            raise uri_too_long(MAX_HEADER_BYTES)
        if request_line + sum(len(value) for _, value in request.headers) > MAX_HEADER_BYTES:
            raise headers_too_large(MAX_HEADER_BYTES)
        if len(request.body) > MAX_PAYLOAD_BYTES:
            raise GatewayError("REQUEST_TOO_LARGE", 413, {"message": "Request Too Long"})
        if self._throttle is not None and not self._throttle.check("stage").allowed:
            raise GatewayError("THROTTLED", 429, {"message": "Too Many Requests"})
        method = request.method.upper()
        matched = match_route(self.api, segments)
        if matched is None:
            raise missing_token()
        resource, path_params = matched
        if method not in HTTP_METHODS:
            allowed = list(self.api.methods_on(resource))
            if self.api.cors is not None and "OPTIONS" not in allowed:
                allowed.append("OPTIONS")
            raise method_not_allowed(allowed)
        if method == "OPTIONS" and self.api.cors is not None and not route_for(self.api, resource, "OPTIONS"):
            if self.api.add_authorizer_to_preflight:
                self._authorizers.authorize_preflight(request, resource, path, path_params, request_id)
            return preflight(self.api, resource, self._standard_headers(request_id))
        route = route_for(self.api, resource, method)
        if route is None:
            raise missing_token()

        query = parse_qsl(split.query, keep_blank_values=True)
        context = request_context(self.api, request, route, path, request_id, self._wall_clock())
        if route.authorizer is not None:
            context["authorizer"] = self._authorizers.authorize(request, route, path, path_params, query, context)
        event = proxy_event(self.api, request, route, path, path_params, query, context)
        return self._integrate(route, event, request_id)

    def _integrate(self, route: Route, event: dict[str, Any], request_id: str) -> GatewayResponse:
        try:
            result = self.runtime.invoke(route.function, event, request_id=request_id)
        except LambdaInvocationError as error:
            logger.warning(
                "%s %s: function %s failed (%s)", event["httpMethod"], event["path"], route.function, error.error_type
            )
            raise bad_gateway() from error
        status, headers, body = proxy_response(result, route.function)
        names = {k.lower() for k, _ in headers}
        if "content-type" not in names:
            headers.append(("Content-Type", "application/json"))
        headers += self._standard_headers(request_id)
        return GatewayResponse(status=status, headers=headers, body=body)

    def _standard_headers(self, request_id: str) -> list[tuple[str, str]]:
        return standard_headers(request_id, self._wall_clock())


def _stage_throttle(api: RestApi, clock: Callable[[], float]) -> InMemoryRateLimiter | DenyAll:
    """The stage's token bucket (the one `perceo.auth.ratelimit` implementation); a rate or burst of 0 denies all,
    as in API Gateway."""
    if api.throttle_rate <= 0 or api.throttle_burst < 1:
        return DenyAll()
    return InMemoryRateLimiter(api.throttle_rate, api.throttle_burst, clock=lambda: int(clock() * 1000))


class DenyAll:
    """A stage throttled to zero: every request is refused."""

    def check(self, key_id: str, *, cost: int = 1) -> RateDecision:
        return RateDecision(allowed=False, retry_after_s=1.0, remaining=0)
