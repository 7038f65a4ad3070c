"""The Redis client for a URL: one node, or a cluster (ElastiCache Serverless runs in cluster mode).

- `redis://`, `rediss://` (TLS), `unix://`: one node (`redis.Redis`): the embedded FalkorDB store, a self-hosted
  Redis, ElastiCache with cluster mode off.
- `redis+cluster://`, `rediss+cluster://`: a cluster (`redis.RedisCluster`). The client asks the node named in the
  URL for the slot map and sends each command to the node that holds its key. A cluster refuses a command or a
  transaction whose keys fall in more than one hash slot (CROSSSLOT), so every multi-key operation of Perceo names
  its keys with one hash tag (`{projectId}`, `{prefix}`, ...): only the part between the first braces is hashed.

Only the composition root (`perceo.wiring`) and the bus factory call `open_redis`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from perceo.errors import BackendUnavailableError, ConfigError

if TYPE_CHECKING:
    import redis

    #: What the Redis adapters accept: the same commands on one node or on a cluster.
    RedisClient: TypeAlias = redis.Redis | redis.RedisCluster
else:
    RedisClient = Any

#: Cluster URL schemes and the plain scheme each stands for (TLS or not).
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
URL_SCHEMES = ("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")


def is_cluster_url(url: str) -> bool:
    """True for `redis+cluster://…` and `rediss+cluster://…`."""
    return url.partition("://")[0].lower() in CLUSTER_SCHEMES


def open_redis(url: str, *, where: str, **options: Any) -> RedisClient:
    """A client for `url` (see the module doc); `options` go to the client (timeouts, decode_responses...).

    A malformed URL is a ConfigError naming `where` (the setting it came from) and the scheme problem, never the
    password. A one-node client connects on its first command; the cluster client reads the slot map here, so an
    unreachable cluster is a BackendUnavailableError now.
    """
    import redis
    import redis.exceptions

    scheme, separator, rest = url.partition("://")
    try:
        if separator and scheme.lower() in CLUSTER_SCHEMES:
            if not rest or rest.startswith("/"):
                raise ValueError("a cluster URL names one of its nodes: rediss+cluster://host:port")
            return redis.RedisCluster.from_url(f"{CLUSTER_SCHEMES[scheme.lower()]}://{rest}", **options)
        if not url.startswith(URL_SCHEMES[:3]):
            raise ValueError(f"it must start with {', '.join(URL_SCHEMES)}")
        return redis.Redis.from_url(url, **options)
    except ValueError as error:
        raise ConfigError(f"{where} is not a valid Redis URL: {error}") from None
    except (redis.exceptions.RedisError, redis.exceptions.RedisClusterException) as error:
        reason = type(error).__name__
        raise BackendUnavailableError(f"the Redis cluster of {where} cannot be reached: {reason}") from None
