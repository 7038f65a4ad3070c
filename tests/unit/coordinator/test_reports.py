"""Reading and writing test reports: JUnit XML (safely), Playwright JSON, the PR comment."""

from __future__ import annotations

import json

import pytest

from perceo.coordinator.junit import MAX_REPORT_BYTES, case_id, parse_junit, write_junit
from perceo.coordinator.markdown import MARKER, render_markdown
from perceo.coordinator.model import FlowOutcome, ShardResult, SuiteReport, Totals
from perceo.coordinator.playwright_report import list_playwright_specs, parse_playwright_json
from perceo.errors import InvalidReportError
from perceo.models import TestCase

PYTEST_XUNIT1 = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4">
  <testcase classname="tests.test_cart" name="test_add" file="tests/test_cart.py" line="3" time="0.250"/>
  <testcase classname="tests.test_cart.TestPay" name="test_card[visa]" file="tests/test_cart.py" line="9" time="1.5">
    <failure message="AssertionError: declined">def test_card():
&gt;   assert paid</failure>
  </testcase>
  <testcase classname="tests.test_cart" name="test_later" file="tests/test_cart.py" time="0">
    <skipped message="todo"/></testcase>
  <testcase classname="tests.test_cart" name="test_db" file="tests/test_cart.py" time="0.1">
    <error message="fixture"/></testcase>
</testsuite></testsuites>"""


def test_pytest_junit_gives_node_ids_statuses_times_and_messages() -> None:
    cases = {c.id: c for c in parse_junit(PYTEST_XUNIT1)}

    assert list(cases) == [
        "tests/test_cart.py::test_add",
        "tests/test_cart.py::TestPay::test_card[visa]",
        "tests/test_cart.py::test_later",
        "tests/test_cart.py::test_db",
    ]
    card = cases["tests/test_cart.py::TestPay::test_card[visa]"]
    assert (card.status, card.duration_ms, card.line) == ("failed", 1500, 9)
    assert card.message is not None and card.message.startswith("AssertionError: declined\ndef test_card():")
    assert [c.status for c in cases.values()] == ["passed", "failed", "skipped", "error"]


def test_surefire_flaky_and_rerun_elements_and_repeated_attempts_are_merged() -> None:
    xml = """<testsuite name="s">
      <testcase classname="a.B" name="flaky"><flakyFailure message="timeout"/></testcase>
      <testcase classname="a.B" name="broken"><failure message="x"/><rerunFailure/><rerunFailure/></testcase>
      <testcase classname="a.B" name="twice"><failure message="first"/></testcase>
      <testcase classname="a.B" name="twice"/>
    </testsuite>"""

    cases = {c.name: c for c in parse_junit(xml)}

    assert (cases["flaky"].status, cases["flaky"].flaky, cases["flaky"].attempts) == ("passed", True, 2)
    assert (cases["broken"].status, cases["broken"].flaky, cases["broken"].attempts) == ("failed", False, 3)
    assert (cases["twice"].status, cases["twice"].flaky, cases["twice"].attempts) == ("passed", True, 2)


def test_a_suite_file_is_inherited_and_attachments_are_read() -> None:
    xml = """<testsuites><testsuite name="Root Suite" file="cypress/e2e/cart.cy.js"><testsuite name="cart">
      <testcase name="cart adds" classname="adds" time="2">
        <system-out>[[ATTACHMENT|shots/cart.png]]</system-out>
      </testcase></testsuite></testsuite></testsuites>"""

    (case,) = parse_junit(xml)

    assert case.file == "cypress/e2e/cart.cy.js" and case.artifacts == ["shots/cart.png"]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("<testsuite><testcase", "not valid XML"),
        ("<html><body/></html>", "root element is <html>"),
        ('<!DOCTYPE x [<!ENTITY a "aaaa">]><testsuite><testcase name="&a;"/></testsuite>', "not valid XML"),
        ('<testsuite><testcase name="t" time="soon"/></testsuite>', "not a number"),
    ],
)
def test_bad_or_hostile_reports_are_a_clear_error(document: str, reason: str) -> None:
    with pytest.raises(InvalidReportError, match=reason):
        parse_junit(document, source="upload.xml")


def test_an_oversized_report_is_refused_before_parsing() -> None:
    with pytest.raises(InvalidReportError, match="larger than"):
        parse_junit(b" " * (MAX_REPORT_BYTES + 1))


def test_written_junit_reads_back_the_same_outcomes() -> None:
    tests = [
        TestCase(id="t/a.py::ok", name="ok", file="t/a.py", status="passed", duration_ms=10, flow_ids=["f1"]),
        TestCase(id="t/a.py::flaky", name="flaky", file="t/a.py", status="passed", flaky=True, attempts=2,
                 message="first try timed out"),
        TestCase(id="t/b.py::bad", name="bad", file="t/b.py", status="failed", message="boom <&>\nline 2"),
        TestCase(id="t/b.py::skip", name="skip", file="t/b.py", status="skipped"),
    ]  # fmt: skip
    report = SuiteReport(runner="pytest", status="failed", tests=tests, totals=Totals.of(tests))

    xml = write_junit(report)
    back = {c.name: c for c in parse_junit(xml)}

    assert xml.startswith(b"<?xml")
    assert {n: (c.status, c.flaky) for n, c in back.items()} == {
        "ok": ("passed", False), "flaky": ("passed", True), "bad": ("failed", False), "skip": ("skipped", False),
    }  # fmt: skip
    assert back["bad"].message == "boom <&>\nline 2"
    assert b'name="perceo.flow" value="f1"' in xml
    assert case_id("t/a.py", "t.a", "ok") == "t/a.py::ok"


def _playwright_report() -> dict[str, object]:
    def result(status: str, retry: int, message: str | None = None) -> dict[str, object]:
        return {"status": status, "duration": 100, "retry": retry, "attachments": [
            {"name": "screenshot", "path": f"/r/shot-{retry}.png", "contentType": "image/png"}
        ], **({"error": {"message": message}} if message else {})}  # fmt: skip

    return {
        "config": {"rootDir": "/repo/e2e"},
        "suites": [{
            "title": "cart.spec.ts", "file": "cart.spec.ts", "specs": [],
            "suites": [{"title": "cart", "file": "cart.spec.ts", "specs": [
                {"title": "adds", "file": "cart.spec.ts", "line": 4, "tags": ["@flow:checkout"], "tests": [
                    {"projectName": "chromium", "status": "flaky",
                     "results": [result("failed", 0, "Timeout 5000ms"), result("passed", 1)]}]},
                {"title": "pays", "file": "cart.spec.ts", "line": 9, "tags": [], "tests": [
                    {"projectName": "chromium", "status": "unexpected",
                     "results": [result("failed", 0, "expect(received).toBe"), result("timedOut", 1)]}]},
                {"title": "later", "file": "cart.spec.ts", "line": 12, "tags": [], "tests": [
                    {"projectName": "chromium", "status": "skipped", "results": [{"status": "skipped"}]}]},
            ]}],
        }],
    }  # fmt: skip


def test_playwright_json_gives_flaky_failed_and_skipped_with_titles_and_attachments() -> None:
    cases = {c.name: c for c in parse_playwright_json(json.dumps(_playwright_report()))}

    flaky = cases["[chromium] cart › adds"]
    assert (flaky.status, flaky.flaky, flaky.attempts, flaky.file) == ("passed", True, 2, "cart.spec.ts")
    assert flaky.message == "Timeout 5000ms" and flaky.artifacts == ["/r/shot-0.png", "/r/shot-1.png"]
    pays = cases["[chromium] cart › pays"]
    assert (pays.status, pays.attempts, pays.message) == ("failed", 2, "test timed out")
    assert cases["[chromium] cart › later"].status == "skipped"


def test_playwright_list_names_each_test_once_with_its_tags() -> None:
    specs = list_playwright_specs(json.dumps(_playwright_report()))

    assert [(s.file, s.line, s.title, s.tags) for s in specs][0] == (
        "cart.spec.ts",
        4,
        "cart › adds",
        ("@flow:checkout",),
    )
    with pytest.raises(InvalidReportError, match="not a Playwright JSON report"):
        list_playwright_specs('{"tests": []}')


def test_the_pr_comment_starts_with_its_marker_and_lists_flows_failures_and_broken_shards() -> None:
    tests = [
        TestCase(id="a::t1", name="adds | to cart", file="e2e/cart.spec.ts", line=4, status="failed",
                 message="Expected: 2\n```Received: 1```"),
        TestCase(id="a::t2", name="opens", file="e2e/home.spec.ts", status="passed", flaky=True, attempts=2),
    ]  # fmt: skip
    report = SuiteReport(
        runner="playwright", status="failed", commit_sha="0123456789abcdef", duration_ms=4200,
        tests=tests, totals=Totals.of(tests),
        flows=[FlowOutcome(flow_id="f1", name="Checkout | main", status="failed", tests=1, failed=1)],
        shards=[ShardResult(index=1, status="timed_out", message="timed out after 600 s")],
    )  # fmt: skip

    text = render_markdown(report)

    assert text.startswith(MARKER + "\n")
    assert "1 passed, 1 failed, 1 flaky · 2 tests · playwright · 4.2 s · `0123456789ab`" in text
    assert "| Checkout \\| main | ❌ failed | 1 | 1 |" in text
    assert "shard 2 timed out: timed out after 600 s" in text
    assert "**adds | to cart** (e2e/cart.spec.ts:4)" in text and "ʼʼʼReceived: 1ʼʼʼ" in text
    assert "Flaky (passed on retry): `opens`" in text


def test_an_empty_report_says_why_nothing_ran() -> None:
    report = SuiteReport(runner="pytest", status="skipped", note="no affected flow has tests")

    assert render_markdown(report) == f"{MARKER}\n### ⏭️ Perceo: flow tests skipped\n\nno affected flow has tests\n"
