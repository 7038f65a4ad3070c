"""The Lambda side's LLM key from Secrets Manager (moto, in-process), through load_llm_settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from perceo.errors import ConfigError
from perceo.llm.secrets import secrets_manager_loader
from perceo.llm.settings import load_llm_settings

REGION = "eu-west-1"


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def test_a_plain_secret_becomes_the_api_key(secretsmanager: Any) -> None:
    arn = secretsmanager.create_secret(Name="perceo/dev/llm", SecretString="sk-from-sm")["ARN"]

    settings = load_llm_settings(None, environ={}, secret_loader=secrets_manager_loader(arn, client=secretsmanager))

    assert settings.api_key.get_secret_value() == "sk-from-sm"


def test_a_json_secret_is_read_by_field_with_a_lazily_built_client(secretsmanager: Any) -> None:
    secret = json.dumps({"apiKey": "sk-json", "baseUrl": "ignored"})
    arn = secretsmanager.create_secret(Name="perceo/dev/llm-json", SecretString=secret)["ARN"]

    assert secrets_manager_loader(arn)() == "sk-json"


def test_a_missing_secret_is_a_config_error_naming_it(secretsmanager: Any) -> None:
    arn = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:perceo/none-AbCdEf"

    with pytest.raises(ConfigError, match="ResourceNotFoundException") as raised:
        secrets_manager_loader(arn, client=secretsmanager)()

    assert arn in raised.value.message
