"""Project API keys, as stored (never the key itself, only its HMAC)."""

from __future__ import annotations

from pydantic import Field

from perceo.models.common import EntityId, EpochMs, Model, Name, ProjectId, new_id, now_ms
from perceo.models.vocab import Scope


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
    revoked_at: EpochMs | None = None
    revoked_by: str | None = None
    revocation_reason: str | None = None

    def is_active(self, at_ms: int) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > at_ms)
