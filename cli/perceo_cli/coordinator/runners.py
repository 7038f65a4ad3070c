"""Runner adapters: how to start Playwright, Cypress, pytest or any command on some test files, and read results.

A runner only says which argument list to start and how to read what it wrote; the engine (`engine.py`) starts
it (a list, never a shell string), bounds it in time, retries and shards. Nothing here downloads a tool: the
project's own `node_modules/.bin/playwright` / `cypress` are used, never `npx`, which would fetch them.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from perceo.coordinator.junit import parse_junit
from perceo.coordinator.playwright_report import parse_playwright_json
from perceo.errors import ConfigError, InvalidReportError, RunnerNotInstalledError
from perceo.models.runs import TestCase
from perceo_cli.coordinator.scan import TestKind

ReportKind = Literal["junit", "junit-dir", "playwright-json", "none"]
RunnerName = Literal["playwright", "cypress", "pytest", "command"]


@dataclass(frozen=True)
class Invocation:
    """One process to start: its arguments, extra environment, and where it writes its report."""

    argv: list[str]
    report: Path | None
    report_kind: ReportKind
    env: Mapping[str, str] = field(default_factory=dict)


class Runner(Protocol):
    """What the engine needs of a runner."""

    name: RunnerName
    #: The runner retries failing tests itself (and reports flaky ones): the engine does not.
    native_retries: bool
    #: The test kinds it can run.
    kinds: frozenset[TestKind]

    def check(self) -> None:
        """RunnerNotInstalledError, with what to install, when the runner is not there."""

    def invocation(
        self, files: Sequence[str], greps: Sequence[str], out: Path, *, retry: Sequence[TestCase] = (), retries: int = 0
    ) -> Invocation:
        """The process for `files` (or, on a retry, only the failed tests `retry`), reporting under `out`."""

    def read(self, invocation: Invocation, files: Sequence[str], exit_code: int, output: str) -> list[TestCase] | None:
        """The tests the process reported; None when it wrote no readable report."""


def _read_report(invocation: Invocation) -> list[TestCase] | None:
    path = invocation.report
    if path is None:
        return None
    try:
        if invocation.report_kind == "junit-dir":
            reports = sorted(path.glob("*.xml")) if path.is_dir() else []
            if not reports:
                return None
            return [case for report in reports for case in parse_junit(report.read_bytes(), source=str(report))]
        if not path.is_file() or path.stat().st_size == 0:
            return None
        if invocation.report_kind == "playwright-json":
            return parse_playwright_json(path.read_bytes(), source=str(path))
        return parse_junit(path.read_bytes(), source=str(path))
    except InvalidReportError:
        return None  # a half-written report (the process was killed or crashed while writing it)


class PytestRunner:
    """pytest, with a JUnit report (xunit1: it names each test's file and line, which gives node ids to retry)."""

    name: RunnerName = "pytest"
    native_retries = False
    kinds: frozenset[TestKind] = frozenset({"pytest"})

    def __init__(self, command: Sequence[str] | None = None) -> None:
        self._command = list(command) if command else None

    def command(self) -> list[str]:
        if self._command:
            return self._command
        found = shutil.which("pytest")
        if found:
            return [found]
        if importlib.util.find_spec("pytest") is not None:
            return [sys.executable, "-m", "pytest"]
        raise RunnerNotInstalledError("pytest is not installed: pip install pytest (in the project's environment)")

    def check(self) -> None:
        self.command()

    def invocation(
        self, files: Sequence[str], greps: Sequence[str], out: Path, *, retry: Sequence[TestCase] = (), retries: int = 0
    ) -> Invocation:
        report = out / "junit.xml"
        targets = [_node_id(t, files) for t in retry] if retry else list(files)
        argv = [*self.command(), "-o", "junit_family=xunit1", f"--junitxml={report}", "-q", "-p", "no:cacheprovider"]
        return Invocation([*argv, *targets], report, "junit")

    def read(self, invocation: Invocation, files: Sequence[str], exit_code: int, output: str) -> list[TestCase] | None:
        if exit_code in (3, 4):  # pytest: internal error, usage error: whatever it wrote is not the tests' outcome
            return None
        return _read_report(invocation)


def _node_id(test: TestCase, files: Sequence[str]) -> str:
    """A failed test's node id as the command line needs it: relative to where pytest runs. pytest names files
    relative to its rootdir, which is a subfolder when the tests have their own pytest.ini (`backend/`)."""
    if not test.file or test.file in files:
        return test.id
    for file in files:
        if file.endswith("/" + test.file):
            return file[: -len(test.file)] + test.id
    return test.id


class PlaywrightRunner:
    """The project's Playwright Test (`node_modules/.bin/playwright test`), JSON report, Playwright's own retries."""

    name: RunnerName = "playwright"
    native_retries = True
    kinds: frozenset[TestKind] = frozenset({"playwright"})

    def __init__(self, root: Path) -> None:
        self.root = root

    def check(self) -> None:
        if not (self.root / "node_modules" / ".bin" / "playwright").is_file():
            raise RunnerNotInstalledError(
                f"Playwright Test is not installed in {self.root}: npm install -D @playwright/test"
            )
        if shutil.which("node") is None:
            raise RunnerNotInstalledError("Node.js is not on PATH (Playwright Test needs it)")

    def invocation(
        self, files: Sequence[str], greps: Sequence[str], out: Path, *, retry: Sequence[TestCase] = (), retries: int = 0
    ) -> Invocation:
        report = out / "playwright.json"
        argv = [str(self.root / "node_modules" / ".bin" / "playwright"), "test", *files, "--reporter=json"]
        argv.append(f"--retries={retries}")
        if greps:
            argv.append("--grep=" + "|".join(re.escape(g) for g in greps))
        return Invocation(argv, report, "playwright-json", env={"PLAYWRIGHT_JSON_OUTPUT_NAME": str(report)})

    def read(self, invocation: Invocation, files: Sequence[str], exit_code: int, output: str) -> list[TestCase] | None:
        return _read_report(invocation)


class CypressRunner:
    """The project's Cypress (`node_modules/.bin/cypress run`), one JUnit file per spec (mocha's junit reporter)."""

    name: RunnerName = "cypress"
    native_retries = False
    kinds: frozenset[TestKind] = frozenset({"cypress"})

    def __init__(self, root: Path) -> None:
        self.root = root

    def check(self) -> None:
        if not (self.root / "node_modules" / ".bin" / "cypress").is_file():
            raise RunnerNotInstalledError(f"Cypress is not installed in {self.root}: npm install -D cypress")

    def invocation(
        self, files: Sequence[str], greps: Sequence[str], out: Path, *, retry: Sequence[TestCase] = (), retries: int = 0
    ) -> Invocation:
        reports = out / "cypress-junit"
        specs = sorted({t.file for t in retry if t.file}) if retry else list(files)
        argv = [str(self.root / "node_modules" / ".bin" / "cypress"), "run", "--spec", ",".join(specs)]
        argv += ["--reporter", "junit", "--reporter-options", f"mochaFile={reports}/result-[hash].xml"]
        return Invocation(argv, reports, "junit-dir")

    def read(self, invocation: Invocation, files: Sequence[str], exit_code: int, output: str) -> list[TestCase] | None:
        return _read_report(invocation)


class CommandRunner:
    """Any command as an argument list template (never a shell string).

    `{files}` must be a whole argument: it becomes one argument per file. `{grep}` is replaced by the selected
    tags joined with `|`; an argument holding it is dropped when there is no tag. `{junit}` is the path the
    command should write JUnit XML to; without it, each file's outcome is the command's exit code.
    """

    name: RunnerName = "command"
    native_retries = False
    kinds: frozenset[TestKind] = frozenset({"playwright", "cypress", "pytest", "js"})

    def __init__(self, template: Sequence[str], *, cwd: Path | None = None) -> None:
        if not template:
            raise ConfigError("coordinator.testCommand is empty", details={"key": "coordinator.testCommand"})
        if any("{files}" in arg and arg != "{files}" for arg in template):
            raise ConfigError(
                "coordinator.testCommand: {files} must be an argument of its own (it becomes one per file)",
                details={"key": "coordinator.testCommand"},
            )
        self.template = list(template)
        self.cwd = cwd

    def check(self) -> None:
        program = self.template[0]
        path = Path(program)
        local = (self.cwd / path) if self.cwd is not None and not path.is_absolute() else path
        if "/" in program and local.is_file():
            return
        if shutil.which(program) is None:
            raise RunnerNotInstalledError(f"the test command {program!r} is not installed or not on PATH")

    def invocation(
        self, files: Sequence[str], greps: Sequence[str], out: Path, *, retry: Sequence[TestCase] = (), retries: int = 0
    ) -> Invocation:
        report = out / "junit.xml"
        chosen = sorted({t.file for t in retry if t.file}) if retry else list(files)
        grep = "|".join(greps)
        argv: list[str] = []
        for arg in self.template:
            if arg == "{files}":
                argv.extend(chosen)
                continue
            if "{grep}" in arg and not grep:
                continue
            argv.append(arg.replace("{grep}", grep).replace("{junit}", str(report)))
        wants_junit = any("{junit}" in arg for arg in self.template)
        return Invocation(argv, report if wants_junit else None, "junit" if wants_junit else "none")

    def read(self, invocation: Invocation, files: Sequence[str], exit_code: int, output: str) -> list[TestCase] | None:
        if invocation.report_kind == "junit":
            return _read_report(invocation)
        status: Literal["passed", "failed"] = "passed" if exit_code == 0 else "failed"
        message = None if exit_code == 0 else f"the test command exited {exit_code}\n{output[-2000:]}"
        return [TestCase(id=file, name=file, file=file, status=status, message=message) for file in files]


def runner_for(
    name: Literal["auto", "playwright", "cypress", "pytest", "command"],
    root: Path,
    *,
    test_command: Sequence[str] | None = None,
    kinds: Sequence[TestKind] = (),
) -> Runner:
    """The runner the config asks for; `auto`: the test command when configured, else Playwright when the project
    has it, else Cypress, else pytest (by the test files found: `kinds`)."""
    if name == "command" or (name == "auto" and test_command):
        if not test_command:
            raise ConfigError(
                "coordinator.runner is command but coordinator.testCommand is not set",
                details={"key": "coordinator.testCommand"},
            )
        return CommandRunner(test_command, cwd=root)
    if name == "playwright":
        return PlaywrightRunner(root)
    if name == "cypress":
        return CypressRunner(root)
    if name == "pytest":
        return PytestRunner()
    present = set(kinds)
    has_playwright = any(root.glob("playwright.config.*"))
    has_cypress = any(root.glob("cypress.config.*")) or (root / "cypress.json").is_file()
    if "playwright" in present or (has_playwright and "cypress" not in present):
        return PlaywrightRunner(root)
    if "cypress" in present or has_cypress:
        return CypressRunner(root)
    return PytestRunner()
