"""Every wait on git is bounded, said beforehand and ends with what to do.

`ci analyze --deepen` in a shallow clone whose remote accepts the connection and never answers (a real loopback TCP
server, the clone's `origin` pointed at it) stops after `observer.git.fetchTimeoutSeconds`, exits 6 and says how
to get the history instead; a local git call that hangs is killed with its children after its timeout.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perceo.errors import GitTimeoutError
from perceo.observer.changes import Git
from perceo.observer.gitproc import GitTimeouts
from perceo.observer.snapshot import BlobReader
from perceo_cli.context import AppContext
from perceo_cli.exit import ExitStatus
from perceo_cli.main import main
from perceo_cli.output import Output

#: Far above the timeouts under test: reaching it means a wait was not bounded (the test fails instead of hanging).
GIVE_UP_S = 120.0


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def commit(repo: Path, message: str, files: dict[str, str]) -> None:
    for name, content in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


class SilentServer:
    """Accepts TCP connections on loopback and never sends a byte; records when each connection is closed."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self.accepted = 0
        self.closed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            with self._lock:
                self.accepted += 1
            reader = threading.Thread(target=self._drain, args=(conn,), daemon=True)
            self._threads.append(reader)
            reader.start()

    def _drain(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        with conn:
            while not self._stop.is_set():
                try:
                    if not conn.recv(65536):  # the client went away
                        break
                except TimeoutError:
                    continue
        with self._lock:
            self.closed += 1

    def all_closed_within(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self._lock:
                if self.accepted and self.closed == self.accepted:
                    return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._server.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("PERCEO_CONFIG_PATH", raising=False)


def _shallow_clone(tmp_path: Path) -> Path:
    """A Next.js app whose `feature` forks from `main` three commits back, cloned at depth 1 (no merge base)."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    git(origin, "config", "user.email", "dev@example.com")
    git(origin, "config", "user.name", "Dev")
    app = {"package.json": '{"dependencies": {"next": "14.2.0"}}', "app/page.tsx": "export default 1\n"}
    commit(origin, "app", app)
    git(origin, "checkout", "-q", "-b", "feature")
    commit(origin, "edit", {"app/page.tsx": "export default 2\n"})
    git(origin, "checkout", "-q", "main")
    for i in range(3):
        commit(origin, f"main {i}", {f"docs/{i}.md": f"{i}\n"})
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--no-single-branch", f"file://{origin}", str(clone)],
        check=True,
        capture_output=True,
    )
    return clone


def _run_bounded(repo: Path, *args: str) -> tuple[int, str, str]:
    """`perceo -C repo <args>` in-process, in a thread given up on after GIVE_UP_S."""
    stdout, stderr = io.StringIO(), io.StringIO()
    result: list[int] = []
    worker = threading.Thread(
        target=lambda: result.append(main(["-C", str(repo), *args], context=AppContext(output=Output(stdout, stderr)))),
        daemon=True,
    )
    worker.start()
    worker.join(GIVE_UP_S)
    assert result, f"`perceo {' '.join(args)}` was still waiting after {GIVE_UP_S:g} s: {stderr.getvalue()}"
    return result[0], stdout.getvalue(), stderr.getvalue()


def test_deepen_from_a_remote_that_never_answers_stops_at_the_fetch_timeout_and_says_what_to_do(
    tmp_path: Path, silent_server: SilentServer
) -> None:
    clone = _shallow_clone(tmp_path)
    git(clone, "remote", "set-url", "origin", f"http://127.0.0.1:{silent_server.port}/repo.git")
    (clone / ".perceo").mkdir()
    (clone / ".perceo" / "config.json").write_text(json.dumps({"observer": {"git": {"fetchTimeoutSeconds": 2}}}))

    code, out, err = _run_bounded(
        clone, "ci", "analyze", "--base", "origin/main", "--head", "origin/feature", "--json", "--deepen"
    )

    assert code == ExitStatus.TIMEOUT == 6
    assert out == ""  # no partial report
    said = " ".join(err.split())
    assert "fetching 50 more commits from origin (timeout 2 s)" in said  # what it waits for, before waiting
    assert "did not finish within 2 s" in said
    assert "fetch-depth: 0" in said and "git fetch --deepen=200 origin" in said
    assert "observer.git.fetchTimeoutSeconds" in said
    assert "Traceback" not in err
    assert silent_server.accepted >= 1  # git did reach the remote...
    assert silent_server.all_closed_within(10)  # ...and its HTTP helper was killed with it, not left connected


def test_a_remote_that_refuses_the_fetch_fails_at_once_with_the_fix(tmp_path: Path) -> None:
    clone = _shallow_clone(tmp_path)
    with socket.create_server(("127.0.0.1", 0)) as taken:  # a port nobody listens on once closed
        port = taken.getsockname()[1]
    git(clone, "remote", "set-url", "origin", f"http://127.0.0.1:{port}/repo.git")

    code, out, err = _run_bounded(
        clone, "ci", "analyze", "--base", "origin/main", "--head", "origin/feature", "--json", "--deepen"
    )

    assert code == ExitStatus.USAGE and out == ""
    said = " ".join(err.split())
    assert "could not deepen the shallow clone from 'origin'" in said
    assert "fetch-depth: 0" in said and "git fetch --deepen=200 origin" in said


def test_a_local_git_call_that_hangs_is_killed_with_its_children_after_the_timeout(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    pid_file = tmp_path / "hang.pid"
    # a git alias that runs a process of its own, as git's helpers do; only this test ever runs a shell alias
    git(repo, "config", "alias.hang", f"!echo $$ > {pid_file}; exec sleep 300")

    with pytest.raises(GitTimeoutError) as raised:
        Git(repo, timeouts=GitTimeouts(local_s=1)).run("hang")

    assert "`git hang` did not finish within 1 s" in raised.value.message
    assert "observer.git.localTimeoutSeconds" in raised.value.message
    pid = int(pid_file.read_text())
    assert _gone_within(pid, 10), f"git's child {pid} outlived the timeout"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_reading_a_blob_a_partial_clone_must_fetch_from_a_remote_that_never_answers_stops_at_the_timeout(
    tmp_path: Path, silent_server: SilentServer
) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    git(origin, "config", "user.email", "dev@example.com")
    git(origin, "config", "user.name", "Dev")
    git(origin, "config", "uploadpack.allowFilter", "true")
    commit(origin, "app", {"app/page.tsx": "export default 1\n"})
    blob = git(origin, "rev-parse", "HEAD:app/page.tsx")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--filter=blob:none", "--no-checkout", f"file://{origin}", str(clone)],
        check=True,
        capture_output=True,
    )
    git(clone, "remote", "set-url", "origin", f"http://127.0.0.1:{silent_server.port}/repo.git")

    raised: list[BaseException] = []

    def read() -> None:
        with BlobReader(clone, timeout_s=1) as reader:
            try:
                reader.read(blob)  # missing here: git asks the promisor remote for it
            except GitTimeoutError as error:
                raised.append(error)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(GIVE_UP_S)

    assert not worker.is_alive(), f"the read was still waiting after {GIVE_UP_S:g} s"
    assert len(raised) == 1 and isinstance(raised[0], GitTimeoutError)
    assert "gave no answer within 1 s" in raised[0].message
    assert "partial clone" in raised[0].message
    assert silent_server.accepted >= 1
    assert silent_server.all_closed_within(10)  # the lazy fetch was killed with cat-file
