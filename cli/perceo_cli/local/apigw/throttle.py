"""The stage's throttle: API Gateway answers 429 when the stage-wide token bucket is empty."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """API Gateway's stage throttle: `rate` requests per second, bursts of `burst`."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False
