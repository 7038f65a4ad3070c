"""Fixtures of the LLM integration tests: the real openai client against the fake server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fakes.openai_server import FakeOpenAI
from llm_support import API_KEY, NOW_MS, MakeLLM
from pydantic import SecretStr

from perceo.llm.client import StructuredLLM
from perceo.llm.port import ResponseCache, UsageStore
from perceo.llm.settings import LLMSettings


@pytest.fixture
def sleeps() -> list[float]:
    """Every backoff delay the client asked for (the injected sleep records instead of sleeping)."""
    return []


@pytest.fixture
def make_llm(fake_openai: FakeOpenAI, sleeps: list[float]) -> Iterator[MakeLLM]:
    created: list[StructuredLLM] = []

    def make(
        *,
        usage: UsageStore | None = None,
        cache: ResponseCache | None = None,
        max_retries: int = 2,
        timeout_s: float = 10.0,
        base_url: str | None = None,
        model: str = "gpt-4.1-mini",
        random: Callable[[], float] = lambda: 0.5,
        clock: Callable[[], int] = lambda: NOW_MS,
    ) -> StructuredLLM:
        settings = LLMSettings(
            base_url=base_url or fake_openai.base_url,
            api_key=SecretStr(API_KEY),
            model=model,
            timeout_s=timeout_s,
            max_retries=max_retries,
        )
        llm = StructuredLLM(settings, usage=usage, cache=cache, sleep=sleeps.append, random=random, clock=clock)
        created.append(llm)
        return llm

    yield make
    for llm in created:
        llm.close()
