"""Hot-path cost of API key auth on a real Redis (the embedded FalkorDB server): authenticate, rate check, and
creating a key; then the same on a local three-node Redis Cluster (`tests/redis_cluster_kit.py`).

Baseline: one PING round trip on the same connection (on the cluster: a GET, which goes to one node). Prints the
median of several runs, per call.
Run: PYTHONPATH=tests .venv/bin/python bench/auth_keys.py
"""

from __future__ import annotations

import itertools
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from redis_cluster_kit import start_cluster, stop_cluster  # tests/ (run with PYTHONPATH=tests)

from perceo.auth import ApiKeyService, InMemoryKeyStore, RateLimiter, RedisKeyStore
from perceo.redis_client import RedisClient, open_redis
from perceo_cli.local.server import start_server, stop_server

RUNS, CALLS = 5, 1_000


def per_call_us(fn: Callable[[], object], calls: int = CALLS) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(samples)


def redis_rows(label: str, client: RedisClient, baseline: Callable[[], object]) -> None:
    pepper = b"bench-pepper-0123456789abcdef-0123456789"
    project = f"bench-{uuid.uuid4().hex[:8]}"
    service = ApiKeyService(RedisKeyStore(client, audit_maxlen=1_000), pepper)
    raw, key = service.create(project, "bench", ["flows:read"], created_by="bench")
    limiter = RateLimiter(client, rate_per_s=1e9, burst=10**9)
    names = (f"k{n}" for n in itertools.count())
    rows = [
        (f"{label}: baseline", baseline, CALLS),
        (f"{label}: authenticate", lambda: service.authenticate(raw, ip="203.0.113.1"), CALLS),
        (f"{label}: rate limit check", lambda: limiter.check(key.id), CALLS),
        (f"{label}: create a key", lambda: service.create(project, next(names), ["flows:read"], created_by="b"), 200),
    ]
    for row, fn, calls in rows:
        print(f"{row:<36} {per_call_us(fn, calls):8.1f} us/call")
    service.delete_project_keys(project)


def main() -> None:
    pepper = b"bench-pepper-0123456789abcdef-0123456789"
    memory_service = ApiKeyService(InMemoryKeyStore(audit_maxlen=1_000), pepper)
    raw_mem, _ = memory_service.create("bench", "bench", ["flows:read"], created_by="bench")
    in_memory = per_call_us(lambda: memory_service.authenticate(raw_mem))
    print(f"{'authenticate, in-memory store':<36} {in_memory:8.1f} us/call")
    server = start_server(Path(tempfile.mkdtemp(prefix="perceo-bench-")), persistent=False)
    try:
        client = open_redis(server.url, where="bench", decode_responses=True)
        redis_rows("one node", client, client.ping)
        client.close()
    finally:
        stop_server(server.pid)
    cluster = start_cluster(Path(tempfile.mkdtemp(prefix="perceo-bench-cluster-")))
    try:
        client = open_redis(cluster.url, where="bench", decode_responses=True)
        redis_rows("cluster", client, lambda: client.get("bench-baseline"))
        client.close()
    finally:
        stop_cluster(cluster)


if __name__ == "__main__":
    main()
