from __future__ import annotations

import base64
import json
import os

import pytest
from auth_redis_testkit import PEPPER, SteppedClock, unique_project

from perceo.auth import ApiKeyService, RedisKeyStore, hash_key
from perceo.auth.service import DAY_MS
from perceo.errors import AuthenticationError, ConflictError, NotFoundError, PermissionDeniedError
from perceo.redis_client import RedisClient


def test_create_authenticate_list_revoke_audit_round_trip(service: ApiKeyService, clock: SteppedClock) -> None:
    project = unique_project()

    raw, created = service.create(project, "github-actions", ["ci:analyze", "flows:read"], created_by="user-1")
    clock.advance(1_000)
    principal = service.authenticate(raw, ip="203.0.113.9", user_agent="perceo-cli/1.0")
    service.require_scope(principal, "ci:analyze")
    with pytest.raises(PermissionDeniedError):
        service.require_scope(principal, "flows:write")
    [listed] = service.list_keys(project)
    clock.advance(1_000)
    revoked = service.revoke(project, created.prefix, reason="rotating", actor="user-2", ip="198.51.100.1")

    assert (principal.project_id, principal.key_id, principal.scopes) == (
        project,
        created.id,
        ("ci:analyze", "flows:read"),
    )
    assert listed.prefix == created.prefix and listed.last_used_at == clock.now - 1_000
    assert (revoked.revoked_by, revoked.revocation_reason, revoked.revoked_at) == ("user-2", "rotating", clock.now)
    assert service.list_keys(project) == []
    with pytest.raises(AuthenticationError, match="^invalid API key$"):
        service.authenticate(raw)
    trail = service.audit(project)
    assert [e.action for e in trail] == ["used", "revoked", "used", "created"]
    assert trail[0].metadata == {"outcome": "rejected", "reason": "revoked"}
    assert (trail[1].actor, trail[1].ip, trail[1].metadata) == ("user-2", "198.51.100.1", {"reason": "rotating"})
    assert (trail[2].ip, trail[2].user_agent, trail[2].actor) == (
        "203.0.113.9",
        "perceo-cli/1.0",
        f"key:{created.prefix}",
    )
    assert (trail[3].actor, trail[3].metadata["name"]) == ("user-1", "github-actions")


def test_the_stored_record_holds_the_peppered_hash_and_never_the_key(
    service: ApiKeyService, key_redis: RedisClient
) -> None:
    project = unique_project()
    raw, key = service.create(project, "ci", ["flows:read"], created_by="user-1")

    stored = key_redis.get(f"perceo:key:{{{key.prefix}}}")

    assert stored is not None
    record = json.loads(stored)
    assert record["keyHash"] == hash_key(raw, PEPPER) and record["projectId"] == project
    assert raw not in (stored.decode() if isinstance(stored, bytes) else stored)
    members = {m.decode() if isinstance(m, bytes) else m for m in key_redis.smembers(f"perceo:keys:{{{project}}}")}
    assert members == {key.prefix}
    assert key_redis.xlen(f"perceo:keyaudit:{{{project}}}") == 1


def test_last_used_time_and_ip_are_updated_on_each_use(service: ApiKeyService, clock: SteppedClock) -> None:
    project = unique_project()
    raw, _ = service.create(project, "ci", ["flows:read"], created_by="user-1")

    clock.advance(10)
    service.authenticate(raw, ip="203.0.113.1")
    clock.advance(10)
    service.authenticate(raw)

    [key] = service.list_keys(project)
    assert (key.last_used_at, key.last_used_ip) == (clock.now, None)
    clock.advance(10)
    service.authenticate(raw, ip="203.0.113.2")
    assert (service.get(project, key.prefix).last_used_at, service.get(project, key.prefix).last_used_ip) == (
        clock.now,
        "203.0.113.2",
    )


def test_a_late_usage_write_never_undoes_a_revocation(service: ApiKeyService, redis_store: RedisKeyStore) -> None:
    project = unique_project()
    raw, key = service.create(project, "ci", ["flows:read"], created_by="user-1")
    service.revoke(project, key.prefix, reason=None, actor="user-2")

    redis_store.record_use(key.prefix, at_ms=1, ip="203.0.113.1")  # as an authenticate that started before

    stored = redis_store.get(key.prefix)
    assert stored is not None and stored.revoked_by == "user-2" and stored.last_used_at == 1
    with pytest.raises(AuthenticationError):
        service.authenticate(raw)


def test_expired_keys_are_rejected_and_listed_only_as_inactive(service: ApiKeyService, clock: SteppedClock) -> None:
    project = unique_project()
    raw, key = service.create(project, "ci", ["flows:read"], created_by="user-1", expires_in_days=7)

    clock.advance(7 * DAY_MS)

    with pytest.raises(AuthenticationError) as caught:
        service.authenticate(raw)
    assert caught.value.details["reason"] == "expired"
    assert service.list_keys(project) == []
    assert [k.status(clock.now) for k in service.list_keys(project, include_inactive=True)] == ["expired"]
    assert service.audit(project, limit=1)[0].action == "expired"


def test_project_a_cannot_list_revoke_or_audit_project_bs_keys(service: ApiKeyService) -> None:
    project_a, project_b = unique_project(), unique_project()
    service.create(project_a, "ci", ["flows:read"], created_by="alice")
    raw_b, key_b = service.create(project_b, "ci", ["project:admin"], created_by="bob")

    with pytest.raises(NotFoundError):
        service.revoke(project_a, key_b.prefix, reason="hostile", actor="alice")
    with pytest.raises(NotFoundError):
        service.get(project_a, key_b.prefix)
    assert [k.prefix for k in service.list_keys(project_a, include_inactive=True)] != [key_b.prefix]
    assert all(e.prefix != key_b.prefix for e in service.audit(project_a))
    assert service.authenticate(raw_b).project_id == project_b
    assert service.get(project_b, key_b.prefix).revoked_at is None
    with pytest.raises(PermissionDeniedError):
        service.require_project(service.authenticate(raw_b), project_a)


def test_names_are_unique_per_project_until_revoked(service: ApiKeyService) -> None:
    project, other = unique_project(), unique_project()
    _, first = service.create(project, "CI", ["flows:read"], created_by="u")

    with pytest.raises(ConflictError):
        service.create(project, "ci", ["flows:read"], created_by="u")
    service.create(other, "ci", ["flows:read"], created_by="u")
    service.revoke(project, first.prefix, reason="rotated", actor="u")
    _, second = service.create(project, "ci", ["flows:read"], created_by="u")

    assert [k.prefix for k in service.list_keys(project)] == [second.prefix]


def test_a_prefix_taken_in_another_project_forces_a_new_key(redis_store: RedisKeyStore, clock: SteppedClock) -> None:
    shared = os.urandom(6)  # the first 6 bytes make the 12-character prefix; fresh per test run
    seeds = iter([shared + os.urandom(26), shared + os.urandom(26), os.urandom(32)])
    service = ApiKeyService(redis_store, PEPPER, clock, random_bytes=lambda n: next(seeds))
    project_a, project_b = unique_project(), unique_project()
    raw_a, key_a = service.create(project_a, "ci", ["flows:read"], created_by="u")

    raw_b, key_b = service.create(project_b, "ci", ["flows:read"], created_by="u")

    assert key_a.prefix == "prc_" + base64.urlsafe_b64encode(shared).decode() and key_b.prefix != key_a.prefix
    assert service.authenticate(raw_a).project_id == project_a
    assert service.authenticate(raw_b).project_id == project_b


def test_deleting_a_project_removes_its_keys_indexes_and_audit(service: ApiKeyService, key_redis: RedisClient) -> None:
    project, other = unique_project(), unique_project()
    raw, key = service.create(project, "ci", ["flows:read"], created_by="u")
    service.authenticate(raw, ip="203.0.113.1")
    _, kept = service.create(other, "ci", ["flows:read"], created_by="u")

    assert service.delete_project_keys(project) == 1

    gone = [
        f"perceo:key:{{{key.prefix}}}",
        f"perceo:keyuse:{{{key.prefix}}}",
        f"perceo:keys:{{{project}}}",
        f"perceo:keynames:{{{project}}}",
        f"perceo:keyaudit:{{{project}}}",
    ]
    assert [name for name in gone if key_redis.exists(name)] == []
    with pytest.raises(AuthenticationError):
        service.authenticate(raw)
    assert [k.prefix for k in service.list_keys(other)] == [kept.prefix]


def test_the_audit_stream_is_capped(key_redis: RedisClient, clock: SteppedClock) -> None:
    service = ApiKeyService(RedisKeyStore(key_redis, audit_maxlen=10), PEPPER, clock)
    project = unique_project()
    raw, _ = service.create(project, "ci", ["flows:read"], created_by="u")

    for _ in range(500):
        service.authenticate(raw)

    # Trimming is approximate (whole stream nodes), so the stream stays near the cap, far below 501 entries.
    assert key_redis.xlen(f"perceo:keyaudit:{{{project}}}") < 200
    assert len(service.audit(project, limit=1000)) == key_redis.xlen(f"perceo:keyaudit:{{{project}}}")


def test_a_key_made_while_its_project_is_deleted_is_refused_not_left_behind(
    service: ApiKeyService, redis_store: RedisKeyStore, key_redis: RedisClient
) -> None:
    """The deletion's tombstone fails an insert that read the project as live (it watches the tombstone)."""
    project = unique_project()
    service.create(project, "first", ["flows:read"], created_by="user-1")
    original = redis_store._optimistic
    deleted: list[int] = []

    def delete_in_between(watch: list[str], body):  # type: ignore[no-untyped-def]
        def racing(pipe):  # type: ignore[no-untyped-def]
            if not deleted:  # the project is deleted after the insert watched its keys, before it commits
                deleted.append(RedisKeyStore(key_redis).delete_project(project))
            return body(pipe)

        return original(watch, racing)

    redis_store._optimistic = delete_in_between  # type: ignore[method-assign]
    with pytest.raises(NotFoundError, match="was deleted"):
        service.create(project, "racing", ["flows:read"], created_by="user-1")

    assert deleted == [1]
    assert redis_store.list_project(project) == []
