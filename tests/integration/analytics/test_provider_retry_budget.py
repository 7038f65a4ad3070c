"""The provider clients' retries (tenacity with `perceo.retry.Backoff`, the one waiting policy) stop at whichever
comes first: the attempts, or the total wait the next backoff would exceed. Against the fake Mixpanel on loopback."""

from __future__ import annotations

import httpx
import pytest
from analytics_kit import NOW, Sleeps
from fakes.analytics_providers import MIXPANEL_EXPORT, FakeProviders, Fault

from perceo.analytics.errors import ProviderQuotaError, ProviderUnavailableError
from perceo.analytics.model import day_start
from perceo.analytics.providers import HttpProviderClients, RetryPolicy
from perceo.retry import Backoff

MIXPANEL = {"projectId": "1234", "username": "sa-user", "secret": "sa-secret"}
D1 = day_start("2026-03-08")


def clients(base: str, sleeps: Sleeps, policy: RetryPolicy) -> HttpProviderClients:
    return HttpProviderClients(
        http=httpx.Client(timeout=httpx.Timeout(10.0)),
        policy=policy,
        clock=lambda: NOW,
        sleep=sleeps,
        jitter=lambda: 0.5,
        base_urls={"mixpanel": base},
    )


def test_the_wait_budget_stops_retries_before_the_attempts_run_out(fake_providers: FakeProviders) -> None:
    sleeps = Sleeps()
    fake_providers.fault(MIXPANEL_EXPORT, *[Fault(status=502)] * 10)
    policy = RetryPolicy(attempts=10, max_wait_s=2.0, backoff=Backoff(base_s=0.4, cap_s=100.0))
    made = clients(fake_providers.base_url, sleeps, policy)
    try:
        with pytest.raises(ProviderUnavailableError, match="HTTP 502 after 10 attempts"):
            list(made.client("mixpanel", MIXPANEL).fetch(D1, D1 + 86_400_000))
    finally:
        made.close()

    # 0.3 + 0.6 = 0.9 s waited; the next wait (1.2 s) would pass 2 s: three tries in all, not ten
    assert sleeps.waits == pytest.approx([0.3, 0.6])
    assert len(fake_providers.calls(MIXPANEL_EXPORT)) == 3


def test_a_retry_after_longer_than_the_budget_ends_at_once_as_a_quota_error(fake_providers: FakeProviders) -> None:
    sleeps = Sleeps()
    fake_providers.fault(MIXPANEL_EXPORT, Fault(status=429, headers={"Retry-After": "90"}))
    policy = RetryPolicy(attempts=5, max_wait_s=60.0, backoff=Backoff(retry_after_cap_s=120.0))
    made = clients(fake_providers.base_url, sleeps, policy)
    try:
        with pytest.raises(ProviderQuotaError, match="HTTP 429"):
            list(made.client("mixpanel", MIXPANEL).fetch(D1, D1 + 86_400_000))
    finally:
        made.close()

    assert sleeps.waits == [] and len(fake_providers.calls(MIXPANEL_EXPORT)) == 1
