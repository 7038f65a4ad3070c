"""When to retry a failed request and how long to wait: exponential backoff with jitter, `Retry-After` honoured."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

#: HTTP statuses worth another try: timeouts, conflicts, rate limits and server errors.
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


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
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now(), 0.0)
