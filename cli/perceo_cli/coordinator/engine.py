"""The test engine: run a plan's test files with a runner, in parallel shards, with retries and time limits.

- Files are split into at most `parallelism` shards, longest first when past durations are known (else by
  count), and each shard is one runner process at a time, started from an argument list in its own process
  group (`start_new_session`), never through a shell.
- A failing test is run again up to `retries` times (only the failed tests, or their files when the runner
  cannot name single tests); a test that passes on a retry is reported flaky, not passed. Runners that retry
  by themselves (Playwright) are given the count instead.
- Each shard has a time limit for all its attempts: at the limit its process group gets SIGTERM, then SIGKILL
  after a grace period, and its tests without results are reported as errors, while the results of the other
  shards (and of the shard's earlier attempts) are kept.
- Progress goes to an `on_event` callback (called from one thread at a time) for the CLI's live display.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from perceo.coordinator.junit import merge_attempts
from perceo.coordinator.model import (
    Selection,
    ShardResult,
    ShardStatus,
    SuiteReport,
    Totals,
    clip,
    outcome_status,
)
from perceo.coordinator.outcomes import flow_outcomes
from perceo.coordinator.reachability import check_base_url
from perceo.errors import RunnerNotInstalledError, TestMappingError
from perceo.models.common import now_ms
from perceo.models.runs import TestCase
from perceo_cli.coordinator.runners import Invocation, Runner

#: After SIGTERM, how long a shard's process group has to stop before SIGKILL.
KILL_GRACE_S = 5.0
#: Output kept for a crash message.
OUTPUT_TAIL_CHARS = 4000

EventKind = Literal["run_started", "shard_started", "retry_started", "shard_finished", "run_finished"]


@dataclass(frozen=True)
class ProgressEvent:
    kind: EventKind
    shard: int | None = None
    shards: int = 0
    files: int = 0
    tests: int = 0
    passed: int = 0
    failed: int = 0
    attempt: int = 1
    status: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class TestPlan:
    """What to run: files (relative to the root), the flows each guards, and what to report."""

    __test__ = False  # not a pytest test class

    files: Sequence[str]
    #: test file -> ids of the flows it guards
    flows_of: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: the flows to report (id -> name), in report order
    flow_names: Mapping[str, str] = field(default_factory=dict)
    greps: Sequence[str] = ()
    selection: Selection = "affected"
    commit_sha: str | None = None
    #: checked for connections before anything starts, and given to the tests as PERCEO_BASE_URL / BASE_URL
    base_url: str | None = None
    #: past duration per file (ms), to balance shards
    durations: Mapping[str, int] = field(default_factory=dict)


@dataclass
class _Process:
    exit_code: int | None
    timed_out: bool
    duration_ms: int
    output: str


class TestEngine:
    __test__ = False  # not a pytest test class

    def __init__(
        self,
        runner: Runner,
        root: Path,
        *,
        parallelism: int = 4,
        shard_timeout_s: float = 600.0,
        retries: int = 1,
        on_event: Callable[[ProgressEvent], None] | None = None,
        clock: Callable[[], int] = now_ms,
        workdir: Path | None = None,
    ) -> None:
        if parallelism < 1 or shard_timeout_s <= 0 or retries < 0:
            raise ValueError("parallelism >= 1, shard_timeout_s > 0 and retries >= 0")
        self.runner = runner
        self.root = root
        self.parallelism = parallelism
        self.shard_timeout_s = shard_timeout_s
        self.retries = retries
        self.clock = clock
        self.workdir = workdir
        self._on_event = on_event
        self._event_lock = threading.Lock()
        self._live: set[subprocess.Popen[bytes]] = set()
        self._live_lock = threading.Lock()

    # -- the run

    def run(self, plan: TestPlan) -> SuiteReport:
        """Run the plan; every shard ends in the report (completed, timed out or crashed)."""
        started_at = self.clock()
        began = time.monotonic()
        if not plan.files:
            return self._report(plan, [], [], started_at, began, note="no test file was selected")
        missing = [f for f in plan.files if not (self.root / f).exists()]
        if missing:
            raise TestMappingError(
                f"the selected test files do not exist under {self.root}: {', '.join(missing[:10])}",
                details={"missing": missing},
            )
        self.runner.check()
        if plan.base_url:
            check_base_url(plan.base_url)
        shards = make_shards(plan.files, self.parallelism, plan.durations)
        self._emit(ProgressEvent("run_started", shards=len(shards), files=len(plan.files)))
        scratch = Path(tempfile.mkdtemp(prefix="perceo-tests-", dir=self.workdir))
        results: list[tuple[ShardResult, list[TestCase]]] = []
        try:
            with ThreadPoolExecutor(max_workers=len(shards), thread_name_prefix="perceo-shard") as pool:
                futures = [
                    pool.submit(self._run_shard, index, files, plan, scratch / f"shard-{index}")
                    for index, files in enumerate(shards)
                ]
                results = [future.result() for future in futures]
        except BaseException:
            self._kill_all()  # Ctrl-C or a bug: no runner outlives the engine
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        tests = [test for _, shard_tests in results for test in shard_tests]
        report = self._report(plan, [shard for shard, _ in results], tests, started_at, began)
        self._emit(
            ProgressEvent(
                "run_finished", shards=len(shards), files=len(plan.files), tests=report.totals.total,
                passed=report.totals.passed, failed=report.totals.failed + report.totals.error, status=report.status,
            )
        )  # fmt: skip
        return report

    def _report(
        self,
        plan: TestPlan,
        shards: list[ShardResult],
        tests: list[TestCase],
        started_at: int,
        began: float,
        *,
        note: str | None = None,
    ) -> SuiteReport:
        keyed = [t.model_copy(update={"flow_ids": list(_flows_of(t, plan))}) for t in tests]
        keyed.sort(key=lambda t: (t.file or "", t.id))
        return SuiteReport(
            runner=self.runner.name,
            selection=plan.selection,
            status=outcome_status([t.status for t in keyed]),
            commit_sha=plan.commit_sha,
            started_at=started_at,
            duration_ms=round((time.monotonic() - began) * 1000),
            totals=Totals.of(keyed),
            tests=keyed,
            shards=shards,
            flows=flow_outcomes(keyed, plan.flow_names),
            note=note,
        )

    # -- one shard: its attempts within its time limit

    def _run_shard(self, index: int, files: list[str], plan: TestPlan, out: Path) -> tuple[ShardResult, list[TestCase]]:
        deadline = time.monotonic() + self.shard_timeout_s
        self._emit(ProgressEvent("shard_started", shard=index, files=len(files)))
        native = self.retries if self.runner.native_retries else 0
        invocation = self.runner.invocation(files, plan.greps, _fresh(out, 1), retries=native)
        first = self._attempt(invocation, plan, deadline)
        duration = first.duration_ms
        # read even after a kill: a runner may have written part of its report (one file per spec) before it
        tests = self.runner.read(invocation, files, _code(first), first.output)
        status: ShardStatus = "completed"
        message: str | None = None
        if first.timed_out:
            status = "timed_out"
            message = f"timed out after {self.shard_timeout_s:g} s; the runner was stopped"
        elif tests is None:
            status = "crashed"
            message = f"{self.runner.name} exited {first.exit_code} without a report: {first.output[-1500:].strip()}"
        attempts = 1
        if tests is not None and status == "completed" and not self.runner.native_retries:
            for attempt in range(2, self.retries + 2):
                failed = [t for t in tests if t.status in ("failed", "error")]
                if not failed or time.monotonic() >= deadline:
                    break
                attempts = attempt
                self._emit(ProgressEvent("retry_started", shard=index, tests=len(failed), attempt=attempt))
                retry = self.runner.invocation(files, plan.greps, _fresh(out, attempt), retry=failed)
                again = self._attempt(retry, plan, deadline)
                duration += again.duration_ms
                if again.timed_out:
                    status = "timed_out"
                    message = f"a retry ran past the shard's {self.shard_timeout_s:g} s; the runner was stopped"
                    break
                rerun = self.runner.read(retry, files, _code(again), again.output)
                if rerun is not None:
                    tests = _merge_retry(tests, rerun)
        tests = _with_unreported_files(tests or [], files, message or "the runner reported no test of this file")
        result = ShardResult(
            index=index, files=files, status=status, exit_code=first.exit_code, duration_ms=duration,
            attempts=attempts, message=clip(message),
        )  # fmt: skip
        self._emit(
            ProgressEvent(
                "shard_finished", shard=index, files=len(files), tests=len(tests), status=status, message=message,
                passed=sum(t.status == "passed" for t in tests),
                failed=sum(t.status in ("failed", "error") for t in tests),
            )
        )  # fmt: skip
        return result, tests

    def _attempt(self, invocation: Invocation, plan: TestPlan, deadline: float) -> _Process:
        env = {**os.environ, **invocation.env}
        if plan.base_url:
            env.update(PERCEO_BASE_URL=plan.base_url, BASE_URL=plan.base_url)
        return self._spawn(invocation, env, max(0.0, deadline - time.monotonic()))

    def _spawn(self, invocation: Invocation, env: Mapping[str, str], timeout_s: float) -> _Process:
        log_path = (invocation.report.parent if invocation.report else Path(tempfile.gettempdir())) / "output.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        with log_path.open("wb") as log:
            try:
                process = subprocess.Popen(
                    invocation.argv, cwd=self.root, env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
            except (FileNotFoundError, PermissionError) as error:
                raise RunnerNotInstalledError(f"cannot start {invocation.argv[0]!r}: {error.strerror}") from None
            with self._live_lock:
                self._live.add(process)
            timed_out = False
            try:
                code: int | None = process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                _stop_group(process)
                code = None
            finally:
                _kill_group(process)  # whatever the tests left running in the group (servers, browsers)
                with self._live_lock:
                    self._live.discard(process)
        output = _tail(log_path)
        return _Process(code, timed_out, round((time.monotonic() - began) * 1000), output)

    def _kill_all(self) -> None:
        with self._live_lock:
            live = list(self._live)
        for process in live:
            _stop_group(process)

    def _emit(self, event: ProgressEvent) -> None:
        if self._on_event is not None:
            with self._event_lock:
                self._on_event(event)


def make_shards(files: Sequence[str], parallelism: int, durations: Mapping[str, int]) -> list[list[str]]:
    """At most `parallelism` non-empty shards; longest-first onto the least loaded shard (a file without a past
    duration counts as the median of the known ones, or 1 when none is known)."""
    known = sorted(durations[f] for f in files if f in durations)
    default = known[len(known) // 2] if known else 1
    count = min(parallelism, len(files))
    shards: list[list[str]] = [[] for _ in range(count)]
    load = [0] * count
    for file in sorted(files, key=lambda f: (-durations.get(f, default), f)):
        lightest = min(range(count), key=lambda i: (load[i], i))
        shards[lightest].append(file)
        load[lightest] += durations.get(file, default)
    return [sorted(shard) for shard in shards if shard]


def _fresh(out: Path, attempt: int) -> Path:
    folder = out / f"attempt-{attempt}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _code(process: _Process) -> int:
    return process.exit_code if process.exit_code is not None else -1


def _merge_retry(tests: list[TestCase], rerun: list[TestCase]) -> list[TestCase]:
    """Each failed test merged with its rerun (by id): passed on the retry means flaky."""
    again = {t.id: t for t in rerun}
    merged = []
    for test in tests:
        repeat = again.get(test.id) if test.status in ("failed", "error") else None
        merged.append(merge_attempts([test, repeat]) if repeat is not None else test)
    return merged


def _with_unreported_files(tests: list[TestCase], files: Sequence[str], reason: str) -> list[TestCase]:
    """An error per shard file that no reported test belongs to (killed or crashed before it ran): a file
    that did not run must never look like one that passed."""
    reported = {_file_of(t) for t in tests}
    missing = [f for f in files if f not in reported and not any(r and f.endswith("/" + r) for r in reported)]
    return [*tests, *(TestCase(id=f, name=f, file=f, status="error", message=clip(reason)) for f in missing)]


def _file_of(test: TestCase) -> str:
    return test.file or test.id.split("::", 1)[0]


def _flows_of(test: TestCase, plan: TestPlan) -> Sequence[str]:
    file = _file_of(test)
    flows = plan.flows_of.get(file)
    if flows is not None:
        return flows
    # Playwright names files relative to its rootDir (often the test folder): match on the path's end
    for candidate, ids in plan.flows_of.items():
        if candidate.endswith("/" + file):
            return ids
    return ()


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL after KILL_GRACE_S."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        process.wait(timeout=KILL_GRACE_S)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            size = log.tell()
            log.seek(max(0, size - OUTPUT_TAIL_CHARS))
            return log.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
