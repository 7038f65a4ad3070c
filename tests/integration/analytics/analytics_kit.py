"""Shared by the analytics integration tests (imported as `analytics_kit`): the fixed "now", a recording sleep,
and the bundle the `analytics` fixture hands out."""

from __future__ import annotations

from dataclasses import dataclass, field

from perceo.analytics.service import AnalyticsService
from perceo.analytics.stores import LocalObjectStore, MemoryCredentialStore, RedisCursorStore
from perceo.bus.memory import InMemoryBus

#: 2026-03-10 12:00 UTC: "now" for every provider test.
NOW = 1_773_144_000_000
DAY = 86_400_000


@dataclass
class Sleeps:
    """Stands in for time.sleep: records each wait (the retry schedule) without waiting."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class Analytics:
    service: AnalyticsService
    store: LocalObjectStore
    bus: InMemoryBus
    credentials: MemoryCredentialStore
    cursors: RedisCursorStore
    clock: list[int]
