"""Provider clients (httpx): GA4 Data API, Mixpanel raw export, Amplitude export; `HttpProviderClients` makes them.

The composition root builds one `HttpProviderClients` (timeouts, retry policy, clock; in tests, the loopback base
URLs of fake providers) and hands it to `AnalyticsService`. Hosts come from here, never from credentials.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from perceo.analytics.model import ProviderName
from perceo.analytics.ports import ProviderClient
from perceo.analytics.providers.amplitude import AmplitudeClient
from perceo.analytics.providers.ga4 import GOOGLE_TOKEN_URI, Ga4Client
from perceo.analytics.providers.http import DEFAULT_TIMEOUT, ProviderHttp, RetryPolicy
from perceo.analytics.providers.mixpanel import MixpanelClient
from perceo.errors import ValidationFailed
from perceo.models import now_ms


class HttpProviderClients:
    """Makes provider clients over one shared httpx client. `base_urls` overrides a provider's host (tests, proxies);
    `ga4_token_uris` are the token endpoints a GA4 key may name (Google's only, unless overridden)."""

    def __init__(
        self,
        *,
        http: httpx.Client | None = None,
        policy: RetryPolicy | None = None,
        clock: Callable[[], int] = now_ms,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        base_urls: Mapping[str, str] | None = None,
        ga4_token_uris: tuple[str, ...] = (GOOGLE_TOKEN_URI,),
        ga4_page_size: int | None = None,
    ) -> None:
        self.http = http or httpx.Client(timeout=DEFAULT_TIMEOUT, follow_redirects=False)
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.sleep = sleep
        self.jitter = jitter
        self.base_urls = dict(base_urls or {})
        self.ga4_token_uris = ga4_token_uris
        self.ga4_page_size = ga4_page_size

    def client(self, provider: ProviderName, credentials: Mapping[str, Any]) -> ProviderClient:
        http = ProviderHttp(provider, self.http, policy=self.policy, sleep=self.sleep, jitter=self.jitter)
        base = self.base_urls.get(provider)
        if provider == "mixpanel":
            return MixpanelClient(credentials, http, clock=self.clock, base_url=base)
        if provider == "amplitude":
            return AmplitudeClient(credentials, http, clock=self.clock, base_url=base)
        if provider == "ga4":
            extra: dict[str, Any] = {"page_size": self.ga4_page_size} if self.ga4_page_size else {}
            return Ga4Client(
                credentials, http, clock=self.clock, base_url=base, token_uris=self.ga4_token_uris, **extra
            )
        raise ValidationFailed(f"unknown analytics provider {provider!r}")

    def close(self) -> None:
        self.http.close()


__all__ = ["AmplitudeClient", "Ga4Client", "HttpProviderClients", "MixpanelClient", "ProviderHttp", "RetryPolicy"]
