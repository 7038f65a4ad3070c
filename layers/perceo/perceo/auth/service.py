"""ApiKeyService: create, authenticate, list, revoke and audit project API keys.

The raw key exists only in `create`'s return value and `authenticate`'s argument. It is never stored, never
put in an error, never passed to a logger; logs and the audit trail name keys by their 12-character prefix.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable

from pydantic import TypeAdapter, ValidationError

from perceo.auth.keyformat import (
    RandomBytes,
    check_pepper,
    display_prefix,
    generate_key,
    hash_key,
    hashes_match,
    is_prefix,
    is_well_formed,
)
from perceo.auth.model import Principal, StoredKey, require_project, require_scope
from perceo.auth.scopes import parse_scopes
from perceo.auth.store import KeyStore, PrefixCollisionError, key_not_found
from perceo.errors import AuthenticationError, PerceoError, ValidationFailed
from perceo.models.common import Name, ProjectId, now_ms
from perceo.models.keys import ApiKey, KeyAuditEntry
from perceo.models.vocab import KeyAuditAction

logger = logging.getLogger(__name__)

INVALID_KEY_MESSAGE = "invalid API key"
MAX_EXPIRY_DAYS = 3650
MAX_REASON_LENGTH = 500
MAX_CLIENT_FIELD_LENGTH = 512  # ip and user agent come from the client; keep audit entries small
DAY_MS = 86_400_000
_PREFIX_ATTEMPTS = 5

_project_ids: TypeAdapter[str] = TypeAdapter(ProjectId)
_names: TypeAdapter[str] = TypeAdapter(Name)


def _valid_project_id(project_id: str) -> str:
    try:
        return _project_ids.validate_python(project_id)
    except ValidationError as exc:
        raise ValidationFailed(
            "project id must be 1-64 letters, digits, '-' or '_'", details={"field": "projectId"}
        ) from exc


def _valid_prefix(prefix: str) -> str:
    # Exact 12 characters only: a shorter string could match someone else's key. The input is never echoed,
    # because people paste whole keys here.
    if not is_prefix(prefix):
        raise ValidationFailed(
            "a key prefix is exactly the 12 characters shown by `perceo keys list` (prc_ followed by 8)",
            details={"field": "prefix"},
        )
    return prefix


class ApiKeyService:
    """Project API keys over a KeyStore. `pepper` is the server-side HMAC secret (bytes, at least 32), or a function
    that returns it: then it is read on the first create or authenticate, so checking a key's status (every API
    request does) never fetches the secret."""

    require_scope = staticmethod(require_scope)
    require_project = staticmethod(require_project)

    def __init__(
        self,
        store: KeyStore,
        pepper: bytes | Callable[[], bytes],
        clock: Callable[[], int] = now_ms,
        *,
        random_bytes: RandomBytes = secrets.token_bytes,
    ) -> None:
        self._store = store
        self._pepper_source = pepper
        self._checked_pepper: bytes | None = None if callable(pepper) else check_pepper(pepper)
        self._clock = clock
        self._random_bytes = random_bytes

    @property
    def _pepper(self) -> bytes:
        if self._checked_pepper is None:
            source = self._pepper_source
            self._checked_pepper = check_pepper(source() if callable(source) else source)
        return self._checked_pepper

    def create(
        self,
        project_id: str,
        name: str,
        scopes: Iterable[str],
        *,
        expires_in_days: int | None = None,
        created_by: str,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> tuple[str, ApiKey]:
        """A new key for the project: (the raw key, to show ONCE; its public record).

        ValidationFailed for an unknown or empty scope list, a bad name or expiry; ConflictError when a
        non-revoked key of the project already has this name (compared case-insensitively).
        """
        project_id = _valid_project_id(project_id)
        try:
            clean_name = _names.validate_python(name)
        except ValidationError as exc:
            raise ValidationFailed("a key name must be 1-200 characters", details={"field": "name"}) from exc
        granted = parse_scopes(scopes)
        if not created_by:
            raise ValidationFailed("created_by must name who creates the key", details={"field": "createdBy"})
        now = self._clock()
        expires_at = None
        if expires_in_days is not None:
            if isinstance(expires_in_days, bool) or not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
                raise ValidationFailed(
                    f"expiry must be a whole number of days between 1 and {MAX_EXPIRY_DAYS}",
                    details={"field": "expiresInDays"},
                )
            expires_at = now + expires_in_days * DAY_MS

        for _ in range(_PREFIX_ATTEMPTS):
            raw_key = generate_key(self._random_bytes)
            record = StoredKey(
                project_id=project_id,
                name=clean_name,
                prefix=display_prefix(raw_key),
                key_hash=hash_key(raw_key, self._pepper),
                scopes=granted,
                created_by=created_by,
                created_at=now,
                expires_at=expires_at,
            )
            try:
                self._store.insert(record)
            except PrefixCollisionError:
                logger.warning("API key prefix collision for project %s; generating another key", project_id)
                continue
            self._audit(
                record,
                "created",
                actor=created_by,
                ip=ip,
                user_agent=user_agent,
                metadata={
                    "name": record.name,
                    "scopes": " ".join(record.scopes),
                    "expiresAt": "" if expires_at is None else str(expires_at),
                },
            )
            logger.info("created API key %s for project %s", record.prefix, project_id)
            return raw_key, record.to_public()
        raise PerceoError("could not generate an API key with a unique prefix; check the random source")

    def authenticate(self, raw_key: str, *, ip: str | None = None, user_agent: str | None = None) -> Principal:
        """The principal of a valid key, recording the use (last-used time and IP, audit entry).

        Every failure raises AuthenticationError("invalid API key"); the specific reason (malformed, unknown,
        secret_mismatch, revoked, expired) is in `details["reason"]`, in the log and, when the key exists,
        in its project's audit trail. Callers must not show `details` to the client.
        """
        if not isinstance(raw_key, str) or not is_well_formed(raw_key):
            raise self._rejected("malformed", prefix=None)
        # Hash before the lookup so that known and unknown prefixes cost about the same.
        presented_hash = hash_key(raw_key, self._pepper)
        prefix = display_prefix(raw_key)
        record = self._store.get(prefix)
        if record is None:
            raise self._rejected("unknown", prefix=prefix)
        now = self._clock()
        failure: tuple[KeyAuditAction, str] | None = None
        if not hashes_match(presented_hash, record.key_hash):
            failure = ("used", "secret_mismatch")
        elif record.is_revoked():
            failure = ("used", "revoked")
        elif record.is_expired(now):
            failure = ("expired", "expired")
        if failure is not None:
            action, reason = failure
            self._audit(
                record, action, ip=ip, user_agent=user_agent, at=now, metadata={"outcome": "rejected", "reason": reason}
            )
            raise self._rejected(reason, prefix=prefix)

        self._store.record_use(prefix, at_ms=now, ip=ip[:MAX_CLIENT_FIELD_LENGTH] if ip else None)
        self._audit(record, "used", ip=ip, user_agent=user_agent, at=now, metadata={"outcome": "accepted"})
        return Principal(
            project_id=record.project_id,
            key_id=record.id,
            prefix=record.prefix,
            name=record.name,
            scopes=tuple(record.scopes),
        )

    def require_active(self, principal: Principal) -> None:
        """AuthenticationError unless the principal's key still exists as that key, unrevoked and unexpired.

        The authorizer's answer is cached by API Gateway (up to `ReauthorizeEvery`); every API request makes this
        check (one read of the key store, no hashing), so a revocation, a project's deletion or an expiry takes
        effect at once, whatever the cache holds.
        """
        record = self._store.get(principal.prefix)
        reason: str | None = None
        if record is None or record.id != principal.key_id or record.project_id != principal.project_id:
            reason = "deleted"
        elif record.is_revoked():
            reason = "revoked"
        elif record.is_expired(self._clock()):
            reason = "expired"
        if reason is not None:
            raise self._rejected(reason, prefix=principal.prefix)

    def get(self, project_id: str, prefix: str) -> ApiKey:
        """The project's key with exactly this prefix; NotFoundError if it is not this project's."""
        project_id, prefix = _valid_project_id(project_id), _valid_prefix(prefix)
        record = self._store.get(prefix)
        if record is None or record.project_id != project_id:
            raise key_not_found(project_id, prefix)
        return record.to_public()

    def list_keys(self, project_id: str, *, include_inactive: bool = False) -> list[ApiKey]:
        """The project's keys, oldest first; only active ones (not revoked, not expired) unless asked."""
        project_id = _valid_project_id(project_id)
        now = self._clock()
        records = self._store.list_project(project_id)
        return [r.to_public() for r in records if include_inactive or (not r.is_revoked() and not r.is_expired(now))]

    def revoke(
        self,
        project_id: str,
        prefix: str,
        *,
        reason: str | None,
        actor: str,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> ApiKey:
        """Revoke the project's key with exactly this prefix, recording who, when and why.

        NotFoundError when no key of THIS project has the prefix (another project's key is invisible);
        ConflictError when it is already revoked. Revoking frees the key's name for a new key.
        """
        project_id, prefix = _valid_project_id(project_id), _valid_prefix(prefix)
        if not actor:
            raise ValidationFailed("actor must name who revokes the key", details={"field": "actor"})
        if reason is not None and len(reason) > MAX_REASON_LENGTH:
            raise ValidationFailed(
                f"a revocation reason is at most {MAX_REASON_LENGTH} characters", details={"field": "reason"}
            )
        now = self._clock()
        record = self._store.revoke(project_id, prefix, at_ms=now, actor=actor, reason=reason)
        self._audit(
            record, "revoked", actor=actor, ip=ip, user_agent=user_agent, at=now, metadata={"reason": reason or ""}
        )
        logger.info("revoked API key %s of project %s", prefix, project_id)
        return record.to_public()

    def audit(self, project_id: str, limit: int = 100) -> list[KeyAuditEntry]:
        """The project's most recent key audit entries, newest first."""
        return self._store.read_audit(_valid_project_id(project_id), limit=max(0, min(limit, 1000)))

    def delete_project_keys(self, project_id: str) -> int:
        """Remove all of a project's keys and their audit trail (project deletion). Returns the number of keys."""
        removed = self._store.delete_project(_valid_project_id(project_id))
        logger.info("deleted %d API key(s) of project %s", removed, project_id)
        return removed

    def _audit(
        self,
        record: StoredKey,
        action: KeyAuditAction,
        *,
        actor: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        at: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        self._store.append_audit(
            KeyAuditEntry(
                project_id=record.project_id,
                key_id=record.id,
                prefix=record.prefix,
                action=action,
                actor=actor if actor is not None else f"key:{record.prefix}",
                at=self._clock() if at is None else at,
                ip=ip[:MAX_CLIENT_FIELD_LENGTH] if ip else None,
                user_agent=user_agent[:MAX_CLIENT_FIELD_LENGTH] if user_agent else None,
                metadata=metadata or {},
            )
        )

    @staticmethod
    def _rejected(reason: str, *, prefix: str | None) -> AuthenticationError:
        logger.info("API key rejected (%s), prefix %s", reason, prefix or "-")
        details = {"reason": reason} if prefix is None else {"reason": reason, "prefix": prefix}
        return AuthenticationError(INVALID_KEY_MESSAGE, details=details)
