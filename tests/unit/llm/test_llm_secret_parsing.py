"""The API key inside a Secrets Manager secret: the plain key, or a JSON field."""

from __future__ import annotations

import pytest

from perceo.errors import ConfigError
from perceo.llm.secrets import _key_from_secret

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:perceo/llm-AbCdEf"


def test_a_plain_secret_is_the_key() -> None:
    assert _key_from_secret("  sk-plain\n", ARN, "apiKey") == "sk-plain"


def test_a_json_secret_holds_the_key_in_a_field() -> None:
    assert _key_from_secret('{"apiKey": "sk-json", "other": 1}', ARN, "apiKey") == "sk-json"
    assert _key_from_secret('{"llm": "sk-other"}', ARN, "llm") == "sk-other"


def test_a_json_secret_without_the_field_names_it() -> None:
    with pytest.raises(ConfigError, match="no string field 'apiKey'") as raised:
        _key_from_secret('{"key": "sk-json"}', ARN, "apiKey")

    assert "sk-json" not in raised.value.message


def test_an_empty_secret_is_an_error() -> None:
    with pytest.raises(ConfigError, match="is empty"):
        _key_from_secret("   ", ARN, "apiKey")
