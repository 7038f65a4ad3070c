"""Keeping the local cloud's store alive: a thread that checks it and restarts it when its process died.

The store is the embedded FalkorDB/Redis (`EmbeddedStore`) under the cloud's data dir. Every `interval_s` the
supervisor pings it; when it does not answer and no server of ours runs for that data dir any more, it starts it
again with `EmbeddedStore.ensure_running()`: the same data dir (so the same data, from its append-only file) and,
when it is free, the same port (so the functions, which hold the store's URL, reconnect by themselves). Restarts
are bounded (`max_restarts` within `window_s`) and each is logged; past the bound the supervisor stops trying and
says so, and `GET /health` keeps answering 503 with the store's last error until someone looks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from perceo.errors import BackendUnavailableError
from perceo_cli.local.server import ServerProcess, ping
from perceo_cli.local.store import EmbeddedStore

logger = logging.getLogger(__name__)

#: Seconds between two health checks of the store.
CHECK_INTERVAL_S = 1.0
#: Restarts allowed within `RESTART_WINDOW_S`; a store that keeps dying needs a person, not a loop.
MAX_RESTARTS = 5
RESTART_WINDOW_S = 300.0


@dataclass
class SupervisorReport:
    """What the supervisor did so far (for the cloud's state and tests)."""

    restarts: int = 0
    gave_up: bool = False
    last_error: str | None = None
    restarted_at: list[float] = field(default_factory=list)


class StoreSupervisor:
    """Checks the store at `host:port` every `interval_s` and restarts it (bounded) when its process is gone."""

    def __init__(
        self,
        store: EmbeddedStore,
        host: str,
        port: int,
        *,
        on_restart: Callable[[ServerProcess], None] | None = None,
        interval_s: float = CHECK_INTERVAL_S,
        max_restarts: int = MAX_RESTARTS,
        window_s: float = RESTART_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.host = host
        self.port = port
        self.interval_s = interval_s
        self.max_restarts = max_restarts
        self.window_s = window_s
        self.report = SupervisorReport()
        self._on_restart = on_restart
        self._clock = clock
        self._recent: deque[float] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> StoreSupervisor:
        self._thread = threading.Thread(target=self._run, name="store-supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check_once()
            except Exception:  # noqa: BLE001 - the supervisor must outlive any one failed check
                logger.exception("store supervisor: the check failed")

    def check_once(self) -> bool:
        """True when the store answers (after a restart, if one was needed and allowed)."""
        if ping(self.host, self.port):
            return True
        if self.store.process_alive():
            return False  # ours and alive but not answering (loading its data, frozen): not a reason to start another
        now = self._clock()
        while self._recent and now - self._recent[0] > self.window_s:
            self._recent.popleft()
        if len(self._recent) >= self.max_restarts:
            if not self.report.gave_up:
                self.report.gave_up = True
                logger.error(
                    "store supervisor: the store in %s died %d times within %.0f s; not restarting it again "
                    "(see its log %s, then `perceo local down` and `perceo local up`)",
                    self.store.data_dir,
                    len(self._recent),
                    self.window_s,
                    self.store.data_dir / "falkordb.log",
                )
            return False
        self._recent.append(now)
        attempt = len(self._recent)
        logger.warning(
            "store supervisor: the store on %s:%s does not answer and its process is gone; restarting it "
            "(attempt %d of %d within %.0f s)",
            self.host,
            self.port,
            attempt,
            self.max_restarts,
            self.window_s,
        )
        try:
            server = self.store.ensure_running()
        except BackendUnavailableError as error:
            self.report.last_error = error.message
            logger.error("store supervisor: restart attempt %d failed: %s", attempt, error.message)
            return False
        self.report.restarts += 1
        self.report.restarted_at.append(now)
        if server.port != self.port:
            logger.error(
                "store supervisor: the store came back on port %s, not %s (the port was taken); the API's "
                "functions still use the old one: restart the local cloud",
                server.port,
                self.port,
            )
        else:
            logger.warning("store supervisor: the store is back (pid %s on %s)", server.pid, server.url)
        if self._on_restart is not None:
            self._on_restart(server)
        return server.port == self.port
