"""`perceo watch`: the flows an uncommitted change touches, analysed again each time the working tree settles.

The watcher (watchfiles, the Rust `notify` backend) groups a burst of file events until the tree has been quiet
for `observer.watch.debounceMs`, so a save, a formatter pass or a branch switch of hundreds of files is one
analysis. Each analysis is `ci analyze --working-tree`: the working tree (changed and untracked files) against
HEAD. Its cost follows the diff, not the app: the watcher keeps an `ImpactMemory` between analyses (see
`perceo.observer.impactmemory`): HEAD's impact graph, read from the disk cache only when HEAD moves; per-file facts
by content hash, in front of the disk cache, so only changed files are parsed; and the last route discovery with
every file it read, so the route table is found again only when a routing input changed (a page added, a route
config or router setup edited), never on a guess. The head's import graph is derived in memory from HEAD's: only
changed files and those whose resolution probed an added or removed path are resolved again. Flows are read once
from the backend and again only when they may have changed (`FLOWS_REFRESH_S`). Nothing is stored: watch analyses
are previews, not records; the bus gets `observer.change.detected`, `observer.flows.affected` and
`observer.analysis.complete`.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perceo.bus.port import EventBus
    from perceo.models import ChangeAnalysis, FlowView
    from perceo.observer.gitproc import GitTimeouts
    from perceo.observer.impactmemory import ImpactMemory

log = logging.getLogger(__name__)

#: Flows are read again after this long (a `perceo init` or `flows edit` in another terminal shows up).
FLOWS_REFRESH_S = 30.0
#: A git operation in progress (`.git/index.lock`) is waited for this long at most before analysing anyway.
GIT_LOCK_WAIT_S = 5.0
#: How often the file events gathered by watchfiles are looked at (the quiet time is counted in these steps).
POLL_MS = 50
#: The longest a burst of events is grouped, however busy the tree stays (a checkout of thousands of files).
MAX_BATCH_MS = 10_000
#: Folders never worth an event, whatever the config says (the rest comes from `observer.watch.ignore` and git).
ALWAYS_IGNORED = (".git", ".perceo", "node_modules", "__pycache__", ".venv", ".hg", ".svn")


@dataclass(frozen=True)
class WatchSettings:
    root: Path
    paths: tuple[Path, ...]
    ignore: tuple[str, ...]
    debounce_ms: int
    analyze: bool
    framework: str
    cache_dir: Path | None
    #: `observer.git` of the config; None: the defaults
    git_timeouts: GitTimeouts | None = None


@dataclass
class WatchResult:
    """One settled change: the files that moved in this burst and, with `--analyze`, the working tree's analysis."""

    seq: int
    changed: list[str]
    analysis: ChangeAnalysis | None = None
    duration_ms: float = 0.0
    error: str | None = None


@dataclass
class FlowSource:
    """The project's flows, read through the backend and kept for `FLOWS_REFRESH_S`."""

    read: Callable[[], list[FlowView]]
    clock: Callable[[], float] = time.monotonic
    _flows: list[FlowView] | None = None
    _read_at: float = 0.0

    def get(self) -> list[FlowView]:
        now = self.clock()
        if self._flows is None or now - self._read_at >= FLOWS_REFRESH_S:
            self._flows = self.read()
            self._read_at = now
        return self._flows


@dataclass
class Watcher:
    settings: WatchSettings
    project_id: str
    flows: FlowSource | None
    bus: EventBus | None = None
    project_name: str = "project"
    _seq: int = field(default=0, init=False)
    #: the base's graph, recent facts and the last route discovery, kept between analyses (`impactmemory`)
    memory: ImpactMemory | None = field(default=None, init=False)

    def watched_paths(self) -> list[Path]:
        """The configured paths that exist; without any, every top-level entry that is neither ignored by the config
        nor by git. Top-level entries, not the root, so that `node_modules/` and build output never take inotify
        watches (a file created at the top level later is not seen until the watch restarts)."""
        if self.settings.paths:
            existing = [p for p in self.settings.paths if p.exists()]
            return existing or [self.settings.root]
        root = self.settings.root
        entries = sorted(p for p in root.iterdir() if self.keep(str(p)))
        ignored = git_ignored(root, [p.name + "/" if p.is_dir() else p.name for p in entries])
        kept = [p for p in entries if p.name not in ignored and p.name + "/" not in ignored]
        return kept or [root]

    def keep(self, path: str) -> bool:
        """The cheap filter applied to every raw event: no VCS, cache, dependency or configured-ignore folders."""
        try:
            parts = Path(path).resolve().relative_to(self.settings.root.resolve()).parts
        except ValueError:
            return False
        if not parts or any(part in ALWAYS_IGNORED for part in parts):
            return False
        relative = "/".join(parts)
        return not any(_ignored_by(relative, pattern) for pattern in self.settings.ignore)

    def settle(self, raw_paths: Iterable[str]) -> WatchResult | None:
        """One analysis for a burst of events; None when git ignores every file in it."""
        started = time.perf_counter()
        changed = self._relevant(raw_paths)
        if not changed:
            return None
        self._seq += 1
        result = WatchResult(seq=self._seq, changed=changed)
        self._publish_change(changed)
        if self.settings.analyze:
            _wait_for_git(self.settings.root)
            try:
                result.analysis = self._analyze()
            except Exception as error:  # noqa: BLE001 - a half-saved file must not end the session; say what failed
                from perceo.errors import PerceoError

                result.error = error.message if isinstance(error, PerceoError) else f"{type(error).__name__}: {error}"
                log.debug("watch analysis failed", exc_info=True)
        result.duration_ms = (time.perf_counter() - started) * 1000
        return result

    def _relevant(self, raw_paths: Iterable[str]) -> list[str]:
        root = self.settings.root.resolve()
        relative = sorted({str(Path(p).resolve().relative_to(root)).replace("\\", "/") for p in self._files(raw_paths)})
        # a removed folder comes as an event of its own beside its files' events: keep the files
        parents = {path.rsplit("/", depth)[0] for path in relative for depth in range(1, path.count("/") + 1)}
        relative = [path for path in relative if path not in parents]
        if not relative:
            return []
        ignored = git_ignored(self.settings.root, relative)
        return [p for p in relative if p not in ignored]

    def _files(self, raw_paths: Iterable[str]) -> Iterator[str]:
        """Files, not folders: a folder created with its files in it (a `mkdir -p` + write, an unpacked archive)
        can reach us as one event for the folder, before the OS watches it."""
        for raw in raw_paths:
            if not self.keep(raw):
                continue
            if not Path(raw).is_dir():
                yield raw
                continue
            for folder, dirs, names in os.walk(raw):
                dirs[:] = [d for d in dirs if self.keep(f"{folder}/{d}")]
                yield from (p for p in (f"{folder}/{n}" for n in names) if self.keep(p))

    def _analyze(self) -> ChangeAnalysis:
        from perceo.observer.analyze import analyze_change, analyze_checkout
        from perceo.observer.impactmemory import ImpactMemory

        if self.memory is None:
            self.memory = ImpactMemory()
        change_set, affected = analyze_checkout(
            self.settings.root,
            None,
            working_tree=True,
            framework=self.settings.framework,
            cache_dir=self.settings.cache_dir,
            git_timeouts=self.settings.git_timeouts,
            memory=self.memory,
        )
        flows = self.flows.get() if self.flows is not None and affected else []
        return analyze_change(self.project_id, change_set, affected, None, self.bus, flows=flows)

    def _publish_change(self, changed: Sequence[str]) -> None:
        if self.bus is None:
            return
        from perceo.models import EventType, PerceoEvent

        event = PerceoEvent(
            type=EventType.CHANGE_DETECTED,
            source="observer",
            project_id=self.project_id,
            data={"workingTree": True, "files": list(changed[:500]), "count": len(changed)},
        )
        try:
            self.bus.publish(event)
        except Exception:  # noqa: BLE001 - a bus that went away must not stop the watcher
            log.warning("could not publish %s", event.type, exc_info=True)

    def run(self, emit: Callable[[WatchResult], None], *, stop: threading.Event | None = None) -> None:
        """Watch until `stop` is set or Ctrl-C; each settled burst is analysed once and handed to `emit`."""
        for batch in self.batches(stop=stop):
            result = self.settle(batch)
            if result is not None:
                emit(result)

    def batches(self, *, stop: threading.Event | None = None) -> Iterator[set[str]]:
        """Paths of each burst, yielded once the tree has been quiet for the debounce time (a burst is cut at
        `MAX_BATCH_MS`). Events that arrive while a batch is analysed come in the next batch, together.

        watchfiles hands over what it saw every `POLL_MS` (`yield_on_timeout` gives an empty set when nothing
        moved), and the quiet time is counted here: with watchfiles' own `step` as the quiet time, a save waits
        up to two steps."""
        from watchfiles import watch

        quiet_s = max(self.settings.debounce_ms, POLL_MS) / 1000
        pending: set[str] = set()
        first_at = last_at = 0.0
        for changes in watch(
            *self.watched_paths(),
            watch_filter=lambda _change, path: self.keep(path),
            debounce=POLL_MS,
            step=POLL_MS // 2,
            stop_event=stop,
            raise_interrupt=False,
            rust_timeout=POLL_MS,
            yield_on_timeout=True,
        ):
            now = time.monotonic()
            if changes:
                if not pending:
                    first_at = now
                pending.update(path for _change, path in changes)
                last_at = now
            if pending and (now - last_at >= quiet_s or (now - first_at) * 1000 >= MAX_BATCH_MS):
                batch, pending = pending, set()
                yield batch


def _ignored_by(relative: str, pattern: str) -> bool:
    """`observer.watch.ignore` entries: `dist/` (a folder anywhere), `*.log`, or a path prefix."""
    from fnmatch import fnmatch

    pattern = pattern.strip()
    if not pattern:
        return False
    if pattern.endswith("/"):
        folder = pattern.rstrip("/")
        return folder in relative.split("/")[:-1] or relative.startswith(folder + "/")
    name = relative.rsplit("/", 1)[-1]
    return fnmatch(relative, pattern) or fnmatch(name, pattern)


def git_ignored(root: Path, paths: Sequence[str]) -> set[str]:
    """The paths git ignores (every .gitignore, .git/info/exclude and the user's excludes; tracked files are never
    ignored), asked of `git check-ignore` in one call. Outside a repository nothing is ignored."""
    if not paths:
        return set()
    try:
        done = subprocess.run(
            ["git", "check-ignore", "--stdin", "-z"],
            cwd=root,
            input="\0".join(paths).encode() + b"\0",
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return set()
    if done.returncode not in (0, 1):  # 1: nothing ignored; 128: not a repository
        return set()
    return {p for p in done.stdout.decode(errors="surrogateescape").split("\0") if p}


def _wait_for_git(root: Path) -> None:
    """Let a running git command (checkout, rebase, commit) finish before reading the tree, for a bounded time."""
    lock = root / ".git" / "index.lock"
    deadline = time.monotonic() + GIT_LOCK_WAIT_S
    while lock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
