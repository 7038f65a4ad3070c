"""The event bus port."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from perceo.models import EventType, PerceoEvent

Handler = Callable[[PerceoEvent], None]


class Subscription(Protocol):
    def close(self) -> None: ...


class EventBus(Protocol):
    def publish(self, event: PerceoEvent) -> None:
        """Deliver to live subscribers and append to the project's replayable stream."""

    def subscribe(
        self, project_id: str, handler: Handler, *, types: Iterable[EventType] | None = None
    ) -> Subscription:
        """Call `handler` for each event of this project (optionally only these types)."""

    def replay(self, project_id: str, *, after_id: str = "0-0", count: int = 100) -> list[tuple[str, PerceoEvent]]:
        """Events kept in the project's stream after a stream id, oldest first."""
