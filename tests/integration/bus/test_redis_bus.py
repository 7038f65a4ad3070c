"""Redis-only behaviour: the wire format others can read, bad messages, outages, restarts, and the factory."""

from __future__ import annotations

import json
import queue
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis_cluster_kit import LocalCluster

from perceo.bus.factory import open_event_bus
from perceo.bus.memory import InMemoryBus
from perceo.bus.redis import RedisBus, _unavailable_as_domain_error
from perceo.config.model import EventBusSection
from perceo.errors import BackendUnavailableError, ConfigError, ValidationFailed
from perceo.models import EventType, PerceoEvent
from perceo.redis_client import RedisClient, open_redis
from perceo_cli.local.server import ServerProcess, free_port, stop_server
from perceo_cli.local.store import EmbeddedStore

WAIT_S = 5.0


@pytest.fixture
def project_id() -> str:
    return f"p-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def bus(any_redis: RedisClient) -> Iterator[RedisBus]:
    """On one node and on a three-node cluster."""
    bus = RedisBus(any_redis, poll_interval_s=0.05)
    yield bus
    bus.close()


def event(project_id: str, type_: EventType = EventType.FLOW_CREATED, **data: object) -> PerceoEvent:
    return PerceoEvent(type=type_, source="graph", project_id=project_id, data=dict(data))


def test_publish_writes_camel_case_json_to_the_documented_channel_and_stream(
    bus: RedisBus, any_redis: RedisClient, project_id: str
) -> None:
    listener = any_redis.pubsub()
    listener.subscribe(f"perceo:events:{project_id}")
    assert listener.get_message(timeout=WAIT_S)["type"] == "subscribe"  # type: ignore[index]
    sent = event(project_id, flowId="checkout")

    bus.publish(sent)

    message = listener.get_message(timeout=WAIT_S)
    listener.close()
    assert message is not None
    assert json.loads(message["data"])["projectId"] == project_id
    [(_, fields)] = any_redis.xrange(f"perceo:stream:{project_id}")
    assert PerceoEvent.model_validate_json(fields["event"]) == sent


def test_garbage_on_the_channel_does_not_end_a_subscription(
    bus: RedisBus, any_redis: RedisClient, project_id: str
) -> None:
    inbox: queue.Queue[PerceoEvent] = queue.Queue()
    bus.subscribe(project_id, inbox.put)

    any_redis.publish(f"perceo:events:{project_id}", "{not an event")
    bus.publish(event(project_id, n=1))

    assert inbox.get(timeout=WAIT_S).data == {"n": 1}
    assert inbox.empty()


def test_garbage_in_the_stream_is_skipped_by_replay_and_not_left_pending_in_a_group(
    bus: RedisBus, any_redis: RedisClient, project_id: str
) -> None:
    bus.ensure_group(project_id, "g")
    any_redis.xadd(f"perceo:stream:{project_id}", {"event": '{"type": "nope"}'})
    any_redis.xadd(f"perceo:stream:{project_id}", {"other": "field"})
    bus.publish(event(project_id, n=1))

    assert [e.data for _, e in bus.replay(project_id)] == [{"n": 1}]
    assert [e.data for _, e in bus.read_group(project_id, "g", "c")] == [{"n": 1}]
    assert bus.pending_count(project_id, "g") == 1  # only the real event waits for its ack


def test_an_invalid_replay_position_is_a_validation_error(bus: RedisBus, project_id: str) -> None:
    with pytest.raises(ValidationFailed, match="not a stream id"):
        bus.replay(project_id, after_id="yesterday")


def test_an_unreachable_redis_is_a_backend_unavailable_error(project_id: str) -> None:
    # No retries: the default policy backs off for seconds before it gives up, which proves nothing more.
    client = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    bus = RedisBus(client)

    with pytest.raises(BackendUnavailableError, match="cannot be reached"):
        bus.publish(event(project_id))
    with pytest.raises(BackendUnavailableError):
        bus.subscribe(project_id, lambda e: None)
    client.close()


def test_close_ends_every_subscription_thread(bus: RedisBus, project_id: str) -> None:
    subscriptions = [bus.subscribe(project_id, lambda e: None) for _ in range(3)]

    bus.close()

    assert [s.alive for s in subscriptions] == [False, False, False]


def test_a_subscriber_hears_events_again_after_the_embedded_store_restarts(tmp_path: Path, project_id: str) -> None:
    store = EmbeddedStore(tmp_path / ".perceo" / "data")
    first = store.ensure_running()
    pids = {first.pid}
    client = redis.Redis.from_url(first.url, decode_responses=True)
    bus = RedisBus(client, poll_interval_s=0.05)
    inbox: queue.Queue[PerceoEvent] = queue.Queue()
    try:
        bus.subscribe(project_id, inbox.put)
        store.stop()
        second = store.ensure_running()
        pids.add(second.pid)
        assert second.port == first.port

        # Pub/sub is fire-and-forget: until the subscriber's connection is back, publishes are not heard live.
        # Publish until one arrives (bounded), then check that it came through the resubscribed connection.
        received = None
        for attempt in range(50):
            bus.publish(event(project_id, attempt=attempt))
            try:
                received = inbox.get(timeout=0.2)
                break
            except queue.Empty:
                continue
        assert received is not None
        assert bus.replay(project_id, count=100)[-1][1].data["attempt"] >= received.data["attempt"]
    finally:
        bus.close()
        client.close()
        for pid in pids:
            stop_server(pid)


def test_factory_builds_an_in_memory_bus_with_the_configured_cap() -> None:
    bus = open_event_bus(EventBusSection(type="in-memory", stream_max_len=500), embedded_url=None)

    assert isinstance(bus, InMemoryBus)
    assert bus.max_len == 500


def test_factory_builds_a_redis_bus_from_the_configured_url(falkordb_server: ServerProcess, project_id: str) -> None:
    bus = open_event_bus(EventBusSection(type="redis", redis_url=falkordb_server.url), embedded_url=None)
    try:
        bus.publish(event(project_id))
        assert len(bus.replay(project_id)) == 1
    finally:
        bus.close()


def test_factory_builds_a_cluster_bus_from_a_cluster_url(redis_cluster: LocalCluster, project_id: str) -> None:
    bus = open_event_bus(EventBusSection(type="redis", redis_url=redis_cluster.url), embedded_url=None)
    inbox: queue.Queue[PerceoEvent] = queue.Queue()
    try:
        bus.subscribe(project_id, inbox.put)
        bus.publish(event(project_id, n=1))
        assert inbox.get(timeout=WAIT_S).data == {"n": 1}
        assert [e.data for _, e in bus.replay(project_id)] == [{"n": 1}]
    finally:
        bus.close()


def test_a_cluster_outage_names_the_cluster_nodes(redis_cluster: LocalCluster) -> None:
    client = open_redis(redis_cluster.url, where="eventBus.redisUrl")
    try:
        with pytest.raises(BackendUnavailableError, match=r"the event bus \(Redis at the cluster of 127\.0\.0\.1:\d+"):
            with _unavailable_as_domain_error(client):
                raise redis.ConnectionError("connection reset")
    finally:
        client.close()


def test_factory_uses_the_embedded_store_url_for_the_embedded_type(
    falkordb_server: ServerProcess, project_id: str
) -> None:
    bus = open_event_bus(EventBusSection(type="embedded"), embedded_url=falkordb_server.url)
    try:
        assert isinstance(bus, RedisBus)
        bus.publish(event(project_id))
        assert len(bus.replay(project_id)) == 1
    finally:
        bus.close()


def test_factory_errors_name_what_is_missing() -> None:
    with pytest.raises(ConfigError, match="eventBus.redisUrl"):
        open_event_bus(EventBusSection(type="redis"), embedded_url=None)
    with pytest.raises(ConfigError, match="eventBus.redisUrl"):
        open_event_bus(EventBusSection(type="redis", redis_url="http://not-redis"), embedded_url=None)
    with pytest.raises(BackendUnavailableError, match="embedded store"):
        open_event_bus(EventBusSection(type="embedded"), embedded_url=None)
