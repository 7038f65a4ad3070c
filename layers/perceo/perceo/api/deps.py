"""What the API handlers depend on, built lazily once per cold start, with one injection point.

In Lambda nothing is built at import time: the first request that needs the graph opens it (reading the Neo4j
secret), the first that needs Redis connects, and so on; each function only ever builds what its routes use, so
it only needs IAM access to those secrets. Drivers (neo4j, redis, boto3) are imported inside the builders.

Tests and the local API Gateway emulator inject instead of configuring AWS:

    deps = Dependencies(settings, graph=FalkorFlowGraph(...), redis=redis_client, pepper=b"...", admin_key="...")
    install_dependencies(deps)      # every handler in this process now uses them
    ...
    reset_dependencies()            # back to "build from the environment on first use"

Anything not injected is still built from `settings` (and the secrets it names, through `secrets`, which defaults
to powertools `parameters` with the settings' `max_age`), so the emulator can also just set environment variables
(`GRAPH_URI=redis://…`, `REDIS_URL`, secret ARNs served by moto) and inject nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from perceo.errors import BackendUnavailableError, ConfigError

if TYPE_CHECKING:
    import redis as redis_lib

    from perceo.api.secrets import SecretReader
    from perceo.auth.ratelimit import RateLimiterPort
    from perceo.auth.service import ApiKeyService
    from perceo.bus.port import EventBus
    from perceo.config.settings import Settings
    from perceo.graph.port import FlowGraph
    from perceo.models.api import DependencyCheck
    from perceo.service import ProjectService

#: Redis calls from a Lambda must fail fast: the API Gateway integration times out at 29 s.
REDIS_TIMEOUT_S = 2.0
REDIS_HEALTH_CHECK_INTERVAL_S = 30
BUS_STREAM_MAX_LEN = 10_000


class Dependencies:
    """The handlers' collaborators. Pass any of them to use it instead of building it from `settings`."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        secrets: SecretReader | None = None,
        graph: FlowGraph | None = None,
        redis: redis_lib.Redis | None = None,
        bus: EventBus | None = None,
        keys: ApiKeyService | None = None,
        limiter: RateLimiterPort | None = None,
        pepper: bytes | None = None,
        admin_key: str | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._settings = settings
        self._secrets = secrets
        self._graph = graph
        self._redis = redis
        self._bus = bus
        self._keys = keys
        self._limiter = limiter
        self._pepper = pepper
        self._admin_key = admin_key
        self._clock = clock
        self._service: ProjectService | None = None
        self._owned: list[Any] = []

    # ------------------------------------------------------------------------------------------------ settings
    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from perceo.config.settings import get_settings

            self._settings = get_settings()
        return self._settings

    @property
    def secrets(self) -> SecretReader:
        with self._lock:
            if self._secrets is None:
                from perceo.api.secrets import ParametersSecretReader

                self._secrets = ParametersSecretReader(max_age_s=self.settings.secrets_max_age_s)
            return self._secrets

    # ------------------------------------------------------------------------------------------------ stores
    @property
    def graph(self) -> FlowGraph:
        with self._lock:
            if self._graph is None:
                self._graph = self._own(open_graph(self.settings, self.secrets))
            return self._graph

    @property
    def redis(self) -> redis_lib.Redis:
        with self._lock:
            if self._redis is None:
                self._redis = self._own(open_redis(self.settings.redis_url))
            return self._redis

    @property
    def bus(self) -> EventBus:
        with self._lock:
            if self._bus is None:
                from perceo.bus.redis import RedisBus

                self._bus = RedisBus(self.redis, BUS_STREAM_MAX_LEN)
            return self._bus

    # ------------------------------------------------------------------------------------------------ services
    @property
    def keys(self) -> ApiKeyService:
        with self._lock:
            if self._keys is None:
                from perceo.auth.redis_store import RedisKeyStore
                from perceo.auth.service import ApiKeyService

                store = RedisKeyStore(self.redis)
                if self._clock is None:
                    self._keys = ApiKeyService(store, self.pepper())
                else:
                    self._keys = ApiKeyService(store, self.pepper(), self._clock)
            return self._keys

    @property
    def limiter(self) -> RateLimiterPort:
        with self._lock:
            if self._limiter is None:
                from perceo.auth.ratelimit import RateLimiter

                rate, burst = self.settings.key_rate_limit_per_second, self.settings.key_rate_limit_burst
                if self._clock is None:
                    self._limiter = RateLimiter(self.redis, rate, burst)
                else:
                    self._limiter = RateLimiter(self.redis, rate, burst, clock=self._clock)
            return self._limiter

    @property
    def service(self) -> ProjectService:
        with self._lock:
            if self._service is None:
                from perceo.service import ProjectService

                if self._clock is None:
                    self._service = ProjectService(self.graph, self.bus)
                else:
                    self._service = ProjectService(self.graph, self.bus, clock=self._clock)
            return self._service

    # ------------------------------------------------------------------------------------------------ secrets
    def pepper(self) -> bytes:
        """The API key pepper (Secrets Manager, cached by the reader for `max_age`)."""
        if self._pepper is not None:
            return self._pepper
        return self.secrets.text(self.settings.require("api_key_pepper_secret_arn")).encode("utf-8")

    def admin_key(self) -> str:
        """The admin key that guards `POST /projects` (Secrets Manager ARN or SSM parameter name)."""
        if self._admin_key is not None:
            return self._admin_key
        return self.secrets.text(self.settings.require("admin_key_secret_arn"))

    # ------------------------------------------------------------------------------------------------ health
    def check_graph(self) -> DependencyCheck:
        return _timed_check(lambda: self.graph.ping())

    def check_redis(self) -> DependencyCheck:
        return _timed_check(lambda: bool(self.redis.ping()))

    def close(self) -> None:
        """Release what this object built (injected collaborators belong to whoever injected them)."""
        with self._lock:
            for resource in reversed(self._owned):
                close = getattr(resource, "close", None)
                if callable(close):
                    close()
            self._owned.clear()

    def _own(self, resource: Any) -> Any:
        self._owned.append(resource)
        return resource


def open_redis(url: str) -> redis_lib.Redis:
    import redis

    try:
        return redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            health_check_interval=REDIS_HEALTH_CHECK_INTERVAL_S,
        )
    except ValueError as error:  # the message names the scheme problem, never the password
        raise ConfigError(f"environment variable REDIS_URL is not a valid Redis URL: {error}") from None


def open_graph(settings: Settings, secrets: SecretReader) -> FlowGraph:
    """FalkorDB when `GRAPH_URI` is set (local cloud, tests), else Neo4j with credentials from its secret.

    Both go through the graph factory the CLI uses (`open_flow_graph` with a `flowGraph` config section).
    """
    from pydantic import SecretStr

    from perceo.config.model import FlowGraphSection
    from perceo.graph.factory import open_flow_graph

    if settings.graph_uri is not None:
        section = FlowGraphSection(type="falkordb", uri=settings.graph_uri, database=settings.graph_name)
    else:
        secret_arn = settings.require("neo4j_secret_arn")
        credentials = secrets.json(secret_arn)
        username, password = credentials.get("username"), credentials.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise ConfigError(
                f'secret {secret_arn} must hold {{"username": …, "password": …}}', details={"where": secret_arn}
            )
        section = FlowGraphSection(
            type="neo4j",
            uri=settings.require("neo4j_uri"),
            database=settings.neo4j_database,
            username=username,
            password=SecretStr(password),
        )
    graph: FlowGraph = open_flow_graph(section, embedded_url=None)
    graph.ensure_schema()
    return graph


def _timed_check(probe: Callable[[], bool]) -> DependencyCheck:
    from perceo.models.api import DependencyCheck  # the API's models: only the health route needs this one

    started = time.perf_counter()
    try:
        ok = probe()
    except (BackendUnavailableError, ConfigError, OSError) as error:
        return DependencyCheck(ok=False, error=type(error).__name__)
    except Exception as error:  # a driver's own error types (redis, neo4j): report the kind, never the text
        return DependencyCheck(ok=False, error=type(error).__name__)
    latency = round((time.perf_counter() - started) * 1000, 2)
    return DependencyCheck(ok=bool(ok), latency_ms=latency, error=None if ok else "no answer")


_installed: Dependencies | None = None
_install_lock = threading.Lock()


def dependencies() -> Dependencies:
    """This process's dependencies: the injected ones, or ones built from the environment on first use."""
    global _installed
    with _install_lock:
        if _installed is None:
            _installed = Dependencies()
        return _installed


def install_dependencies(deps: Dependencies) -> None:
    """Make every handler in this process use `deps` (tests, the local API Gateway emulator)."""
    global _installed
    with _install_lock:
        _installed = deps


def reset_dependencies() -> None:
    """Forget the installed dependencies (closing what they built); the next request builds anew."""
    global _installed
    with _install_lock:
        previous, _installed = _installed, None
    if previous is not None:
        previous.close()
