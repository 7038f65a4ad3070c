"""Shapes private to the auth package: the stored key record (with its hash) and the authenticated principal."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ConfigDict, Field

from perceo.auth.scopes import grants
from perceo.errors import AuthenticationError, PermissionDeniedError
from perceo.models.common import EntityId, EpochMs, Model, Name, ProjectId, new_id, now_ms
from perceo.models.keys import ApiKey
from perceo.models.vocab import SCOPES, Scope


def name_key(name: str) -> str:
    """How key names are compared for uniqueness within a project: trimmed and case-insensitive."""
    return name.strip().casefold()


class StoredKey(Model):
    """A key as the store holds it. Never returned by the API: `to_public()` drops the hash."""

    id: EntityId = Field(default_factory=new_id)
    project_id: ProjectId
    name: Name
    prefix: str = Field(min_length=12, max_length=12)
    key_hash: str = Field(pattern=r"^[0-9a-f]{64}$", repr=False)
    scopes: list[Scope] = Field(min_length=1)
    created_by: str | None = None
    created_at: EpochMs = Field(default_factory=now_ms)
    expires_at: EpochMs | None = None
    last_used_at: EpochMs | None = None
    last_used_ip: str | None = None
    revoked_at: EpochMs | None = None
    revoked_by: str | None = None
    revocation_reason: str | None = None

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, at_ms: int) -> bool:
        return self.expires_at is not None and self.expires_at <= at_ms

    def to_public(self) -> ApiKey:
        return ApiKey(
            id=self.id,
            project_id=self.project_id,
            name=self.name,
            prefix=self.prefix,
            scopes=list(self.scopes),
            created_by=self.created_by,
            created_at=self.created_at,
            expires_at=self.expires_at,
            last_used_at=self.last_used_at,
            last_used_ip=self.last_used_ip,
            revoked_at=self.revoked_at,
            revoked_by=self.revoked_by,
            revocation_reason=self.revocation_reason,
        )


class Principal(Model):
    """Who is calling: the project a valid key belongs to and what it may do. Carries no secret."""

    model_config = ConfigDict(frozen=True)

    project_id: ProjectId
    key_id: EntityId
    prefix: str = Field(min_length=12, max_length=12)
    name: str
    scopes: tuple[Scope, ...]

    def has_scope(self, scope: Scope) -> bool:
        return grants(self.scopes, scope)

    def to_authorizer_context(self) -> dict[str, str]:
        """The API Gateway authorizer `context` (flat string values only; scopes space-separated)."""
        return {
            "projectId": self.project_id,
            "keyId": self.key_id,
            "prefix": self.prefix,
            "name": self.name,
            "scopes": " ".join(self.scopes),
        }

    @classmethod
    def from_authorizer_context(cls, context: Mapping[str, object]) -> Principal:
        """Rebuild the principal a REQUEST authorizer put in `requestContext.authorizer`.

        A missing or malformed context means the route was not behind the authorizer: AuthenticationError.
        """
        try:
            raw_scopes = str(context["scopes"]).split()
            scopes = tuple(scope for scope in SCOPES if scope in raw_scopes)
            return cls(
                project_id=str(context["projectId"]),
                key_id=str(context["keyId"]),
                prefix=str(context["prefix"]),
                name=str(context.get("name", "")),
                scopes=scopes,
            )
        except (KeyError, ValueError) as exc:
            raise AuthenticationError("invalid API key", details={"reason": "missing_authorizer_context"}) from exc


def require_scope(principal: Principal, scope: Scope) -> None:
    """PermissionDeniedError unless the principal's key grants `scope` (`project:admin` grants all)."""
    if not principal.has_scope(scope):
        raise PermissionDeniedError(
            f"API key {principal.prefix} lacks the scope '{scope}'",
            details={"requiredScope": scope, "keyPrefix": principal.prefix},
        )


def require_project(principal: Principal, project_id: str) -> None:
    """PermissionDeniedError unless the principal's key belongs to `project_id`."""
    if principal.project_id != project_id:
        raise PermissionDeniedError(
            f"API key {principal.prefix} does not belong to project '{project_id}'",
            details={"projectId": project_id, "keyPrefix": principal.prefix},
        )
