"""LLM settings from config, environment and a secret loader: precedence and clear errors."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from perceo.config.model import LLMSection
from perceo.errors import ConfigError
from perceo.llm.settings import DEFAULT_BASE_URL, load_llm_settings


def test_config_values_are_used_when_the_environment_is_silent() -> None:
    section = LLMSection(
        base_url="https://openrouter.ai/api/v1/",
        api_key=SecretStr("sk-config"),
        model="openai/gpt-4.1",
        max_concurrency=2,
        timeout_s=12,
        max_retries=1,
        cache_ttl_s=60,
    )

    settings = load_llm_settings(section, environ={})

    assert settings.base_url == "https://openrouter.ai/api/v1"
    assert settings.api_key.get_secret_value() == "sk-config"
    assert (settings.model, settings.max_concurrency, settings.timeout_s) == ("openai/gpt-4.1", 2, 12)
    assert (settings.max_retries, settings.cache_ttl_s) == (1, 60)


def test_perceo_environment_variables_override_the_config() -> None:
    section = LLMSection(base_url="https://a.example/v1", api_key=SecretStr("sk-config"), model="gpt-4.1")
    env = {
        "PERCEO_LLM_API_KEY": "sk-env",
        "PERCEO_LLM_BASE_URL": "http://127.0.0.1:9/v1",
        "PERCEO_LLM_MODEL": "gpt-4o-mini",
        "OPENAI_API_KEY": "sk-openai",
    }

    settings = load_llm_settings(section, environ=env)

    assert settings.api_key.get_secret_value() == "sk-env"
    assert settings.base_url == "http://127.0.0.1:9/v1"
    assert settings.model == "gpt-4o-mini"


def test_openai_api_key_is_a_fallback_after_the_config() -> None:
    assert load_llm_settings(LLMSection(), environ={"OPENAI_API_KEY": "sk-o"}).api_key.get_secret_value() == "sk-o"
    with_config = LLMSection(api_key=SecretStr("sk-config"))
    assert load_llm_settings(with_config, environ={"OPENAI_API_KEY": "sk-o"}).api_key.get_secret_value() == "sk-config"


def test_the_secret_loader_is_called_only_when_no_other_key_exists() -> None:
    calls: list[str] = []

    def loader() -> str:
        calls.append("called")
        return "sk-from-secrets-manager\n"

    assert load_llm_settings(None, environ={"OPENAI_API_KEY": "sk-o"}, secret_loader=loader).api_key.get_secret_value()
    assert calls == []
    settings = load_llm_settings(None, environ={}, secret_loader=loader)
    assert settings.api_key.get_secret_value() == "sk-from-secrets-manager"
    assert calls == ["called"]


def test_defaults_point_at_openai() -> None:
    settings = load_llm_settings(None, environ={"OPENAI_API_KEY": "sk-o"})

    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.model == LLMSection().model


def test_a_missing_key_names_every_place_to_set_one() -> None:
    with pytest.raises(ConfigError) as raised:
        load_llm_settings(LLMSection(api_key=SecretStr("  ")), environ={"PERCEO_LLM_API_KEY": ""})

    assert "llm.apiKey" in raised.value.message
    assert "PERCEO_LLM_API_KEY" in raised.value.message
    assert "OPENAI_API_KEY" in raised.value.message


def test_an_invalid_base_url_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError) as raised:
        load_llm_settings(LLMSection(base_url="api.openai.com"), environ={"OPENAI_API_KEY": "sk-o"})

    assert raised.value.details["where"].startswith("llm.baseUrl")
    assert "api.openai.com" in raised.value.message


def test_the_key_never_shows_in_repr_or_dumps() -> None:
    settings = load_llm_settings(None, environ={"OPENAI_API_KEY": "sk-very-secret"})

    assert "sk-very-secret" not in repr(settings)
    assert "sk-very-secret" not in str(settings.model_dump())
    assert "sk-very-secret" not in settings.model_dump_json()
