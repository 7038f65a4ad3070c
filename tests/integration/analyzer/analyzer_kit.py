"""Builders shared by the analyzer's integration tests (imported as `analyzer_kit`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Clock:
    """An injectable clock in epoch ms."""

    now: int = 1_772_000_000_000  # 2026-02-25 06:13 UTC

    def __call__(self) -> int:
        return self.now
