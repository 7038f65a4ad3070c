"""Our own ingest: a batch of events from the browser snippet or a server, checked item by item, stored once.

- A batch is at most 1,000 events and 1 MB (else PayloadTooLargeError, nothing stored); a body that is not a JSON
  object with an `events` list is a ValidationFailed.
- Each event is validated on its own: the valid ones are stored, each invalid one is rejected with a reason
  (`invalid` + what is wrong, `timestamp_in_future`, `timestamp_too_old`) and its index in the batch.
- Timestamps: when the batch carries `sentAt` (the client's clock when it sent) and it is more than
  `skew_tolerance_ms` (30 s) away from our clock, every timestamp is shifted by that offset. A smaller difference is
  transit time (and queueing), not a wrong clock: shifting by it would move each batch by a different amount and
  could reorder a user's events across batches. Then an event up to `future_tolerance_ms` (5 min) in the future is
  clamped to now; further in the future it is rejected; older than `max_age_ms` (30 days) it is rejected.
- Idempotent by event id: an id the project already stored (for that day, within the idempotency store's TTL), or
  one repeated within the batch, counts as a duplicate and is not stored again.
- Stored as JSON lines, one object per batch and day of its events. If an object cannot be written, the ids of
  its events are released again (so a retry stores them) and the error is raised.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import (
    Annotated,
    Any,
    NotRequired,  # pydantic needs this TypedDict on Python < 3.12
)

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import from_json
from typing_extensions import TypedDict

from perceo.analytics.codec import encode_events, events_key
from perceo.analytics.model import (
    DAY_MS,
    EventId,
    EventName,
    Identity,
    IngestResult,
    RejectedEvent,
    TrackedEvent,
    day_of,
)
from perceo.analytics.ports import ObjectStore, SeenEvents
from perceo.analytics.routes import path_of
from perceo.errors import PayloadTooLargeError, ValidationFailed
from perceo.models.common import EpochMs, now_ms

MAX_BATCH_EVENTS = 1000
MAX_BATCH_BYTES = 1_000_000


@dataclass(frozen=True)
class IngestLimits:
    max_events: int = MAX_BATCH_EVENTS
    max_bytes: int = MAX_BATCH_BYTES
    #: Events up to this far in the future are clamped to now (clock skew); further, rejected.
    future_tolerance_ms: int = 5 * 60 * 1000
    #: Events older than this are rejected (and the idempotency store keeps ids a little longer than this).
    max_age_ms: int = 30 * DAY_MS
    #: A client clock within this of ours is taken as right (the difference is transit time).
    skew_tolerance_ms: int = 30_000


class IngestEvent(BaseModel):
    """One event of a batch: `timestamp` is epoch ms or an ISO-8601 time with a zone; anonymousId or userId."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, frozen=True
    )

    event_id: EventId
    anonymous_id: Identity | None = None
    user_id: Identity | None = None
    session_id: Identity | None = None
    name: EventName
    url: str | None = Field(default=None, max_length=2048)
    path: str | None = Field(default=None, max_length=2048, pattern=r"^/")
    timestamp: EpochMs | AwareDatetime
    properties: dict[str, Any] = Field(default_factory=dict, max_length=100)


class _LooseBatch(BaseModel):
    """The body of POST /analytics/events: `{events: [...], sentAt?}` (`sentAt` is the client's clock when it sent
    the batch, epoch ms); each event is then an `IngestEvent`, checked on its own."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, validate_by_name=True, validate_by_alias=True)

    events: list[Any]
    sent_at: EpochMs | None = None


_EVENT = TypeAdapter(IngestEvent)


class _EventFields(TypedDict):
    """`IngestEvent`'s fields as a TypedDict, by their camelCase names only: pydantic-core validates a batch of these
    in one call without building a model per event (about 4.6 us an event against 25 for the models,
    bench/ingest_bench.py). An event it refuses (or one sent with snake_case names) goes to `IngestEvent`, which
    decides and names what is wrong: the results are those of `IngestEvent` either way."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    eventId: EventId
    anonymousId: NotRequired[Identity | None]
    userId: NotRequired[Identity | None]
    sessionId: NotRequired[Identity | None]
    name: EventName
    url: NotRequired[Annotated[str, Field(max_length=2048)] | None]
    path: NotRequired[Annotated[str, Field(max_length=2048, pattern=r"^/")] | None]
    timestamp: EpochMs | AwareDatetime
    properties: NotRequired[Annotated[dict[str, Any], Field(max_length=100)]]


class _BatchFields(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    events: list[_EventFields]
    sentAt: NotRequired[EpochMs | None]


_BATCH_FIELDS = TypeAdapter(_BatchFields)
_EVENT_FIELDS = TypeAdapter(_EventFields)


@dataclass(slots=True)
class CheckedEvent:
    """A valid event of a batch, as the ingest loop uses it (`timestamp` in epoch ms). A plain class, not frozen (a
    frozen dataclass sets each field through `object.__setattr__`: 4 us an event), never a pydantic model (building
    one per event, even with `model_construct`, cost more than checking it)."""

    event_id: str
    anonymous_id: str | None
    user_id: str | None
    session_id: str | None
    name: str
    url: str | None
    path: str | None
    timestamp: int
    properties: dict[str, Any]

    @classmethod
    def of(cls, event: IngestEvent) -> CheckedEvent:
        return cls(
            event.event_id,
            event.anonymous_id,
            event.user_id,
            event.session_id,
            event.name,
            event.url,
            event.path,
            _epoch_ms(event.timestamp),
            event.properties,
        )


def _checked(fields: _EventFields) -> CheckedEvent:
    timestamp = fields["timestamp"]
    return CheckedEvent(
        fields["eventId"],
        fields.get("anonymousId"),
        fields.get("userId"),
        fields.get("sessionId"),
        fields["name"],
        fields.get("url"),
        fields.get("path"),
        timestamp if type(timestamp) is int else _epoch_ms(timestamp),
        fields.get("properties") or {},
    )


def _check_event(item: object) -> CheckedEvent:
    """One event of a batch that did not pass whole: the TypedDict first, `IngestEvent` when it refuses (whose
    ValidationError names the problem)."""
    try:
        return _checked(_EVENT_FIELDS.validate_python(item))
    except ValidationError:
        return CheckedEvent.of(_EVENT.validate_python(item))


class Ingestor:
    """Validates and stores batches for one deployment; the project comes from the caller (the API key)."""

    def __init__(
        self,
        store: ObjectStore,
        seen: SeenEvents,
        *,
        clock: Callable[[], int] = now_ms,
        limits: IngestLimits | None = None,
        batch_names: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.store = store
        self.seen = seen
        self.clock = clock
        self.limits = limits or IngestLimits()
        self.batch_names = batch_names

    def ingest(self, project_id: str, body: bytes | str | Mapping[str, Any]) -> IngestResult:
        """Store the valid, new events of a batch; say what happened to every other one."""
        now = self.clock()
        events, sent_at, rejected = self._parse(body)
        offset = now - sent_at if sent_at is not None else 0
        if abs(offset) <= self.limits.skew_tolerance_ms:
            offset = 0
        accepted: list[TrackedEvent] = []
        duplicates = 0
        in_batch: set[str] = set()
        # the plain window first (one comparison per event); `_timestamp_problem` says why for the others
        earliest, latest = now - self.limits.max_age_ms, now + self.limits.future_tolerance_ms
        for index, event in events:
            timestamp = event.timestamp + offset
            problem = None if earliest <= timestamp <= latest else self._timestamp_problem(timestamp, now)
            if problem is not None:
                rejected.append(
                    RejectedEvent(index=index, event_id=event.event_id, reason=problem[0], message=problem[1])
                )
                continue
            if event.anonymous_id is None and event.user_id is None:
                rejected.append(
                    RejectedEvent(
                        index=index, event_id=event.event_id, reason="invalid", message="needs anonymousId or userId"
                    )
                )
                continue
            if event.event_id in in_batch:
                duplicates += 1
                continue
            in_batch.add(event.event_id)
            where = event.path or event.url
            accepted.append(
                TrackedEvent(
                    event.event_id,
                    "ingest",
                    event.name,
                    timestamp if timestamp < now else now,
                    event.user_id,
                    event.anonymous_id,
                    event.session_id,
                    path_of(where) if where else None,
                    event.properties,
                )
            )
        stored = store_events(self.store, self.seen, project_id, "ingest", accepted, self.batch_names())
        duplicates += len(accepted) - stored
        rejected.sort(key=lambda r: r.index)
        return IngestResult(accepted=stored, duplicates=duplicates, rejected_count=len(rejected), rejected=rejected)

    def _parse(
        self, body: bytes | str | Mapping[str, Any]
    ) -> tuple[list[tuple[int, CheckedEvent]], int | None, list[RejectedEvent]]:
        """(index, event) of the valid events, the batch's sentAt, and a rejection for every invalid event."""
        if isinstance(body, bytes | str):
            size = len(body.encode("utf-8") if isinstance(body, str) else body)
            if size > self.limits.max_bytes:
                raise PayloadTooLargeError(
                    f"an ingest batch is at most {self.limits.max_bytes} bytes; this one is {size}",
                    details={"limit": self.limits.max_bytes},
                )
            whole = self._whole_batch(lambda: _BATCH_FIELDS.validate_json(body))
            if whole is not None:
                return whole
            try:
                document = from_json(body, cache_strings="keys")
            except ValueError:
                raise ValidationFailed("the ingest body is not JSON", details={"field": "body"}) from None
        else:
            document = body
            whole = self._whole_batch(lambda: _BATCH_FIELDS.validate_python(document))
            if whole is not None:
                return whole
        try:
            loose = _LooseBatch.model_validate(document)
        except ValidationError as error:
            raise ValidationFailed(
                f"the ingest body must be an object with an events list (and optional sentAt): {_first(error)}",
                details={"field": "body"},
            ) from None
        if len(loose.events) > self.limits.max_events:
            raise PayloadTooLargeError(
                f"an ingest batch holds at most {self.limits.max_events} events; this one has {len(loose.events)}",
                details={"limit": self.limits.max_events},
            )
        events: list[tuple[int, CheckedEvent]] = []
        rejected: list[RejectedEvent] = []
        for index, item in enumerate(loose.events):
            try:
                events.append((index, _check_event(item)))
            except ValidationError as error:
                rejected.append(_invalid(index, item, error))
        return events, loose.sent_at, rejected

    def _whole_batch(
        self, validate: Callable[[], _BatchFields]
    ) -> tuple[list[tuple[int, CheckedEvent]], int | None, list[RejectedEvent]] | None:
        """The fast path: the whole batch validated in one call (the usual case, every event valid); None when
        anything in it is refused, or it holds too many events (the general path then checks event by event)."""
        try:
            batch = validate()
        except ValidationError:
            return None
        items = batch["events"]
        if len(items) > self.limits.max_events:
            return None
        return [(index, _checked(item)) for index, item in enumerate(items)], batch.get("sentAt"), []

    def _timestamp_problem(self, timestamp: int, now: int) -> tuple[Any, str] | None:
        if timestamp > now + self.limits.future_tolerance_ms:
            return "timestamp_in_future", f"timestamp is {timestamp - now} ms in the future"
        if timestamp < now - self.limits.max_age_ms:
            return "timestamp_too_old", f"timestamp is older than {self.limits.max_age_ms // DAY_MS} days"
        return None


def store_events(
    store: ObjectStore, seen: SeenEvents, project_id: str, source: str, events: list[TrackedEvent], name: str
) -> int:
    """Store the events not stored before (by source and id), one object per day; returns how many were new.

    Each object holds its events in time order and is named `{its first event's time}-{name}`, so a day's objects
    list in about the order of their events (what the sessionizer wants), whatever order they arrived in.
    The ids are claimed first; if writing a day's object fails, that day's claims are released before the error
    goes up, so a retry of the same events stores them."""
    if not events:
        return 0
    keys = [(day_of(e.timestamp), f"{source}:{e.id}") for e in events]
    fresh = seen.claim(project_id, keys)
    by_day: dict[str, list[TrackedEvent]] = {}
    claimed: dict[str, list[tuple[str, str]]] = {}
    for event, key, new in zip(events, keys, fresh, strict=True):
        if new:
            by_day.setdefault(key[0], []).append(event)
            claimed.setdefault(key[0], []).append(key)
    written: list[str] = []
    try:
        for day, day_events in sorted(by_day.items()):
            day_events.sort(key=lambda e: e.timestamp)
            object_name = f"{day_events[0].timestamp:013d}-{name}"
            store.put(events_key(project_id, day, source, object_name), encode_events(day_events))
            written.append(day)
    except Exception:
        seen.release(project_id, [k for day, ks in claimed.items() if day not in written for k in ks])
        raise
    return sum(len(v) for v in by_day.values())


def _invalid(index: int, item: object, error: ValidationError) -> RejectedEvent:
    event_id = item.get("eventId") if isinstance(item, dict) else None
    return RejectedEvent(
        index=index, event_id=event_id if isinstance(event_id, str) else None, reason="invalid", message=_first(error)
    )


def _epoch_ms(value: int | dt.datetime) -> int:
    return value if isinstance(value, int) else int(value.timestamp() * 1000)


def _first(error: ValidationError) -> str:
    """The first problem of a validation error, as `field: message` (the value is never echoed)."""
    issue = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in issue["loc"])
    return f"{where}: {issue['msg']}" if where else str(issue["msg"])
