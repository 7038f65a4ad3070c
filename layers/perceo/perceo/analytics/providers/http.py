"""What the provider clients share: requests with bounded retries, windows, and the typed errors they raise.

- 429 and 5xx (and timeouts, refused or dropped connections) are retried with exponential backoff and jitter; a
  `Retry-After` header wins (capped). At most `attempts` tries and `max_wait_s` of waiting in all, then
  ProviderQuotaError (429) or ProviderUnavailableError. Waits go through the injected `sleep`.
- 401 and 403 raise ProviderCredentialsError naming the provider and what it refused; no secret is echoed
  (request URLs never carry secrets: auth is in headers, which nothing here logs).
- Any other status comes back to the client, which knows what it means (Amplitude's 404 is "no data").
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from perceo.analytics.errors import ProviderCredentialsError, ProviderQuotaError, ProviderUnavailableError
from perceo.analytics.model import DAY_MS
from perceo.retry import Backoff, retry_after_seconds

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000
#: Connect quickly; exports can take a while to start streaming and between chunks.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    max_wait_s: float = 300.0
    backoff: Backoff = field(default_factory=lambda: Backoff(base_s=1.0, cap_s=30.0, retry_after_cap_s=120.0))


class ProviderHttp:
    """httpx with the provider's retry rules. `refused` says, for a 401/403, what the credentials were for."""

    def __init__(
        self,
        provider: str,
        client: httpx.Client,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.provider = provider
        self.client = client
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.jitter = jitter

    @contextmanager
    def send(self, request: httpx.Request, *, refused: str, stream: bool = False) -> Iterator[httpx.Response]:
        """The response to `request` once it is neither a 429 nor a 5xx (streamed when asked; closed on exit)."""
        response = self._send(request, refused=refused, stream=stream)
        try:
            yield response
        finally:
            response.close()

    def _send(self, request: httpx.Request, *, refused: str, stream: bool) -> httpx.Response:
        waited = 0.0
        last = ""
        for attempt in range(self.policy.attempts):
            retry_after: float | None = None
            try:
                response = self.client.send(request, stream=stream)
            except httpx.TimeoutException as error:
                last = f"timed out ({type(error).__name__})"
            except httpx.TransportError as error:
                last = f"connection failed ({type(error).__name__})"
            else:
                if response.status_code in (401, 403):
                    response.close()
                    raise ProviderCredentialsError(self.provider, refused, details={"status": response.status_code})
                if response.status_code != 429 and response.status_code < 500:
                    return response
                retry_after = retry_after_seconds(response.headers)
                last = f"HTTP {response.status_code}"
                if response.status_code == 429:
                    last = "HTTP 429 (rate limit or quota)"
                response.close()
            if attempt + 1 >= self.policy.attempts:
                break
            delay = self.policy.backoff.delay(attempt, retry_after_s=retry_after, random=self.jitter)
            if waited + delay > self.policy.max_wait_s:
                break
            log.info("%s answered %s; retry %d in %.1f s", self.provider, last, attempt + 1, delay)
            self.sleep(delay)
            waited += delay
        message = f"{self.provider} kept failing: {last} after {self.policy.attempts} attempts"
        if last.startswith("HTTP 429"):
            raise ProviderQuotaError(message, retry_after_s=0.0, details={"provider": self.provider})
        raise ProviderUnavailableError(message, details={"provider": self.provider})


def day_windows(start: int, end: int, days: int = 1) -> list[tuple[int, int]]:
    """[start, end) cut at UTC midnights into windows of up to `days` days."""
    windows: list[tuple[int, int]] = []
    cursor = start
    while cursor < end:
        next_midnight = (cursor // DAY_MS + days) * DAY_MS
        windows.append((cursor, min(next_midnight, end)))
        cursor = windows[-1][1]
    return windows


def broken_transfer(error: Exception) -> bool:
    """An exception that means the response body stopped before its end (worth fetching the window again)."""
    return isinstance(error, httpx.TransportError | httpx.TimeoutException | EOFError)


def describe(response: httpx.Response) -> str:
    """A short, secret-free description of an unexpected answer (status and the start of a JSON error message)."""
    detail = ""
    try:
        body: Any = response.json()
        if isinstance(body, dict):
            error = body.get("error")
            message = error.get("message") if isinstance(error, dict) else error
            detail = str(message or body.get("message") or "")[:200]
    except (ValueError, UnicodeDecodeError, httpx.ResponseNotRead):
        pass
    return f"HTTP {response.status_code}" + (f": {detail}" if detail else "")
