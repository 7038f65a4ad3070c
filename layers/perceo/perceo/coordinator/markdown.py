"""A test report as Markdown for a pull request comment.

The first line is a marker comment, so a CI step can find and update Perceo's comment instead of adding one per
push (the way `ci analyze` marks its own comment).
"""

from __future__ import annotations

from perceo.coordinator.model import SuiteReport
from perceo.models.runs import TestCase

MARKER = "<!-- perceo:ci-test -->"
#: Failures listed in full; the rest are counted.
MAX_FAILURES_SHOWN = 20
_MESSAGE_LINES = 12

_ICON = {"passed": "✅", "failed": "❌", "error": "⚠️", "skipped": "⏭️", "running": "⏳", "pending": "⏳"}


def render_markdown(report: SuiteReport) -> str:
    """The PR comment: verdict, counts, one row per tested flow, then the failures with their messages."""
    totals = report.totals
    lines = [MARKER, f"### {_ICON[report.status]} Perceo: flow tests {report.status}", ""]
    if totals.total == 0:
        lines.append(report.note or "No test ran.")
        return "\n".join(lines) + "\n"
    counts = [f"{totals.passed} passed", f"{totals.failed} failed"]
    if totals.error:
        counts.append(f"{totals.error} errors")
    if totals.skipped:
        counts.append(f"{totals.skipped} skipped")
    if totals.flaky:
        counts.append(f"{totals.flaky} flaky")
    lines.append(
        f"{', '.join(counts)} · {totals.total} tests · {report.runner} · {_seconds(report.duration_ms)}"
        + (f" · `{report.commit_sha[:12]}`" if report.commit_sha else "")
    )
    if report.note:
        lines += ["", report.note]
    if report.flows:
        lines += ["", "| Flow | Result | Tests | Failed | Flaky | Time |", "|---|---|---:|---:|---|---:|"]
        for flow in report.flows:
            lines.append(
                f"| {_cell(flow.name)} | {_ICON[flow.status]} {flow.status} | {flow.tests} | {flow.failed} "
                f"| {'yes' if flow.flaky else ''} | {_seconds(flow.duration_ms)} |"
            )
    broken_shards = [s for s in report.shards if s.status != "completed"]
    if broken_shards:
        lines += ["", "**Shards that did not complete**", ""]
        for shard in broken_shards:
            lines.append(f"- shard {shard.index + 1} {shard.status.replace('_', ' ')}: {_cell(shard.message or '')}")
    failures = [t for t in report.tests if t.status in ("failed", "error")]
    if failures:
        lines += ["", f"<details><summary>{len(failures)} failing test(s)</summary>", ""]
        for test in failures[:MAX_FAILURES_SHOWN]:
            lines += _failure(test)
        if len(failures) > MAX_FAILURES_SHOWN:
            lines.append(f"… and {len(failures) - MAX_FAILURES_SHOWN} more (see the JUnit report).")
        lines += ["", "</details>"]
    flaky = [t for t in report.tests if t.flaky]
    if flaky:
        lines += ["", "Flaky (passed on retry): " + ", ".join(f"`{_inline(t.name)}`" for t in flaky[:20])]
    return "\n".join(lines) + "\n"


def _failure(test: TestCase) -> list[str]:
    where = f" ({_inline(test.file)}{f':{test.line}' if test.line else ''})" if test.file else ""
    message = (test.message or test.status).splitlines()[:_MESSAGE_LINES]
    body = "\n".join(message).replace("```", "ʼʼʼ")
    return [f"**{_inline(test.name)}**{where}", "", "```", body, "```", ""]


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.1f} s"


def _cell(text: str) -> str:
    return _inline(text).replace("|", "\\|")


def _inline(text: str) -> str:
    return " ".join(text.split()).replace("<", "&lt;").replace(">", "&gt;")
