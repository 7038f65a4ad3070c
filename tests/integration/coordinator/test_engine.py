"""The test engine on real pytest suites (as the pytest runner and as an "any command" template): shards,
retries that mark flaky, a hung shard killed with its process group, crashes and bad input."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from perceo.errors import BaseUrlUnreachableError, RunnerNotInstalledError, TestMappingError
from perceo_cli.coordinator.engine import ProgressEvent, TestEngine, TestPlan, make_shards
from perceo_cli.coordinator.runners import CommandRunner, PytestRunner

pytestmark = pytest.mark.slow

PYTEST = [sys.executable, "-m", "pytest"]

SUITE = {
    "tests/test_cart.py": """
def test_adds():
    assert True

def test_totals():
    assert 1 + 1 == 3, "the total is wrong"
""",
    "tests/test_flaky.py": """
from pathlib import Path

def test_sometimes():
    marker = Path(__file__).with_name("tried.txt")
    if not marker.exists():
        marker.write_text("once")
        raise AssertionError("failed on the first try")

class TestHome:
    def test_opens(self):
        pass
""",
}

HANG = """
import subprocess, sys, time
from pathlib import Path

def test_hangs():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    Path(__file__).with_name("child.pid").write_text(str(child.pid))
    time.sleep(300)
"""


def project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_shards_retries_and_flows_on_a_real_pytest_suite(tmp_path: Path) -> None:
    root = project(tmp_path, SUITE)
    events: list[ProgressEvent] = []
    engine = TestEngine(
        PytestRunner(PYTEST), root, parallelism=2, shard_timeout_s=240, retries=1, on_event=events.append
    )
    plan = TestPlan(
        files=["tests/test_cart.py", "tests/test_flaky.py"],
        flows_of={"tests/test_cart.py": ["checkout"], "tests/test_flaky.py": ["browse"]},
        flow_names={"checkout": "Checkout", "browse": "Browse"},
        commit_sha="abc1234",
    )

    report = engine.run(plan)

    tests = {t.id: t for t in report.tests}
    assert {i: (t.status, t.flaky, t.attempts) for i, t in tests.items()} == {
        "tests/test_cart.py::test_adds": ("passed", False, 1),
        "tests/test_cart.py::test_totals": ("failed", False, 2),
        "tests/test_flaky.py::TestHome::test_opens": ("passed", False, 1),
        "tests/test_flaky.py::test_sometimes": ("passed", True, 2),
    }
    assert "the total is wrong" in (tests["tests/test_cart.py::test_totals"].message or "")
    assert (report.status, report.totals.failed, report.totals.flaky) == ("failed", 1, 1)
    assert [(s.status, s.attempts) for s in report.shards] == [("completed", 2), ("completed", 2)]
    assert {f.name: (f.status, f.flaky) for f in report.flows} == {
        "Checkout": ("failed", False), "Browse": ("passed", True),
    }  # fmt: skip
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("shard_started") == 2 and kinds.count("retry_started") == 2


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_hung_shard_is_killed_with_its_children_and_the_other_shard_is_kept(tmp_path: Path) -> None:
    root = project(tmp_path, {**SUITE, "tests/test_hang.py": HANG})
    engine = TestEngine(PytestRunner(PYTEST), root, parallelism=2, shard_timeout_s=15, retries=0)
    plan = TestPlan(files=["tests/test_cart.py", "tests/test_hang.py"], durations={"tests/test_hang.py": 10_000})

    began = time.monotonic()
    report = engine.run(plan)

    assert time.monotonic() - began < 60
    shards = {tuple(s.files): s for s in report.shards}
    assert shards[("tests/test_hang.py",)].status == "timed_out"
    assert shards[("tests/test_cart.py",)].status == "completed"
    hung = next(t for t in report.tests if t.file == "tests/test_hang.py")
    assert hung.status == "error" and "timed out after 15 s" in (hung.message or "")
    assert {t.id for t in report.tests if t.file == "tests/test_cart.py"} == {
        "tests/test_cart.py::test_adds", "tests/test_cart.py::test_totals",
    }  # fmt: skip
    child = int((root / "tests" / "child.pid").read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)  # the kill is asynchronous: wait (bounded) for the kernel to reap the child
    assert not _alive(child), "the hung test's child process outlived the shard"


def test_any_command_runs_from_its_argument_template_with_junit(tmp_path: Path) -> None:
    root = project(tmp_path, SUITE)
    template = [*PYTEST, "-q", "-p", "no:cacheprovider", "-o", "junit_family=xunit1", "--junitxml={junit}",
                "-k={grep}", "{files}"]  # fmt: skip
    engine = TestEngine(CommandRunner(template, cwd=root), root, parallelism=1, retries=0)

    report = engine.run(TestPlan(files=["tests/test_cart.py"], flows_of={"tests/test_cart.py": ["c"]},
                                 flow_names={"c": "Checkout"}))  # fmt: skip

    assert report.runner == "command"
    assert sorted((t.id, t.status) for t in report.tests) == [
        ("tests/test_cart.py::test_adds", "passed"), ("tests/test_cart.py::test_totals", "failed"),
    ]  # fmt: skip
    grepped = engine.run(TestPlan(files=["tests/test_cart.py"], greps=["adds"]))
    assert [(t.id, t.status) for t in grepped.tests] == [("tests/test_cart.py::test_adds", "passed")]


def test_a_command_without_a_report_is_judged_per_file_by_its_exit_code(tmp_path: Path) -> None:
    root = project(tmp_path, SUITE)
    engine = TestEngine(CommandRunner([*PYTEST, "-q", "-p", "no:cacheprovider", "{files}"], cwd=root), root,
                        parallelism=2, retries=0)  # fmt: skip

    report = engine.run(TestPlan(files=["tests/test_cart.py", "tests/test_flaky.py"]))

    assert {t.id: t.status for t in report.tests} == {"tests/test_cart.py": "failed", "tests/test_flaky.py": "failed"}


def test_a_runner_that_crashes_without_a_report_is_reported_per_file(tmp_path: Path) -> None:
    root = project(tmp_path, SUITE)
    crash = [sys.executable, "-c", "import sys; print('segfault-ish'); sys.exit(3)", "--junit={junit}", "{files}"]
    engine = TestEngine(CommandRunner(crash, cwd=root), root, parallelism=1, retries=1)

    report = engine.run(TestPlan(files=["tests/test_cart.py"]))

    (shard,) = report.shards
    assert (shard.status, shard.exit_code) == ("crashed", 3)
    (test,) = report.tests
    assert test.status == "error" and "exited 3 without a report" in (test.message or "")
    assert "segfault-ish" in (test.message or "")


def test_bad_input_is_refused_before_anything_runs(tmp_path: Path) -> None:
    root = project(tmp_path, SUITE)
    with pytest.raises(RunnerNotInstalledError, match="no-such-test-tool"):
        TestEngine(CommandRunner(["no-such-test-tool", "{files}"]), root).run(TestPlan(files=["tests/test_cart.py"]))
    with pytest.raises(TestMappingError, match="tests/missing.py"):
        TestEngine(PytestRunner(PYTEST), root).run(TestPlan(files=["tests/missing.py"]))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(BaseUrlUnreachableError, match="refused"):
            TestEngine(PytestRunner(PYTEST), root).run(TestPlan(files=["tests/test_cart.py"], base_url=url))
    empty = TestEngine(PytestRunner(PYTEST), root).run(TestPlan(files=[]))
    assert (empty.status, empty.note) == ("skipped", "no test file was selected")


def test_shards_balance_by_past_durations() -> None:
    files = ["a", "b", "c", "d", "e"]
    durations = {"a": 100, "b": 90, "c": 10, "d": 10, "e": 10}

    assert make_shards(files, 2, durations) == [["a", "d"], ["b", "c", "e"]]  # 110 ms each
    assert make_shards(files, 10, {}) == [["a"], ["b"], ["c"], ["d"], ["e"]]
    assert make_shards(["x", "y", "z", "w"], 2, {}) == [["w", "y"], ["x", "z"]]


def test_retries_find_tests_of_a_subproject_with_its_own_pytest_rootdir(tmp_path: Path) -> None:
    root = project(
        tmp_path, {f"backend/{name}": text for name, text in SUITE.items()} | {"backend/pytest.ini": "[pytest]\n"}
    )
    engine = TestEngine(PytestRunner(PYTEST), root, parallelism=1, retries=1)

    report = engine.run(TestPlan(files=["backend/tests/test_flaky.py"], flows_of={"backend/tests/test_flaky.py": ["b"]},
                                 flow_names={"b": "Browse"}))  # fmt: skip

    flaky = next(t for t in report.tests if t.name == "test_sometimes")
    assert (flaky.file, flaky.status, flaky.flaky) == ("tests/test_flaky.py", "passed", True)
    assert [(f.name, f.status, f.flaky) for f in report.flows] == [("Browse", "passed", True)]


def test_templates_and_runner_choice_are_checked() -> None:
    from perceo.errors import ConfigError
    from perceo_cli.coordinator.runners import CypressRunner, PlaywrightRunner, runner_for

    with pytest.raises(ConfigError, match="argument of its own"):
        CommandRunner(["pytest", "--files={files}"])
    with pytest.raises(ConfigError, match="testCommand is not set"):
        runner_for("command", Path("."))
    assert isinstance(runner_for("auto", Path("."), test_command=["make", "e2e"]), CommandRunner)
    assert isinstance(runner_for("auto", Path("."), kinds=["playwright", "pytest"]), PlaywrightRunner)
    assert isinstance(runner_for("auto", Path("."), kinds=["cypress"]), CypressRunner)
    assert isinstance(runner_for("auto", Path("."), kinds=["pytest"]), PytestRunner)
    with pytest.raises(RunnerNotInstalledError, match="npm install -D @playwright/test"):
        PlaywrightRunner(Path("/nonexistent")).check()
