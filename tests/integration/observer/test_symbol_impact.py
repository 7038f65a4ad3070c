"""Issue 13, class 10: symbol-level impact, on a real git repository through `perceo ci analyze`.

A change to one export of a module (or of a barrel it is re-exported from) affects only the routes whose code
imports that export; the reasons name it. Anything the analysis cannot pin to exports (top-level side effects, a
namespace or dynamic import, a file that does not parse) counts as the whole file, as before.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from perceo_cli.context import AppContext
from perceo_cli.exit import ExitStatus
from perceo_cli.main import main

FORMAT = """\
export const LOCALE = "en-US";

function pad(value: number): string {
  return String(value).padStart(2, "0");
}

export function formatPrice(cents: number): string {
  return new Intl.NumberFormat(LOCALE, { style: "currency", currency: "USD" }).format(cents / 100);
}

export function formatDate(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function unused(): number {
  return 1;
}
"""
STRINGS = """\
export function slug(text: string): string {
  return text.toLowerCase().replace(/\\s+/g, "-");
}

export function title(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
"""
APP = {
    "package.json": '{"name": "shop", "dependencies": {"next": "14.0.0", "react": "18.2.0"}}\n',
    "app/layout.tsx": "export default function Layout({ children }) { return children }\n",
    "src/lib/format.ts": FORMAT,
    "src/lib/strings.ts": STRINGS,
    "src/lib/index.ts": 'export { formatPrice, formatDate } from "./format";\nexport * from "./strings";\n',
    "app/page.tsx": (
        'import { slug } from "../src/lib";\nexport default function Home() { return <p>{slug("A b")}</p> }\n'
    ),
    "app/cart/page.tsx": (
        'import { formatPrice } from "../../src/lib";\n'
        "export default function Cart() { return <p>{formatPrice(100)}</p> }\n"
    ),
    "app/profile/page.tsx": (
        'import { formatDate as day } from "../../src/lib";\n'
        "export default function Profile() { return <p>{day(new Date())}</p> }\n"
    ),
    "app/admin/page.tsx": (
        'import * as format from "../../src/lib/format";\n'
        "export default function Admin() { return <p>{format.LOCALE}</p> }\n"
    ),
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def commit(repo: Path, message: str, files: dict[str, str]) -> None:
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("PERCEO_CONFIG_PATH", raising=False)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    repo = tmp_path / "shop"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dev@example.com")
    git(repo, "config", "user.name", "Dev")
    commit(repo, "shop", APP)
    git(repo, "checkout", "-q", "-b", "feature")
    return repo


def analyze(repo: Path, *args: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    stdout, stderr = io.StringIO(), io.StringIO()
    from perceo_cli.output import Output

    code = main(
        ["-C", str(repo), "ci", "analyze", "--base", "main", "--json", *args],
        context=AppContext(output=Output(stdout, stderr)),
    )
    return code, json.loads(stdout.getvalue()), stderr.getvalue()


def routes(doc: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {r["route"]: r for r in doc["affectedRoutes"]}


def change(doc: dict, path: str) -> dict:  # type: ignore[type-arg]
    return next(c for c in doc["changes"] if c["path"] == path)


def edit(source: str, old: str, new: str) -> str:
    assert old in source
    return source.replace(old, new)


def test_one_export_of_a_barrel_affects_only_its_importers_and_the_reason_names_it(shop: Path) -> None:
    commit(shop, "price", {"src/lib/format.ts": edit(FORMAT, "cents / 100", "cents / 100.0")})
    code, doc, err = analyze(shop)
    assert code == ExitStatus.OK, err
    # /profile imports formatDate and / imports slug through the same barrel: not affected
    assert set(routes(doc)) == {"/cart", "/admin"}
    assert change(doc, "src/lib/format.ts")["symbols"] == ["formatPrice"]
    assert change(doc, "src/lib/format.ts")["symbolImporters"] == 2
    [reason] = routes(doc)["/cart"]["reasons"]
    assert reason["chain"] == ["src/lib/format.ts", "src/lib/index.ts", "app/cart/page.tsx"]
    assert reason["kind"] == "import" and reason["symbols"] == ["formatPrice"]
    assert reason["detail"] == (
        "app/cart/page.tsx imports `formatPrice` from src/lib/index.ts (re-exported from src/lib/format.ts), "
        "changed at line 8 of src/lib/format.ts"
    )
    # a namespace import takes the module as a whole: conservatively affected
    [admin] = routes(doc)["/admin"]["reasons"]
    assert admin["symbols"] == [] and "as a whole" in admin["detail"]


def test_a_changed_helper_counts_through_the_exports_that_use_it(shop: Path) -> None:
    commit(shop, "pad", {"src/lib/format.ts": edit(FORMAT, 'padStart(2, "0")', 'padStart(2, "00")')})
    code, doc, err = analyze(shop)
    assert code == ExitStatus.OK, err
    assert set(routes(doc)) == {"/profile", "/admin"}
    assert change(doc, "src/lib/format.ts")["symbols"] == ["formatDate"]
    [reason] = routes(doc)["/profile"]["reasons"]
    assert reason["symbols"] == ["formatDate"] and "changed at line 4" in reason["detail"]


def test_a_name_re_exported_by_export_star_reaches_its_importers_only(shop: Path) -> None:
    commit(shop, "slug", {"src/lib/strings.ts": edit(STRINGS, '"-")', '"_")')})
    code, doc, err = analyze(shop)
    assert code == ExitStatus.OK, err
    assert set(routes(doc)) == {"/"}
    [reason] = routes(doc)["/"]["reasons"]
    assert reason["chain"] == ["src/lib/strings.ts", "src/lib/index.ts", "app/page.tsx"]


def test_a_removed_export_affects_the_files_that_imported_it(shop: Path) -> None:
    start = FORMAT.index("export function formatDate")
    end = FORMAT.index("export function unused")
    commit(shop, "drop", {"src/lib/format.ts": FORMAT[:start] + FORMAT[end:]})
    code, doc, err = analyze(shop)
    assert code == ExitStatus.OK, err
    assert set(routes(doc)) == {"/profile", "/admin"}
    assert change(doc, "src/lib/format.ts")["symbols"] == ["formatDate"]


def test_an_export_nobody_imports_affects_nothing_and_is_no_unmapped_file(shop: Path) -> None:
    commit(shop, "unused", {"src/lib/format.ts": edit(FORMAT, "return 1;", "return 2;")})
    code, doc, err = analyze(shop)
    assert code == ExitStatus.OK, err
    # the namespace importer takes everything, so it is still (conservatively) affected
    assert set(routes(doc)) == {"/admin"}

    # without that importer, nothing uses `unused`: no route, and the file is not unmapped (its effect is known)
    git(shop, "checkout", "-q", "main")
    commit(shop, "admin", {"app/admin/page.tsx": "export default function Admin() { return <p>admin</p> }\n"})
    git(shop, "checkout", "-q", "-b", "unused")
    commit(shop, "unused", {"src/lib/format.ts": edit(FORMAT, "return 1;", "return 2;")})
    code, doc, err = analyze(shop)
    assert code == ExitStatus.OK, err
    assert doc["affectedRoutes"] == [] and doc["unmappedFiles"] == []
    assert change(doc, "src/lib/format.ts")["symbols"] == ["unused"]
    assert change(doc, "src/lib/format.ts")["symbolImporters"] == 0


@pytest.mark.parametrize(
    ("new_format", "why"),
    [
        (FORMAT + "\nconsole.log(LOCALE);\n", "a top-level statement runs at import time"),
        (
            edit(FORMAT, 'export const LOCALE = "en-US";', 'export const LOCALE = "en-GB";\nregister(LOCALE);'),
            "side effect",
        ),
        (edit(FORMAT, "return 1;", "return 1;;; }} {{"), "does not parse"),
        ('import "./polyfills";\n' + FORMAT, "a side-effect import"),
    ],
)
def test_what_cannot_be_pinned_to_exports_counts_as_the_whole_file(shop: Path, new_format: str, why: str) -> None:
    commit(shop, why, {"src/lib/format.ts": new_format, "src/lib/polyfills.ts": "export {};\n"})
    code, doc, err = analyze(shop, "--allow-unmapped")
    assert code == ExitStatus.OK, err
    assert {"/cart", "/profile", "/admin", "/"} <= set(routes(doc)), why
    assert "symbols" not in change(doc, "src/lib/format.ts")  # the whole file counts


def test_working_tree_changes_are_pinned_to_exports_too(shop: Path) -> None:
    (shop / "src/lib/format.ts").write_text(edit(FORMAT, "cents / 100", "cents / 1000"), encoding="utf-8")
    stdout, stderr = io.StringIO(), io.StringIO()
    from perceo_cli.output import Output

    code = main(
        ["-C", str(shop), "ci", "analyze", "--working-tree", "--json"],
        context=AppContext(output=Output(stdout, stderr)),
    )
    assert code == ExitStatus.OK, stderr.getvalue()
    doc = json.loads(stdout.getvalue())
    assert set(routes(doc)) == {"/cart", "/admin"}


def test_a_change_to_comments_only_makes_no_claim_and_counts_as_the_whole_file(shop: Path) -> None:
    commit(shop, "docs", {"src/lib/format.ts": "// Formatting helpers.\n" + FORMAT})
    code, doc, err = analyze(shop)
    assert code == ExitStatus.OK, err
    assert set(routes(doc)) == {"/", "/cart", "/profile", "/admin"}
    assert "symbols" not in change(doc, "src/lib/format.ts")  # the whole file counts


def test_the_text_report_names_the_changed_exports_and_the_symbol_in_the_reason(shop: Path) -> None:
    commit(shop, "price", {"src/lib/format.ts": edit(FORMAT, "cents / 100", "cents / 100.0")})
    stdout, stderr = io.StringIO(), io.StringIO()
    from perceo_cli.output import Output

    code = main(["-C", str(shop), "ci", "analyze", "--base", "main"], context=AppContext(output=Output(stdout, stderr)))
    assert code == ExitStatus.OK, stderr.getvalue()
    text = stdout.getvalue()
    assert "~ src/lib/format.ts  (exports changed: formatPrice; imported by 2 files)" in text
    assert "app/cart/page.tsx imports `formatPrice` from src/lib/index.ts" in text
