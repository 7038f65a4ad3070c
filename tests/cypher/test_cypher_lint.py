"""Every Cypher constant of the flow graph passes Neo4j's own linter (`@neo4j-cypher/language-support`).

No Neo4j server runs here, so Neo4j's parser and semantic checks come from its language-support package, run
with node in one process over every constant (tests/cypher/lint.mjs, versions pinned by package-lock.json). The
same shared queries run on FalkorDB in tests/integration/graph (the flow-graph contract tests), so together they
hold the text to the subset both engines run. Fails on any error; warnings are listed, not failed.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import perceo.graph

pytestmark = pytest.mark.xdist_group("cypher-lint")  # one worker lints once for both tests

HERE = Path(__file__).resolve().parent
#: A statement starts with one of these clauses (anything else in the graph modules is not Cypher).
_CYPHER_START = re.compile(r"^\s*(MATCH|OPTIONAL MATCH|MERGE|CREATE|UNWIND|RETURN|WITH|CALL|SHOW|DROP)\b")
NPM_CI_TIMEOUT_S = 300
LINT_TIMEOUT_S = 600  # the linter is CPU-heavy (~30 s of CPU for ~70 statements); a loaded CI machine is slower


def _statements(value: Any) -> list[str]:
    """The Cypher statements in a module-level value: a string, or strings inside tuples/lists (DDL tables)."""
    if isinstance(value, str):
        return [value] if _CYPHER_START.match(value) else []
    if isinstance(value, tuple | list):
        return [text for item in value for text in _statements(item)]
    return []


def cypher_constants() -> dict[str, str]:
    """Every module-level Cypher constant of `perceo.graph` (public names), as `module.NAME[index]` → text."""
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(perceo.graph.__path__):
        module = importlib.import_module(f"{perceo.graph.__name__}.{info.name}")
        for name, value in vars(module).items():
            if not name.isupper() or name.startswith("_"):
                continue
            statements = _statements(value)
            for index, text in enumerate(statements):
                suffix = f"[{index}]" if len(statements) > 1 or not isinstance(value, str) else ""
                found[f"{info.name}.{name}{suffix}"] = text
    return found


def _linter() -> Path:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: Neo4j's Cypher linter runs on node (CI has it)")
    if not (HERE / "node_modules" / "@neo4j-cypher" / "language-support").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("node is here but npm is not: install npm, then run `npm ci` in tests/cypher")
        # The locked linter (package-lock.json); .ci/run installs it before the tests, this covers a fresh clone.
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            check=True,
            timeout=NPM_CI_TIMEOUT_S,
            capture_output=True,
        )
    return Path(node)


def lint(queries: dict[str, str]) -> list[dict[str, Any]]:
    node = _linter()
    payload = json.dumps([{"name": name, "query": text} for name, text in queries.items()])
    done = subprocess.run(
        [str(node), str(HERE / "lint.mjs")],
        input=payload,
        capture_output=True,
        text=True,
        cwd=HERE,
        timeout=LINT_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"the linter failed to run: {done.stderr[-2000:]}"
    problems: list[dict[str, Any]] = json.loads(done.stdout)
    return problems


def test_the_shared_queries_and_the_ddl_are_found() -> None:
    constants = cypher_constants()

    shared = [name for name in constants if name.startswith("queries.")]
    assert len(shared) >= 34
    assert "queries.CREATE_PROJECT" in constants and "queries.PING" in constants
    assert any(name.startswith("neo4j.SCHEMA_STATEMENTS[") for name in constants)
    assert any(name.startswith("falkor.INDEX_STATEMENTS[") for name in constants)


#: Linted with the constants, in the same node process: proves the linter reports errors at all.
CANARY = {"canary.MISSING_PAREN": "MATCH (f:Flow {projectId: $projectId} RETURN f"}


@pytest.fixture(scope="module")
def problems() -> list[dict[str, Any]]:
    """The linter's findings over every constant and the canary (one node process: the linter is CPU-heavy)."""
    return lint({**cypher_constants(), **CANARY})


def test_every_cypher_constant_passes_neo4js_linter(problems: list[dict[str, Any]]) -> None:
    errors = [p for p in problems if p["severity"] == 1 and p["name"] not in CANARY]
    warnings = [p for p in problems if p["severity"] != 1]
    for warning in warnings:
        print(f"warning: {warning['name']}:{warning['line']}:{warning['column']}: {warning['message']}")
    assert errors == [], "\n".join(f"{p['name']}:{p['line']}:{p['column']}: {p['message']}" for p in errors)


def test_the_linter_catches_a_broken_query(problems: list[dict[str, Any]]) -> None:
    [missing_paren] = [p for p in problems if p["name"] in CANARY and p["severity"] == 1][:1]

    assert (missing_paren["line"], missing_paren["column"]) == (1, 39)
    assert "RETURN" in missing_paren["message"]
