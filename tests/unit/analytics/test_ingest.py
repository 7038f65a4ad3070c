"""Our own ingest: per-event validation with reasons, idempotency by event id, timestamp rules, batch limits, and no
lost events when storing fails (in-memory stores: the Redis and S3 ones are tested in integration)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from perceo.analytics.codec import decode_events
from perceo.analytics.ingest import IngestLimits, Ingestor
from perceo.analytics.stores import MemoryObjectStore, MemorySeenEvents
from perceo.errors import BackendUnavailableError, PayloadTooLargeError, ValidationFailed

NOW = 1_773_144_000_000  # 2026-03-10 12:00 UTC
MINUTE = 60_000


def event(n: int, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "eventId": f"ev-{n}",
        "anonymousId": "anon-1",
        "name": "page_view",
        "url": f"https://shop.test/products/{n}?utm=x#top",
        "timestamp": NOW - 10 * MINUTE + n,
    }
    base.update(fields)
    return base


def body(*events: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps({"events": list(events), **extra}).encode()


def stored(store: MemoryObjectStore) -> list[Any]:
    return [e for key in store.list("events/") for e in decode_events(store.read_lines(key), where=key)]


@pytest.fixture
def store() -> MemoryObjectStore:
    return MemoryObjectStore()


@pytest.fixture
def ingestor(store: MemoryObjectStore) -> Ingestor:
    return Ingestor(store, MemorySeenEvents(), clock=lambda: NOW, batch_names=lambda: "batch")


def test_a_valid_batch_is_stored_as_json_lines_by_day_with_paths_not_urls(
    ingestor: Ingestor, store: MemoryObjectStore
) -> None:
    result = ingestor.ingest("shop", body(event(1), event(2, userId="u-9", sessionId="s-1", properties={"k": 1})))

    assert (result.accepted, result.duplicates, result.rejected_count) == (2, 0, 0)
    (key,) = store.list("events/shop/")
    assert key == f"events/shop/2026-03-10/ingest/{NOW - 10 * MINUTE + 1:013d}-batch.jsonl"
    first, second = stored(store)
    assert (first.id, first.path, first.anonymous_id, first.source) == ("ev-1", "/products/1", "anon-1", "ingest")
    assert (second.user_id, second.session_id, second.properties) == ("u-9", "s-1", {"k": 1})


def test_invalid_events_are_rejected_with_a_reason_and_their_index_while_the_rest_lands(
    ingestor: Ingestor, store: MemoryObjectStore
) -> None:
    batch = body(
        event(1),
        {"eventId": "no-name", "anonymousId": "a", "timestamp": NOW},
        event(3, anonymousId=None),
        event(4, timestamp="yesterday"),
        event(5, eventId="has spaces"),
        "not an object",
        event(7, extra="field"),
    )

    result = ingestor.ingest("shop", batch)

    assert result.accepted == 1 and [e.id for e in stored(store)] == ["ev-1"]
    assert [(r.index, r.event_id, r.reason) for r in result.rejected] == [
        (1, "no-name", "invalid"),
        (2, "ev-3", "invalid"),
        (3, "ev-4", "invalid"),
        (4, "has spaces", "invalid"),
        (5, None, "invalid"),
        (6, "ev-7", "invalid"),
    ]
    messages = {r.index: r.message for r in result.rejected}
    assert messages[1] == "name: Field required"
    assert messages[2] == "needs anonymousId or userId"
    assert messages[6].startswith("extra: Extra inputs")
    assert "yesterday" not in messages[3]  # the value is never echoed


def test_resending_events_is_idempotent_by_event_id(ingestor: Ingestor, store: MemoryObjectStore) -> None:
    ingestor.ingest("shop", body(event(1), event(2)))

    again = ingestor.ingest("shop", body(event(2), event(3), event(3)))

    assert (again.accepted, again.duplicates) == (1, 2)
    assert sorted(e.id for e in stored(store)) == ["ev-1", "ev-2", "ev-3"]


def test_the_same_event_id_in_another_project_is_another_event(ingestor: Ingestor, store: MemoryObjectStore) -> None:
    ingestor.ingest("shop", body(event(1)))

    assert ingestor.ingest("blog", body(event(1))).accepted == 1
    assert len(store.list("events/blog/")) == 1


def test_timestamps_near_now_are_clamped_far_future_and_too_old_ones_rejected(
    ingestor: Ingestor, store: MemoryObjectStore
) -> None:
    result = ingestor.ingest(
        "shop",
        body(
            event(1, timestamp=NOW + 2 * MINUTE),  # clock skew: clamped to now
            event(2, timestamp=NOW + 10 * MINUTE),
            event(3, timestamp=NOW - 31 * 24 * 60 * MINUTE),
            event(4, timestamp="2026-03-10T11:00:00Z"),
        ),
    )

    assert [(r.index, r.reason) for r in result.rejected] == [(1, "timestamp_in_future"), (2, "timestamp_too_old")]
    assert {e.id: e.timestamp for e in stored(store)} == {"ev-1": NOW, "ev-4": NOW - 60 * MINUTE}


def test_sent_at_shifts_timestamps_by_the_client_clocks_offset(ingestor: Ingestor, store: MemoryObjectStore) -> None:
    # the device's clock is an hour ahead: its "now" is NOW + 1 h
    result = ingestor.ingest("shop", body(event(1, timestamp=NOW + 50 * MINUTE), sentAt=NOW + 60 * MINUTE))

    assert result.accepted == 1 and stored(store)[0].timestamp == NOW - 10 * MINUTE


def test_a_sent_at_within_the_skew_tolerance_is_transit_time_and_moves_nothing(
    ingestor: Ingestor, store: MemoryObjectStore
) -> None:
    # two batches of one user, sent 2 s and 20 s before they were processed (queueing, a slow network): shifting
    # each by its own delay would put the second batch's page view before the first's
    first = ingestor.ingest("shop", body(event(1, timestamp=NOW - 3_000), sentAt=NOW - 2_000))
    second = ingestor.ingest("shop", body(event(2, timestamp=NOW - 2_500), sentAt=NOW - 20_000))

    assert first.accepted == second.accepted == 1
    assert {e.id: e.timestamp for e in stored(store)} == {"ev-1": NOW - 3_000, "ev-2": NOW - 2_500}


def test_oversized_batches_are_refused_whole(ingestor: Ingestor, store: MemoryObjectStore) -> None:
    with pytest.raises(PayloadTooLargeError, match="at most 1000 events"):
        ingestor.ingest("shop", body(*[event(n) for n in range(1001)]))
    with pytest.raises(PayloadTooLargeError, match="at most 1000000 bytes"):
        ingestor.ingest("shop", body(event(1, properties={"blob": "x" * 1_000_000})))
    assert store.objects == {}


def test_a_body_that_is_not_a_batch_is_a_validation_error(ingestor: Ingestor) -> None:
    with pytest.raises(ValidationFailed, match="not JSON"):
        ingestor.ingest("shop", b"{nope")
    with pytest.raises(ValidationFailed, match="events list"):
        ingestor.ingest("shop", b'{"items": []}')


class FailingStore(MemoryObjectStore):
    def __init__(self) -> None:
        super().__init__()
        self.fail = True

    def put(self, key: str, data: bytes) -> None:
        if self.fail:
            raise BackendUnavailableError("the event store is down")
        super().put(key, data)


def test_events_whose_batch_could_not_be_stored_are_accepted_by_a_retry() -> None:
    store = FailingStore()
    ingestor = Ingestor(store, MemorySeenEvents(), clock=lambda: NOW)

    with pytest.raises(BackendUnavailableError):
        ingestor.ingest("shop", body(event(1), event(2)))
    store.fail = False
    retry = ingestor.ingest("shop", body(event(1), event(2)))

    assert (retry.accepted, retry.duplicates) == (2, 0)


def test_limits_are_configurable() -> None:
    ingestor = Ingestor(MemoryObjectStore(), MemorySeenEvents(), clock=lambda: NOW, limits=IngestLimits(max_events=2))

    with pytest.raises(PayloadTooLargeError):
        ingestor.ingest("shop", body(event(1), event(2), event(3)))


VARIANTS: list[dict[str, Any]] = [
    {},
    {"properties": {"title": "Shop", "price": 12.5}},
    {"userId": "u-1", "sessionId": "s-1", "anonymousId": None},
    {"path": "/cart", "url": None},
    {"name": " page_view "},  # pydantic strips it
    {"name": ""},
    {"timestamp": 1_773_143_000_000.0},  # a float with no fraction: pydantic takes it
    {"timestamp": "2026-03-10T11:50:00+00:00"},
    {"timestamp": "1773143000000"},
    {"timestamp": True},
    {"timestamp": -1},
    {"eventId": "has space"},
    {"eventId": "x" * 129},
    {"eventId": 42},
    {"anonymousId": ""},
    {"anonymousId": "a" * 129},
    {"path": "cart"},
    {"url": "x" * 2049},
    {"properties": {f"k{i}": i for i in range(101)}},
    {"properties": []},
    {"event_id": "snake-1"},  # by name: pydantic accepts it as well
    {"surprise": 1},
]


@pytest.mark.parametrize("changes", VARIANTS, ids=[json.dumps(v)[:40] for v in VARIANTS])
def test_the_batch_fast_path_builds_what_the_event_model_builds_or_leaves_the_event_to_it(
    changes: dict[str, Any],
) -> None:
    from pydantic import ValidationError

    from perceo.analytics.ingest import _BATCH_FIELDS, _EVENT, CheckedEvent, _checked

    item = {**event(1), **changes}
    if "event_id" in changes:
        del item["eventId"]

    try:
        (fields,) = _BATCH_FIELDS.validate_json(json.dumps({"events": [item]}))["events"]
        fast: CheckedEvent | None = _checked(fields)
    except ValidationError:
        fast = None
    try:
        checked: CheckedEvent | None = CheckedEvent.of(_EVENT.validate_json(json.dumps(item)))
    except ValidationError:
        checked = None

    if fast is not None:
        assert fast == checked  # what the fast path takes, the model takes the same way
    else:
        assert checked is None or "event_id" in changes  # it refuses only what the model refuses (or snake_case)
    assert fast is not None or changes not in VARIANTS[:4]  # the plain shapes take the fast path


def test_a_batch_mixing_plain_and_unusual_events_keeps_each_reason_and_index(ingestor: Ingestor) -> None:
    result = ingestor.ingest(
        "p1",
        body(event(1), event(2, name=" page_view "), event(3, timestamp="soon"), event(4, surprise=True), event(5)),
    )

    assert result.accepted == 3
    assert [(r.index, r.event_id, r.reason) for r in result.rejected] == [
        (2, "ev-3", "invalid"),
        (3, "ev-4", "invalid"),
    ]
    assert result.rejected[0].message.startswith("timestamp") and result.rejected[1].message.startswith("surprise")
