"""An event bus inside one process: the same behaviour as the Redis bus, with nothing to run.

Handlers are called synchronously, in the publisher's thread, after the event is stored. A handler that
raises is logged and does not stop delivery to the others.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from perceo.bus.codec import (
    StreamId,
    check_count,
    format_stream_id,
    parse_stream_id,
    type_filter,
)
from perceo.bus.port import Handler
from perceo.errors import NotFoundError
from perceo.models import EventType, PerceoEvent, now_ms

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class MemorySubscription:
    bus: InMemoryBus
    project_id: str
    handler: Handler
    types: frozenset[EventType] | None
    closed: bool = False

    def deliver(self, event: PerceoEvent) -> None:
        if self.closed or (self.types is not None and event.type not in self.types):
            return
        try:
            self.handler(event)
        except Exception:  # a subscriber's bug must not reach the publisher
            logger.exception("event bus: a handler failed on %s %s", event.type, event.id)

    def close(self) -> None:
        self.closed = True
        self.bus._unsubscribe(self)


@dataclass
class _Stream:
    ids: list[StreamId] = field(default_factory=list)
    events: list[PerceoEvent] = field(default_factory=list)

    def append(self, stream_id: StreamId, event: PerceoEvent, max_len: int) -> None:
        self.ids.append(stream_id)
        self.events.append(event)
        excess = len(self.ids) - max_len
        if excess > 0:
            del self.ids[:excess]
            del self.events[:excess]

    def after(self, stream_id: StreamId, count: int) -> list[tuple[StreamId, PerceoEvent]]:
        start = bisect.bisect_right(self.ids, stream_id)
        return list(zip(self.ids[start : start + count], self.events[start : start + count], strict=True))

    def get(self, stream_id: StreamId) -> PerceoEvent | None:
        index = bisect.bisect_left(self.ids, stream_id)
        if index < len(self.ids) and self.ids[index] == stream_id:
            return self.events[index]
        return None

    @property
    def last_id(self) -> StreamId:
        return self.ids[-1] if self.ids else (0, 0)


@dataclass
class _Group:
    last_delivered: StreamId
    #: Delivered but not acknowledged: stream id → consumer.
    pending: dict[StreamId, str] = field(default_factory=dict)


class InMemoryBus:
    """Single-process event bus with a capped, replayable history per project and consumer groups."""

    def __init__(self, *, max_len: int = 10_000, clock: Callable[[], int] = now_ms) -> None:
        self.max_len = max_len
        self._clock = clock
        self._changed = threading.Condition()
        self._last_id: StreamId = (0, 0)
        self._streams: dict[str, _Stream] = defaultdict(_Stream)
        self._subscribers: dict[str, list[MemorySubscription]] = defaultdict(list)
        self._groups: dict[tuple[str, str], _Group] = {}

    def publish(self, event: PerceoEvent) -> None:
        with self._changed:
            stream_id = self._next_id()
            self._streams[event.project_id].append(stream_id, event, self.max_len)
            subscribers = list(self._subscribers[event.project_id])
            self._changed.notify_all()
        for subscriber in subscribers:  # outside the lock: a handler may publish in turn
            subscriber.deliver(event)

    def subscribe(
        self, project_id: str, handler: Handler, *, types: Iterable[EventType] | None = None
    ) -> MemorySubscription:
        subscriber = MemorySubscription(self, project_id, handler, type_filter(types))
        with self._changed:
            self._subscribers[project_id].append(subscriber)
        return subscriber

    def replay(self, project_id: str, *, after_id: str = "0-0", count: int = 100) -> list[tuple[str, PerceoEvent]]:
        check_count(count)
        after = parse_stream_id(after_id)
        with self._changed:
            entries = self._streams[project_id].after(after, count) if project_id in self._streams else []
        return [(format_stream_id(stream_id), event) for stream_id, event in entries]

    # -- consumer groups -------------------------------------------------------------------------------

    def ensure_group(self, project_id: str, group: str, *, start_id: str = "0") -> None:
        with self._changed:
            if (project_id, group) in self._groups:
                return
            if start_id == "$":
                start = self._streams[project_id].last_id
            else:
                start = parse_stream_id(start_id)
            self._groups[(project_id, group)] = _Group(last_delivered=start)

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
        with self._changed:
            state = self._group(project_id, group)
            stream = self._streams[project_id]
            if redeliver:
                return self._redeliver(state, stream, consumer, count)
            deadline = None if not block_ms else time.monotonic() + block_ms / 1000
            entries = stream.after(state.last_delivered, count)
            while not entries and block_ms is not None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._changed.wait(remaining)
                entries = stream.after(state.last_delivered, count)
            for stream_id, _event in entries:
                state.pending[stream_id] = consumer
            if entries:
                state.last_delivered = entries[-1][0]
        return [(format_stream_id(stream_id), event) for stream_id, event in entries]

    def ack(self, project_id: str, group: str, *ids: str) -> int:
        with self._changed:
            state = self._group(project_id, group)
            return sum(state.pending.pop(parse_stream_id(i), None) is not None for i in ids)

    def pending_count(self, project_id: str, group: str) -> int:
        with self._changed:
            return len(self._group(project_id, group).pending)

    def close(self) -> None:
        with self._changed:
            subscribers = [s for subs in self._subscribers.values() for s in subs]
            self._subscribers.clear()
        for subscriber in subscribers:
            subscriber.closed = True

    # -- internals -------------------------------------------------------------------------------------

    def _next_id(self) -> StreamId:
        """Ids like Redis's: "<ms>-<seq>", strictly increasing even if the clock stands still or goes back."""
        ms = self._clock()
        last_ms, last_seq = self._last_id
        self._last_id = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
        return self._last_id

    def _group(self, project_id: str, group: str) -> _Group:
        state = self._groups.get((project_id, group))
        if state is None:
            raise NotFoundError(f"no consumer group {group!r} for project {project_id!r}; call ensure_group first")
        return state

    @staticmethod
    def _redeliver(state: _Group, stream: _Stream, consumer: str, count: int) -> list[tuple[str, PerceoEvent]]:
        entries: list[tuple[str, PerceoEvent]] = []
        for stream_id, owner in sorted(state.pending.items()):
            if owner != consumer:
                continue
            event = stream.get(stream_id)
            if event is None:  # trimmed from the history: nothing left to process
                del state.pending[stream_id]
                continue
            entries.append((format_stream_id(stream_id), event))
            if len(entries) == count:
                break
        return entries

    def _unsubscribe(self, subscriber: MemorySubscription) -> None:
        with self._changed:
            subscribers = self._subscribers.get(subscriber.project_id, [])
            if subscriber in subscribers:
                subscribers.remove(subscriber)
