"""Helpers shared by the embedded store tests: stop, by PID, every server a test started."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from perceo_cli.local.server import is_server_for, pid_alive, stop_server
from perceo_cli.local.store import SERVER_PIDFILE, STATE_FILE, EmbeddedStore, project_data_dir


def kill_servers_of(data_dir: Path, extra_pids: set[int]) -> None:
    """Stop, by PID, every redis-server serving `data_dir` that a test may have left behind."""
    pids = set(extra_pids)
    with contextlib.suppress(OSError, ValueError, KeyError):
        pids.add(int(json.loads((data_dir / STATE_FILE).read_text())["pid"]))
    with contextlib.suppress(OSError, ValueError):
        pids.add(int((data_dir / SERVER_PIDFILE).read_text().strip()))
    pids.update(servers_started_for(data_dir))
    for pid in pids:
        if pid_alive(pid) and is_server_for(pid, data_dir):
            stop_server(pid)


def servers_started_for(data_dir: Path) -> set[int]:
    """On Linux, the pids of every redis-server whose command line names `data_dir` (even ones no file records)."""
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError, ValueError):
            pid = int(cmdline.parent.name)
            if is_server_for(pid, data_dir):
                found.add(pid)
    return found


class StoreTracker:
    """Records the pids a test saw, so teardown stops them even if the state file was replaced."""

    def __init__(self) -> None:
        self.pids: set[int] = set()
        self.data_dirs: set[Path] = set()

    def store(self, project_dir: Path, **kwargs: float) -> EmbeddedStore:
        store = EmbeddedStore(project_data_dir(project_dir), **kwargs)
        self.data_dirs.add(store.data_dir)
        return store
