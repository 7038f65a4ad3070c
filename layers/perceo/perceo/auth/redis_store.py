"""KeyStore on Redis: one node or a cluster (ElastiCache Serverless).

Layout (`ns` defaults to `perceo`). A cluster refuses a transaction or script whose keys hash to more than one slot
(CROSSSLOT), so each operation touches the keys of one hash tag only: the key's `{prefix}` or its `{projectId}`.

- `ns:key:{prefix}`            the StoredKey as JSON (camelCase, hash included, usage excluded)
- `ns:keyuse:{prefix}`         hash {at, ip}: last use, kept apart so the hot path never rewrites the record and
                               can never race a revocation back to "active"
- `ns:keys:{projectId}`        set of the project's prefixes
- `ns:keynames:{projectId}`    hash casefolded name -> prefix, non-revoked keys only (name uniqueness)
- `ns:keyaudit:{projectId}`    capped stream of audit entries, one JSON field `entry` each
- `ns:keysdeleted:{projectId}` tombstone of a deleted project: no key is added to it any more (expires after
                               `DELETED_PROJECT_TTL_S`, longer than any request that started before the deletion)
- `ns:keystore-layout`         "2" once the names above are in use (`migrate_legacy_layout`)

The authorizer's hot path (`get`, `record_use`) touches the `{prefix}` slot only: one script call each.
Writes that span a key and its project run as steps, each atomic in its own slot, ordered so that a failure
between two steps leaves nothing a reader acts on:

- insert: claim the prefix (`SET NX` with a short expiry), then register name and index in the project's slot
  under WATCH (tombstone, names), then make the record permanent. A failed or interrupted registration leaves a
  record nobody was given the key of, and it expires; a name whose owner is revoked or gone counts as free.
- revoke: mark the record revoked (WATCH/MULTI on the `{prefix}` slot), then free the name if it still points at
  the key (a script on the project's slot). Stopping in between leaves a name held by a revoked key: free, above.
- delete_project: tombstone first, then each key's record and usage, then the project's index, names and audit.
  Re-running it finishes an interrupted deletion.

Before version 2 the names had no hash tags (`ns:key:<prefix>`...); `migrate_legacy_layout` renames them once,
run by each store before its first operation (afterwards that costs one GET per store).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import redis
import redis.exceptions

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
from perceo.errors import BackendUnavailableError, ConfigError
from perceo.models.keys import KeyAuditEntry

if TYPE_CHECKING:
    from perceo.redis_client import RedisClient

T = TypeVar("T")

_MAX_OPTIMISTIC_ATTEMPTS = 50
_USAGE_FIELDS = {"last_used_at", "last_used_ip"}
#: How long a claimed prefix lives before its key is registered with the project: far longer than a request.
PENDING_TTL_S = 300
LAYOUT_VERSION = "2"
#: Legacy (version 1) name kinds: `ns:<kind>:<id>` became `ns:<kind>:{<id>}`.
_LEGACY_KINDS = ("key", "keyuse", "keys", "keynames", "keyaudit", "keysdeleted")

# Only touch the usage hash of a key that still exists, so a use racing a project deletion leaves nothing behind.
_RECORD_USE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'at', ARGV[1])
if ARGV[2] == '' then redis.call('HDEL', KEYS[2], 'ip') else redis.call('HSET', KEYS[2], 'ip', ARGV[2]) end
return 1
"""

# KEYS[1] the record, KEYS[2] its usage: both in one command (on a cluster a two-command pipeline costs ~1.5 GETs,
# this one ~1 GET; on one node the two are alike).
_READ_KEY = """
return {redis.call('GET', KEYS[1]), redis.call('HGETALL', KEYS[2])}
"""

# KEYS[1] the project's names; frees ARGV[1] if it still names the key ARGV[2].
_FREE_NAME = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


@contextmanager
def _redis_errors() -> Iterator[None]:
    try:
        yield
    except redis.WatchError:
        raise
    except (redis.RedisError, redis.exceptions.RedisClusterException) as exc:
        raise BackendUnavailableError(
            f"the API key store (Redis) failed: {type(exc).__name__}: {exc}", dependency="the API key store (Redis)"
        ) from exc


class RedisKeyStore:
    def __init__(
        self, client: RedisClient, *, audit_maxlen: int = DEFAULT_AUDIT_MAXLEN, namespace: str = "perceo"
    ) -> None:
        if "{" in namespace or "}" in namespace:
            raise ConfigError("the key store namespace must not contain braces (they make Redis hash tags)")
        self._redis = client
        self._audit_maxlen = audit_maxlen
        self._ns = namespace
        self._record_use = client.register_script(_RECORD_USE)
        self._free_name = client.register_script(_FREE_NAME)
        self._read_key = client.register_script(_READ_KEY)
        self._layout_current = False

    def _ensure_layout(self) -> None:
        """Before the first operation of this store: move layout-1 names if the marker says they may exist (one GET
        once migrated). Inside the operation, so a Redis outage is that operation's BackendUnavailableError."""
        if not self._layout_current:
            self.migrate_legacy_layout()
            self._layout_current = True

    # Key names: `{prefix}` for one key's data, `{projectId}` for the project's (see the module doc)
    def _record_key(self, prefix: str) -> str:
        return f"{self._ns}:key:{{{prefix}}}"

    def _usage_key(self, prefix: str) -> str:
        return f"{self._ns}:keyuse:{{{prefix}}}"

    def _index_key(self, project_id: str) -> str:
        return f"{self._ns}:keys:{{{project_id}}}"

    def _names_key(self, project_id: str) -> str:
        return f"{self._ns}:keynames:{{{project_id}}}"

    def _audit_key(self, project_id: str) -> str:
        return f"{self._ns}:keyaudit:{{{project_id}}}"

    def _deleted_key(self, project_id: str) -> str:
        return f"{self._ns}:keysdeleted:{{{project_id}}}"

    def _layout_key(self) -> str:
        return f"{self._ns}:keystore-layout"

    def _optimistic(self, watch: list[str], body: Callable[[Any], T]) -> T:
        """Run `body` under WATCH until no watched key changed in between (bounded). The watched keys share a slot."""
        with _redis_errors(), self._redis.pipeline(transaction=True) as pipe:
            for _ in range(_MAX_OPTIMISTIC_ATTEMPTS):
                try:
                    pipe.watch(*watch)
                    return body(pipe)
                except redis.WatchError:
                    continue
                finally:
                    pipe.reset()
        raise BackendUnavailableError("the API key store is too busy: a write kept conflicting; retry")

    def insert(self, record: StoredKey) -> None:
        self._ensure_layout()
        record_key = self._record_key(record.prefix)
        with _redis_errors():
            claimed = self._redis.set(
                record_key, record.model_dump_json(exclude=_USAGE_FIELDS), nx=True, ex=PENDING_TTL_S
            )
        if not claimed:
            raise PrefixCollisionError(record.prefix)
        try:
            self._register(record)
            with _redis_errors():
                made_permanent = self._redis.persist(record_key)
                if not made_permanent and not self._redis.exists(record_key):
                    # Deleted with its project between registration and now (or expired after a long stall).
                    if self._redis.exists(self._deleted_key(record.project_id)):
                        raise project_deleted(record.project_id)
                    raise BackendUnavailableError("the API key store lost a key while creating it; retry")
        except BaseException:
            with contextlib.suppress(redis.RedisError, redis.exceptions.RedisClusterException):
                self._redis.delete(record_key)
                self._free_name(keys=[self._names_key(record.project_id)], args=[name_key(record.name), record.prefix])
                self._redis.srem(self._index_key(record.project_id), record.prefix)
            raise

    def _register(self, record: StoredKey) -> None:
        """Name and index entry of a claimed key, in the project's slot; refused when the project was deleted or a
        live key of the project has the name."""
        names_key, deleted_key = self._names_key(record.project_id), self._deleted_key(record.project_id)
        field = name_key(record.name)

        def body(pipe: Any) -> None:
            if pipe.exists(deleted_key):
                raise project_deleted(record.project_id)
            owner = pipe.hget(names_key, field)
            if owner is not None and self._holds_name(_text(owner), record.project_id):
                raise name_taken(record)
            pipe.multi()
            pipe.hset(names_key, field, record.prefix)
            pipe.sadd(self._index_key(record.project_id), record.prefix)
            pipe.execute()

        self._optimistic([names_key, deleted_key], body)

    def _holds_name(self, prefix: str, project_id: str) -> bool:
        """Whether the key a name points at still holds it: it exists, in this project, and is not revoked (a key
        never comes back from revoked, so the answer cannot turn while the names are watched)."""
        owner = self.get(prefix)
        return owner is not None and owner.project_id == project_id and not owner.is_revoked()

    def get(self, prefix: str) -> StoredKey | None:
        self._ensure_layout()
        with _redis_errors():
            raw, flat_usage = self._read_key(keys=[self._record_key(prefix), self._usage_key(prefix)])
        usage = dict(zip(flat_usage[::2], flat_usage[1::2], strict=True)) if flat_usage else {}
        return self._decode(raw, usage)

    def list_project(self, project_id: str) -> list[StoredKey]:
        self._ensure_layout()
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
        self._ensure_layout()
        with _redis_errors():
            self._record_use(keys=[self._record_key(prefix), self._usage_key(prefix)], args=[at_ms, ip or ""])

    def revoke(self, project_id: str, prefix: str, *, at_ms: int, actor: str, reason: str | None) -> StoredKey:
        self._ensure_layout()
        record_key = self._record_key(prefix)

        def body(pipe: Any) -> StoredKey:
            record = self._decode(pipe.get(record_key), pipe.hgetall(self._usage_key(prefix)))
            if record is None or record.project_id != project_id:
                raise key_not_found(project_id, prefix)
            if record.is_revoked():
                raise already_revoked(record)
            updated = revoked_copy(record, at_ms=at_ms, actor=actor, reason=reason)
            pipe.multi()
            pipe.set(record_key, updated.model_dump_json(exclude=_USAGE_FIELDS))
            pipe.execute()
            return updated

        updated = self._optimistic([record_key], body)
        with _redis_errors():
            self._free_name(keys=[self._names_key(project_id)], args=[name_key(updated.name), prefix])
        return updated

    def append_audit(self, entry: KeyAuditEntry) -> None:
        self._ensure_layout()
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
        self._ensure_layout()
        with _redis_errors():
            rows = self._redis.xrevrange(self._audit_key(project_id), count=limit)
        entries: list[KeyAuditEntry] = []
        for _stream_id, fields in rows or []:
            payload = {_text(k): v for k, v in (fields or {}).items()}.get("entry")
            if payload is not None:
                entries.append(KeyAuditEntry.model_validate_json(payload))
        return entries

    def delete_project(self, project_id: str) -> int:
        self._ensure_layout()
        index_key = self._index_key(project_id)
        with _redis_errors():
            # The tombstone first: an insert that read the project as live fails its registration (it watches the
            # tombstone), so no key is added behind the deletion.
            self._redis.set(self._deleted_key(project_id), "1", ex=DELETED_PROJECT_TTL_S)
            prefixes = [_text(p) for p in self._redis.smembers(index_key)]
            if prefixes:
                # The keys' records and usage first, the index last, so a deletion that stops half-way is finished
                # by the next call.
                with self._redis.pipeline(transaction=False) as pipe:
                    for prefix in prefixes:
                        pipe.delete(self._record_key(prefix))  # a cluster pipeline deletes one name per command
                        pipe.delete(self._usage_key(prefix))
                    pipe.execute()
            self._redis.delete(index_key, self._names_key(project_id), self._audit_key(project_id))
        return len(prefixes)

    def migrate_legacy_layout(self) -> int:
        """Rename the names of layout 1 (no hash tags: `ns:key:<prefix>`...) to this layout, once per Redis.

        Cheap when done: one GET of `ns:keystore-layout`. Safe to run from several processes at once (RENAMENX of a
        name another process moved already is skipped). A cluster never held layout 1 in working order (its key
        inserts failed with CROSSSLOT), so there only the marker is written. The number of names moved.
        """
        moved = 0
        with _redis_errors():
            if _text(self._redis.get(self._layout_key()) or "") == LAYOUT_VERSION:
                return 0
            if isinstance(self._redis, redis.Redis):
                for kind in _LEGACY_KINDS:
                    legacy_prefix = f"{self._ns}:{kind}:"
                    for raw in self._redis.scan_iter(match=f"{legacy_prefix}*", count=1000):
                        name = _text(raw)
                        ident = name[len(legacy_prefix) :]
                        if not ident or "{" in ident or ":" in ident:
                            continue
                        try:
                            moved += int(self._redis.renamenx(name, f"{legacy_prefix}{{{ident}}}"))
                        except redis.ResponseError:  # moved by another process in between
                            continue
            self._redis.set(self._layout_key(), LAYOUT_VERSION)
        return moved

    @staticmethod
    def _decode(raw: Any, usage: Any) -> StoredKey | None:
        if raw is None:
            return None
        record = StoredKey.model_validate_json(raw)
        fields = {_text(k): _text(v) for k, v in (usage or {}).items()}
        if "at" in fields:
            record = record.model_copy(update={"last_used_at": int(fields["at"]), "last_used_ip": fields.get("ip")})
        return record
