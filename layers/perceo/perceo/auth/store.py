"""The KeyStore port, the errors its adapters share, and an in-memory adapter for tests and one process."""

from __future__ import annotations

import threading
from collections import deque
from typing import Protocol

from perceo.auth.model import StoredKey, name_key
from perceo.errors import ConflictError, NotFoundError
from perceo.models.keys import KeyAuditEntry

DEFAULT_AUDIT_MAXLEN = 10_000


#: How long a deleted project refuses new keys: longer than any request that started before the deletion can run
#: (a Lambda runs 15 minutes at most). Project ids are random, so no project ever takes the id again.
DELETED_PROJECT_TTL_S = 24 * 3600


class ProjectDeletedError(NotFoundError):
    """A key for a project whose keys were deleted with it."""


def project_deleted(project_id: str) -> ProjectDeletedError:
    return ProjectDeletedError(f"project {project_id} was deleted", details={"projectId": project_id})


class PrefixCollisionError(Exception):
    """The display prefix of a freshly generated key is already taken. Internal: the service retries."""


class KeyStore(Protocol):
    """Where API keys, their usage and their audit trail live. Prefixes are globally unique."""

    def insert(self, record: StoredKey) -> None:
        """Store a new key atomically. PrefixCollisionError if the prefix exists anywhere; ConflictError if
        a non-revoked key of the same project has the same name (see `name_key`); ProjectDeletedError if the
        project's keys were deleted (`delete_project`), even by a deletion that ran while this key was made."""

    def get(self, prefix: str) -> StoredKey | None:
        """The key with exactly this prefix, usage included, or None."""

    def list_project(self, project_id: str) -> list[StoredKey]:
        """Every key of the project (revoked and expired included), oldest first."""

    def record_use(self, prefix: str, *, at_ms: int, ip: str | None) -> None:
        """Set last-used time and IP; a no-op if the key no longer exists. Never touches revocation."""

    def revoke(self, project_id: str, prefix: str, *, at_ms: int, actor: str, reason: str | None) -> StoredKey:
        """Mark the project's key revoked and free its name. NotFoundError when the prefix is unknown or belongs
        to another project (the two are indistinguishable); ConflictError when it is already revoked."""

    def append_audit(self, entry: KeyAuditEntry) -> None:
        """Append to the project's capped audit trail."""

    def read_audit(self, project_id: str, *, limit: int) -> list[KeyAuditEntry]:
        """The project's most recent audit entries, newest first."""

    def delete_project(self, project_id: str) -> int:
        """Remove every key, usage record, index and the audit trail of a project; the number of keys removed.
        From then on no key can be added to the project (a tombstone, kept for `DELETED_PROJECT_TTL_S`)."""


def name_taken(record: StoredKey) -> ConflictError:
    return ConflictError(
        f"an API key named '{record.name}' already exists in project '{record.project_id}'",
        details={"projectId": record.project_id, "name": record.name},
    )


def key_not_found(project_id: str, prefix: str) -> NotFoundError:
    return NotFoundError(
        f"no API key with prefix {prefix} in project '{project_id}'",
        details={"projectId": project_id, "prefix": prefix},
    )


def already_revoked(record: StoredKey) -> ConflictError:
    return ConflictError(
        f"API key {record.prefix} of project '{record.project_id}' is already revoked",
        details={"projectId": record.project_id, "prefix": record.prefix},
    )


def revoked_copy(record: StoredKey, *, at_ms: int, actor: str, reason: str | None) -> StoredKey:
    return record.model_copy(update={"revoked_at": at_ms, "revoked_by": actor, "revocation_reason": reason})


class InMemoryKeyStore:
    """A KeyStore in a dict, with the same rules as the Redis one. Safe across threads of one process."""

    def __init__(self, *, audit_maxlen: int = DEFAULT_AUDIT_MAXLEN) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, StoredKey] = {}
        self._names: dict[tuple[str, str], str] = {}
        self._audit: dict[str, deque[KeyAuditEntry]] = {}
        self._audit_maxlen = audit_maxlen
        self._deleted_projects: set[str] = set()

    def insert(self, record: StoredKey) -> None:
        with self._lock:
            if record.project_id in self._deleted_projects:
                raise project_deleted(record.project_id)
            if record.prefix in self._records:
                raise PrefixCollisionError(record.prefix)
            name = (record.project_id, name_key(record.name))
            if name in self._names:
                raise name_taken(record)
            self._records[record.prefix] = record.model_copy(deep=True)
            self._names[name] = record.prefix

    def get(self, prefix: str) -> StoredKey | None:
        with self._lock:
            record = self._records.get(prefix)
            return record.model_copy(deep=True) if record else None

    def list_project(self, project_id: str) -> list[StoredKey]:
        with self._lock:
            found = [r.model_copy(deep=True) for r in self._records.values() if r.project_id == project_id]
        return sorted(found, key=lambda r: (r.created_at, r.prefix))

    def record_use(self, prefix: str, *, at_ms: int, ip: str | None) -> None:
        with self._lock:
            record = self._records.get(prefix)
            if record is not None:
                self._records[prefix] = record.model_copy(update={"last_used_at": at_ms, "last_used_ip": ip})

    def revoke(self, project_id: str, prefix: str, *, at_ms: int, actor: str, reason: str | None) -> StoredKey:
        with self._lock:
            record = self._records.get(prefix)
            if record is None or record.project_id != project_id:
                raise key_not_found(project_id, prefix)
            if record.is_revoked():
                raise already_revoked(record)
            updated = revoked_copy(record, at_ms=at_ms, actor=actor, reason=reason)
            self._records[prefix] = updated
            name = (project_id, name_key(record.name))
            if self._names.get(name) == prefix:
                del self._names[name]
            return updated.model_copy(deep=True)

    def append_audit(self, entry: KeyAuditEntry) -> None:
        with self._lock:
            trail = self._audit.setdefault(entry.project_id, deque(maxlen=self._audit_maxlen))
            trail.append(entry.model_copy(deep=True))

    def read_audit(self, project_id: str, *, limit: int) -> list[KeyAuditEntry]:
        with self._lock:
            trail = list(self._audit.get(project_id, ()))
        return [entry.model_copy(deep=True) for entry in reversed(trail[-limit:])] if limit > 0 else []

    def delete_project(self, project_id: str) -> int:
        with self._lock:
            prefixes = [p for p, r in self._records.items() if r.project_id == project_id]
            for prefix in prefixes:
                del self._records[prefix]
            for name in [n for n in self._names if n[0] == project_id]:
                del self._names[name]
            self._audit.pop(project_id, None)
            self._deleted_projects.add(project_id)
            return len(prefixes)
