"""What the LLM integration tests share: the key, a response model, request builders."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Literal

import redis
from pydantic import Field
from redis.backoff import NoBackoff
from redis.retry import Retry

from perceo.llm.client import StructuredLLM
from perceo.llm.model import LLMRequest
from perceo.models.common import Model
from perceo_cli.local.server import free_port

#: The clock the tests' clients use: usage lands on this UTC day.
DAY = "2026-03-02"
NOW_MS = 1_772_452_800_000  # 2026-03-02T12:00:00Z

#: Distinctive enough that finding it anywhere (logs, Redis, errors) cannot be a coincidence.
API_KEY = "sk-perceo-test-4f2b9e1c-NEVER-LOG-ME"

#: The `make_llm` fixture: builds a client on the fake server (keyword options).
MakeLLM = Callable[..., StructuredLLM]


class FlowItem(Model):
    name: str
    pages: list[str] = Field(min_length=1)
    priority: Literal["high", "low"] | None = None


class FlowsAnswer(Model):
    flows: list[FlowItem]


GOOD_ANSWER: dict[str, Any] = {"flows": [{"name": "Checkout", "pages": ["/cart", "/pay"], "priority": "high"}]}


def new_project_id() -> str:
    return f"proj-{uuid.uuid4().hex[:10]}"


def flows_request(project_id: str | None = None, *, marker: str | None = None, unit: str = "flows") -> LLMRequest:
    """A request whose prompt is unique per call site (tests share one Redis: no cross-test cache hits)."""
    return LLMRequest(
        system_prompt="You find user flows in a web app.",
        user_prompt=f"Routes: /cart, /pay. Request {marker or uuid.uuid4().hex}.",
        schema_name="flows",
        project_id=project_id or new_project_id(),
        unit=unit,
    )


def unreachable_redis() -> redis.Redis:
    """A client for a port nothing listens on, failing at once (no reconnect backoff)."""
    return redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
