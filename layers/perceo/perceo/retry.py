"""How long to wait before retrying an HTTP call: exponential backoff with jitter, `Retry-After` honoured.

The LLM client and the CLI's API client retry with tenacity; this module is the one waiting policy they share
(`Backoff.wait` is a tenacity `wait=`), and the one reader of `Retry-After`. What is worth retrying differs per
caller (an LLM call may be repeated, a POST to our API only when the server cannot have acted), so each caller
gives tenacity its own `retry=` predicate.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tenacity import RetryCallState

#: HTTP statuses an LLM call is worth another try after: timeouts, conflicts, rate limits and server errors.
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})

#: Reads the server's requested wait (seconds) from a failed attempt's outcome, or None.
RetryAfterOf = Callable[[RetryCallState], float | None]


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


@dataclass(frozen=True)
class Backoff:
    """Delay before retry number `attempt` (0 for the first retry).

    Exponential (`base_s * 2**attempt`, at most `cap_s`) with "equal jitter": half fixed, half random, so
    parallel callers spread out but never retry at once. A server's `Retry-After` wins, up to `retry_after_cap_s`.
    """

    base_s: float = 0.5
    cap_s: float = 20.0
    retry_after_cap_s: float = 60.0

    def delay(self, attempt: int, *, retry_after_s: float | None, random: Callable[[], float]) -> float:
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), self.retry_after_cap_s)
        ceiling = min(self.cap_s, self.base_s * (2.0**attempt))
        return ceiling / 2 + random() * ceiling / 2

    def wait(self, retry_after_of: RetryAfterOf, *, random: Callable[[], float]) -> Callable[[RetryCallState], float]:
        """This backoff as tenacity's `wait=`: the server's `Retry-After` (read by `retry_after_of`) or the backoff."""

        def wait(state: RetryCallState) -> float:
            return self.delay(state.attempt_number - 1, retry_after_s=retry_after_of(state), random=random)

        return wait


def retry_after_seconds(headers: Mapping[str, str], *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from `retry-after-ms` (OpenAI) or `Retry-After` (seconds or an HTTP date), else None."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now(), 0.0)
