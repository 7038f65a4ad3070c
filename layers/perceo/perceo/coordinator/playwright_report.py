"""Playwright's JSON report (`--reporter=json`): the results of a run, or the tests of `--list`.

Playwright retries tests itself and says so: a test's `status` is `expected`, `unexpected`, `flaky` or `skipped`,
with one result per attempt. Files are relative to the report's `config.rootDir`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from perceo.coordinator.model import clip
from perceo.errors import InvalidReportError
from perceo.models.runs import TestCase
from perceo.models.vocab import TestOutcome

MAX_REPORT_BYTES = 50 * 1024 * 1024
_TITLE_SEPARATOR = " › "  # what Playwright prints between a describe() and its test


@dataclass(frozen=True)
class ListedSpec:
    """A test as `playwright test --list --reporter=json` names it."""

    file: str
    line: int | None
    title: str
    tags: tuple[str, ...] = field(default_factory=tuple)


def load_report(data: bytes | str, *, source: str = "the Playwright JSON report") -> Mapping[str, Any]:
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_REPORT_BYTES:
        raise InvalidReportError(f"{source} is larger than {MAX_REPORT_BYTES // (1024 * 1024)} MB")
    try:
        report = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidReportError(f"{source} is not JSON: {error}", details={"source": source}) from None
    if not isinstance(report, dict) or not isinstance(report.get("suites"), list):
        raise InvalidReportError(
            f"{source} is not a Playwright JSON report (no `suites` list)", details={"source": source}
        )
    return report


def parse_playwright_json(data: bytes | str, *, source: str = "the Playwright JSON report") -> list[TestCase]:
    """Every test of the report, one per (project, test); Playwright's own retries give `attempts` and `flaky`."""
    report = load_report(data, source=source)
    cases: list[TestCase] = []
    for titles, spec in _specs(report["suites"]):
        for test in _list(spec.get("tests")):
            cases.append(_case(titles, spec, test))
    return cases


def list_playwright_specs(data: bytes | str, *, source: str = "playwright test --list") -> list[ListedSpec]:
    """The tests `playwright test --list --reporter=json` found, once per (file, title) whatever the projects."""
    report = load_report(data, source=source)
    seen: dict[tuple[str, str], ListedSpec] = {}
    for titles, spec in _specs(report["suites"]):
        file = str(spec.get("file") or "")
        title = _TITLE_SEPARATOR.join([*titles, str(spec.get("title") or "")])
        tags = tuple(str(t) for t in _list(spec.get("tags")))
        seen.setdefault((file, title), ListedSpec(file=file, line=_int(spec.get("line")), title=title, tags=tags))
    return list(seen.values())


def _specs(suites: list[Any], titles: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Mapping[str, Any]]]:
    for suite in suites:
        if not isinstance(suite, dict):
            continue
        title = str(suite.get("title") or "")
        # the top suite of a file is titled by the file's path: not part of a test's title
        inner = titles if not titles and title == suite.get("file") else (*titles, title) if title else titles
        for spec in _list(suite.get("specs")):
            if isinstance(spec, dict):
                yield inner, spec
        yield from _specs(_list(suite.get("suites")), inner)


def _case(titles: tuple[str, ...], spec: Mapping[str, Any], test: Mapping[str, Any]) -> TestCase:
    file = str(spec.get("file") or "") or None
    title = _TITLE_SEPARATOR.join([*titles, str(spec.get("title") or "")])
    project = str(test.get("projectName") or "")
    name = f"[{project}] {title}" if project else title
    results = [r for r in _list(test.get("results")) if isinstance(r, dict)]
    outcome = str(test.get("status") or "")
    status: TestOutcome
    if outcome == "skipped" or (not results and outcome != "unexpected"):
        status = "skipped"
    elif outcome in ("expected", "flaky"):
        status = "passed"
    elif results and all(r.get("status") == "interrupted" for r in results[-1:]):
        status = "error"
    else:
        status = "failed"
    failing = [r for r in results if r.get("status") not in ("passed", "skipped")]
    message = _error_text(failing[-1]) if failing else None
    attachments = [a for r in results for a in _list(r.get("attachments")) if isinstance(a, dict)]
    artifacts = [str(a["path"]) for a in attachments if a.get("path")]
    return TestCase(
        id=f"{file or ''}::{name}",
        name=name,
        file=file,
        line=_int(spec.get("line")),
        status=status,
        flaky=outcome == "flaky",
        attempts=max(1, len(results)),
        duration_ms=sum(max(0, _int(r.get("duration")) or 0) for r in results),
        message=clip(message) if status != "passed" or outcome == "flaky" else None,
        artifacts=list(dict.fromkeys(artifacts)),
    )


def _error_text(result: Mapping[str, Any]) -> str | None:
    error = result.get("error")
    text = error.get("message") if isinstance(error, dict) else None
    if not text and result.get("status") == "timedOut":
        text = "test timed out"
    return str(text) if text else str(result.get("status") or "failed")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
