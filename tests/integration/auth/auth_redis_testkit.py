"""Helpers shared by the auth integration tests (a module with a unique name, importable without packages)."""

from __future__ import annotations

import uuid

PEPPER = b"integration-test-pepper-0123456789abcdef"
T0 = 1_700_000_000_000


class SteppedClock:
    """A clock that only moves when the test says so (epoch ms)."""

    def __init__(self, start: int = T0) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


def unique_project() -> str:
    return f"proj-{uuid.uuid4().hex[:16]}"
