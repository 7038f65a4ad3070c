"""What `perceo init` (local or `--remote`) writes into a project's `.perceo/` folder."""

from __future__ import annotations

import contextlib
import fcntl
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

GITIGNORE_ENTRIES = ("config.local.json", "data/", "cache/", "secrets/", "init.lock")


def write_gitignore(perceo_dir: Path) -> bool:
    """Make `.perceo/.gitignore` list the local-only entries, keeping lines already there. True if written."""
    path = perceo_dir / ".gitignore"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    missing = [e for e in GITIGNORE_ENTRIES if e not in {line.strip() for line in lines}]
    if not missing:
        return False
    header = [] if lines else ["# Local to this machine: never commit (written by perceo init)"]
    path.write_text("\n".join([*lines, *header, *missing]) + "\n", encoding="utf-8")
    return True


def set_project_value(project_dir: Path, raw: dict[str, Any], key: str, value: str) -> None:
    """Write `project.<key>` only when it differs, so a re-run leaves the config file byte-identical."""
    from perceo.config.loader import save_config_value

    section = raw.get("project")
    current = section.get(key) if isinstance(section, dict) else None
    if current != value:
        save_config_value(project_dir, f"project.{key}", json.dumps(value))


#: How long `perceo init` waits for another `perceo init` of the same project to finish.
INIT_LOCK_TIMEOUT_S = 900.0
INIT_LOCK_FILE = "init.lock"


@contextlib.contextmanager
def init_lock(
    perceo_dir: Path, *, timeout_s: float = INIT_LOCK_TIMEOUT_S, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """One `perceo init` at a time per project (flock: released when the process dies, however it dies).

    A second `init` waits, bounded by `timeout_s`, then runs as a re-run of the first: it reads the project id
    the first one wrote, so two `init`s started at once never create two projects.
    """
    from perceo.errors import BackendUnavailableError

    with (perceo_dir / INIT_LOCK_FILE).open("a+b") as handle:
        deadline = time.monotonic() + timeout_s
        told = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told and on_wait is not None:
                    on_wait(f"another `perceo init` is running in {perceo_dir.parent}: waiting for it to finish")
                    told = True
                if time.monotonic() >= deadline:
                    raise BackendUnavailableError(
                        f"another `perceo init` has held {handle.name} for {timeout_s:.0f}s; is one stuck?"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
