"""Per-file warnings of an analysis: files whose content could not be read or understood (issue 13, class 8).

A blob a partial clone cannot fetch, a `git cat-file` failure, a Git LFS pointer, a submodule, a file the user
may not read, a binary file: the analysis goes on without that file's content and says so, once per file. Code
anywhere in the observer calls `warn_file(path, why)`; whoever runs an analysis collects them with `collecting()`
(`ci analyze` prints them and lists them under `warnings` in `--json`). An analysis that warned is not kept in a
cache (its graphs and results would hide the warning on the next run and outlive a later fetch of the blobs).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

#: The first bytes of a Git LFS pointer file (the real content is kept outside the repository).
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"
#: A file with a NUL byte in its first bytes is binary (git's own test, `buffer_is_binary`).
_BINARY_SNIFF = 8000

_lock = threading.Lock()
_collectors: list[tuple[list[str], dict[str, list[str]]]] = []
_count = 0


@contextmanager
def collecting() -> Iterator[list[str]]:
    """Collect the warnings given while the block runs: one line per file (`path: why; why`), in the order the
    files came."""
    found: list[str] = []
    reasons: dict[str, list[str]] = {}
    with _lock:
        _collectors.append((found, reasons))
    try:
        yield found
    finally:
        with _lock:
            _collectors.remove((found, reasons))


def warn_file(path: str, why: str) -> None:
    """Say that `path` was analysed without (part of) its content, and why."""
    global _count
    log.debug("file warning: %s: %s", path, why)
    with _lock:
        _count += 1
        for found, reasons in _collectors:
            known = reasons.get(path)
            if known is None:
                reasons[path] = [why]
                found.append(f"{path}: {why}")
            elif why not in known:
                index = found.index(f"{path}: {'; '.join(known)}")
                known.append(why)
                found[index] = f"{path}: {'; '.join(known)}"


def warning_count() -> int:
    """How many warnings were given so far in this process (to tell whether a step warned)."""
    return _count


def content_problem(data: bytes) -> str | None:
    """Why a source file's content cannot be analysed (an LFS pointer, binary data), or None."""
    if data.startswith(LFS_POINTER_PREFIX):
        return "a Git LFS pointer (the content is not in the repository; run `git lfs pull`): its imports are unknown"
    if b"\0" in data[:_BINARY_SNIFF]:
        return "binary content: its imports are unknown"
    return None
