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
- A stage-wide token bucket from `MethodSettings` answers 429 (`perceo.auth.ratelimit`'s, the one bucket the
  per-key limiter uses too); bodies over 10 MB are 413.

One module per job: `definition` (the API read from the template), `routing`, `events` (what functions receive),
`authorizers` (calls, cache, policies), `responses` (gateway responses, CORS preflight, proxy
responses), `gateway` (`Gateway.handle`, the whole behaviour on plain values) and `server` (`ApiServer`, the
stdlib HTTP server in front of it).
"""

from perceo_cli.local.apigw.definition import RestApi, read_rest_api
from perceo_cli.local.apigw.gateway import Gateway
from perceo_cli.local.apigw.messages import GatewayRequest, GatewayResponse
from perceo_cli.local.apigw.server import ApiServer

__all__ = ["ApiServer", "Gateway", "GatewayRequest", "GatewayResponse", "RestApi", "read_rest_api"]
