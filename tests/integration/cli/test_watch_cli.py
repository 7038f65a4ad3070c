"""`perceo watch` as a user runs it: a real `perceo` process watching a real git repository (the demo shop, after
`perceo init --no-llm`) through the OS's file events, against the session's FalkorDB for flows and bus. The test
edits, saves in bursts, creates and deletes files, switches branches, reads the JSON lines the process prints, and
stops it with Ctrl-C (SIGINT)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from cli_kit import init_json

from perceo.bus.redis import stream_for
from perceo_cli.local.server import ServerProcess
from perceo_cli.watch import git_ignored

pytestmark = pytest.mark.xdist_group("watch")

DEBOUNCE_MS = 300
#: How long a test waits for the watcher's next analysis (file events, the quiet time and one analysis).
ANALYSIS_WAIT_S = 30.0
#: How long "nothing more comes" is waited for: several quiet periods.
SILENCE_S = 2.5
PERCEO = str(Path(sys.executable).with_name("perceo"))


class WatchProcess:
    def __init__(self, repo: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("perceo")),
                "watch",
                "--json",
                "--debounce-ms",
                str(DEBOUNCE_MS),
                *args,
            ],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr.append), daemon=True).start()
        self._wait_for_start()

    @staticmethod
    def _pump(stream: Any, sink: Any) -> None:
        for line in stream:
            sink(line)

    def _wait_for_start(self) -> None:
        deadline = time.monotonic() + 30
        while not any("watching" in line for line in self.stderr):
            assert self.proc.poll() is None, "".join(self.stderr)
            assert time.monotonic() < deadline, "watch did not say it was watching within 30 s"
            time.sleep(0.05)
        time.sleep(0.3)  # the OS watches are in place once the first poll ran

    def next(self, timeout: float = ANALYSIS_WAIT_S) -> dict[str, Any]:
        try:
            return dict(json.loads(self.lines.get(timeout=timeout)))
        except queue.Empty:
            raise AssertionError(f"no analysis within {timeout} s; stderr: {''.join(self.stderr)}") from None

    def quiet(self) -> list[dict[str, Any]]:
        """What arrives within `SILENCE_S` (expected: nothing)."""
        time.sleep(SILENCE_S)
        found = []
        while not self.lines.empty():
            found.append(json.loads(self.lines.get_nowait()))
        return found

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=20)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def watched(repo: Path) -> Iterator[tuple[Path, WatchProcess, str]]:
    project_id = init_json(repo)["projectId"]
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "perceo init"], cwd=repo, check=True)
    process = WatchProcess(repo)
    try:
        yield repo, process, project_id
    finally:
        process.kill()


def _flows(doc: dict[str, Any]) -> set[str]:
    return {flow["name"] for flow in doc["analysis"]["flows"]}


def test_a_burst_of_saves_is_one_analysis_of_the_working_tree_and_ctrl_c_exits_0(
    watched: tuple[Path, WatchProcess, str], falkordb_server: ServerProcess
) -> None:
    repo, watch, project_id = watched
    for name in ("PriceTag.tsx", "ProductCard.tsx", "Header.tsx"):  # a formatter touching three files
        path = repo / "components" / name
        path.write_text(path.read_text() + "\n// touched\n")

    doc = watch.next()

    assert doc["changed"] == ["components/Header.tsx", "components/PriceTag.tsx", "components/ProductCard.tsx"]
    assert doc["error"] is None
    analysis = doc["analysis"]
    assert analysis["workingTree"] is True and analysis["project"]["id"] == project_id
    assert {c["path"] for c in analysis["changes"]} == set(doc["changed"])
    assert "Checkout" in _flows(doc)  # the price tag is on the checkout path
    assert analysis["riskLevel"] in ("medium", "high", "critical")
    assert watch.quiet() == []  # one burst, one analysis

    client = redis.Redis(host=falkordb_server.host, port=falkordb_server.port)
    try:
        types = [json.loads(fields[b"event"])["type"] for _id, fields in client.xrange(stream_for(project_id))]
    finally:
        client.close()
    assert types[-3:] == ["observer.change.detected", "observer.flows.affected", "observer.analysis.complete"]

    assert watch.interrupt() == 0
    assert "Traceback" not in "".join(watch.stderr)
    assert "stopped watching" in "".join(watch.stderr)


def test_created_and_deleted_files_and_ignored_files(watched: tuple[Path, WatchProcess, str]) -> None:
    repo, watch, _ = watched
    page = repo / "app" / "about" / "page.tsx"
    page.parent.mkdir()
    page.write_text("export default function About() { return <main>About</main>; }\n")

    created = watch.next()
    assert created["changed"] == ["app/about/page.tsx"]
    assert {c["path"]: c["status"] for c in created["analysis"]["changes"]} == {"app/about/page.tsx": "added"}
    assert [r["route"] for r in created["analysis"]["affectedRoutes"]] == ["/about"]

    page.unlink()
    deleted = watch.next()
    assert deleted["changed"] == ["app/about/page.tsx"]
    assert deleted["analysis"]["changes"] == [] and deleted["analysis"]["flows"] == []

    exclude = repo / ".git" / "info" / "exclude"
    exclude.parent.mkdir(exist_ok=True)
    exclude.write_text("scratch/\n*.log\n")
    (repo / "components" / "scratch").mkdir()
    (repo / "components" / "scratch" / "notes.tsx").write_text("x")
    (repo / "app" / "debug.log").write_text("x")
    (repo / "app" / "node_modules" / "left-pad").mkdir(parents=True)
    (repo / "app" / "node_modules" / "left-pad" / "index.js").write_text("x")
    assert watch.quiet() == []


def test_a_branch_switch_of_many_files_is_one_analysis(watched: tuple[Path, WatchProcess, str]) -> None:
    repo, watch, _ = watched
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "checkout", "-qb", "big"], cwd=repo, check=True)
    watch.quiet()  # a checkout that changes no file is no event
    for index in range(60):
        path = repo / "components" / "generated" / f"Widget{index}.tsx"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"export const Widget{index} = () => <div>{index}</div>;\n")
    first = watch.next()
    assert len(first["changed"]) == 60
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "widgets"], cwd=repo, check=True)
    watch.quiet()

    subprocess.run([*git, "checkout", "-q", "-"], cwd=repo, check=True)  # 60 files disappear at once

    switched = watch.next()
    assert len(switched["changed"]) == 60
    assert switched["analysis"]["changes"] == []  # the tree now equals the new HEAD
    assert watch.quiet() == []


def test_before_init_it_reports_routes_only(tmp_path: Path) -> None:
    from perceo_cli.demo.shop import build_demo_app

    root = build_demo_app(tmp_path / "shop").path
    watch = WatchProcess(root, "--no-analyze")
    try:
        (root / "components" / "Header.tsx").write_text("export const Header = () => null;\n")
        doc = watch.next()
        assert doc["changed"] == ["components/Header.tsx"] and doc["analysis"] is None
        assert watch.interrupt() == 0
    finally:
        watch.kill()


def test_git_ignored_asks_git_for_every_rule(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".gitignore").write_text("*.log\nbuild/\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / ".gitignore").write_text("local.ts\n")

    ignored = git_ignored(tmp_path, ["a.log", "build/x.js", "src/local.ts", "src/app.ts", "build/"])

    assert ignored == {"a.log", "build/x.js", "src/local.ts", "build/"}
