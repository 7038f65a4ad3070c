"""What both bus adapters agree on: key names, the wire form of an event, stream ids, type filters."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from pydantic import ValidationError

from perceo.errors import ValidationFailed
from perceo.models import EventType, PerceoEvent

logger = logging.getLogger(__name__)

#: A Redis stream id: "<ms>-<seq>", or "<ms>" meaning "<ms>-0".
_STREAM_ID = re.compile(r"^(\d{1,20})(?:-(\d{1,20}))?$")
#: The stream field that carries the event JSON.
EVENT_FIELD = "event"

StreamId = tuple[int, int]


def channel_for(project_id: str) -> str:
    """The pub/sub channel of a project's live events."""
    return f"perceo:events:{project_id}"


def stream_for(project_id: str) -> str:
    """The capped stream that keeps a project's recent events for replay and consumer groups."""
    return f"perceo:stream:{project_id}"


def encode_event(event: PerceoEvent) -> str:
    """The JSON of an event, camelCase, as published and stored."""
    return event.model_dump_json(by_alias=True)


def decode_event(raw: str | bytes, *, where: str) -> PerceoEvent | None:
    """The event in `raw`, or None (logged) when it is not a valid event — one bad message must not stop a consumer."""
    try:
        return PerceoEvent.model_validate_json(raw)
    except ValidationError as error:
        logger.warning("event bus: skipping a malformed event on %s: %s", where, error.errors(include_url=False)[:3])
        return None


def parse_stream_id(value: str) -> StreamId:
    """Parse "1700000000000-3" into (1700000000000, 3); anything else is a ValidationFailed naming the value."""
    match = _STREAM_ID.match(value)
    if match is None:
        raise ValidationFailed(f"not a stream id: {value!r} (expected '<ms>-<seq>', e.g. '0-0')")
    return int(match.group(1)), int(match.group(2) or 0)


def format_stream_id(stream_id: StreamId) -> str:
    return f"{stream_id[0]}-{stream_id[1]}"


def type_filter(types: Iterable[EventType] | None) -> frozenset[EventType] | None:
    """None means every type; otherwise the set of wanted types (an empty iterable matches nothing)."""
    return None if types is None else frozenset(EventType(t) for t in types)


def check_count(count: int) -> None:
    if count < 1:
        raise ValidationFailed(f"count must be at least 1, got {count}")
