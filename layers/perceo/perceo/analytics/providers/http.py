"""What the provider clients share: requests with bounded retries, windows, and the typed errors they raise.

- 429 and 5xx (and timeouts, refused or dropped connections) are retried (tenacity) with the one waiting policy of
  `perceo.retry.Backoff`: exponential backoff and jitter, a `Retry-After` header wins (capped). At most `attempts`
  tries and `max_wait_s` of waiting in all, then ProviderQuotaError (429) or ProviderUnavailableError. Waits go
  through the injected `sleep`.
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
from tenacity import RetryCallState, Retrying, retry_if_exception_type

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
        retrying = Retrying(
            stop=_out_of_budget(self.policy),
            wait=self.policy.backoff.wait(lambda state: _failure(state).retry_after_s, random=self.jitter),
            retry=retry_if_exception_type(_Transient),
            sleep=self.sleep,
            before_sleep=lambda state: log.info(
                "%s answered %s; retry %d in %.1f s",
                self.provider,
                _failure(state).reason,
                state.attempt_number,
                state.upcoming_sleep,
            ),
            reraise=True,
        )
        try:
            return retrying(self._once, request, refused=refused, stream=stream)
        except _Transient as error:
            message = f"{self.provider} kept failing: {error.reason} after {self.policy.attempts} attempts"
            if error.reason.startswith("HTTP 429"):
                raise ProviderQuotaError(message, retry_after_s=0.0, details={"provider": self.provider}) from None
            raise ProviderUnavailableError(message, details={"provider": self.provider}) from None

    def _once(self, request: httpx.Request, *, refused: str, stream: bool) -> httpx.Response:
        """One try: the response, or _Transient (worth another try), or ProviderCredentialsError (never retried)."""
        try:
            response = self.client.send(request, stream=stream)
        except httpx.TimeoutException as error:
            raise _Transient(f"timed out ({type(error).__name__})") from None
        except httpx.TransportError as error:
            raise _Transient(f"connection failed ({type(error).__name__})") from None
        if response.status_code in (401, 403):
            response.close()
            raise ProviderCredentialsError(self.provider, refused, details={"status": response.status_code})
        if response.status_code != 429 and response.status_code < 500:
            return response
        retry_after = retry_after_seconds(response.headers)
        reason = "HTTP 429 (rate limit or quota)" if response.status_code == 429 else f"HTTP {response.status_code}"
        response.close()
        raise _Transient(reason, retry_after)


class _Transient(Exception):
    """A try that failed in a way worth another (429, 5xx, timeout, dropped connection)."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


def _failure(state: RetryCallState) -> _Transient:
    error = state.outcome.exception() if state.outcome is not None else None
    return error if isinstance(error, _Transient) else _Transient("an error")


def _out_of_budget(policy: RetryPolicy) -> Callable[[RetryCallState], bool]:
    """tenacity's stop: after `attempts` tries, or when the coming wait (tenacity works it out before asking) would
    take the total waiting past `max_wait_s`."""

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.attempts:
            return True
        return state.idle_for + (state.upcoming_sleep or 0.0) > policy.max_wait_s

    return stop


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
