"""Hot-path cost of API key auth on a real Redis (the embedded FalkorDB server): authenticate, rate check.

Baseline: one PING round trip on the same connection. Prints the median of several runs, per call.
Run: .venv/bin/python bench/auth_keys.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import redis

from perceo.auth import ApiKeyService, InMemoryKeyStore, RateLimiter, RedisKeyStore
from perceo_cli.local.server import start_server, stop_server

RUNS, CALLS = 5, 2_000


def per_call_us(fn: Callable[[], object]) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for _ in range(CALLS):
            fn()
        samples.append((time.perf_counter() - start) / CALLS * 1e6)
    return statistics.median(samples)


def main() -> None:
    server = start_server(Path(tempfile.mkdtemp(prefix="perceo-bench-")), persistent=False)
    try:
        client = redis.Redis(host=server.host, port=server.port, decode_responses=True)
        pepper = b"bench-pepper-0123456789abcdef-0123456789"
        project = f"bench-{uuid.uuid4().hex[:8]}"
        redis_service = ApiKeyService(RedisKeyStore(client, audit_maxlen=1_000), pepper)
        raw, key = redis_service.create(project, "bench", ["flows:read"], created_by="bench")
        memory_service = ApiKeyService(InMemoryKeyStore(audit_maxlen=1_000), pepper)
        raw_mem, _ = memory_service.create(project, "bench", ["flows:read"], created_by="bench")
        limiter = RateLimiter(client, rate_per_s=1e9, burst=10**9)

        rows = [
            ("redis PING (baseline)", client.ping),
            ("authenticate, in-memory store", lambda: memory_service.authenticate(raw_mem)),
            ("authenticate, Redis store", lambda: redis_service.authenticate(raw, ip="203.0.113.1")),
            ("rate limit check, Redis Lua", lambda: limiter.check(key.id)),
        ]
        for label, fn in rows:
            print(f"{label:<32} {per_call_us(fn):8.1f} us/call")
        redis_service.delete_project_keys(project)
        client.close()
    finally:
        stop_server(server.pid)


if __name__ == "__main__":
    main()
