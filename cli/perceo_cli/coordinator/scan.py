"""Find a project's tests and read, from their source, the URLs they visit and their titles.

Reading is by pattern over the source text, line by line: a call that navigates or requests (`page.goto`,
`cy.visit`, `cy.request`, `client.get`, `requests.post`, `driver.get`, …) whose argument holds a string that
looks like a path or URL (`"/cart"`, `` `${base}/products/${id}` ``, `f"{BASE}/checkout"`, `base + "/x"`,
`"http://localhost:3000/cart"`). Interpolations become parameter segments (`/products/:param`), so they match
route patterns. A pattern scan, not a parser: it reads what tests almost always write, quickly (a few ms per
hundred files), and says where each URL came from so a wrong link can be seen and fixed in the config.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

TestKind = Literal["playwright", "cypress", "pytest", "js"]

#: Folders never searched for tests.
IGNORED_DIRS = frozenset({
    "node_modules", ".git", ".hg", ".venv", "venv", ".tox", ".nox", "__pycache__", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", "dist", "build", ".next", ".nuxt", ".svelte-kit", ".output", ".perceo", "coverage",
    "playwright-report", "test-results", ".turbo", ".cache",
})  # fmt: skip
#: Largest test file read (bigger files are generated fixtures, not tests).
MAX_TEST_FILE_BYTES = 1_000_000

_JS_EXT = r"(?:ts|tsx|js|jsx|mjs|cjs|mts|cts)"
_JS_TEST = re.compile(rf"\.(?:spec|test|cy|e2e)\.{_JS_EXT}$")
_PY_TEST = re.compile(r"(?:^test_.*|.*_test)\.py$")

#: A call that navigates or sends a request, up to its opening parenthesis.
_CALL = re.compile(
    r"(?P<call>\b(?:cy\.(?:visit|request)|[\w$.\]\)]*?\.(?:goto|visit|navigate|open|get|post|put|patch|delete|head"
    r"|fetch|request)|fetch|visit|goto))\s*\(",
)
#: A string literal: JS quotes and template literals, Python (f-/r-/b-) strings.
_LITERAL = re.compile(r"""(?P<prefix>\b[fFrRbBuU]{1,2})?(?P<quote>["'`])(?P<body>(?:\\.|(?!(?P=quote)).)*)(?P=quote)""")
_JS_INTERPOLATION = re.compile(r"\$\{[^}]*\}")
_PY_INTERPOLATION = re.compile(r"\{[^{}]*\}")
_LEADING_EXPR = re.compile(r"^(?:\$\{[^}]*\}|\{[^{}]*\})+")

_JS_TITLE = re.compile(
    r"""\b(?P<kind>test|it|specify|describe|context)(?:\.(?:only|skip|fixme|fail|slow|serial|parallel|describe))*"""
    r"""\s*\(\s*(?P<quote>["'`])(?P<title>(?:\\.|(?!(?P=quote)).)*)(?P=quote)(?P<rest>.*)$"""
)
_PY_TITLE = re.compile(r"^\s*(?:async\s+)?def\s+(?P<title>test\w*)\s*\(")
_PY_CLASS = re.compile(r"^\s*class\s+(?P<title>Test\w*)")
_PY_MARK = re.compile(r"^\s*@pytest\.mark\.\w+\((?P<args>.*)\)\s*$")
_DOCSTRING = re.compile(r"""^\s*[rRuU]?(?:\"\"\"|''')(?P<text>.*?)(?:\"\"\"|''')?\s*$""")


@dataclass(frozen=True)
class VisitedUrl:
    line: int
    #: As written in the source (the string literal's content).
    raw: str
    #: The path it visits, interpolations as parameters: `/products/:param`.
    path: str
    call: str


@dataclass(frozen=True)
class TestTitle:
    __test__ = False  # not a pytest test class

    line: int
    #: The title, or for pytest the function name (a docstring's first line and marker arguments count too).
    text: str


@dataclass
class TestFile:
    __test__ = False  # not a pytest test class

    #: Relative to the project root, with forward slashes.
    path: str
    kind: TestKind
    titles: list[TestTitle] = field(default_factory=list)
    visits: list[VisitedUrl] = field(default_factory=list)


def discover_test_files(root: Path, *, under: Sequence[str] = ()) -> list[TestFile]:
    """Every test file under `root` (or only under the relative folders `under`), scanned, sorted by path."""
    files = []
    starts = [root / folder for folder in under] if under else [root]
    for path in sorted({p for start in starts for p in _walk(start)}):
        relative = path.relative_to(root).as_posix()
        scanned = scan_test_file(path, relative)
        if scanned is not None:
            files.append(scanned)
    return files


def is_test_file(name: str) -> bool:
    return bool(_JS_TEST.search(name) or _PY_TEST.match(name))


def _walk(start: Path) -> Iterator[Path]:
    if start.is_file():
        yield start
        return
    for folder, dirs, names in os.walk(start):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_DIRS and not d.startswith("."))
        for name in names:
            if is_test_file(name):
                yield Path(folder) / name


def scan_test_file(path: Path, relative: str) -> TestFile | None:
    """The file's kind, titles and visited URLs; None when it is not a readable test file."""
    try:
        if path.stat().st_size > MAX_TEST_FILE_BYTES:
            return None
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if path.suffix == ".py":
        return TestFile(relative, "pytest", list(_python_titles(text)), list(_visits(text, python=True)))
    return TestFile(relative, _js_kind(relative, text), list(_js_titles(text)), list(_visits(text, python=False)))


def _js_kind(relative: str, text: str) -> TestKind:
    if ".cy." in relative or relative.startswith("cypress/") or "/cypress/" in relative or "cy.visit(" in text:
        return "cypress"
    if "@playwright/test" in text or "from 'playwright" in text or 'from "playwright' in text:
        return "playwright"
    return "js"


def _js_titles(text: str) -> Iterator[TestTitle]:
    for number, line in enumerate(text.splitlines(), start=1):
        match = _JS_TITLE.search(line)
        if match:
            # Playwright's `{ tag: '@x' }` option sits after the title on the same line: keep it with the title
            tags = re.findall(r"@[\w:./-]+", match.group("rest"))
            yield TestTitle(number, " ".join([match.group("title"), *tags]))


def _python_titles(text: str) -> Iterator[TestTitle]:
    lines = text.splitlines()
    for index, line in enumerate(lines):
        number = index + 1
        match = _PY_TITLE.match(line) or _PY_CLASS.match(line)
        if match:
            title = match.group("title")
            following = lines[index + 1] if index + 1 < len(lines) else ""
            doc = _DOCSTRING.match(following)
            yield TestTitle(number, f"{title} {doc.group('text').strip()}" if doc else title)
            continue
        mark = _PY_MARK.match(line)
        if mark:
            yield TestTitle(number, mark.group("args"))


def _visits(text: str, *, python: bool) -> Iterator[VisitedUrl]:
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip()
        if stripped.startswith(("#", "//", "*")):
            continue
        for call in _CALL.finditer(line):
            literal = _first_path_literal(line[call.end() :], python=python)
            if literal is not None:
                raw, path = literal
                yield VisitedUrl(number, raw, path, call.group("call"))


def _first_path_literal(args: str, *, python: bool) -> tuple[str, str] | None:
    """The first string literal among the call's arguments (on this line) that reads as a path or URL."""
    depth = 0
    position = 0
    while position < len(args):
        char = args[position]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return None  # the call's closing parenthesis: no path literal among its arguments
            depth -= 1
        elif char in "\"'`" or (char.isalpha() and python):
            match = _LITERAL.match(args, position)
            if match:
                path = to_path(match.group("body"), template=match.group("quote") == "`" or _is_f(match))
                if path is not None:
                    return match.group("body"), path
                position = match.end()
                continue
        position += 1
    return None


def _is_f(match: re.Match[str]) -> bool:
    return "f" in (match.group("prefix") or "").lower()


def to_path(body: str, *, template: bool) -> str | None:
    """The route-like path a URL literal visits, or None when it does not look like a path or URL."""
    text = body.strip()
    if template:
        text = _LEADING_EXPR.sub("", text)  # `${baseURL}/x`, `{base}/x`: the base is not part of the path
    if text.startswith(("http://", "https://")):
        text = urlsplit(text.replace("${", "{")).path or "/"
    if not text.startswith("/") or text.startswith("//"):
        return None
    text = text.split("#", 1)[0].split("?", 1)[0]
    if template:
        text = _JS_INTERPOLATION.sub(":param", text)
        text = _PY_INTERPOLATION.sub(":param", text)
    if not text or any(c.isspace() for c in text):
        return None
    return text if text == "/" else text.rstrip("/") or "/"


def all_titles(files: Iterable[TestFile]) -> Iterator[tuple[TestFile, TestTitle]]:
    for file in files:
        for title in file.titles:
            yield file, title
