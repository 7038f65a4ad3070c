"""Issue 13, class 10, the parts: which exports a diff hunk changes (tree-sitter), which names an importer takes."""

from __future__ import annotations

import pytest

from perceo.observer.facts.index import thread_extractor
from perceo.observer.symbols import changed_exports, hunk_lines, importer_use, symbol_scope

MODULE = b"""\
import { helper } from "./helper";
import type { Money } from "./money";

const RATE = 1.2;

function gross(value: number): number {
  return value * RATE;
}

export function price(value: number): string {
  return gross(value).toFixed(2);
}

export const { low, high: [top] } = ranges();

export class Cart {
  total(): number { return helper(); }
}

export type Amount = Money;

function local() { return 1; }

export { local as renamed };

export default function Page() { return null; }
"""


def line_of(text: bytes, needle: bytes) -> int:
    return text[: text.index(needle)].count(b"\n") + 1


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        (b"return gross(value)", {"price"}),  # the export's own body
        (b"return value * RATE", {"price"}),  # a helper: through every export that uses it
        (b"const RATE", {"price"}),  # a constant: through the helper to the export
        (b"total(): number", {"Cart"}),
        (b"export const { low", {"low", "top"}),  # destructuring binds `low` and `top`, not `high`
        (b"export type Amount", {"Amount"}),
        (b'import type { Money } from "./money"', {"Amount"}),  # a changed import: through the code that uses it
        (b'import { helper } from "./helper"', {"Cart"}),
        (b"function local()", {"renamed"}),  # `export { local as renamed }`
        (b"export default function Page", {"default"}),
    ],
)
def test_the_changed_exports_of_a_hunk(needle: bytes, expected: set[str]) -> None:
    line = line_of(MODULE, needle)
    found = changed_exports(MODULE, "ts", [line])
    assert found is not None and set(found) == expected
    assert all(first == line for first in found.values())


def test_blank_lines_and_comments_change_no_export() -> None:
    source = b"// a comment\nexport const a = 1;\n\n/** docs */\nexport const b = 2;\n"
    assert changed_exports(source, "ts", [1, 3, 4]) == {}


@pytest.mark.parametrize(
    ("source", "line"),
    [
        (b"export const a = 1;\nconsole.log(a);\n", 2),  # top-level code runs at import time
        (b"export let a = 1;\nsetup(a);\n", 1),  # a changed value used by top-level code
        (b'import "./polyfill";\nexport const a = 1;\n', 1),  # a side-effect import
        (b"const a = 1;\nmodule.exports = { a };\n", 1),  # CommonJS
        (b"const a = 1;\nwindow.a = a;\n", 1),  # no exports: imported for its side effects
        (b"export const a = ;\n", 1),  # does not parse
        (b'export * from "./x";\nexport const a = 1;\n', 1),  # `export *` changed: names unknown
    ],
)
def test_what_cannot_be_pinned_to_exports(source: bytes, line: int) -> None:
    assert changed_exports(source, "ts", [line]) is None


def test_hunk_lines_of_a_zero_context_diff() -> None:
    diff = b"""diff --git a/src/a.ts b/src/a.ts
index 1..2 100644
--- a/src/a.ts
+++ b/src/a.ts
@@ -3 +3 @@ export
-a
+b
@@ -10,2 +9,0 @@
-x
-y
@@ -20,0 +19,3 @@
+p
+q
+r
diff --git a/gone.ts b/gone.ts
--- a/gone.ts
+++ /dev/null
@@ -1 +0,0 @@
-z
"""
    assert hunk_lines(diff) == {"src/a.ts": ({3, 10, 11}, {3, 19, 20, 21})}


def facts_of(source: str, kind: str = "tsx"):  # type: ignore[no-untyped-def]
    return thread_extractor().extract(kind, source.encode())


def test_what_an_importer_takes_from_a_module() -> None:
    resolve = {"./lib": "lib/index.ts", "./other": "other.ts"}.get
    named = importer_use(
        facts_of('import A, { b, c as d } from "./lib";\nimport x from "./other";\n'), resolve, "lib/index.ts"
    )
    assert named.names == {"default", "b", "c"} and named.passthrough == ()
    barrel = importer_use(
        facts_of('export { a as b } from "./lib";\nexport * from "./lib";\n'), resolve, "lib/index.ts"
    )
    assert barrel.names == frozenset() and set(barrel.passthrough) == {("a", "b"), ("*", "*")}
    for whole in (
        'import * as lib from "./lib";\n',  # namespace
        'import "./lib";\n',  # side effect
        'const Lazy = lazy(() => import("./lib"));\n',  # dynamic
        'export * as lib from "./lib";\n',  # a namespace re-export
        'import x from "./nowhere";\n',  # the edge comes from no specifier the facts show
    ):
        assert importer_use(facts_of(whole), resolve, "lib/index.ts").names is None, whole


def test_the_walk_through_barrels_stops_at_the_importers_of_a_changed_name() -> None:
    sources = {
        "lib/index.ts": 'export { price, date } from "./format";\nexport * from "./text";\n',
        "lib/text.ts": "export const t = 1;\n",
        "a.tsx": 'import { price } from "./lib";\n',
        "b.tsx": 'import { date } from "./lib";\n',
        "c.tsx": 'import { price as p } from "./lib/format";\n',
        "page.tsx": 'export { date } from "./lib";\n',  # a route file that re-exports: counts as a whole
    }
    facts = {path: facts_of(text) for path, text in sources.items()}
    targets = {
        ("lib/index.ts", "./format"): "lib/format.ts",
        ("lib/index.ts", "./text"): "lib/text.ts",
        ("a.tsx", "./lib"): "lib/index.ts",
        ("b.tsx", "./lib"): "lib/index.ts",
        ("c.tsx", "./lib/format"): "lib/format.ts",
        ("page.tsx", "./lib"): "lib/index.ts",
    }
    importers = {"lib/format.ts": ["lib/index.ts", "c.tsx"], "lib/index.ts": ["a.tsx", "b.tsx", "page.tsx"]}
    scope = symbol_scope(
        "lib/format.ts",
        {"price": 3},
        importers,
        facts.get,
        lambda importer, spec: targets.get((importer, spec)),
        lambda file: file == "page.tsx",
    )
    assert scope is not None
    assert {(s.file, s.via, s.symbols) for s in scope.seeds} == {
        ("a.tsx", ("lib/format.ts", "lib/index.ts"), ("price",)),
        ("c.tsx", ("lib/format.ts",), ("price",)),
    }
    date = symbol_scope(
        "lib/format.ts",
        {"date": 5},
        importers,
        facts.get,
        lambda importer, spec: targets.get((importer, spec)),
        lambda file: file == "page.tsx",
    )
    assert date is not None
    assert {s.file for s in date.seeds} == {"b.tsx", "page.tsx"}
