"""LLM settings: built once per entry point from the config section, the environment and (in Lambda) a secret.

This is the only module of the LLM layer that reads the environment. The client gets an `LLMSettings`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from perceo.config.model import LLMSection
from perceo.config.settings import MappingEnvSource
from perceo.errors import ConfigError

DEFAULT_BASE_URL = "https://api.openai.com/v1"

ENV_API_KEY = "PERCEO_LLM_API_KEY"
ENV_OPENAI_API_KEY = "OPENAI_API_KEY"
ENV_BASE_URL = "PERCEO_LLM_BASE_URL"
ENV_MODEL = "PERCEO_LLM_MODEL"

#: Where a user fixes an invalid field.
_CONFIG_KEYS = {"base_url": f"llm.baseUrl ({ENV_BASE_URL})", "model": f"llm.model ({ENV_MODEL})"}

#: Returns the API key, e.g. from Secrets Manager (see `perceo.llm.secrets`). Called only when needed.
SecretLoader = Callable[[], str]


class LLMSettings(BaseModel):
    """Everything the client needs. `api_key` is a SecretStr: it never shows in repr, logs or dumps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = DEFAULT_BASE_URL
    api_key: SecretStr
    model: str = Field(min_length=1)
    max_concurrency: int = Field(default=4, ge=1, le=32)
    #: One request's time limit; a stage's calls together are bounded by bootstrap.llmStageTimeoutS.
    timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    cache_ttl_s: int = Field(default=7 * 24 * 3600, ge=0)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class LLMEnvironment(BaseSettings):
    """The LLM settings the environment may give (blank means unset); they win over `.perceo/config.json`."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=True)

    api_key: SecretStr | None = Field(default=None, alias=ENV_API_KEY)
    openai_api_key: SecretStr | None = Field(default=None, alias=ENV_OPENAI_API_KEY)
    base_url: str | None = Field(default=None, alias=ENV_BASE_URL)
    model: str | None = Field(default=None, alias=ENV_MODEL)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LLMEnvironment:
        return cls.model_validate(MappingEnvSource(cls, env)())


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def load_llm_settings(
    section: LLMSection | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    secret_loader: SecretLoader | None = None,
) -> LLMSettings:
    """Build the LLM settings. First found wins:

    - API key: `PERCEO_LLM_API_KEY`, `llm.apiKey`, `OPENAI_API_KEY`, then `secret_loader()`.
    - base URL: `PERCEO_LLM_BASE_URL`, `llm.baseUrl`, then OpenAI's.
    - model: `PERCEO_LLM_MODEL`, then `llm.model`.

    Raises ConfigError naming the settings when there is no API key or a value is invalid.
    """
    section = section or LLMSection()
    env = LLMEnvironment.from_env(os.environ if environ is None else environ)

    api_key = _secret(env.api_key)
    if api_key is None and section.api_key is not None and section.api_key.get_secret_value().strip():
        api_key = section.api_key.get_secret_value().strip()
    if api_key is None:
        api_key = _secret(env.openai_api_key)
    if api_key is None and secret_loader is not None:
        api_key = secret_loader().strip() or None
    if api_key is None:
        raise ConfigError(
            f"no LLM API key: set llm.apiKey in .perceo/config.json, or {ENV_API_KEY} or {ENV_OPENAI_API_KEY}",
            details={"where": "llm.apiKey"},
        )

    base_url = env.base_url or section.base_url or DEFAULT_BASE_URL
    model = env.model or section.model
    try:
        return LLMSettings(
            base_url=base_url,
            api_key=SecretStr(api_key),
            model=model,
            max_concurrency=section.max_concurrency,
            timeout_s=section.timeout_s,
            max_retries=section.max_retries,
            cache_ttl_s=section.cache_ttl_s,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        where = _CONFIG_KEYS.get(field, "llm")
        raise ConfigError(
            f"invalid LLM setting {where}: {first['msg']} (got {first['input']!r})", details={"where": where}
        ) from None
