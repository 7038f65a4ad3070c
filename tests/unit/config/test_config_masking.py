"""Secrets never show in dumps meant for people: SecretStr fields and secret-looking keys are masked."""

from __future__ import annotations

import json

import pytest

from perceo.config.masking import MASK, is_secret_key, mask_value, masked_dump, revealed_dump
from perceo.config.model import PerceoConfig


@pytest.mark.parametrize(
    "key",
    [
        "apiKey",
        "api_key",
        "API_KEY",
        "password",
        "authToken",
        "token",
        "clientSecret",
        "webhook",
        "webhookUrl",
        "credentials",
        "privateKey",
        "slack-webhook",
    ],
)
def test_secret_looking_keys_are_secret(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key", ["codeTokenBudget", "promptTokenBudget", "maxTokens", "key", "apiBaseUrl", "username", "keyPrefix"]
)
def test_ordinary_keys_are_not_secret(key: str) -> None:
    assert not is_secret_key(key)


def config_with_secrets() -> PerceoConfig:
    return PerceoConfig.model_validate(
        {
            "flowGraph": {"type": "neo4j", "uri": "neo4j+s://db.example.com", "username": "neo4j", "password": "pw"},
            "observer": {"apiKey": "prc_0123456789abcdef"},
            "llm": {"apiKey": "sk-live-abcdefghijklmnop"},
            "analytics": {"provider": "ga4", "credentials": {"propertyId": "123", "serviceAccount": {"key": "k"}}},
            "notifications": {"slack": {"webhook": "https://hooks.slack.com/services/T/B/X"}},
        }
    )


def test_masked_dump_hides_every_secret_and_keeps_the_rest() -> None:
    dump = masked_dump(config_with_secrets())

    assert dump["flowGraph"]["password"] == MASK
    assert dump["flowGraph"]["username"] == "neo4j"
    assert dump["observer"]["apiKey"] == MASK
    assert dump["llm"]["apiKey"] == MASK
    assert dump["analytics"]["credentials"] == {"propertyId": MASK, "serviceAccount": {"key": MASK}}
    assert dump["notifications"]["slack"]["webhook"] == MASK
    assert dump["bootstrap"]["codeTokenBudget"] == 12_000
    text = json.dumps(dump)
    for secret in ("pw", "prc_0123456789abcdef", "sk-live", "hooks.slack.com", '"123"'):
        assert secret not in text


def test_an_unset_secret_stays_null() -> None:
    dump = masked_dump(PerceoConfig())

    assert dump["observer"]["apiKey"] is None
    assert dump["notifications"]["slack"] is None


def test_revealed_dump_shows_secrets_in_clear() -> None:
    dump = revealed_dump(config_with_secrets())

    assert dump["llm"]["apiKey"] == "sk-live-abcdefghijklmnop"
    assert dump["analytics"]["credentials"]["serviceAccount"] == {"key": "k"}
    json.dumps(dump)


def test_mask_value_keeps_the_shape() -> None:
    assert mask_value({"a": [1, None], "b": "x"}) == {"a": [MASK, None], "b": MASK}
