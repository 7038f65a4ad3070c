"""Project API keys as the API shows them (never the key itself, never its hash) and their audit trail."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from perceo.models.common import EntityId, EpochMs, Model, Name, ProjectId, new_id, now_ms
from perceo.models.vocab import KeyAuditAction, Scope

KeyStatus = Literal["active", "revoked", "expired"]


class ApiKey(Model):
    id: EntityId = Field(default_factory=new_id)
    project_id: ProjectId
    name: Name
    prefix: str = Field(min_length=12, max_length=12)
    scopes: list[Scope]
    created_by: str | None = None
    created_at: EpochMs = Field(default_factory=now_ms)
    expires_at: EpochMs | None = None
    last_used_at: EpochMs | None = None
    last_used_ip: str | None = None
    revoked_at: EpochMs | None = None
    revoked_by: str | None = None
    revocation_reason: str | None = None

    def is_active(self, at_ms: int) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > at_ms)

    def status(self, at_ms: int) -> KeyStatus:
        """What `keys list` shows: revoked wins over expired."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= at_ms:
            return "expired"
        return "active"


class KeyAuditEntry(Model):
    """One line of a project's API key audit trail: who did what to which key, when and from where."""

    id: EntityId = Field(default_factory=new_id)
    project_id: ProjectId
    key_id: EntityId
    prefix: str = Field(min_length=12, max_length=12)
    action: KeyAuditAction
    actor: str | None = None
    at: EpochMs = Field(default_factory=now_ms)
    ip: str | None = None
    user_agent: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
