from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator

import pytest
from auth_testkit import PEPPER, SteppedClock

from perceo.auth import ApiKeyService, InMemoryKeyStore, Principal, hash_key
from perceo.auth.service import DAY_MS
from perceo.errors import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailed,
)


def _create(service: ApiKeyService, project_id: str = "proj-a", name: str = "ci", **kwargs: object) -> tuple[str, str]:
    scopes = kwargs.pop("scopes", ["ci:analyze", "flows:read"])
    raw, key = service.create(project_id, name, scopes, created_by="user-1", **kwargs)  # type: ignore[arg-type]
    return raw, key.prefix


def test_create_returns_the_raw_key_once_and_a_public_record_without_its_hash(
    service: ApiKeyService, store: InMemoryKeyStore, clock: SteppedClock
) -> None:
    raw, key = service.create("proj-a", "ci", ["flows:read", "ci:analyze"], created_by="user-1")

    assert raw.startswith("prc_") and key.prefix == raw[:12]
    assert key.scopes == ["ci:analyze", "flows:read"]
    assert key.created_at == clock.now and key.created_by == "user-1" and key.expires_at is None
    dumped = key.model_dump_json()
    assert "keyHash" not in dumped and raw not in dumped
    stored = store.get(key.prefix)
    assert stored is not None and stored.key_hash == hash_key(raw, PEPPER)
    assert raw not in stored.model_dump_json()
    assert "key_hash" not in repr(stored)


def test_authenticate_returns_the_principal_of_a_valid_key(service: ApiKeyService) -> None:
    raw, prefix = _create(service, scopes=["flows:read"])

    principal = service.authenticate(raw, ip="203.0.113.9", user_agent="perceo-cli/1.0")

    assert principal == Principal(
        project_id="proj-a", key_id=principal.key_id, prefix=prefix, name="ci", scopes=("flows:read",)
    )


def test_authenticate_records_last_use_and_an_audit_entry(service: ApiKeyService, clock: SteppedClock) -> None:
    raw, prefix = _create(service)
    clock.advance(5_000)

    service.authenticate(raw, ip="203.0.113.9", user_agent="perceo-cli/1.0")

    [key] = service.list_keys("proj-a")
    assert key.last_used_at == clock.now and key.last_used_ip == "203.0.113.9"
    used, created = service.audit("proj-a")
    assert (used.action, used.ip, used.user_agent, used.at) == ("used", "203.0.113.9", "perceo-cli/1.0", clock.now)
    assert used.metadata == {"outcome": "accepted"} and used.prefix == prefix
    assert (created.action, created.actor) == ("created", "user-1")


@pytest.mark.parametrize(
    "presented",
    [
        pytest.param(lambda raw: raw[:-2], id="truncated"),
        pytest.param(lambda raw: "Bearer " + raw, id="with-scheme"),
        pytest.param(lambda raw: "", id="empty"),
    ],
)
def test_malformed_keys_are_rejected_with_the_generic_message(
    service: ApiKeyService, presented: Callable[[str], str]
) -> None:
    raw, _ = _create(service)

    with pytest.raises(AuthenticationError) as caught:
        service.authenticate(presented(raw))

    assert caught.value.message == "invalid API key"
    assert caught.value.details == {"reason": "malformed"}


def test_an_unknown_key_is_rejected(service: ApiKeyService) -> None:
    from perceo.auth import generate_key

    with pytest.raises(AuthenticationError, match="^invalid API key$") as caught:
        service.authenticate(generate_key())
    assert caught.value.details["reason"] == "unknown"


def test_a_key_with_a_known_prefix_but_another_secret_is_rejected_and_audited(service: ApiKeyService) -> None:
    raw, prefix = _create(service)
    forged = raw[:12] + ("A" if raw[12] != "A" else "B") + raw[13:]

    with pytest.raises(AuthenticationError, match="^invalid API key$") as caught:
        service.authenticate(forged, ip="198.51.100.7")

    assert caught.value.details == {"reason": "secret_mismatch", "prefix": prefix}
    latest = service.audit("proj-a", limit=1)[0]
    assert (latest.action, latest.ip, latest.metadata["reason"]) == ("used", "198.51.100.7", "secret_mismatch")


def test_a_key_from_another_pepper_is_rejected(store: InMemoryKeyStore, clock: SteppedClock) -> None:
    raw, _ = _create(ApiKeyService(store, b"x" * 32, clock))

    with pytest.raises(AuthenticationError):
        ApiKeyService(store, b"y" * 32, clock).authenticate(raw)


def test_expiry_is_exclusive_at_the_boundary(service: ApiKeyService, clock: SteppedClock) -> None:
    raw, _ = _create(service, expires_in_days=30)
    [key] = service.list_keys("proj-a")
    expires_at = clock.now + 30 * DAY_MS
    assert key.expires_at == expires_at

    clock.now = expires_at - 1
    service.authenticate(raw)

    clock.now = expires_at
    with pytest.raises(AuthenticationError) as caught:
        service.authenticate(raw)
    assert caught.value.details["reason"] == "expired"
    assert service.audit("proj-a", limit=1)[0].action == "expired"
    assert service.list_keys("proj-a") == []
    assert [k.status(clock.now) for k in service.list_keys("proj-a", include_inactive=True)] == ["expired"]


def test_a_revoked_key_is_rejected(service: ApiKeyService, clock: SteppedClock) -> None:
    raw, prefix = _create(service)
    clock.advance(1_000)

    revoked = service.revoke("proj-a", prefix, reason="leaked in a log", actor="user-2")

    assert (revoked.revoked_at, revoked.revoked_by, revoked.revocation_reason) == (
        clock.now,
        "user-2",
        "leaked in a log",
    )
    with pytest.raises(AuthenticationError) as caught:
        service.authenticate(raw)
    assert caught.value.details["reason"] == "revoked"
    rejected, revoke_entry = service.audit("proj-a", limit=2)
    assert rejected.metadata == {"outcome": "rejected", "reason": "revoked"}
    assert (revoke_entry.action, revoke_entry.actor, revoke_entry.metadata["reason"]) == (
        "revoked",
        "user-2",
        "leaked in a log",
    )


def test_revoking_twice_is_a_conflict(service: ApiKeyService) -> None:
    _, prefix = _create(service)
    service.revoke("proj-a", prefix, reason=None, actor="user-2")

    with pytest.raises(ConflictError, match="already revoked"):
        service.revoke("proj-a", prefix, reason=None, actor="user-2")


def test_a_key_of_another_project_cannot_be_revoked_or_seen(service: ApiKeyService) -> None:
    raw_b, prefix_b = _create(service, project_id="proj-b")

    with pytest.raises(NotFoundError):
        service.revoke("proj-a", prefix_b, reason="mine now", actor="attacker")
    with pytest.raises(NotFoundError):
        service.get("proj-a", prefix_b)
    assert service.list_keys("proj-a", include_inactive=True) == []
    assert service.audit("proj-a") == []
    assert service.authenticate(raw_b).project_id == "proj-b"


def test_a_key_used_on_another_projects_resource_is_denied(service: ApiKeyService) -> None:
    raw, _ = _create(service, scopes=["project:admin"])
    principal = service.authenticate(raw)

    with pytest.raises(PermissionDeniedError):
        service.require_project(principal, "proj-b")


@pytest.mark.parametrize("prefix", ["prc_abc", "prc_abcdefghijk", "prc_xyz"])
def test_revoke_needs_the_exact_12_character_prefix_and_never_echoes_the_input(
    service: ApiKeyService, prefix: str
) -> None:
    _create(service)

    with pytest.raises(ValidationFailed, match="exactly the 12 characters") as caught:
        service.revoke("proj-a", prefix, reason=None, actor="user-2")
    assert prefix not in caught.value.message


def test_a_short_prefix_never_matches_another_key(service: ApiKeyService) -> None:
    raw, prefix = _create(service)

    with pytest.raises(ValidationFailed):
        service.revoke("proj-a", prefix[:8], reason=None, actor="user-2")
    service.authenticate(raw)


def test_revoking_with_the_full_key_is_refused_and_the_key_is_not_echoed(service: ApiKeyService) -> None:
    raw, _ = _create(service)

    with pytest.raises(ValidationFailed) as caught:
        service.revoke("proj-a", raw, reason=None, actor="user-2")
    assert raw not in str(caught.value) and raw not in str(caught.value.details)


def test_unknown_scopes_are_rejected_at_creation(service: ApiKeyService) -> None:
    with pytest.raises(ValidationFailed, match="admin:all"):
        service.create("proj-a", "ci", ["flows:read", "admin:all"], created_by="user-1")
    assert service.list_keys("proj-a", include_inactive=True) == []


def test_duplicate_names_in_a_project_are_a_conflict(service: ApiKeyService) -> None:
    _create(service, name="GitHub Actions")

    with pytest.raises(ConflictError, match="(?i)github actions"):
        _create(service, name="github actions ")
    _create(service, project_id="proj-b", name="GitHub Actions")


def test_a_revoked_keys_name_can_be_reused(service: ApiKeyService) -> None:
    _, prefix = _create(service, name="ci")
    service.revoke("proj-a", prefix, reason="rotated", actor="user-1")

    raw, new_prefix = _create(service, name="ci")

    assert new_prefix != prefix
    assert [k.prefix for k in service.list_keys("proj-a")] == [new_prefix]
    assert len(service.list_keys("proj-a", include_inactive=True)) == 2


@pytest.mark.parametrize("days", [0, -1, 3651, True])
def test_expiry_days_must_be_sane(service: ApiKeyService, days: int) -> None:
    with pytest.raises(ValidationFailed, match="days"):
        _create(service, expires_in_days=days)


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_key_names_must_be_1_to_200_characters(service: ApiKeyService, name: str) -> None:
    with pytest.raises(ValidationFailed, match="name"):
        _create(service, name=name)


def test_a_prefix_collision_generates_another_key(store: InMemoryKeyStore, clock: SteppedClock) -> None:
    def byte_source() -> Iterator[bytes]:
        yield b"\x01" * 32
        yield b"\x01" * 6 + b"\x02" * 26  # same first 6 bytes -> same 12-character prefix
        yield b"\x03" * 32

    source = byte_source()
    service = ApiKeyService(store, PEPPER, clock, random_bytes=lambda n: next(source))
    first, _ = service.create("proj-a", "one", ["flows:read"], created_by="u")

    second, key = service.create("proj-a", "two", ["flows:read"], created_by="u")

    assert second[:12] != first[:12] and key.prefix == second[:12]
    assert service.authenticate(second).name == "two"


def test_a_short_pepper_is_refused(store: InMemoryKeyStore) -> None:
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        ApiKeyService(store, b"too-short")


def test_list_shows_active_keys_unless_inactive_are_asked_for(service: ApiKeyService, clock: SteppedClock) -> None:
    _, active = _create(service, name="active")
    clock.advance(1)
    _, revoked = _create(service, name="revoked")
    clock.advance(1)
    _, expiring = _create(service, name="expiring", expires_in_days=1)
    service.revoke("proj-a", revoked, reason=None, actor="u")
    clock.advance(DAY_MS)

    assert [k.prefix for k in service.list_keys("proj-a")] == [active]
    everything = service.list_keys("proj-a", include_inactive=True)
    assert [(k.prefix, k.status(clock.now)) for k in everything] == [
        (active, "active"),
        (revoked, "revoked"),
        (expiring, "expired"),
    ]


def test_deleting_a_projects_keys_removes_them_and_their_audit(service: ApiKeyService) -> None:
    raw, _ = _create(service)
    _create(service, name="other")
    _create(service, project_id="proj-b")

    assert service.delete_project_keys("proj-a") == 2

    assert service.list_keys("proj-a", include_inactive=True) == []
    assert service.audit("proj-a") == []
    with pytest.raises(AuthenticationError):
        service.authenticate(raw)
    assert len(service.list_keys("proj-b")) == 1


def test_audit_is_newest_first_and_limited(service: ApiKeyService, clock: SteppedClock) -> None:
    raw, _ = _create(service)
    for _ in range(3):
        clock.advance(10)
        service.authenticate(raw)

    entries = service.audit("proj-a", limit=2)

    assert [e.action for e in entries] == ["used", "used"]
    assert entries[0].at > entries[1].at
    assert [e.action for e in service.audit("proj-a")][-1] == "created"


def test_authenticate_compares_hashes_in_constant_time(
    service: ApiKeyService, store: InMemoryKeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, prefix = _create(service)
    stored = store.get(prefix)
    assert stored is not None
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)

    service.authenticate(raw)

    assert compared == [(stored.key_hash.encode(), stored.key_hash.encode())]


def test_require_active_rejects_a_principal_whose_key_was_revoked_expired_or_deleted_since(
    service: ApiKeyService, clock: SteppedClock
) -> None:
    revoked_raw, revoked_prefix = _create(service, name="revoked")
    expiring_raw, _ = _create(service, name="expiring", expires_in_days=1)
    doomed_raw, _ = _create(service, project_id="proj-b", name="doomed")
    live_raw, _ = _create(service, name="live")
    principals = {raw: service.authenticate(raw) for raw in (revoked_raw, expiring_raw, doomed_raw, live_raw)}

    service.revoke("proj-a", revoked_prefix, reason=None, actor="user-1")
    clock.advance(DAY_MS)
    service.delete_project_keys("proj-b")

    service.require_active(principals[live_raw])
    for raw in (revoked_raw, expiring_raw, doomed_raw):
        with pytest.raises(AuthenticationError, match="^invalid API key$"):
            service.require_active(principals[raw])
    # A principal naming an existing prefix with another key's id (a forged or stale context) is no caller either.
    forged = principals[live_raw].model_copy(update={"key_id": principals[revoked_raw].key_id})
    with pytest.raises(AuthenticationError):
        service.require_active(forged)


def test_a_deleted_projects_keys_cannot_be_recreated(service: ApiKeyService) -> None:
    _create(service, project_id="proj-gone")
    service.delete_project_keys("proj-gone")

    with pytest.raises(NotFoundError, match="was deleted"):
        _create(service, project_id="proj-gone", name="again")
    assert service.list_keys("proj-gone", include_inactive=True) == []


def test_the_pepper_may_be_a_function_read_only_when_a_key_is_hashed(store: InMemoryKeyStore) -> None:
    reads: list[int] = []

    def pepper() -> bytes:
        reads.append(1)
        return PEPPER

    lazy = ApiKeyService(store, pepper)
    raw, _ = ApiKeyService(store, PEPPER).create("proj-a", "ci", ["flows:read"], created_by="user-1")
    principal = ApiKeyService(store, PEPPER).authenticate(raw)

    lazy.require_active(principal)
    assert reads == []
    assert lazy.authenticate(raw) == principal and lazy.authenticate(raw) == principal
    assert reads == [1]
