"""Lambda-side settings: read from environment variables once per cold start, validated, cached.

A pydantic-settings `BaseSettings`: each field's environment variable is its name in upper case (`neo4j_uri`
← `NEO4J_URI`, matched case-sensitively) unless the field sets an explicit `alias`. A blank variable counts as
unset: there are no silent "" defaults for endpoints or credentials. Every missing or invalid variable is
reported in one `ConfigError`, one per line, naming the variable (never its value: some hold secrets' ARNs,
and values do not help).

Two ways to extend, both plain pydantic:

- A setting every function needs: add a field here (required when it has no default).
- A setting only some functions need: add it here as `str | None = None` and call
  `settings.require("bundle_bucket")` where it is used, or give the entry point its own subclass that
  makes it required and load that at cold start::

      class BootstrapSettings(Settings):
          bundle_bucket: str

      settings = get_settings(BootstrapSettings)

Secrets themselves are never settings: these are ARNs / parameter names that powertools `parameters`
resolves (with a `max_age`) where the secret is used.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self, TypeVar, overload

from pydantic import AfterValidator, Field, StringConstraints, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict

from perceo.config.validation import describe_error
from perceo.errors import ConfigError

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _scheme_in(*schemes: str) -> AfterValidator:
    def check(value: str) -> str:
        if not any(value.startswith(scheme) and len(value) > len(scheme) for scheme in schemes):
            raise ValueError(f"must start with {', '.join(schemes[:-1])} or {schemes[-1]}")
        return value

    return AfterValidator(check)


Neo4jUri = Annotated[
    NonEmpty, _scheme_in("neo4j://", "neo4j+s://", "neo4j+ssc://", "bolt://", "bolt+s://", "bolt+ssc://")
]
RedisUrl = Annotated[NonEmpty, _scheme_in("redis://", "rediss://", "unix://")]
#: REDIS_URL may also name a cluster (`rediss+cluster://`, ElastiCache Serverless): see `perceo.redis_client`.
RedisOrClusterUrl = Annotated[
    NonEmpty, _scheme_in("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")
]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

DEFAULT_ALLOWED_GIT_HOSTS = ("github.com", "gitlab.com", "bitbucket.org")


def _env_name(field_name: str) -> str:
    return field_name.upper()


class MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of `os.environ`; blank values are unset.

    `from_env(env)` of a settings class validates `MappingEnvSource(cls, env)()`: tests and callers pass their
    own environment, and the values are stripped (whitespace-only counts as unset).
    """

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._env = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name: value.strip() for name, value in self._env.items() if value.strip()}


class Settings(BaseSettings):
    """What every Perceo Lambda reads from its environment (set in `template.yaml` Globals/functions)."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="ignore",
        alias_generator=_env_name,
        validate_by_name=True,
        validate_by_alias=True,
        case_sensitive=True,
        env_ignore_empty=True,
    )

    #: Deployment stage: dev, staging, prod, local.
    stage: NonEmpty
    service_name: NonEmpty = Field(alias="POWERTOOLS_SERVICE_NAME")
    log_level: LogLevel = "INFO"

    #: The flow graph is Neo4j (`NEO4J_URI` + `NEO4J_SECRET_ARN`, the cloud) unless `GRAPH_URI` names a FalkorDB
    #: server (`redis://…`: the local cloud and tests). One of the two is required; see `_conditionally_required`.
    neo4j_uri: Neo4jUri | None = None
    neo4j_database: NonEmpty = "neo4j"
    #: Secrets Manager secret holding `{"username": ..., "password": ...}` for Neo4j.
    neo4j_secret_arn: NonEmpty | None = None
    graph_uri: RedisUrl | None = None
    #: The FalkorDB graph (key) that holds the flow graph when `GRAPH_URI` is set.
    graph_name: NonEmpty = "perceo"
    #: How long a function waits for one graph answer before the graph counts as unavailable (503 with
    #: Retry-After from the API, a retried task in a workflow): under API Gateway's 29 s integration limit.
    graph_timeout_s: float = Field(default=20.0, gt=0, le=900)
    redis_url: RedisOrClusterUrl

    #: Secrets Manager secret with the LLM API key (functions that call the LLM).
    llm_secret_arn: NonEmpty | None = None
    #: Secrets Manager secret with the pepper mixed into API key hashes (authorizer, key management).
    api_key_pepper_secret_arn: NonEmpty | None = None
    #: The admin key: a Secrets Manager ARN (`arn:aws:secretsmanager:…`) or an SSM parameter name (`/perceo/…`).
    admin_key_secret_arn: NonEmpty | None = None
    #: S3 bucket for uploaded bundles and raw analytics batches.
    bundle_bucket: NonEmpty | None = None
    #: S3 bucket the scheduled `export` job writes daily project exports to (`exports/<project>/<day>.jsonl.gz`).
    backup_bucket: NonEmpty | None = None
    bootstrap_state_machine_arn: NonEmpty | None = None
    analyze_state_machine_arn: NonEmpty | None = None
    #: RunTests (the coordinator): flows run step by step in a browser, one Map iteration per flow.
    run_tests_state_machine_arn: NonEmpty | None = None
    #: RunTests may browse private, loopback and link-local addresses (the local cloud, a VPC-internal staging app).
    run_tests_allow_private_urls: bool = False
    #: Workflows the API starts: flows whose steps are extracted at the same time (the Map state's MaxConcurrency,
    #: via the execution input), and how long a bootstrap keeps the project's "one at a time" claim at most.
    workflow_max_concurrency: int = Field(default=4, ge=1, le=40)
    workflow_claim_ttl_s: int = Field(default=2 * 3600, ge=60, le=7 * 86_400)
    #: Retention (the `cleanup` job): days change analyses and test runs are kept, and days a workflow's status and
    #: progress record is kept after its last change (also its time-to-live in Redis).
    analyses_retention_days: int = Field(default=180, ge=1)
    workflow_records_retention_days: int = Field(default=30, ge=1, le=365)
    #: Hosts remote bootstrap may clone from; comma-separated in the environment.
    allowed_git_hosts: Annotated[tuple[str, ...], NoDecode] = DEFAULT_ALLOWED_GIT_HOSTS
    #: How long fetched secrets are cached (powertools `parameters` max_age).
    secrets_max_age_s: int = Field(default=300, ge=0, le=86_400)
    #: The one browser origin the API answers CORS requests from (never `*`).
    allowed_cors_origin: NonEmpty | None = None
    #: Per-API-key token bucket: refill rate (requests per second) and size.
    key_rate_limit_per_second: float = Field(default=10.0, gt=0, le=10_000)
    key_rate_limit_burst: int = Field(default=40, ge=1, le=100_000)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("allowed_git_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            hosts = tuple(str(host).strip().lower() for host in value if str(host).strip())
            if not hosts:
                raise ValueError("must name at least one host")
            return hosts
        return value

    @classmethod
    def env_var(cls, field_name: str) -> str:
        """The environment variable a field is read from."""
        info = cls.model_fields[field_name]
        return info.alias or _env_name(field_name)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """Validate the settings from `env`; every missing or invalid variable is named in one ConfigError."""
        values = MappingEnvSource(cls, env)()
        missing = [cls.env_var(name) for name in cls._conditionally_required(values)]
        try:
            settings = cls.model_validate(values)
        except ValidationError as error:
            raise _settings_error(cls, error, also_missing=missing) from None
        if missing:
            raise _settings_error(cls, None, also_missing=missing)
        return settings

    @classmethod
    def _conditionally_required(cls, values: Mapping[str, Any]) -> list[str]:
        """Fields required by the values given: Neo4j's URI and secret unless `GRAPH_URI` picks FalkorDB."""
        if cls.env_var("graph_uri") in values:
            return []
        return [name for name in ("neo4j_uri", "neo4j_secret_arn") if cls.env_var(name) not in values]

    def require(self, field_name: str) -> str:
        """The value of an optional setting this code path needs; ConfigError naming its variable when unset."""
        value = getattr(self, field_name)
        if value is None:
            variable = self.env_var(field_name)
            raise ConfigError(
                f"environment variable {variable} is not set (needed here)", details={"missing": [variable]}
            )
        return str(value)


def _settings_error(
    cls: type[Settings], error: ValidationError | None, *, also_missing: list[str] | None = None
) -> ConfigError:
    missing: list[str] = []
    invalid: dict[str, str] = {}
    for detail in error.errors(include_url=False) if error is not None else []:
        # `from_env` validates by alias, so the first location is the variable's name.
        variable = str(detail["loc"][0]) if detail["loc"] else cls.__name__
        if detail["type"] == "missing":
            missing.append(variable)
        else:
            invalid.setdefault(variable, describe_error(detail))
    missing += [variable for variable in also_missing or [] if variable not in missing]
    lines = [f"environment variable {variable} is not set" for variable in missing]
    lines += [f"environment variable {variable}: {reason}" for variable, reason in invalid.items()]
    return ConfigError("\n".join(lines), details={"missing": missing, "invalid": invalid})


SettingsT = TypeVar("SettingsT", bound=Settings)


@functools.cache
def _cached_settings(cls: type[Settings]) -> Settings:
    return cls.from_env(os.environ)


@overload
def get_settings() -> Settings: ...
@overload
def get_settings(cls: type[SettingsT]) -> SettingsT: ...
def get_settings(cls: type[Settings] = Settings) -> Settings:
    """The settings of this process, read from `os.environ` on first use and cached (a failure is not cached)."""
    return _cached_settings(cls)


def reset_settings() -> None:
    """Forget cached settings (tests; or after changing the environment on purpose)."""
    _cached_settings.cache_clear()
