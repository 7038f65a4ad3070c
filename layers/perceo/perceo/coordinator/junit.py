"""JUnit XML: read what runners write (and what CI uploads), write what CI systems read.

Reading uses the standard library's ElementTree through `defusedxml`, which refuses DTDs, entity expansion and
external references: uploads are untrusted input parsed inside a Lambda. We keep the mapping to `TestCase` here
(about a hundred lines) rather than use a JUnit library, because the dialects differ in small ways we must
handle ourselves anyway: pytest's `file`/`line` attributes (xunit1), Surefire's `flakyFailure`/`rerunFailure`,
Jenkins' `[[ATTACHMENT|path]]` lines, and runners that list a retried test once per attempt.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # builds documents only; parsing goes through defusedxml
from collections import defaultdict
from collections.abc import Iterable
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from perceo.coordinator.model import SuiteReport, clip
from perceo.errors import InvalidReportError
from perceo.models.runs import TestCase
from perceo.models.vocab import TestOutcome

#: Largest report read (a JUnit file of 50 MB holds hundreds of thousands of tests).
MAX_REPORT_BYTES = 50 * 1024 * 1024

_RESULT_TAGS: dict[str, TestOutcome] = {"failure": "failed", "error": "error", "skipped": "skipped"}
#: Surefire's record of failed attempts: `flaky*` on a test that passed in the end, `rerun*` on one that did not.
_FLAKY_TAGS = ("flakyFailure", "flakyError")
_RERUN_TAGS = ("rerunFailure", "rerunError")
_ATTACHMENT = re.compile(r"\[\[ATTACHMENT\|([^\]\r\n]+)\]\]")


def parse_junit(data: bytes | str, *, source: str = "the JUnit report") -> list[TestCase]:
    """The tests of a JUnit XML document, one per test id (attempts of a retried test are merged).

    InvalidReportError names `source` when the document is not well-formed JUnit XML or is too large.
    """
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_REPORT_BYTES:
        raise InvalidReportError(
            f"{source} is larger than {MAX_REPORT_BYTES // (1024 * 1024)} MB", details={"source": source}
        )
    try:
        root = fromstring(raw, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException) as error:
        raise InvalidReportError(f"{source} is not valid XML: {error}", details={"source": source}) from None
    if root.tag not in ("testsuites", "testsuite"):
        raise InvalidReportError(
            f"{source} is not JUnit XML: its root element is <{root.tag}>, not <testsuites> or <testsuite>",
            details={"source": source},
        )
    attempts: dict[str, list[TestCase]] = defaultdict(list)
    for element, suite_file in _testcases(root, None):
        case = _case(element, source, suite_file)
        attempts[case.id].append(case)
    return [merge_attempts(cases) for cases in attempts.values()]


def _testcases(element: Element, suite_file: str | None) -> Iterable[tuple[Element, str | None]]:
    """Every <testcase> with the `file` of its nearest enclosing suite (Mocha/Cypress name the file there)."""
    for child in element:
        if child.tag == "testcase":
            yield child, suite_file
        elif child.tag in ("testsuite", "testsuites"):
            yield from _testcases(child, child.get("file") or suite_file)


def merge_attempts(cases: list[TestCase]) -> TestCase:
    """One test from its attempts in run order: the last attempt's status; flaky when it passed after a failure."""
    last = cases[-1]
    if len(cases) == 1:
        return last
    failed_before = any(c.status in ("failed", "error") for c in cases[:-1]) or any(c.flaky for c in cases)
    message = last.message or next((c.message for c in reversed(cases) if c.message), None)
    return last.model_copy(
        update={
            "attempts": sum(c.attempts for c in cases),
            "flaky": last.status == "passed" and failed_before,
            "duration_ms": sum(c.duration_ms for c in cases),
            "message": message,
            "artifacts": list(dict.fromkeys(a for c in cases for a in c.artifacts)),
        }
    )


def _case(element: Element, source: str, suite_file: str | None) -> TestCase:
    name = element.get("name") or ""
    classname = element.get("classname") or ""
    file = element.get("file") or suite_file or None
    status: TestOutcome = "passed"
    message: str | None = None
    flaky_attempts = rerun_attempts = 0
    for child in element:
        tag = child.tag
        if tag in _RESULT_TAGS and status == "passed":
            status = _RESULT_TAGS[tag]
            message = _message(child)
        elif tag in _FLAKY_TAGS:
            flaky_attempts += 1
            message = message or _message(child)
        elif tag in _RERUN_TAGS:
            rerun_attempts += 1
    artifacts = [m.strip() for text in _outputs(element) for m in _ATTACHMENT.findall(text)]
    return TestCase(
        id=case_id(file, classname, name),
        name=name or classname or "(unnamed test)",
        file=file,
        line=_int(element.get("line")),
        status=status,
        flaky=status == "passed" and flaky_attempts > 0,
        attempts=1 + flaky_attempts + rerun_attempts,
        duration_ms=_ms(element.get("time"), source),
        message=clip(message),
        artifacts=list(dict.fromkeys(artifacts)),
    )


def case_id(file: str | None, classname: str, name: str) -> str:
    """A test's identity: pytest's node id when the report names the file (`tests/test_a.py::TestX::test_b`),
    else `classname::name`."""
    if file:
        module = file.removesuffix(".py").replace("/", ".").replace("\\", ".")
        rest = classname[len(module) :].lstrip(".") if classname.startswith(module) else ""
        parts = [file, *rest.split(".")] if rest else [file]
        return "::".join([*parts, name])
    return f"{classname}::{name}" if classname else name


def _message(element: Element) -> str | None:
    head = element.get("message") or ""
    body = (element.text or "").strip()
    text = f"{head}\n{body}" if head and body and not body.startswith(head) else (body or head)
    return text or None


def _outputs(element: Element) -> Iterable[str]:
    for tag in ("system-out", "system-err"):
        for child in element.iter(tag):
            if child.text:
                yield child.text


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _ms(value: str | None, source: str) -> int:
    if not value:
        return 0
    try:
        seconds = float(value.replace(",", ""))  # some runners write 1,234.5
    except ValueError:
        raise InvalidReportError(f"{source} has a test time that is not a number: {value!r}") from None
    return max(0, round(seconds * 1000))


def write_junit(report: SuiteReport) -> bytes:
    """The report as JUnit XML: one <testsuite> per file; a flaky test passes with a `flakyFailure` child
    (Surefire's form, which Jenkins and GitLab read); each test lists the flows it guards as properties."""
    by_file: dict[str, list[TestCase]] = defaultdict(list)
    for test in report.tests:
        by_file[test.file or "(no file)"].append(test)
    root = Element("testsuites", _counts(report.tests, name="perceo", duration_ms=report.duration_ms))
    for file, tests in sorted(by_file.items()):
        counts = _counts(tests, name=file, duration_ms=sum(t.duration_ms for t in tests))
        suite = ET.SubElement(root, "testsuite", counts)
        for test in tests:
            suite.append(_case_element(test))
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _counts(tests: list[TestCase], *, name: str, duration_ms: int) -> dict[str, str]:
    return {
        "name": name,
        "tests": str(len(tests)),
        "failures": str(sum(t.status == "failed" for t in tests)),
        "errors": str(sum(t.status == "error" for t in tests)),
        "skipped": str(sum(t.status == "skipped" for t in tests)),
        "time": f"{duration_ms / 1000:.3f}",
    }


def _case_element(test: TestCase) -> Element:
    attrs = {"name": test.name, "classname": test.file or test.id, "time": f"{test.duration_ms / 1000:.3f}"}
    if test.file:
        attrs["file"] = test.file
    if test.line is not None:
        attrs["line"] = str(test.line)
    case = Element("testcase", attrs)
    if test.flow_ids:
        properties = ET.SubElement(case, "properties")
        for flow_id in test.flow_ids:
            ET.SubElement(properties, "property", {"name": "perceo.flow", "value": flow_id})
    message = test.message or ""
    if test.status == "failed":
        ET.SubElement(case, "failure", {"message": message.split("\n", 1)[0]}).text = message
    elif test.status == "error":
        ET.SubElement(case, "error", {"message": message.split("\n", 1)[0]}).text = message
    elif test.status == "skipped":
        ET.SubElement(case, "skipped", {"message": message} if message else {})
    elif test.flaky:
        for _ in range(max(1, test.attempts - 1)):
            ET.SubElement(case, "flakyFailure", {"message": message.split("\n", 1)[0]}).text = message
    if test.artifacts:
        ET.SubElement(case, "system-out").text = "\n".join(f"[[ATTACHMENT|{a}]]" for a in test.artifacts)
    return case
