"""In-memory bus details that the shared behaviour tests (tests/integration/bus) do not pin down."""

from __future__ import annotations

import itertools

import pytest

from perceo.bus.codec import decode_event, encode_event, format_stream_id, parse_stream_id, type_filter
from perceo.bus.memory import InMemoryBus
from perceo.errors import NotFoundError, ValidationFailed
from perceo.models import EventType, PerceoEvent


def event(project_id: str = "p1", type_: EventType = EventType.FLOW_CREATED, **data: object) -> PerceoEvent:
    return PerceoEvent(type=type_, source="graph", project_id=project_id, data=dict(data))


def test_stream_ids_keep_increasing_when_the_clock_stands_still_or_goes_back() -> None:
    ticks = iter([1000, 1000, 999, 1001])
    bus = InMemoryBus(clock=lambda: next(ticks))
    for n in range(4):
        bus.publish(event(n=n))

    ids = [stream_id for stream_id, _ in bus.replay("p1")]

    assert ids == ["1000-0", "1000-1", "1000-2", "1001-0"]


def test_history_keeps_exactly_the_newest_max_len_events() -> None:
    counter = itertools.count(1)
    bus = InMemoryBus(max_len=3, clock=lambda: next(counter))
    for n in range(5):
        bus.publish(event(n=n))

    assert [e.data["n"] for _, e in bus.replay("p1", count=10)] == [2, 3, 4]


def test_a_handler_may_publish_from_inside_a_delivery() -> None:
    bus = InMemoryBus()
    seen: list[str] = []

    def relay(e: PerceoEvent) -> None:
        seen.append(e.type)
        if e.type == EventType.CHANGE_DETECTED:
            bus.publish(event(type_=EventType.FLOWS_AFFECTED))

    bus.subscribe("p1", relay)
    bus.publish(event(type_=EventType.CHANGE_DETECTED))

    assert seen == [EventType.CHANGE_DETECTED, EventType.FLOWS_AFFECTED]


def test_close_ends_every_subscription_of_the_bus() -> None:
    bus = InMemoryBus()
    seen: list[PerceoEvent] = []
    bus.subscribe("p1", seen.append)

    bus.close()
    bus.publish(event())

    assert seen == []


def test_reading_a_group_that_was_never_created_is_a_not_found_error() -> None:
    with pytest.raises(NotFoundError, match="ensure_group"):
        InMemoryBus().read_group("p1", "nobody", "c1")


def test_trimmed_pending_events_are_dropped_on_redelivery() -> None:
    counter = itertools.count(1)
    bus = InMemoryBus(max_len=2, clock=lambda: next(counter))
    bus.ensure_group("p1", "g")
    bus.publish(event(n=0))
    assert len(bus.read_group("p1", "g", "c1")) == 1
    bus.publish(event(n=1))
    bus.publish(event(n=2))  # pushes n=0 out of the history while c1 still holds it

    assert bus.read_group("p1", "g", "c1", redeliver=True) == []
    assert bus.pending_count("p1", "g") == 0


@pytest.mark.parametrize("bad", ["", "abc", "1-2-3", "-1", "1-"])
def test_malformed_stream_ids_are_rejected_with_the_value_named(bad: str) -> None:
    with pytest.raises(ValidationFailed, match="not a stream id"):
        parse_stream_id(bad)


def test_stream_ids_round_trip_and_a_bare_millisecond_means_sequence_zero() -> None:
    assert parse_stream_id("17-4") == (17, 4)
    assert parse_stream_id("17") == (17, 0)
    assert format_stream_id((17, 4)) == "17-4"


def test_events_travel_as_camel_case_json_and_come_back_equal() -> None:
    original = event(project_id="proj-9", flowId="f1")

    wire = encode_event(original)

    assert '"projectId":"proj-9"' in wire
    assert decode_event(wire, where="test") == original
    assert decode_event(wire.encode(), where="test") == original


def test_a_malformed_event_decodes_to_none_instead_of_raising() -> None:
    assert decode_event('{"type": "no.such.type"}', where="test") is None
    assert decode_event("not json", where="test") is None


def test_type_filter_none_means_all_and_accepts_plain_strings() -> None:
    assert type_filter(None) is None
    assert type_filter(["graph.flow.created"]) == frozenset({EventType.FLOW_CREATED})  # type: ignore[list-item]
