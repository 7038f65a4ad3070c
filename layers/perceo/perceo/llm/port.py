"""Ports of the LLM layer: what callers depend on, and where telemetry and cached answers go."""

from __future__ import annotations

from typing import Protocol, TypeVar

from pydantic import BaseModel

from perceo.llm.model import LLMCall, LLMRequest, ModelUsage

T = TypeVar("T", bound=BaseModel)


class LLM(Protocol):
    """Answers a request with a validated instance of `response_model`, or raises `LLMError`."""

    def complete(self, request: LLMRequest, response_model: type[T]) -> T: ...


class UsageStore(Protocol):
    """Per-project, per-day (UTC) usage telemetry."""

    def record(self, call: LLMCall) -> None: ...

    def daily(self, project_id: str, day: str) -> list[ModelUsage]:
        """Aggregates per model for `day` (`YYYY-MM-DD`), sorted by model name."""
        ...

    def recent(self, project_id: str, day: str, limit: int = 50) -> list[LLMCall]:
        """The latest calls of `day`, newest first (capped)."""
        ...


class ResponseCache(Protocol):
    """Validated raw answers (JSON text) by cache key; the adapter owns the TTL."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...
