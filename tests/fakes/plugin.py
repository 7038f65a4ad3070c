"""pytest plugin (registered in tests/conftest.py): fixtures for the fakes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes.analytics_providers import FakeProviders
from fakes.openai_server import FakeOpenAI


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fake OpenAI-compatible server on a free loopback port; `base_url` ends in `/v1`."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def fake_providers() -> Iterator[FakeProviders]:
    """Fake GA4, Mixpanel and Amplitude export servers on one free loopback port (`base_url`)."""
    with FakeProviders() as server:
        yield server
