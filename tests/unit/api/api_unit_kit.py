"""Constants and helpers shared by the API unit tests (a module with a unique name, importable by tests)."""

from __future__ import annotations

from collections.abc import Callable

from perceo.auth import Principal

PEPPER = b"unit-test-pepper-0123456789abcdef-0123"
ADMIN_KEY = "unit-admin-key-that-is-long-enough-000000"
ORIGIN = "https://app.perceo.test"
T0 = 1_700_000_000_000


class SteppedClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


MakeKey = Callable[..., tuple[str, Principal]]
