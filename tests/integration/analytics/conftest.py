"""Fixtures for the analytics engine: provider clients pointed at the fake providers, a GA4 service-account key
(a real RSA key made here, its public half given to the fake token endpoint), and a recording sleep."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from analytics_kit import NOW, Analytics, Sleeps
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fakes.analytics_providers import FakeProviders
from falkordb import FalkorDB

from perceo.analytics.providers import HttpProviderClients, RetryPolicy
from perceo.analytics.service import AnalyticsOptions, AnalyticsService
from perceo.analytics.stores import LocalObjectStore, MemoryCredentialStore, RedisCursorStore, RedisSeenEvents
from perceo.bus.memory import InMemoryBus
from perceo.graph.falkor import FalkorFlowGraph
from perceo.retry import Backoff


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def clients(fake_providers: FakeProviders, sleeps: Sleeps) -> Iterator[HttpProviderClients]:
    base = fake_providers.base_url
    made = HttpProviderClients(
        http=httpx.Client(timeout=httpx.Timeout(10.0)),
        policy=RetryPolicy(attempts=4, max_wait_s=60.0, backoff=Backoff(base_s=0.5, cap_s=4.0, retry_after_cap_s=10.0)),
        clock=lambda: NOW,
        sleep=sleeps,
        jitter=lambda: 0.5,
        base_urls={"mixpanel": base, "amplitude": base, "ga4": base},
        ga4_token_uris=(f"{base}/token",),
        ga4_page_size=3,
    )
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def ga4_key(fake_providers: FakeProviders) -> dict[str, Any]:
    """A service-account key whose token_uri is the fake's token endpoint; the fake knows its public key."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fake_providers.ga4_public_key = private.public_key()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "perceo-test",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "reader@perceo-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": f"{fake_providers.base_url}/token",
    }


@pytest.fixture
def graph(falkordb_server: Any) -> Iterator[FalkorFlowGraph]:
    """A fresh graph key on the session's FalkorDB server, with the schema in place."""
    client = FalkorDB(host=falkordb_server.host, port=falkordb_server.port)
    name = f"analytics-{uuid.uuid4().hex[:12]}"
    falkor = FalkorFlowGraph(client, name)
    falkor.ensure_schema()
    try:
        yield falkor
    finally:
        client.connection.delete(name)
        client.close()


@pytest.fixture
def analytics(
    graph: FalkorFlowGraph, redis_client: redis.Redis, tmp_path: Path, clients: HttpProviderClients
) -> Analytics:
    """The service as the embedded mode builds it: FalkorDB graph, Redis idempotency and cursors, a local data dir."""
    store = LocalObjectStore(tmp_path / ".perceo" / "data")
    bus = InMemoryBus()
    credentials = MemoryCredentialStore()
    cursors = RedisCursorStore(redis_client)
    clock = [NOW]
    service = AnalyticsService(
        graph,
        store,
        RedisSeenEvents(redis_client, ttl_s=40 * 86_400),
        cursors,
        credentials,
        clients,
        bus,
        clock=lambda: clock[0],
        options=AnalyticsOptions(average_order_value=25.0),
    )
    return Analytics(service, store, bus, credentials, cursors, clock)
