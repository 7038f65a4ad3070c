"""Lambda settings: read from the environment once, every missing or invalid variable named."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from perceo.config.settings import Settings, get_settings, reset_settings
from perceo.errors import ConfigError

REQUIRED = {
    "STAGE": "dev",
    "POWERTOOLS_SERVICE_NAME": "perceo-api",
    "NEO4J_URI": "neo4j+s://abc.databases.neo4j.io",
    "NEO4J_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:neo4j",
    "REDIS_URL": "rediss://cache.example.com:6379",
}


def test_required_variables_give_settings_with_defaults_for_the_rest() -> None:
    settings = Settings.from_env(REQUIRED)

    assert settings.stage == "dev"
    assert settings.service_name == "perceo-api"
    assert settings.neo4j_database == "neo4j"
    assert settings.log_level == "INFO"
    assert settings.bundle_bucket is None
    assert settings.allowed_git_hosts == ("github.com", "gitlab.com", "bitbucket.org")


def test_every_missing_variable_is_named_in_one_error() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"STAGE": "dev", "NEO4J_URI": "   "})

    missing = ["POWERTOOLS_SERVICE_NAME", "NEO4J_URI", "NEO4J_SECRET_ARN", "REDIS_URL"]
    assert sorted(raised.value.details["missing"]) == sorted(missing)
    for variable in missing:
        assert f"environment variable {variable} is not set" in raised.value.message


def test_invalid_values_are_named_without_echoing_them() -> None:
    env = {**REQUIRED, "NEO4J_URI": "http://secret-host", "LOG_LEVEL": "loud", "SECRETS_MAX_AGE_S": "-1"}

    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)

    lines = raised.value.message.splitlines()
    assert any(
        line.startswith("environment variable NEO4J_URI: must start with neo4j://, neo4j+s://") for line in lines
    )
    assert "environment variable LOG_LEVEL: must be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'" in lines
    assert "environment variable SECRETS_MAX_AGE_S: must be ≥ 0" in lines
    assert "secret-host" not in raised.value.message


def test_comma_lists_and_log_levels_are_normalised() -> None:
    settings = Settings.from_env(
        {**REQUIRED, "ALLOWED_GIT_HOSTS": " GitHub.com, git.example.org ,", "LOG_LEVEL": "debug"}
    )

    assert settings.allowed_git_hosts == ("github.com", "git.example.org")
    assert settings.log_level == "DEBUG"


def test_require_names_the_variable_of_an_unset_optional_setting() -> None:
    settings = Settings.from_env({**REQUIRED, "BUNDLE_BUCKET": "perceo-bundles-dev"})

    assert settings.require("bundle_bucket") == "perceo-bundles-dev"
    with pytest.raises(ConfigError, match="environment variable LLM_SECRET_ARN is not set"):
        settings.require("llm_secret_arn")


class BootstrapSettings(Settings):
    bundle_bucket: str


def test_an_entry_point_subclass_can_make_a_setting_required() -> None:
    with pytest.raises(ConfigError, match="environment variable BUNDLE_BUCKET is not set"):
        BootstrapSettings.from_env(REQUIRED)


@pytest.fixture
def clean_settings() -> Iterator[None]:
    reset_settings()
    yield
    reset_settings()


def test_get_settings_reads_the_environment_once_until_reset(
    monkeypatch: pytest.MonkeyPatch, clean_settings: None
) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)

    first = get_settings()
    monkeypatch.setenv("STAGE", "prod")
    assert get_settings() is first
    assert get_settings().stage == "dev"

    reset_settings()
    assert get_settings().stage == "prod"


def test_get_settings_caches_each_settings_class_separately(
    monkeypatch: pytest.MonkeyPatch, clean_settings: None
) -> None:
    for name, value in {**REQUIRED, "BUNDLE_BUCKET": "bundles"}.items():
        monkeypatch.setenv(name, value)

    bootstrap = get_settings(BootstrapSettings)

    assert isinstance(bootstrap, BootstrapSettings)
    assert bootstrap.bundle_bucket == "bundles"
    assert get_settings(BootstrapSettings) is bootstrap
    assert type(get_settings()) is Settings


def test_a_failed_load_is_not_cached(monkeypatch: pytest.MonkeyPatch, clean_settings: None) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL")

    with pytest.raises(ConfigError, match="REDIS_URL"):
        get_settings()
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379")
    assert get_settings().redis_url == "redis://127.0.0.1:6379"
