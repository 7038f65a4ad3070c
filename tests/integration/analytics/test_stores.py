"""The analytics stores on real components: idempotency sets and cursors in Redis (the FalkorDB server, which is
Redis 8), raw batches in S3 (moto) and in a local directory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from perceo.analytics.model import SyncCursor
from perceo.analytics.stores import LocalObjectStore, RedisCursorStore, RedisSeenEvents, S3ObjectStore, seen_key
from perceo.errors import ValidationFailed
from perceo.redis_client import RedisClient


@pytest.fixture
def project() -> str:
    return f"p-{uuid.uuid4().hex[:10]}"


def test_claims_say_which_ids_are_new_per_project_and_day_and_expire(any_redis: RedisClient, project: str) -> None:
    seen = RedisSeenEvents(any_redis, ttl_s=3600)
    other = f"{project}-other"

    first = seen.claim(project, [("2026-03-09", "ingest:a"), ("2026-03-09", "ingest:b"), ("2026-03-10", "ingest:a")])
    again = seen.claim(project, [("2026-03-09", "ingest:a"), ("2026-03-09", "ingest:c"), ("2026-03-09", "ingest:c")])
    elsewhere = seen.claim(other, [("2026-03-09", "ingest:a")])

    assert first == [True, True, True] and again == [False, True, False] and elsewhere == [True]
    assert 0 < any_redis.ttl(seen_key(project, "2026-03-09")) <= 3600


def test_claims_of_provider_ids_with_newlines_or_non_ascii_keep_one_answer_per_id(
    any_redis: RedisClient, project: str
) -> None:
    seen = RedisSeenEvents(any_redis, ttl_s=3600)
    odd = [("2026-03-09", "mixpanel:a\nb"), ("2026-03-09", "mixpanel:a"), ("2026-03-09", "mixpanel:b")]
    plain = [("2026-03-10", "amplitude:é-1"), ("2026-03-10", "amplitude:ü-2"), ("2026-03-10", "amplitude:é-1")]

    assert seen.claim(project, odd) == [True, True, True]
    assert seen.claim(project, odd) == [False, False, False]
    assert seen.claim(project, plain) == [True, True, False]
    members = {m.decode() if isinstance(m, bytes) else m for m in any_redis.smembers(seen_key(project, "2026-03-09"))}
    assert members == {"mixpanel:a\nb", "mixpanel:a", "mixpanel:b"}
    assert any_redis.scard(seen_key(project, "2026-03-10")) == 2


def test_released_claims_can_be_claimed_again(any_redis: RedisClient, project: str) -> None:
    seen = RedisSeenEvents(any_redis, ttl_s=3600)
    seen.claim(project, [("2026-03-09", "x"), ("2026-03-09", "y")])

    seen.release(project, [("2026-03-09", "x")])

    assert seen.claim(project, [("2026-03-09", "x"), ("2026-03-09", "y")]) == [True, False]


def test_cursors_are_kept_per_project_and_provider(any_redis: RedisClient, project: str) -> None:
    cursors = RedisCursorStore(any_redis)
    cursor = SyncCursor(provider="mixpanel", synced_until=1_000, updated_at=2_000, events_total=7)

    cursors.put(project, cursor)

    assert cursors.get(project, "mixpanel") == cursor
    assert cursors.get(project, "amplitude") is None and cursors.get(f"{project}-b", "mixpanel") is None


@pytest.fixture
def s3() -> Iterator[S3ObjectStore]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="perceo-events")
        yield S3ObjectStore(client, "perceo-events")


@pytest.fixture
def local(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / ".perceo" / "data")


@pytest.mark.parametrize("kind", ["s3", "local"])
def test_objects_are_written_whole_listed_by_prefix_and_streamed_by_line(
    kind: str, request: pytest.FixtureRequest
) -> None:
    store = request.getfixturevalue(kind)
    store.put("events/p1/2026-03-09/ingest/002-b.jsonl", b'{"n":2}\n{"n":3}\n')
    store.put("events/p1/2026-03-09/ingest/001-a.jsonl", b'{"n":1}\n')
    store.put("events/p1/2026-03-10/ingest/003-c.jsonl", b'{"n":4}\n')
    store.put("events/p10/2026-03-09/ingest/001-a.jsonl", b'{"n":9}\n')

    keys = store.list("events/p1/2026-03-09/")

    assert keys == ["events/p1/2026-03-09/ingest/001-a.jsonl", "events/p1/2026-03-09/ingest/002-b.jsonl"]
    assert list(store.read_lines(keys[1])) == [b'{"n":2}', b'{"n":3}']
    assert list(store.read_lines("events/p1/2026-03-09/ingest/missing.jsonl")) == []
    assert store.list("events/p1/") == [*keys, "events/p1/2026-03-10/ingest/003-c.jsonl"]
    assert store.delete(keys) == 2 and store.list("events/p1/2026-03-09/") == []


def test_the_local_store_writes_under_its_root_atomically_and_refuses_keys_that_leave_it(
    local: LocalObjectStore, tmp_path: Path
) -> None:
    local.put("events/p1/2026-03-09/ingest/a.jsonl", b"x\n")

    assert (tmp_path / ".perceo/data/events/p1/2026-03-09/ingest/a.jsonl").read_bytes() == b"x\n"
    assert [p.name for p in (tmp_path / ".perceo/data/events/p1/2026-03-09/ingest").iterdir()] == ["a.jsonl"]
    for bad in ("../outside.jsonl", "/abs.jsonl", "events/../../x"):
        with pytest.raises(ValidationFailed):
            local.put(bad, b"x")


def test_s3_objects_are_encrypted_at_rest(s3: S3ObjectStore) -> None:
    s3.put("events/p1/2026-03-09/ingest/a.jsonl", b"x\n")

    head = s3._s3.head_object(Bucket="perceo-events", Key="events/p1/2026-03-09/ingest/a.jsonl")
    assert head["ServerSideEncryption"] == "AES256"
