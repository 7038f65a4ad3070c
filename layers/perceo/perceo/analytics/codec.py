"""Stored shapes: events and page aggregates as JSON lines, and where each object goes.

Layout (one project never reads another's prefix):

- `events/{projectId}/{day}/{source}/{name}.jsonl`: one object per stored batch and day of its events;
- `pages/{projectId}/{day}/{provider}.jsonl`: a day of page aggregates (GA4), replaced whole on each sync.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic_core import from_json, to_json

from perceo.analytics.model import PageTraffic, TrackedEvent

log = logging.getLogger(__name__)


def events_prefix(project_id: str, day: str | None = None) -> str:
    return f"events/{project_id}/" if day is None else f"events/{project_id}/{day}/"


def events_key(project_id: str, day: str, source: str, name: str) -> str:
    return f"events/{project_id}/{day}/{source}/{name}.jsonl"


def pages_key(project_id: str, day: str, provider: str) -> str:
    return f"pages/{project_id}/{day}/{provider}.jsonl"


def pages_prefix(project_id: str, day: str) -> str:
    return f"pages/{project_id}/{day}/"


def event_record(event: TrackedEvent) -> dict[str, Any]:
    record: dict[str, Any] = {"id": event.id, "source": event.source, "name": event.name, "timestamp": event.timestamp}
    if event.user_id is not None:
        record["userId"] = event.user_id
    if event.anonymous_id is not None:
        record["anonymousId"] = event.anonymous_id
    if event.session_id is not None:
        record["sessionId"] = event.session_id
    if event.path is not None:
        record["path"] = event.path
    if event.properties:
        record["properties"] = event.properties
    return record


def encode_events(events: Iterable[TrackedEvent]) -> bytes:
    """JSON lines, one event a line, each ending in a newline (compact UTF-8; pydantic-core's encoder, about eight
    times `json.dumps` per event)."""
    lines = [to_json(event_record(e)) for e in events]
    return b"\n".join(lines) + b"\n" if lines else b""


def decode_events(lines: Iterable[bytes], *, where: str, chunk: int = 2000) -> Iterator[TrackedEvent]:
    """The events of stored lines; a line that is not an event is logged with its position and skipped.

    Lines are parsed `chunk` at a time as one JSON array (one parser call instead of one per line); a chunk with a
    bad line is parsed again line by line to find it."""
    block: list[bytes] = []
    first = 1
    for number, line in enumerate(lines, start=1):
        if line.strip():
            block.append(line)
        if len(block) >= chunk:
            yield from _decode_block(block, first, where)
            block, first = [], number + 1
    if block:
        yield from _decode_block(block, first, where)


def _decode_block(block: list[bytes], first: int, where: str) -> Iterator[TrackedEvent]:
    try:
        records = from_json(b"[" + b",".join(block) + b"]", cache_strings="keys")
        # inline (no call per record): this runs for every stored event a correlation reads
        events = [
            TrackedEvent(
                r["id"],
                r["source"],
                r["name"],
                int(r["timestamp"]),
                r.get("userId"),
                r.get("anonymousId"),
                r.get("sessionId"),
                r.get("path"),
                r.get("properties") or {},
            )
            for r in records
        ]
    except (ValueError, KeyError, TypeError):
        for offset, line in enumerate(block):
            try:
                yield _event(json.loads(line))
            except (ValueError, KeyError, TypeError):
                log.warning("skipped a stored event that is not valid at %s line ~%d", where, first + offset)
        return
    yield from events


def _event(r: dict[str, Any]) -> TrackedEvent:
    return TrackedEvent(
        r["id"],
        r["source"],
        r["name"],
        int(r["timestamp"]),
        r.get("userId"),
        r.get("anonymousId"),
        r.get("sessionId"),
        r.get("path"),
        r.get("properties") or {},
    )


def encode_pages(rows: Iterable[PageTraffic]) -> bytes:
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    return "".join(
        dumps({"day": r.day, "path": r.path, "views": r.views, "users": r.users, "sessions": r.sessions}) + "\n"
        for r in rows
    ).encode("utf-8")


def decode_pages(lines: Iterable[bytes], *, where: str) -> Iterator[PageTraffic]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            yield PageTraffic(str(r["day"]), str(r["path"]), int(r["views"]), int(r["users"]), int(r["sessions"]))
        except (ValueError, KeyError, TypeError):
            log.warning("skipped a stored page row that is not valid at %s line %d", where, number)
