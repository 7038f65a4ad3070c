"""`open_redis`: which client a URL gives, and what a bad URL says (no server needed: a one-node client connects
on its first command; the cluster client is exercised against a real cluster in tests/integration)."""

from __future__ import annotations

import pytest
import redis

from perceo.errors import ConfigError
from perceo.redis_client import is_cluster_url, open_redis


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1", "rediss://cache.example:6379", "unix:///tmp/redis.sock"])
def test_one_node_urls_give_a_one_node_client(url: str) -> None:
    client = open_redis(url, where="REDIS_URL")

    assert isinstance(client, redis.Redis) and not is_cluster_url(url)
    client.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://x:1", "must start with redis://, rediss://, unix://, redis\\+cluster://, rediss\\+cluster://"),
        ("redis+cluster://", "names one of its nodes"),
        ("rediss+cluster:///db", "names one of its nodes"),
        ("cache.example:6379", "must start with"),
    ],
)
def test_a_bad_url_is_a_config_error_naming_the_setting(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^eventBus.redisUrl is not a valid Redis URL: .*{message}"):
        open_redis(url, where="eventBus.redisUrl")


def test_a_password_never_appears_in_the_error() -> None:
    with pytest.raises(ConfigError) as caught:
        open_redis("redis+cluster:///s3cr3t-password", where="REDIS_URL")

    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize("url", ["redis+cluster://h:1", "REDISS+CLUSTER://h:1", "rediss+cluster://u:p@h:1"])
def test_cluster_urls_are_recognised(url: str) -> None:
    assert is_cluster_url(url)
