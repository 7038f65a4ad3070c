"""The calling project's API keys: list, create (shown once), revoke. Scope keys:manage."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from perceo.api.request import authorize, current_request
from perceo.api.responses import AUTHENTICATED, responses
from perceo.api.security import requires
from perceo.errors import ConflictError, PermissionDeniedError
from perceo.models import ApiKey
from perceo.models.api import KEY_PREFIX_PATTERN, CreatedKey, CreateKeyRequest, KeyList
from perceo.wiring import services

router = Router()

PrefixParam = Annotated[
    str, Path(pattern=KEY_PREFIX_PATTERN, description="The key's 12-character prefix, as `GET /keys` shows it")
]


@router.get(
    "/keys",
    summary="The project's API keys (never the keys themselves)",
    tags=["keys"],
    security=requires("keys:manage"),
    responses=responses(*AUTHENTICATED),
)
def list_keys(
    include_inactive: Annotated[
        bool, Query(alias="includeInactive", description="Also revoked and expired keys")
    ] = False,
) -> KeyList:
    principal = authorize("keys:manage")
    return KeyList(keys=services().keys.list_keys(principal.project_id, include_inactive=include_inactive))


@router.post(
    "/keys",
    status_code=201,
    summary="Create an API key (the answer shows it once)",
    description="A key can only grant scopes the calling key has.",
    tags=["keys"],
    security=requires("keys:manage"),
    responses=responses(*AUTHENTICATED, 409, ok=201),
)
def create_key(body: CreateKeyRequest) -> CreatedKey:
    principal = authorize("keys:manage")
    beyond = [scope for scope in body.scopes if not principal.has_scope(scope)]
    if beyond:
        raise PermissionDeniedError(
            f"API key {principal.prefix} cannot grant scopes it does not have: {', '.join(beyond)}",
            details={"scopes": beyond},
        )
    request = current_request()
    raw_key, record = services().keys.create(
        principal.project_id,
        body.name,
        body.scopes,
        expires_in_days=body.expires_in_days,
        created_by=f"key:{principal.prefix}",
        ip=request.source_ip,
        user_agent=request.user_agent,
    )
    return CreatedKey(key=raw_key, api_key=record)


@router.delete(
    "/keys/<prefix>",
    summary="Revoke an API key of the project",
    description=(
        "The key stops working at once. The key making the request revokes itself only with allowSelf=true "
        "(409 otherwise), so a typo cannot lock a client out."
    ),
    tags=["keys"],
    security=requires("keys:manage"),
    responses=responses(*AUTHENTICATED, 404, 409),
)
def revoke_key(
    prefix: PrefixParam,
    reason: Annotated[str | None, Query(max_length=500, description="Why (kept in the audit trail)")] = None,
    allow_self: Annotated[
        bool, Query(alias="allowSelf", description="Allow revoking the key that makes this request")
    ] = False,
) -> ApiKey:
    principal = authorize("keys:manage")
    if prefix == principal.prefix and not allow_self:
        raise ConflictError(
            f"API key {prefix} is the key making this request; pass allowSelf=true to revoke it anyway",
            details={"prefix": prefix, "allowSelf": False},
        )
    request = current_request()
    return services().keys.revoke(
        principal.project_id,
        prefix,
        reason=reason,
        actor=f"key:{principal.prefix}",
        ip=request.source_ip,
        user_agent=request.user_agent,
    )
