"""The API Gateway REQUEST authorizer: a project API key in, an IAM policy and the caller's context out.

Contract with API Gateway (REST API, Lambda authorizer of type REQUEST):
- the key comes as `Authorization: Bearer prc_…`, the one way: it is the authorizer's identity source, which API
  Gateway requires before it calls the authorizer and caches the answer by. (Another header, such as
  `x-api-key`, cannot be an alternative: a REQUEST authorizer needs *every* identity source present, so a request
  without `Authorization` is a 401 from API Gateway itself, and one with both would be cached by both.)
- a valid key gets Allow on every method of the API's stage (`…/<stage>/*`), so one cached answer serves all
  routes; the scope each route needs is checked by the route itself from the context;
- the context is `Principal.to_authorizer_context()`: projectId, keyId, prefix, name, scopes (space-separated);
- a missing or invalid key raises `Unauthorized`, whose message "Unauthorized" API Gateway turns into a 401.
  (A Deny policy would be a 403, which is for valid keys without the right scope.)

The per-key rate limit is not applied here: API Gateway caches this answer for minutes, so the authorizer does
not see each request. `perceo.api.serve` applies it to every request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from perceo.api.request import header
from perceo.errors import AuthenticationError

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

    from perceo.auth.model import Principal
    from perceo.auth.service import ApiKeyService

logger = logging.getLogger(__name__)


class Unauthorized(Exception):
    """Raised to make API Gateway answer 401 (the message must be exactly "Unauthorized")."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def presented_key(event: Mapping[str, Any]) -> str | None:
    """The raw key from `Authorization: Bearer …`; None without one (any other header is not looked at)."""
    authorization = header(event, "Authorization")
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None


def authorize_request(
    event: Mapping[str, Any], keys: ApiKeyService, *, metrics: Metrics | None = None
) -> dict[str, Any]:
    """The authorizer's answer to a REQUEST event; `Unauthorized` for a missing or invalid key.

    Counts `KeyAccepted` / `KeyRejected` in `metrics` when given, and `KeyCheckFailed` when the key store cannot
    answer (the error propagates: the authorizer fails closed, and API Gateway answers 500).
    """
    raw_key = presented_key(event)
    if raw_key is None:
        logger.info("request without an API key")
        _count(metrics, "KeyRejected")
        raise Unauthorized()
    context = event.get("requestContext")
    identity = context.get("identity") if isinstance(context, Mapping) else None
    ip = identity.get("sourceIp") if isinstance(identity, Mapping) else None
    try:
        principal = keys.authenticate(raw_key, ip=ip, user_agent=header(event, "User-Agent"))
    except AuthenticationError:
        _count(metrics, "KeyRejected")
        raise Unauthorized() from None
    except Exception:
        _count(metrics, "KeyCheckFailed")
        raise
    _count(metrics, "KeyAccepted")
    return allow_policy(principal, str(event.get("methodArn", "")))


def _count(metrics: Metrics | None, name: str) -> None:
    if metrics is not None:
        from aws_lambda_powertools.metrics import MetricUnit

        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def allow_policy(principal: Principal, method_arn: str) -> dict[str, Any]:
    """Allow on every method and path of the stage the request came to (`…/<stage>/*/*`), with the caller's context.

    The same document as powertools' `APIGatewayAuthorizerResponse.from_route_arn(...)` + `allow_all_routes()`
    (a test holds them equal), built here because importing that class loads every powertools event data class
    (+~30% on this Lambda's cold import, bench/handler_import_bench.py). ValueError for a malformed `method_arn`.
    """
    return {
        "principalId": principal.key_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [f"{stage_arn(method_arn)}/*/*"]}
            ],
        },
        "context": principal.to_authorizer_context(),
    }


def stage_arn(method_arn: str) -> str:
    """`arn:aws:execute-api:<region>:<account>:<api>/<stage>` from a method ARN (…/<stage>/<METHOD>/<path>)."""
    arn, slash, rest = method_arn.partition("/")
    stage = rest.split("/", 1)[0] if slash else ""
    if not arn.startswith("arn:") or len(arn.split(":")) != 6 or not stage:
        raise ValueError("the event's methodArn is not an execute-api method ARN")
    return f"{arn}/{stage}"
