"""The embedded store: one FalkorDB server per project, under `.perceo/data/`, shared by every CLI process.

`ensure_running()` starts the server on first use and reuses it afterwards. A file lock in the data dir
makes two CLI processes that start at once agree on ONE server. `store.json` records which server
serves the data dir (pid, port); it is trusted only after the server on that port confirms, over RESP,
that its working directory is this data dir. A dead pid, a recycled pid or a port taken by something
else is therefore a stale record, replaced at the next start, never fatal. A start prefers the recorded
port when it is free, so clients that hold the store's URL reconnect after a restart.

With `idle_stop_s`, a watcher process started next to the server stops it after that long without a client
(`perceo_cli.local.idle_stop`); its pid is recorded too, and a store adopted without a live watcher gets one.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from perceo.errors import BackendUnavailableError
from perceo.models.common import EpochMs, Model, now_ms
from perceo_cli.local.server import (
    LOGFILE_NAME,
    LOOPBACK,
    PIDFILE_NAME,
    RespError,
    ServerProcess,
    command,
    command_line,
    free_port,
    is_server_for,
    pid_alive,
    ping,
    port_is_free,
    start_server,
    stop_server,
    wait_for_exit,
)

logger = logging.getLogger(__name__)

WATCHER_MODULE = "perceo_cli.local.idle_stop"

STATE_FILE = "store.json"
LOCK_FILE = "store.lock"
#: Every CLI process that uses the store holds a shared lock on this file (see `EmbeddedStore.lease`).
CLIENTS_LOCK_FILE = "clients.lock"
SERVER_PIDFILE = PIDFILE_NAME
SERVER_LOGFILE = LOGFILE_NAME

#: How long a second CLI process waits for the first one to finish starting the server.
LOCK_TIMEOUT_S = 30.0
#: A server of ours that is alive but silent (busy saving, loading a big file) gets this long to answer.
UNRESPONSIVE_GRACE_S = 5.0
#: Attempts at binding a fresh port; another process can take a free port before redis-server binds it.
START_ATTEMPTS = 3


def project_data_dir(project_dir: Path) -> Path:
    """Where a project's embedded data lives: `<project>/.perceo/data`."""
    return project_dir / ".perceo" / "data"


class StoreState(Model):
    """What `store.json` records about the running server."""

    pid: int
    host: str = LOOPBACK
    port: int
    data_dir: Path
    started_at: EpochMs
    #: The idle-stop watcher's pid, when the store has one.
    watcher_pid: int | None = None


class StoreStatus(Model):
    """`perceo local status --json` prints this (camelCase keys)."""

    running: bool
    pid: int | None = None
    host: str | None = None
    port: int | None = None
    url: str | None = None
    data_dir: Path
    size_bytes: int
    started_at: EpochMs | None = None
    watcher_pid: int | None = None


class EmbeddedStore:
    """The FalkorDB server for one data dir (a project's `.perceo/data/`)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        lock_timeout_s: float = LOCK_TIMEOUT_S,
        unresponsive_grace_s: float = UNRESPONSIVE_GRACE_S,
        idle_stop_s: float | None = None,
        on_start: Callable[[ServerProcess], None] | None = None,
    ) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.lock_timeout_s = lock_timeout_s
        self.unresponsive_grace_s = unresponsive_grace_s
        #: Stop the server after this many seconds without a client (None or 0: never).
        self.idle_stop_s = idle_stop_s
        #: Told when this call started the server (the CLI says where its data lives and how to stop it).
        self.on_start = on_start

    @property
    def state_file(self) -> Path:
        return self.data_dir / STATE_FILE

    def ensure_running(self) -> ServerProcess:
        """The running server for this data dir, started now if there is none."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._locked():
            state = self._read_state()
            if state is not None:
                server = self._adopt(state)
                if server is not None:
                    return server
            self._stop_orphan()
            preferred = state.port if state is not None else None
            return self._start(preferred_port=preferred)

    def lease(self) -> Lease:
        """Mark this process as a user of the store until `Lease.release()` or its exit, however it exits.

        A shared flock on `clients.lock`: the idle-stop watcher stops the store only when it can take the lock
        exclusively, so a command that started the store and has not connected yet is never cut off. Taken
        before `ensure_running()`; waits (bounded) while a stop is under way, then the command starts a new store.
        """
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle = (self.data_dir / CLIENTS_LOCK_FILE).open("a+b")
        deadline = time.monotonic() + self.lock_timeout_s
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                return Lease(handle)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise BackendUnavailableError(
                        f"the embedded store in {self.data_dir} has been stopping for {self.lock_timeout_s:.0f}s"
                    ) from None
                time.sleep(0.05)

    def status(self) -> StoreStatus:
        """Whether the server runs, where, and how much the data dir holds. Starts and locks nothing."""
        state = self._read_state()
        server_pid = self._probe(state.port) if state is not None else None
        size = directory_size(self.data_dir)
        if state is None or server_pid is None:
            return StoreStatus(running=False, data_dir=self.data_dir, size_bytes=size)
        server = ServerProcess(pid=server_pid, host=state.host, port=state.port, data_dir=self.data_dir)
        return StoreStatus(
            running=True,
            pid=server.pid,
            host=server.host,
            port=server.port,
            url=server.url,
            data_dir=self.data_dir,
            size_bytes=size,
            started_at=state.started_at,
            watcher_pid=state.watcher_pid if state.watcher_pid and pid_alive(state.watcher_pid) else None,
        )

    def process_alive(self) -> bool:
        """Whether the recorded server process of this data dir still runs (answering or not: a frozen or loading
        server is alive). Starts and locks nothing."""
        state = self._read_state()
        return state is not None and pid_alive(state.pid) and is_server_for(state.pid, self.data_dir)

    def stop(self, *, timeout_s: float = 10.0) -> bool:
        """Shut the server down cleanly (its data is saved and kept). False when none was running."""
        if not self.data_dir.is_dir():
            return False
        with self._locked():
            stopped = False
            state = self._read_state()
            if state is not None:
                server_pid = self._probe(state.port)
                if server_pid is not None:
                    self._shutdown(state.port, server_pid, timeout_s)
                    stopped = True
                elif pid_alive(state.pid) and is_server_for(state.pid, self.data_dir):
                    stop_server(state.pid, timeout_s=timeout_s)
                    stopped = True
            # The record stays: its pid is now dead (so it is stale), but its port is the first choice
            # of the next start, which lets clients holding the old URL reconnect.
            return self._stop_orphan(timeout_s=timeout_s) or stopped

    # -- internals -----------------------------------------------------------------------------------

    def _adopt(self, state: StoreState) -> ServerProcess | None:
        """The recorded server when it really is ours and answers; None (and a cleared record) when stale."""
        server_pid = self._probe(state.port)
        if server_pid is None and pid_alive(state.pid) and is_server_for(state.pid, self.data_dir):
            # Our server, alive but silent: give it a moment rather than start a second one on the same files.
            server_pid = self._wait_for_probe(state.port, self.unresponsive_grace_s)
            if server_pid is None:
                raise BackendUnavailableError(
                    f"the embedded store (pid {state.pid}) in {self.data_dir} does not answer on "
                    f"{state.host}:{state.port}; stop it with `perceo local stop` and retry"
                )
        if server_pid is None:
            logger.debug("embedded store: the record of pid %s on port %s is stale", state.pid, state.port)
            return None
        if server_pid != state.pid:
            state = state.model_copy(update={"pid": server_pid})
            self._write_state(state)
        self._wait_until_ready(state.port)
        if self.idle_stop_s and not (state.watcher_pid and is_watcher_for(state.watcher_pid, self.data_dir)):
            watcher = self._start_watcher(state.port, server_pid)
            self._write_state(state.model_copy(update={"watcher_pid": watcher}))
        return ServerProcess(pid=server_pid, host=state.host, port=state.port, data_dir=self.data_dir)

    def _start(self, *, preferred_port: int | None) -> ServerProcess:
        last_error: BackendUnavailableError | None = None
        for attempt in range(START_ATTEMPTS):
            port = preferred_port if attempt == 0 and preferred_port and port_is_free(preferred_port) else free_port()
            try:
                server = start_server(self.data_dir, port=port, persistent=True)
            except BackendUnavailableError as error:
                if port_is_free(port):
                    raise  # the server failed for another reason than a lost race for the port
                last_error = error
                continue
            watcher = self._start_watcher(server.port, server.pid) if self.idle_stop_s else None
            self._write_state(
                StoreState(
                    pid=server.pid, port=server.port, data_dir=self.data_dir, started_at=now_ms(), watcher_pid=watcher
                )
            )
            logger.info("embedded store: started pid %s on %s", server.pid, server.url)
            if self.on_start is not None:
                self.on_start(server)
            return server
        assert last_error is not None
        raise last_error

    def _start_watcher(self, port: int, pid: int) -> int:
        """Start the idle-stop watcher for the server `pid` on `port`, detached like the server; its pid."""
        with (self.data_dir / SERVER_LOGFILE).open("ab") as log:
            proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
                [sys.executable, "-m", WATCHER_MODULE, str(self.data_dir), str(port), str(pid), str(self.idle_stop_s)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
                close_fds=True,
            )
        return proc.pid

    def _stop_orphan(self, *, timeout_s: float = 10.0) -> bool:
        """Stop a server of ours that runs without a record (say, `store.json` was deleted)."""
        pid = _read_pid(self.data_dir / SERVER_PIDFILE)
        if pid is None or not pid_alive(pid) or not is_server_for(pid, self.data_dir):
            return False
        logger.info("embedded store: stopping pid %s, which serves %s without a record", pid, self.data_dir)
        stop_server(pid, timeout_s=timeout_s)
        return True

    def _probe(self, port: int) -> int | None:
        """The pid of the server on `port` when it serves this data dir; None when nothing of ours answers."""
        try:
            dir_reply = command(LOOPBACK, port, "CONFIG", "GET", "dir")
            info = command(LOOPBACK, port, "INFO", "server")
        except (OSError, RespError, ValueError):
            return None
        if not (isinstance(dir_reply, list) and len(dir_reply) == 2 and isinstance(dir_reply[1], str)):
            return None
        if Path(dir_reply[1]).resolve() != self.data_dir or not isinstance(info, str):
            return None
        for line in info.splitlines():
            if line.startswith("process_id:"):
                return int(line.partition(":")[2])
        return None

    def _wait_for_probe(self, port: int, timeout_s: float) -> int | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pid = self._probe(port)
            if pid is not None:
                return pid
            time.sleep(0.1)
        return None

    def _wait_until_ready(self, port: int, timeout_s: float = 60.0) -> None:
        """A server still loading its files answers INFO but not PING; wait for PONG."""
        deadline = time.monotonic() + timeout_s
        while not ping(LOOPBACK, port):
            if time.monotonic() >= deadline:
                raise BackendUnavailableError(f"the embedded store on {LOOPBACK}:{port} is still loading its data")
            time.sleep(0.05)

    def _shutdown(self, port: int, pid: int, timeout_s: float) -> None:
        try:
            command(LOOPBACK, port, "SHUTDOWN", "SAVE", timeout_s=timeout_s)
        except RespError as error:
            # Redis stays up rather than exit without saving (a full disk, a deleted data dir).
            raise BackendUnavailableError(
                f"the embedded store (pid {pid}) could not save its data and is still running: {error}; "
                f"see {self.data_dir / SERVER_LOGFILE}"
            ) from error
        except OSError:
            pass  # the server closes the connection instead of replying when it shuts down
        if not wait_for_exit(pid, timeout_s):
            stop_server(pid, timeout_s=timeout_s)

    def _read_state(self) -> StoreState | None:
        try:
            return StoreState.model_validate_json(self.state_file.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValidationError) as error:
            logger.warning("embedded store: ignoring unreadable %s (%s)", self.state_file, error)
            return None

    def _write_state(self, state: StoreState) -> None:
        scratch = self.state_file.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_text(state.model_dump_json(indent=2) + "\n", encoding="utf-8")
        scratch.replace(self.state_file)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on the data dir shared by every process (flock: released if the process dies)."""
        with (self.data_dir / LOCK_FILE).open("a+b") as handle:
            deadline = time.monotonic() + self.lock_timeout_s
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise BackendUnavailableError(
                            f"another perceo process has held {handle.name} for {self.lock_timeout_s:.0f}s; "
                            "is one stuck?"
                        ) from None
                    time.sleep(0.01)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class Lease:
    """A process's claim on the store (see `EmbeddedStore.lease`)."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle: BinaryIO | None = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file drops the flock
            self._handle = None


@contextlib.contextmanager
def unused(data_dir: Path) -> Iterator[bool]:
    """Yields True, holding every new lease off, when no process holds a lease on the store; else False."""
    with (data_dir / CLIENTS_LOCK_FILE).open("a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def is_watcher_for(pid: int, data_dir: Path) -> bool:
    """True when `pid` is the idle-stop watcher of `data_dir` (judged by its command line)."""
    args = command_line(pid) or []
    return WATCHER_MODULE in args and str(data_dir) in args


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def directory_size(path: Path) -> int:
    """Bytes used by the files under `path` (0 when it does not exist)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # a file can vanish while we walk (AOF rewrite)
                total += (Path(root) / name).lstat().st_size
    return total
