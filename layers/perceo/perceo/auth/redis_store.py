"""KeyStore on Redis.

Layout (`ns` defaults to `perceo`):
- `ns:key:{prefix}`         the StoredKey as JSON (camelCase, hash included, usage excluded)
- `ns:keyuse:{prefix}`      hash {at, ip}: last use, kept apart so the hot path never rewrites the record and
                            can never race a revocation back to "active"
- `ns:keys:{projectId}`     set of the project's prefixes
- `ns:keynames:{projectId}` hash casefolded name -> prefix, non-revoked keys only (name uniqueness)
- `ns:keyaudit:{projectId}` capped stream of audit entries, one JSON field `entry` each
- `ns:keysdeleted:{projectId}` tombstone of a deleted project: no key is added to it any more (expires after
                            `DELETED_PROJECT_TTL_S`, longer than any request that started before the deletion)

Multi-key writes use WATCH/MULTI transactions, so this needs a non-cluster Redis (ElastiCache with cluster
mode off, or the embedded FalkorDB); on a cluster they fail loudly with CROSSSLOT rather than half-write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import redis
from redis.client import Pipeline

from perceo.auth.model import StoredKey, name_key
from perceo.auth.store import (
    DEFAULT_AUDIT_MAXLEN,
    DELETED_PROJECT_TTL_S,
    PrefixCollisionError,
    already_revoked,
    key_not_found,
    name_taken,
    project_deleted,
    revoked_copy,
)
from perceo.errors import BackendUnavailableError
from perceo.models.keys import KeyAuditEntry

T = TypeVar("T")

_MAX_OPTIMISTIC_ATTEMPTS = 50
_USAGE_FIELDS = {"last_used_at", "last_used_ip"}

# Only touch the usage hash of a key that still exists, so a use racing a project deletion leaves nothing behind.
_RECORD_USE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'at', ARGV[1])
if ARGV[2] == '' then redis.call('HDEL', KEYS[2], 'ip') else redis.call('HSET', KEYS[2], 'ip', ARGV[2]) end
return 1
"""


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


@contextmanager
def _redis_errors() -> Iterator[None]:
    try:
        yield
    except redis.WatchError:
        raise
    except redis.RedisError as exc:
        raise BackendUnavailableError(
            f"the API key store (Redis) failed: {type(exc).__name__}: {exc}", dependency="the API key store (Redis)"
        ) from exc


class RedisKeyStore:
    def __init__(
        self, client: redis.Redis, *, audit_maxlen: int = DEFAULT_AUDIT_MAXLEN, namespace: str = "perceo"
    ) -> None:
        self._redis = client
        self._audit_maxlen = audit_maxlen
        self._ns = namespace
        self._record_use = client.register_script(_RECORD_USE)

    # Key names
    def _record_key(self, prefix: str) -> str:
        return f"{self._ns}:key:{prefix}"

    def _usage_key(self, prefix: str) -> str:
        return f"{self._ns}:keyuse:{prefix}"

    def _index_key(self, project_id: str) -> str:
        return f"{self._ns}:keys:{project_id}"

    def _names_key(self, project_id: str) -> str:
        return f"{self._ns}:keynames:{project_id}"

    def _audit_key(self, project_id: str) -> str:
        return f"{self._ns}:keyaudit:{project_id}"

    def _deleted_key(self, project_id: str) -> str:
        return f"{self._ns}:keysdeleted:{project_id}"

    def _optimistic(self, watch: list[str], body: Callable[[Pipeline], T]) -> T:
        """Run `body` under WATCH until no watched key changed in between (bounded)."""
        with _redis_errors(), self._redis.pipeline() as pipe:
            for _ in range(_MAX_OPTIMISTIC_ATTEMPTS):
                try:
                    pipe.watch(*watch)  # type: ignore[no-untyped-call]
                    return body(pipe)
                except redis.WatchError:
                    continue
                finally:
                    pipe.reset()
        raise BackendUnavailableError("the API key store is too busy: a write kept conflicting; retry")

    def insert(self, record: StoredKey) -> None:
        record_key, names_key = self._record_key(record.prefix), self._names_key(record.project_id)
        deleted_key = self._deleted_key(record.project_id)
        field = name_key(record.name)
        payload = record.model_dump_json(exclude=_USAGE_FIELDS)

        def body(pipe: Pipeline) -> None:
            if pipe.exists(deleted_key):
                raise project_deleted(record.project_id)
            if pipe.exists(record_key):
                raise PrefixCollisionError(record.prefix)
            if pipe.hexists(names_key, field):
                raise name_taken(record)
            pipe.multi()
            pipe.set(record_key, payload)
            pipe.hset(names_key, field, record.prefix)
            pipe.sadd(self._index_key(record.project_id), record.prefix)
            pipe.execute()

        self._optimistic([record_key, names_key, deleted_key], body)

    def get(self, prefix: str) -> StoredKey | None:
        with _redis_errors(), self._redis.pipeline(transaction=False) as pipe:
            pipe.get(self._record_key(prefix))
            pipe.hgetall(self._usage_key(prefix))
            raw, usage = pipe.execute()
        return self._decode(raw, usage)

    def list_project(self, project_id: str) -> list[StoredKey]:
        with _redis_errors():
            prefixes = sorted(_text(p) for p in self._redis.smembers(self._index_key(project_id)))
            if not prefixes:
                return []
            with self._redis.pipeline(transaction=False) as pipe:
                for prefix in prefixes:
                    pipe.get(self._record_key(prefix))
                    pipe.hgetall(self._usage_key(prefix))
                replies = pipe.execute()
        records = [self._decode(replies[i], replies[i + 1]) for i in range(0, len(replies), 2)]
        found = [r for r in records if r is not None and r.project_id == project_id]
        return sorted(found, key=lambda r: (r.created_at, r.prefix))

    def record_use(self, prefix: str, *, at_ms: int, ip: str | None) -> None:
        with _redis_errors():
            self._record_use(keys=[self._record_key(prefix), self._usage_key(prefix)], args=[at_ms, ip or ""])

    def revoke(self, project_id: str, prefix: str, *, at_ms: int, actor: str, reason: str | None) -> StoredKey:
        record_key, names_key = self._record_key(prefix), self._names_key(project_id)

        def body(pipe: Pipeline) -> StoredKey:
            record = self._decode(pipe.get(record_key), pipe.hgetall(self._usage_key(prefix)))
            if record is None or record.project_id != project_id:
                raise key_not_found(project_id, prefix)
            if record.is_revoked():
                raise already_revoked(record)
            updated = revoked_copy(record, at_ms=at_ms, actor=actor, reason=reason)
            field = name_key(record.name)
            owner = pipe.hget(names_key, field)
            pipe.multi()
            pipe.set(record_key, updated.model_dump_json(exclude=_USAGE_FIELDS))
            if owner is not None and _text(owner) == prefix:
                pipe.hdel(names_key, field)
            pipe.execute()
            return updated

        return self._optimistic([record_key, names_key], body)

    def append_audit(self, entry: KeyAuditEntry) -> None:
        with _redis_errors():
            self._redis.xadd(
                self._audit_key(entry.project_id),
                {"entry": entry.model_dump_json()},
                maxlen=self._audit_maxlen,
                approximate=True,
            )

    def read_audit(self, project_id: str, *, limit: int) -> list[KeyAuditEntry]:
        if limit <= 0:
            return []
        with _redis_errors():
            rows = self._redis.xrevrange(self._audit_key(project_id), count=limit)
        entries: list[KeyAuditEntry] = []
        for _stream_id, fields in rows or []:
            payload = {_text(k): v for k, v in (fields or {}).items()}.get("entry")
            if payload is not None:
                entries.append(KeyAuditEntry.model_validate_json(payload))
        return entries

    def delete_project(self, project_id: str) -> int:
        index_key = self._index_key(project_id)
        with _redis_errors():
            # The tombstone first: an insert that read the project as live fails its transaction (it watches the
            # tombstone), so no key is added behind the deletion.
            self._redis.set(self._deleted_key(project_id), "1", ex=DELETED_PROJECT_TTL_S)
            prefixes = [_text(p) for p in self._redis.smembers(index_key)]
            with self._redis.pipeline(transaction=True) as pipe:
                for prefix in prefixes:
                    pipe.delete(self._record_key(prefix), self._usage_key(prefix))
                pipe.delete(index_key, self._names_key(project_id), self._audit_key(project_id))
                pipe.execute()
        return len(prefixes)

    @staticmethod
    def _decode(raw: Any, usage: Any) -> StoredKey | None:
        if raw is None:
            return None
        record = StoredKey.model_validate_json(raw)
        fields = {_text(k): _text(v) for k, v in (usage or {}).items()}
        if "at" in fields:
            record = record.model_copy(update={"last_used_at": int(fields["at"]), "last_used_ip": fields.get("ip")})
        return record
