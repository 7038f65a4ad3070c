"""The event bus on Redis (ElastiCache in the cloud, the embedded FalkorDB server locally).

publish = PUBLISH on `perceo:events:<projectId>` for live listeners + XADD to the capped stream
`perceo:stream:<projectId>` for replay and consumer groups, in one script so neither happens alone. The script
declares the stream as its one key (a channel is no key), so it runs on a Redis Cluster too, where a pipeline or
MULTI cannot carry PUBLISH; a cluster forwards a PUBLISH to the subscribers on every node.
A subscription owns one pub/sub connection and one daemon thread that calls the handler; handlers
therefore run on that thread, one event at a time, in publish order.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import redis
import redis.exceptions

from perceo.bus.codec import (
    EVENT_FIELD,
    channel_for,
    check_count,
    decode_event,
    encode_event,
    parse_stream_id,
    stream_for,
    type_filter,
)
from perceo.bus.port import Handler
from perceo.errors import BackendUnavailableError, NotFoundError, ValidationFailed
from perceo.models import EventType, PerceoEvent

if TYPE_CHECKING:
    from perceo.redis_client import RedisClient

logger = logging.getLogger(__name__)

#: How long subscribe() waits for the server to confirm SUBSCRIBE; after that, no published event is missed.
SUBSCRIBE_TIMEOUT_S = 5.0


#: KEYS[1] the stream; ARGV: its approximate max length, the event field, the event JSON, the channel.
_PUBLISH = """
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', ARGV[2], ARGV[3])
return redis.call('PUBLISH', ARGV[4], ARGV[3])
"""


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


@contextlib.contextmanager
def _unavailable_as_domain_error(client: RedisClient) -> Iterator[None]:
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError, redis.exceptions.RedisClusterException) as error:
        if isinstance(client, redis.RedisCluster):
            nodes = client.get_nodes()  # type: ignore[no-untyped-call]
            where = "the cluster of " + ", ".join(node.name for node in nodes[:3])
        else:
            kwargs = client.connection_pool.connection_kwargs
            where = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
        raise BackendUnavailableError(
            f"the event bus (Redis at {where}) cannot be reached: {error}", dependency="the event bus (Redis)"
        ) from error


class RedisSubscription:
    """One project's live events on a background thread; `close()` ends it."""

    def __init__(
        self,
        pubsub: redis.client.PubSub,
        project_id: str,
        handler: Handler,
        types: frozenset[EventType] | None,
        *,
        poll_interval_s: float,
        on_close: Callable[[RedisSubscription], None] | None = None,
    ) -> None:
        self._pubsub = pubsub
        self._project_id = project_id
        self._handler = handler
        self._types = types
        self._poll_interval_s = poll_interval_s
        self._on_close = on_close
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"perceo-bus:{project_id}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=self._poll_interval_s + 5.0)
        if self._on_close is not None:
            self._on_close(self)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        where = channel_for(self._project_id)
        try:
            while not self._stopping.is_set():
                try:
                    message = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=self._poll_interval_s)
                except (redis.ConnectionError, redis.TimeoutError) as error:
                    # redis-py reconnects and subscribes again on the next call; events published meanwhile
                    # are only in the stream (replay).
                    logger.warning("event bus: lost %s (%s); reconnecting", where, error)
                    self._stopping.wait(1.0)
                    continue
                if message is None or message.get("type") != "message":
                    continue
                event = decode_event(message["data"], where=where)
                if event is None or (self._types is not None and event.type not in self._types):
                    continue
                try:
                    self._handler(event)
                except Exception:  # a subscriber's bug must not end its subscription
                    logger.exception("event bus: a handler failed on %s %s", event.type, event.id)
        finally:
            with contextlib.suppress(redis.RedisError, OSError):
                self._pubsub.close()


class RedisBus:
    """EventBus and consumer groups on one Redis client (which may decode responses or not)."""

    def __init__(
        self,
        client: RedisClient,
        stream_max_len: int = 10_000,
        *,
        poll_interval_s: float = 0.1,
        owns_client: bool = False,
    ) -> None:
        self._client = client
        self.stream_max_len = stream_max_len
        self._poll_interval_s = poll_interval_s
        self._owns_client = owns_client
        self._subscriptions: set[RedisSubscription] = set()
        self._lock = threading.Lock()
        self._publish = client.register_script(_PUBLISH)

    def publish(self, event: PerceoEvent) -> None:
        payload = encode_event(event)
        with _unavailable_as_domain_error(self._client):
            self._publish(
                keys=[stream_for(event.project_id)],
                args=[self.stream_max_len, EVENT_FIELD, payload, channel_for(event.project_id)],
            )

    def subscribe(
        self, project_id: str, handler: Handler, *, types: Iterable[EventType] | None = None
    ) -> RedisSubscription:
        wanted = type_filter(types)
        pubsub = self._client.pubsub()
        with _unavailable_as_domain_error(self._client):
            try:
                pubsub.subscribe(channel_for(project_id))
                self._await_confirmation(pubsub, project_id)
            except BaseException:
                pubsub.close()
                raise
        subscription = RedisSubscription(
            pubsub, project_id, handler, wanted, poll_interval_s=self._poll_interval_s, on_close=self._forget
        )
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def replay(self, project_id: str, *, after_id: str = "0-0", count: int = 100) -> list[tuple[str, PerceoEvent]]:
        check_count(count)
        parse_stream_id(after_id)
        with _unavailable_as_domain_error(self._client):
            raw: Any = self._client.xrange(stream_for(project_id), min=f"({after_id}", max="+", count=count)
        return self._decode_entries(project_id, raw or [])

    # -- consumer groups -------------------------------------------------------------------------------

    def ensure_group(self, project_id: str, group: str, *, start_id: str = "0") -> None:
        if start_id != "$":
            parse_stream_id(start_id)
        with _unavailable_as_domain_error(self._client):
            try:
                self._client.xgroup_create(stream_for(project_id), group, id=start_id, mkstream=True)
            except redis.ResponseError as error:
                if not _is_error_code(error, "BUSYGROUP"):
                    raise

    def read_group(
        self,
        project_id: str,
        group: str,
        consumer: str,
        count: int = 10,
        block_ms: int | None = None,
        *,
        redeliver: bool = False,
    ) -> list[tuple[str, PerceoEvent]]:
        check_count(count)
        stream = stream_for(project_id)
        with _unavailable_as_domain_error(self._client), self._group_errors(project_id, group):
            raw: Any = self._client.xreadgroup(
                group, consumer, {stream: "0" if redeliver else ">"}, count=count, block=block_ms
            )
        entries = _stream_entries(raw, stream)
        gone = [_text(entry_id) for entry_id, fields in entries if not fields]
        if gone:  # trimmed from the stream while pending: nothing left to process
            self.ack(project_id, group, *gone)
        return self._decode_entries(project_id, [(i, f) for i, f in entries if f], ack_group=group)

    def ack(self, project_id: str, group: str, *ids: str) -> int:
        if not ids:
            return 0
        for entry_id in ids:
            parse_stream_id(entry_id)
        with _unavailable_as_domain_error(self._client), self._group_errors(project_id, group):
            return int(self._client.xack(stream_for(project_id), group, *ids))

    def pending_count(self, project_id: str, group: str) -> int:
        with _unavailable_as_domain_error(self._client), self._group_errors(project_id, group):
            summary: Any = self._client.xpending(stream_for(project_id), group)
        return int(summary["pending"])

    def close(self) -> None:
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.close()
        if self._owns_client:
            self._client.close()

    # -- internals -------------------------------------------------------------------------------------

    def _forget(self, subscription: RedisSubscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    def _decode_entries(
        self, project_id: str, entries: list[Any], *, ack_group: str | None = None
    ) -> list[tuple[str, PerceoEvent]]:
        where = stream_for(project_id)
        decoded: list[tuple[str, PerceoEvent]] = []
        malformed: list[str] = []
        for raw_id, fields in entries:
            entry_id = _text(raw_id)
            payload = fields.get(EVENT_FIELD, fields.get(EVENT_FIELD.encode()))
            event = decode_event(payload, where=where) if payload is not None else None
            if event is None or event.project_id != project_id:
                malformed.append(entry_id)
                continue
            decoded.append((entry_id, event))
        if ack_group is not None and malformed:
            # A message no consumer can ever process would stay pending forever; it was logged, let it go.
            self.ack(project_id, ack_group, *malformed)
        return decoded

    @contextlib.contextmanager
    def _group_errors(self, project_id: str, group: str) -> Iterator[None]:
        try:
            yield
        except redis.ResponseError as error:
            if _is_error_code(error, "NOGROUP"):
                raise NotFoundError(
                    f"no consumer group {group!r} for project {project_id!r}; call ensure_group first"
                ) from error
            raise ValidationFailed(f"the event bus rejected the request: {error}") from error

    @staticmethod
    def _await_confirmation(pubsub: redis.client.PubSub, project_id: str) -> None:
        """Wait for the SUBSCRIBE reply, so that every event published after subscribe() returns is seen."""
        deadline = time.monotonic() + SUBSCRIBE_TIMEOUT_S
        while (remaining := deadline - time.monotonic()) > 0:
            message = pubsub.get_message(timeout=min(remaining, 0.5))
            if message is not None and message.get("type") == "subscribe":
                return
        raise BackendUnavailableError(
            f"the event bus did not confirm the subscription to {channel_for(project_id)} in {SUBSCRIBE_TIMEOUT_S}s"
        )


def _is_error_code(error: redis.ResponseError, code: str) -> bool:
    """Redis error replies start with an upper-case code (`BUSYGROUP ...`, `NOGROUP ...`): a protocol field."""
    return str(error).split(" ", 1)[0] == code


def _stream_entries(reply: Any, stream: str) -> list[Any]:
    """The (id, fields) pairs of one stream in an XREADGROUP reply, as redis-py parses RESP2 or RESP3."""
    if isinstance(reply, dict):  # RESP3: {name: [[(id, fields), ...]]}
        for name, value in reply.items():
            if _text(name) == stream and value:
                return list(value[0]) if isinstance(value[0], list) else list(value)
        return []
    for name, value in reply or []:  # RESP2: [[name, [(id, fields), ...]]]
        if _text(name) == stream:
            return list(value)
    return []
