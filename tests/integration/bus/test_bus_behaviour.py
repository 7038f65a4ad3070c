"""The EventBus contract, held by both adapters: the same tests run on the in-memory bus and on Redis.

Redis runs three times: with a client that decodes replies (RESP2, what the factory builds), with a raw-bytes
RESP3 client, since RedisBus accepts any client it is given, and on a real three-node Redis Cluster.
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from redis_cluster_kit import open_test_redis

from perceo.bus.memory import InMemoryBus
from perceo.bus.port import DurableEventBus
from perceo.bus.redis import RedisBus
from perceo.errors import NotFoundError
from perceo.models import EventType, PerceoEvent
from perceo.redis_client import RedisClient
from perceo_cli.local.server import ServerProcess

WAIT_S = 5.0
BusFactory = Callable[..., DurableEventBus]


@pytest.fixture(params=["memory", "redis", "redis-bytes-resp3", "redis-cluster"])
def make_bus(request: pytest.FixtureRequest) -> Iterator[BusFactory]:
    buses: list[DurableEventBus] = []
    clients: list[RedisClient] = []

    def make(max_len: int = 10_000) -> DurableEventBus:
        if request.param == "memory":
            bus: DurableEventBus = InMemoryBus(max_len=max_len)
        else:
            client: RedisClient
            if request.param == "redis-cluster":
                client = open_test_redis(request, "cluster")
            else:
                server: ServerProcess = request.getfixturevalue("falkordb_server")
                if request.param == "redis":
                    client = redis.Redis(host=server.host, port=server.port, decode_responses=True)
                else:
                    client = redis.Redis(host=server.host, port=server.port, protocol=3)
            clients.append(client)
            bus = RedisBus(client, stream_max_len=max_len, poll_interval_s=0.05)
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        bus.close()
    for client in clients:
        client.close()


@pytest.fixture
def bus(make_bus: BusFactory) -> DurableEventBus:
    return make_bus()


@pytest.fixture
def project_id() -> str:
    return f"p-{uuid.uuid4().hex[:12]}"


def event(project_id: str, type_: EventType = EventType.FLOW_CREATED, **data: object) -> PerceoEvent:
    return PerceoEvent(type=type_, source="graph", project_id=project_id, data=dict(data))


class Inbox:
    """A handler that queues what it gets, so a test waits for an event instead of sleeping."""

    def __init__(self) -> None:
        self.events: queue.Queue[PerceoEvent] = queue.Queue()

    def __call__(self, e: PerceoEvent) -> None:
        self.events.put(e)

    def next(self) -> PerceoEvent:
        return self.events.get(timeout=WAIT_S)

    def drained(self) -> list[PerceoEvent]:
        left = []
        while not self.events.empty():
            left.append(self.events.get_nowait())
        return left


def test_a_subscriber_receives_what_is_published_after_it_subscribed(bus: DurableEventBus, project_id: str) -> None:
    inbox = Inbox()
    bus.subscribe(project_id, inbox)
    sent = event(project_id, flowId="checkout")

    bus.publish(sent)

    assert inbox.next() == sent


def test_events_arrive_in_publish_order(bus: DurableEventBus, project_id: str) -> None:
    inbox = Inbox()
    bus.subscribe(project_id, inbox)

    for n in range(20):
        bus.publish(event(project_id, n=n))

    assert [inbox.next().data["n"] for _ in range(20)] == list(range(20))


def test_a_type_filter_delivers_only_the_wanted_types(bus: DurableEventBus, project_id: str) -> None:
    inbox = Inbox()
    bus.subscribe(project_id, inbox, types=[EventType.TESTS_COMPLETED])

    bus.publish(event(project_id, EventType.TESTS_STARTED))
    bus.publish(event(project_id, EventType.FLOW_CREATED))
    bus.publish(event(project_id, EventType.TESTS_COMPLETED, passed=3))

    assert inbox.next().type == EventType.TESTS_COMPLETED
    assert inbox.drained() == []  # the others were published first, on the same channel, and never came


def test_a_subscriber_of_one_project_never_sees_another_projects_events(bus: DurableEventBus, project_id: str) -> None:
    other = f"{project_id}-b"
    inbox_a = Inbox()
    bus.subscribe(project_id, inbox_a)

    bus.publish(event(other, secret="b-only"))
    bus.publish(event(project_id, n=1))

    assert inbox_a.next().project_id == project_id
    assert inbox_a.drained() == []
    assert [e.project_id for _, e in bus.replay(project_id)] == [project_id]
    assert [e.data for _, e in bus.replay(other)] == [{"secret": "b-only"}]


def test_replay_returns_what_was_published_while_a_subscriber_was_away(bus: DurableEventBus, project_id: str) -> None:
    inbox = Inbox()
    subscription = bus.subscribe(project_id, inbox)
    bus.publish(event(project_id, n=1))
    assert inbox.next().data == {"n": 1}
    subscription.close()
    last_seen_id = bus.replay(project_id)[-1][0]

    bus.publish(event(project_id, n=2))
    bus.publish(event(project_id, n=3))

    missed = bus.replay(project_id, after_id=last_seen_id)
    assert [e.data["n"] for _, e in missed] == [2, 3]
    assert inbox.drained() == []
    assert bus.replay(project_id, after_id=missed[-1][0]) == []


def test_replay_pages_with_count(bus: DurableEventBus, project_id: str) -> None:
    for n in range(5):
        bus.publish(event(project_id, n=n))

    first = bus.replay(project_id, count=2)
    second = bus.replay(project_id, after_id=first[-1][0], count=2)

    assert [e.data["n"] for _, e in first + second] == [0, 1, 2, 3]


def test_the_stream_is_capped_and_keeps_the_newest(make_bus: BusFactory, project_id: str) -> None:
    bus = make_bus(max_len=10)
    for n in range(250):
        bus.publish(event(project_id, n=n))

    kept = [e.data["n"] for _, e in bus.replay(project_id, count=1000)]

    # Redis trims approximately (whole nodes of ~100 entries); the in-memory bus exactly.
    assert 10 <= len(kept) < 250
    assert kept[-1] == 249
    assert 0 not in kept


def test_a_closed_subscription_receives_nothing_more(bus: DurableEventBus, project_id: str) -> None:
    closed, still_open = Inbox(), Inbox()
    bus.subscribe(project_id, closed).close()
    bus.subscribe(project_id, still_open)

    bus.publish(event(project_id))

    still_open.next()
    assert closed.drained() == []


def test_a_failing_handler_keeps_its_subscription(bus: DurableEventBus, project_id: str) -> None:
    inbox = Inbox()

    def flaky(e: PerceoEvent) -> None:
        if e.data.get("boom"):
            raise RuntimeError("handler bug")
        inbox(e)

    bus.subscribe(project_id, flaky)
    bus.publish(event(project_id, boom=True))
    bus.publish(event(project_id, n=2))

    assert inbox.next().data == {"n": 2}


def test_a_consumer_group_shares_events_and_keeps_them_pending_until_acked(
    bus: DurableEventBus, project_id: str
) -> None:
    bus.ensure_group(project_id, "indexer")
    bus.ensure_group(project_id, "indexer")  # idempotent
    for n in range(3):
        bus.publish(event(project_id, n=n))

    first = bus.read_group(project_id, "indexer", "worker-1", count=2)
    second = bus.read_group(project_id, "indexer", "worker-2", count=10)

    assert [e.data["n"] for _, e in first] == [0, 1]
    assert [e.data["n"] for _, e in second] == [2]
    assert bus.pending_count(project_id, "indexer") == 3
    assert bus.ack(project_id, "indexer", *(i for i, _ in first)) == 2
    assert bus.ack(project_id, "indexer", first[0][0]) == 0  # already acknowledged
    assert bus.pending_count(project_id, "indexer") == 1
    assert bus.read_group(project_id, "indexer", "worker-1") == []


def test_a_consumer_that_crashed_gets_its_unacked_events_again(bus: DurableEventBus, project_id: str) -> None:
    bus.ensure_group(project_id, "notifier")
    bus.publish(event(project_id, n=1))
    bus.publish(event(project_id, n=2))
    taken = bus.read_group(project_id, "notifier", "worker-1")
    bus.ack(project_id, "notifier", taken[0][0])

    again = bus.read_group(project_id, "notifier", "worker-1", redeliver=True)

    assert again == taken[1:]
    assert bus.read_group(project_id, "notifier", "worker-2", redeliver=True) == []


def test_groups_are_independent_and_a_new_only_group_skips_history(bus: DurableEventBus, project_id: str) -> None:
    bus.publish(event(project_id, n=1))
    bus.ensure_group(project_id, "from-start", start_id="0")
    bus.ensure_group(project_id, "new-only", start_id="$")
    bus.publish(event(project_id, n=2))

    assert [e.data["n"] for _, e in bus.read_group(project_id, "from-start", "c")] == [1, 2]
    assert [e.data["n"] for _, e in bus.read_group(project_id, "new-only", "c")] == [2]


def test_a_blocking_group_read_returns_when_an_event_is_published(bus: DurableEventBus, project_id: str) -> None:
    bus.ensure_group(project_id, "waiter")
    results: queue.Queue[list[tuple[str, PerceoEvent]]] = queue.Queue()
    reader = threading.Thread(
        target=lambda: results.put(bus.read_group(project_id, "waiter", "c", block_ms=int(WAIT_S * 1000)))
    )
    reader.start()

    bus.publish(event(project_id, n=7))

    got = results.get(timeout=WAIT_S + 1)
    reader.join()
    assert [e.data["n"] for _, e in got] == [7]


def test_a_blocking_group_read_gives_up_empty_after_its_timeout(bus: DurableEventBus, project_id: str) -> None:
    bus.ensure_group(project_id, "idle")

    assert bus.read_group(project_id, "idle", "c", block_ms=20) == []


def test_reading_a_group_that_does_not_exist_says_so(bus: DurableEventBus, project_id: str) -> None:
    bus.publish(event(project_id))

    with pytest.raises(NotFoundError, match="ensure_group"):
        bus.read_group(project_id, "missing", "c")
    with pytest.raises(NotFoundError):
        bus.pending_count(project_id, "missing")
