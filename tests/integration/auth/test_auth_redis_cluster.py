"""The key store's hash tags on a real Redis Cluster, its multi-step writes, and the move from layout 1.

A cluster refuses a command, transaction or script whose keys hash to different slots (CROSSSLOT). The tests
here show that it does, that every group of names one operation uses shares a slot (so removing a tag fails
them), and that a write interrupted between its steps leaves nothing anyone can use.
"""

from __future__ import annotations

import base64
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from auth_redis_testkit import PEPPER, SteppedClock, unique_project
from redis.cluster import key_slot
from redis_cluster_kit import LocalCluster, open_test_redis

from perceo.auth import ApiKeyService, RedisKeyStore
from perceo.errors import AuthenticationError, BackendUnavailableError, ConflictError
from perceo.llm.usage import recent_key, usage_key
from perceo.redis_client import RedisClient, open_redis
from perceo.workflows.progress import RedisProgressStore
from perceo_cli.local.server import RespError, ServerProcess, command


def _slot(name: str) -> int:
    return int(key_slot(name.encode()))


def _key_groups(store: RedisKeyStore, project_id: str, prefix: str) -> list[list[str]]:
    """The names each multi-key operation of the key store uses together."""
    return [
        [store._record_key(prefix), store._usage_key(prefix)],  # get, record_use, revoke
        [
            store._index_key(project_id),
            store._names_key(project_id),
            store._audit_key(project_id),
            store._deleted_key(project_id),
        ],  # registration, delete_project
    ]


@pytest.fixture
def cluster_client(request: pytest.FixtureRequest, redis_cluster: LocalCluster) -> RedisClient:
    client = open_test_redis(request, "cluster")
    request.addfinalizer(client.close)
    return client


@pytest.mark.parametrize("project_id", ["proj-a", "proj-b", "p", "0123456789abcdef-long-project-id_x"])
def test_every_multi_key_operation_names_keys_of_one_slot(project_id: str) -> None:
    """Key store, LLM usage and workflow progress: the names one transaction or script uses share a slot."""
    unconnected = redis.Redis(host="127.0.0.1", port=1)  # names only; nothing is sent
    store = RedisKeyStore(unconnected)
    progress_key = RedisProgressStore(unconnected)._key(project_id, "wf-1")
    prefix = "prc_" + project_id[-8:].rjust(8, "x")

    groups = [
        *_key_groups(store, project_id, prefix),
        [usage_key(project_id, "2026-03-02"), recent_key(project_id, "2026-03-02")],
        [progress_key, f"{progress_key}:items"],
    ]

    assert [len({_slot(name) for name in group}) for group in groups] == [1] * len(groups)


def test_the_cluster_refuses_keys_of_two_projects_in_one_command(
    cluster_client: RedisClient, redis_cluster: LocalCluster
) -> None:
    """The server itself answers CROSSSLOT (a raw MSET to the node of the first key, no client-side check): what
    the key store's transactions would get without hash tags, and do not get with them."""
    assert isinstance(cluster_client, redis.RedisCluster)
    store = RedisKeyStore(cluster_client)
    # Two names that would be written together without tags: a record and its project's index (layout 1).
    untagged = ["perceo:key:prc_abcdefgh", "perceo:keys:proj-a"]
    tagged = [store._index_key("proj-a"), store._names_key("proj-a")]
    assert _slot(untagged[0]) != _slot(untagged[1])

    def mset(names: list[str]) -> object:
        node = cluster_client.get_node_from_key(names[0])
        return command(node.host, node.port, "MSET", *(part for name in names for part in (name, "1")))

    with pytest.raises(RespError, match="^CROSSSLOT"):
        mset(untagged)
    assert mset(tagged) == "OK"
    cluster_client.delete(*tagged[:1])
    cluster_client.delete(tagged[1])


def test_without_its_tag_the_hot_path_fails_on_a_cluster(
    cluster_client: RedisClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`record_use` runs one script over the record and the usage hash: untagged names make it a CROSSSLOT."""
    clock = SteppedClock()
    store = RedisKeyStore(cluster_client)
    service = ApiKeyService(store, PEPPER, clock)
    raw, key = service.create(unique_project(), "ci", ["flows:read"], created_by="u")
    assert service.authenticate(raw).key_id == key.id

    monkeypatch.setattr(store, "_usage_key", lambda prefix: f"perceo:keyuse:{prefix}")

    with pytest.raises(BackendUnavailableError):
        store.record_use(key.prefix, at_ms=clock.now, ip=None)


def _fixed_seeds(*first_bytes: bytes):  # type: ignore[no-untyped-def]
    seeds = iter([b + os.urandom(32 - len(b)) for b in first_bytes])
    return lambda n: next(seeds)


def test_a_key_refused_for_its_name_leaves_no_claimed_prefix(key_redis: RedisClient, clock: SteppedClock) -> None:
    first, second = os.urandom(6), os.urandom(6)
    store = RedisKeyStore(key_redis)
    service = ApiKeyService(store, PEPPER, clock, random_bytes=_fixed_seeds(first, second))
    project = unique_project()
    service.create(project, "ci", ["flows:read"], created_by="u")

    with pytest.raises(ConflictError):
        service.create(project, "CI", ["flows:read"], created_by="u")

    refused_prefix = "prc_" + base64.urlsafe_b64encode(second).decode()
    assert key_redis.exists(store._record_key(refused_prefix)) == 0
    assert [k.name for k in service.list_keys(project, include_inactive=True)] == ["ci"]


def test_a_claimed_key_expires_unless_its_project_registers_it(
    key_redis: RedisClient, clock: SteppedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the process die between the two steps, the claimed record goes by itself (nobody holds its key)."""
    store = RedisKeyStore(key_redis)
    service = ApiKeyService(store, PEPPER, clock)
    seen: list[int] = []
    original = store._register

    def register_and_look(record):  # type: ignore[no-untyped-def]
        seen.append(int(key_redis.ttl(store._record_key(record.prefix))))
        original(record)

    monkeypatch.setattr(store, "_register", register_and_look)
    _, key = service.create(unique_project(), "ci", ["flows:read"], created_by="u")

    assert 0 < seen[0] <= 300
    assert key_redis.ttl(store._record_key(key.prefix)) == -1  # registered: permanent


def test_a_name_left_held_by_a_revoked_key_is_free_again(
    key_redis: RedisClient, clock: SteppedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A revocation that stopped after marking the key revoked (before freeing its name) does not block the name."""
    store = RedisKeyStore(key_redis)
    service = ApiKeyService(store, PEPPER, clock)
    project = unique_project()
    raw, key = service.create(project, "deploy", ["flows:read"], created_by="u")

    def unreachable(**_: object) -> None:
        raise redis.ConnectionError("gone in between")

    monkeypatch.setattr(store, "_free_name", unreachable)
    with pytest.raises(BackendUnavailableError):
        service.revoke(project, key.prefix, reason=None, actor="u")
    monkeypatch.undo()
    assert key_redis.hget(store._names_key(project), "deploy") is not None

    _, again = service.create(project, "deploy", ["flows:read"], created_by="u")

    with pytest.raises(AuthenticationError):
        service.authenticate(raw)
    assert [k.prefix for k in service.list_keys(project)] == [again.prefix]


def _as_layout_1(client: RedisClient, store: RedisKeyStore, project: str, prefix: str) -> None:
    """Rename the store's names back to what version 1 wrote (no hash tags), and forget the layout marker."""
    ns = store._ns
    for tagged, legacy in [
        (store._record_key(prefix), f"{ns}:key:{prefix}"),
        (store._usage_key(prefix), f"{ns}:keyuse:{prefix}"),
        (store._index_key(project), f"{ns}:keys:{project}"),
        (store._names_key(project), f"{ns}:keynames:{project}"),
        (store._audit_key(project), f"{ns}:keyaudit:{project}"),
    ]:
        client.rename(tagged, legacy)
    client.delete(store._layout_key())


def test_keys_written_by_layout_1_are_moved_once_and_keep_working(
    falkordb_server: ServerProcess, clock: SteppedClock
) -> None:
    client = open_redis(falkordb_server.url, where="test", decode_responses=True)
    namespace = f"mig{os.urandom(4).hex()}"  # its own names: the scan sees only this test's keys
    store = RedisKeyStore(client, namespace=namespace)
    service = ApiKeyService(store, PEPPER, clock)
    project = unique_project()
    raw, key = service.create(project, "ci", ["flows:read"], created_by="u")
    service.authenticate(raw, ip="203.0.113.7")
    _as_layout_1(client, store, project, key.prefix)
    with pytest.raises(AuthenticationError):
        service.authenticate(raw)  # not found under the new names until moved

    moved = store.migrate_legacy_layout()

    assert moved == 5 and store.migrate_legacy_layout() == 0
    stored = store.get(key.prefix)
    assert stored is not None and stored.last_used_ip == "203.0.113.7"
    assert service.authenticate(raw).key_id == key.id
    [listed] = service.list_keys(project)
    assert (listed.prefix, listed.last_used_ip) == (key.prefix, None)  # the last use (this call) has no IP
    assert [e.action for e in service.audit(project)][-1] == "created"
    assert client.keys(f"{namespace}:*:prc_*") == [] and client.keys(f"{namespace}:keys:proj-*") == []
    client.close()


def test_on_a_cluster_the_migration_only_writes_the_marker(cluster_client: RedisClient) -> None:
    store = RedisKeyStore(cluster_client, namespace=f"mig{os.urandom(4).hex()}")

    assert store.migrate_legacy_layout() == 0
    assert cluster_client.get(store._layout_key()) == "2"


def test_the_composition_root_builds_a_cluster_client_from_a_cluster_url(redis_cluster: LocalCluster) -> None:
    """`REDIS_URL=redis+cluster://…` (what the template passes for ElastiCache Serverless) gives the key store and
    the rate limiter a cluster client, and they work through it."""
    from perceo import wiring
    from perceo.config.settings import Settings

    settings = Settings.model_validate(
        {
            "STAGE": "dev",
            "POWERTOOLS_SERVICE_NAME": "perceo",
            "GRAPH_URI": "redis://127.0.0.1:1",
            "REDIS_URL": redis_cluster.url,
        }
    )
    services = wiring.build_services(settings, pepper=PEPPER)
    try:
        raw, key = services.keys.create(unique_project(), "ci", ["flows:read"], created_by="u")

        assert isinstance(services.redis, redis.RedisCluster)
        assert services.redis.ping() is True  # what GET /health checks
        assert services.keys.authenticate(raw).key_id == key.id
        assert services.limiter.check(key.id).allowed
        assert services.redis.get("perceo:keystore-layout") == "2"
    finally:
        services.close()


def test_concurrent_creates_of_one_name_give_one_key_and_leave_no_claimed_records(
    key_redis: RedisClient, clock: SteppedClock
) -> None:
    store = RedisKeyStore(key_redis)
    service = ApiKeyService(store, PEPPER, clock)
    project = unique_project()
    start = threading.Barrier(6)

    def create() -> str:
        start.wait(timeout=10)
        try:
            return service.create(project, "deploy", ["flows:read"], created_by="u")[1].prefix
        except ConflictError:
            return "conflict"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(lambda _: create(), range(6)))

    made = [o for o in outcomes if o != "conflict"]
    records = [
        name
        for name in key_redis.scan_iter(match="perceo:key:{prc_*", count=1000)
        if project in str(key_redis.get(name))
    ]
    assert len(made) == 1 and outcomes.count("conflict") == 5
    assert [k.prefix for k in service.list_keys(project)] == made
    assert len(records) == 1
