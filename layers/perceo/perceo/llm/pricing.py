"""Cost estimates: USD per 1M tokens (input, output), by model-name prefix.

List prices as published by the providers when this table was written; an estimate, not a bill.
OpenRouter-style names (`openai/gpt-4.1-mini`) match on the part after the provider. The longest
matching prefix wins (`gpt-4.1-mini` before `gpt-4.1`). Unknown models have no estimate.
"""

from __future__ import annotations

PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "o4-mini": (1.10, 4.40),
    "o3-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "claude-haiku-4": (1.00, 5.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-opus-4-5": (5.00, 25.00),
    "claude-opus-4.5": (5.00, 25.00),
    "claude-opus-4": (15.00, 75.00),
}


def price_of(model: str, prices: dict[str, tuple[float, float]] | None = None) -> tuple[float, float] | None:
    """(input, output) USD per 1M tokens for `model`, or None when no prefix matches."""
    table = PRICES_PER_MILLION if prices is None else prices
    name = model.strip().lower().rsplit("/", 1)[-1]
    matches = [prefix for prefix in table if name.startswith(prefix)]
    if not matches:
        return None
    return table[max(matches, key=len)]


def estimate_cost(
    model: str, tokens_in: int, tokens_out: int, prices: dict[str, tuple[float, float]] | None = None
) -> float | None:
    """Estimated USD cost of one call, or None when the model's price is unknown."""
    price = price_of(model, prices)
    if price is None:
        return None
    return (tokens_in * price[0] + tokens_out * price[1]) / 1_000_000
