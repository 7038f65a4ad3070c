"""Cost estimates from the price table."""

from __future__ import annotations

import pytest

from perceo.llm.pricing import estimate_cost, price_of


def test_cost_is_tokens_times_the_price_per_million() -> None:
    assert estimate_cost("gpt-4.1-mini", 1_000_000, 500_000) == pytest.approx(0.40 + 0.80)


def test_the_longest_matching_prefix_wins() -> None:
    assert price_of("gpt-4.1-mini-2025-04-14") == (0.40, 1.60)
    assert price_of("gpt-4.1-2025-04-14") == (2.00, 8.00)
    assert price_of("gpt-4o-mini") == (0.15, 0.60)


def test_openrouter_names_match_on_the_model_part() -> None:
    assert price_of("openai/gpt-4.1-mini") == price_of("gpt-4.1-mini")
    assert price_of("anthropic/claude-sonnet-4.5") == (3.00, 15.00)


def test_unknown_models_have_no_estimate() -> None:
    assert estimate_cost("my-local-llama", 1000, 1000) is None


def test_a_custom_table_replaces_the_default() -> None:
    assert estimate_cost("house-model", 2_000_000, 0, prices={"house-": (1.0, 2.0)}) == pytest.approx(2.0)
