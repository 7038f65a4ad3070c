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

    def subscribe(self, project_id: str, handler: Handler, *, types: Iterable[EventType] | None = None) -> Subscription:
        """Call `handler` for each event of this project (optionally only these types)."""

    def replay(self, project_id: str, *, after_id: str = "0-0", count: int = 100) -> list[tuple[str, PerceoEvent]]:
        """Events kept in the project's stream after a stream id, oldest first."""


class DurableEventBus(EventBus, Protocol):
    """An event bus whose stream also feeds consumer groups: each event goes to one consumer of a group,
    and stays pending until that consumer acknowledges it, so a consumer that crashes can pick up again."""

    def ensure_group(self, project_id: str, group: str, *, start_id: str = "0") -> None:
        """Create the group if it does not exist. `start_id` "0": from the oldest kept event; "$": only new ones."""

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
        """Events not yet delivered to the group, now owned by `consumer` until acknowledged.

        `block_ms`: wait up to that long for an event when there is none (None: do not wait).
        `redeliver=True`: instead, the events this consumer was given but never acknowledged.
        """

    def ack(self, project_id: str, group: str, *ids: str) -> int:
        """Acknowledge processed events; returns how many were pending."""

    def pending_count(self, project_id: str, group: str) -> int:
        """How many events the group's consumers hold without having acknowledged them."""

    def close(self) -> None:
        """End every subscription of this bus and release its connections."""
