"""`perceo ci analyze` and `perceo routes`, run in-process on real git repositories of a small Next.js app."""

from __future__ import annotations

import io
import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from perceo_cli.context import AppContext
from perceo_cli.exit import ExitStatus
from perceo_cli.main import main
from perceo_cli.output import Output


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def write(repo: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


def commit(repo: Path, message: str, files: dict[str, str] | None = None) -> str:
    write(repo, files or {})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def package_lock(date_fns: str) -> str:
    packages = {
        "": {"dependencies": {"next": "14.2.0", "react": "18.2.0", "date-fns": date_fns, "clsx": "2.0.0"}},
        "node_modules/next": {"version": "14.2.0"},
        "node_modules/react": {"version": "18.2.0"},
        "node_modules/date-fns": {"version": date_fns, "integrity": f"sha512-{date_fns}"},
        "node_modules/clsx": {"version": "2.0.0"},
    }
    return json.dumps({"name": "shop", "lockfileVersion": 3, "packages": packages}, indent=2)


SHOP = {
    "package.json": json.dumps(
        {"name": "shop", "dependencies": {"next": "14.2.0", "react": "18.2.0", "date-fns": "^3.0.0", "clsx": "^2"}}
    ),
    "package-lock.json": package_lock("3.0.0"),
    "tsconfig.json": json.dumps({"compilerOptions": {"baseUrl": ".", "paths": {"@/*": ["./*"]}}}),
    "app/layout.tsx": (
        "export default function RootLayout({ children }) {\n  return <html><body>{children}</body></html>\n}\n"
    ),
    "app/page.tsx": 'import Link from "next/link";\nexport default () => <Link href="/cart">Cart</Link>;\n',
    "app/cart/page.tsx": 'import { Button } from "../../components/Button";\nexport default () => <Button />;\n',
    "app/dashboard/layout.tsx": "export default function DashLayout({ children }) { return <main>{children}</main> }\n",
    "app/dashboard/page.tsx": (
        'import { Button } from "@/components/Button";\nimport { fmt } from "@/lib/dates";\n'
        "export default function Dashboard() { return <Button>{fmt()}</Button> }\n"
    ),
    "app/dashboard/settings/page.tsx": (
        'import Link from "next/link";\nexport default () => <Link href="/dashboard">Back</Link>;\n'
    ),
    "components/Button.tsx": (
        'import clsx from "clsx";\nexport const Button = (props) => <button className={clsx("b")} {...props} />;\n'
    ),
    "lib/dates.ts": 'import { format } from "date-fns";\nexport const fmt = () => format(new Date(), "yyyy");\n',
    "README.md": "# shop\n",
}


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Before `perceo init` the discovery cache lives in the user's cache folder: keep it inside the test.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("PERCEO_CONFIG_PATH", raising=False)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    repo = tmp_path / "shop"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dev@example.com")
    git(repo, "config", "user.name", "Dev")
    commit(repo, "shop", SHOP)
    git(repo, "checkout", "-q", "-b", "feature")
    return repo


def run(repo: Path, *args: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(["-C", str(repo), *args], context=AppContext(output=Output(stdout, stderr)))
    return code, stdout.getvalue(), stderr.getvalue()


def analyze_json(repo: Path, *args: str) -> dict:  # type: ignore[type-arg]
    code, out, err = run(repo, "ci", "analyze", "--base", "main", "--json", *args)
    assert code == ExitStatus.OK, err
    return json.loads(out)  # stdout is ONLY the JSON document


def routes_of(doc: dict) -> dict:  # type: ignore[type-arg]
    return {r["route"]: r for r in doc["affectedRoutes"]}


def test_before_init_json_is_valid_with_routes_chains_and_empty_flows(shop: Path) -> None:
    commit(shop, "restyle", {"components/Button.tsx": SHOP["components/Button.tsx"] + "// restyled\n"})

    doc = analyze_json(shop)

    assert doc["schemaVersion"] == 1
    assert doc["project"] == {"id": "local", "name": "shop"}
    assert doc["flows"] == []
    assert doc["changes"] == [
        {"path": "components/Button.tsx", "status": "modified", "oldPath": None, "additions": 1, "deletions": 0}
    ]
    routes = routes_of(doc)
    assert set(routes) == {"/cart", "/dashboard"}
    assert routes["/cart"]["reasons"][0]["chain"] == ["components/Button.tsx", "app/cart/page.tsx"]
    assert routes["/dashboard"]["reasons"][0]["chain"] == ["components/Button.tsx", "app/dashboard/page.tsx"]
    assert doc["riskLevel"] == "medium"
    assert doc["headSha"] == git(shop, "rev-parse", "HEAD") and doc["baseSha"] == git(shop, "rev-parse", "main")
    assert not (shop / ".perceo").exists()  # nothing written into the repository before init


def test_layout_change_affects_the_routes_under_it(shop: Path) -> None:
    commit(
        shop, "layout", {"app/dashboard/layout.tsx": "export default function L({ children }) { return children }\n"}
    )
    routes = routes_of(analyze_json(shop))
    assert set(routes) == {"/dashboard", "/dashboard/settings"}
    assert {r["reasons"][0]["kind"] for r in routes.values()} == {"layout"}


def test_lockfile_bump_of_one_package_affects_only_its_importers(shop: Path) -> None:
    commit(shop, "bump date-fns", {"package-lock.json": package_lock("3.6.0")})
    routes = routes_of(analyze_json(shop))
    assert list(routes) == ["/dashboard"]
    assert routes["/dashboard"]["reasons"][0] == {
        "changedFile": "package-lock.json",
        "chain": ["package-lock.json", "lib/dates.ts", "app/dashboard/page.tsx"],
        "kind": "dependency",
    }


def test_tsconfig_change_affects_every_route_of_the_app(shop: Path) -> None:
    commit(shop, "tsconfig", {"tsconfig.json": json.dumps({"compilerOptions": {"strict": True}})})
    routes = routes_of(analyze_json(shop))
    assert set(routes) == {"/", "/cart", "/dashboard", "/dashboard/settings"}


def test_deleted_component_still_affects_the_routes_that_imported_it_at_base(shop: Path) -> None:
    git(shop, "rm", "-q", "lib/dates.ts")
    commit(shop, "drop dates", {"app/dashboard/page.tsx": "export default function Dashboard() { return null }\n"})
    routes = routes_of(analyze_json(shop))
    assert set(routes) == {"/dashboard"}
    assert {r["changedFile"] for r in routes["/dashboard"]["reasons"]} == {"lib/dates.ts", "app/dashboard/page.tsx"}


def test_renamed_component_is_reported_under_its_new_path(shop: Path) -> None:
    git(shop, "mv", "lib/dates.ts", "lib/time.ts")
    commit(
        shop, "rename", {"app/dashboard/page.tsx": SHOP["app/dashboard/page.tsx"].replace("@/lib/dates", "@/lib/time")}
    )
    doc = analyze_json(shop)
    assert {"path": "lib/time.ts", "status": "renamed", "oldPath": "lib/dates.ts"}.items() <= doc["changes"][1].items()
    reasons = routes_of(doc)["/dashboard"]["reasons"]
    assert "lib/time.ts" in {r["changedFile"] for r in reasons}
    assert "lib/dates.ts" not in {r["changedFile"] for r in reasons}


def test_working_tree_mode_includes_untracked_files(shop: Path) -> None:
    write(
        shop, {"app/cart/page.tsx": 'import { Promo } from "../../components/Promo";\nexport default () => <Promo />\n'}
    )
    write(shop, {"components/Promo.tsx": "export const Promo = () => null\n"})

    code, out, err = run(shop, "ci", "analyze", "--working-tree", "--json")

    assert code == 0, err
    doc = json.loads(out)
    assert doc["workingTree"] is True
    assert {c["path"]: c["status"] for c in doc["changes"]} == {
        "app/cart/page.tsx": "modified",
        "components/Promo.tsx": "added",
    }
    cart = routes_of(doc)["/cart"]
    assert set(cart["files"]) == {"app/cart/page.tsx", "components/Promo.tsx"}


def test_invalid_ref_exits_2_with_a_clear_message_and_no_stdout(shop: Path) -> None:
    code, out, err = run(shop, "ci", "analyze", "--base", "no-such-branch", "--json")
    assert code == ExitStatus.USAGE
    assert out == ""
    assert "'no-such-branch' is not a commit" in err
    assert "Traceback" not in err


def test_base_is_required_without_working_tree(shop: Path) -> None:
    code, _, err = run(shop, "ci", "analyze")
    assert code == ExitStatus.USAGE
    assert "--base" in err


def test_not_a_repository_exits_2(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "ci", "analyze", "--base", "main")
    assert code == ExitStatus.USAGE
    assert "not inside a git repository" in err


def test_fail_on_exits_3_at_or_above_the_threshold(shop: Path) -> None:
    commit(shop, "cart", {"app/cart/page.tsx": SHOP["app/cart/page.tsx"] + "// edit\n"})
    assert run(shop, "ci", "analyze", "--base", "main", "--fail-on", "medium")[0] == ExitStatus.RISK
    assert run(shop, "ci", "analyze", "--base", "main", "--fail-on", "low")[0] == ExitStatus.RISK
    assert run(shop, "ci", "analyze", "--base", "main", "--fail-on", "high")[0] == ExitStatus.OK
    assert run(shop, "ci", "analyze", "--base", "main")[0] == ExitStatus.OK
    code, out, _ = run(shop, "ci", "analyze", "--base", "main", "--json", "--fail-on", "medium")
    assert code == ExitStatus.RISK and json.loads(out)["riskLevel"] == "medium"


def test_change_that_affects_nothing_never_fails(shop: Path) -> None:
    commit(shop, "docs", {"README.md": "# shop\n\nMore docs.\n"})
    code, out, _ = run(shop, "ci", "analyze", "--base", "main", "--json", "--fail-on", "low")
    assert code == ExitStatus.OK
    doc = json.loads(out)
    assert (doc["affectedRoutes"], doc["riskLevel"], doc["riskScore"]) == ([], "low", 0.0)


def test_markdown_and_text_formats(shop: Path) -> None:
    commit(shop, "restyle", {"components/Button.tsx": SHOP["components/Button.tsx"] + "// restyled\n"})
    code, md, _ = run(shop, "ci", "analyze", "--base", "main", "--format", "md")
    assert code == 0
    assert md.startswith("<!-- perceo:ci-analyze -->\n## 🟡 Perceo: medium risk")
    assert "| `/cart` | 1 | `components/Button.tsx` → `app/cart/page.tsx` (import) |" in md
    code, text, _ = run(shop, "ci", "analyze", "--base", "main")
    assert code == 0
    assert "Overall risk: MEDIUM" in text and "components/Button.tsx → app/cart/page.tsx" in text


def test_shallow_clone_exits_2_with_the_fix_and_deepen_recovers(shop: Path, tmp_path: Path) -> None:
    git(shop, "checkout", "-q", "main")
    for i in range(3):
        commit(shop, f"main {i}", {f"docs/{i}.md": f"{i}\n"})
    git(shop, "checkout", "-q", "feature")
    commit(shop, "cart", {"app/cart/page.tsx": SHOP["app/cart/page.tsx"] + "// edit\n"})
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--no-single-branch", f"file://{shop}", str(clone)],
        check=True,
        capture_output=True,
    )

    code, out, err = run(clone, "ci", "analyze", "--base", "origin/main", "--head", "origin/feature", "--json")
    assert code == ExitStatus.USAGE and out == ""
    assert "shallow clone" in err and "--deepen" in err

    code, out, err = run(
        clone, "ci", "analyze", "--base", "origin/main", "--head", "origin/feature", "--json", "--deepen"
    )
    assert code == ExitStatus.OK, err
    assert list(routes_of(json.loads(out))) == ["/cart"]


def test_routes_json_lists_routes_files_and_navigation(shop: Path) -> None:
    code, out, err = run(shop, "routes", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schemaVersion"] == 1 and doc["framework"] == "nextjs"
    routes = {r["route"]: r for r in doc["routes"]}
    assert set(routes) == {"/", "/cart", "/dashboard", "/dashboard/settings"}
    assert routes["/dashboard/settings"]["layoutFiles"] == ["app/layout.tsx", "app/dashboard/layout.tsx"]
    assert {(n["source"], n["target"]) for n in doc["navigation"]} == {
        ("/", "/cart"),
        ("/dashboard/settings", "/dashboard"),
    }


def test_routes_text(shop: Path) -> None:
    code, out, _ = run(shop, "routes")
    assert code == 0
    assert "/cart" in out and "app/cart/page.tsx" in out and "/ → /cart" in out


def test_a_changed_source_file_that_reaches_no_route_is_never_a_silent_all_clear(shop: Path) -> None:
    commit(shop, "orphan", {"lib/orphan.ts": "export const orphan = 1;\n", "README.md": "# shop\n"})
    code, out, err = run(shop, "ci", "analyze", "--base", "main", "--json")
    assert code == ExitStatus.UNMAPPED
    doc = json.loads(out)
    assert doc["affectedRoutes"] == [] and doc["unmappedFiles"] == ["lib/orphan.ts"]
    assert "lib/orphan.ts" in err and "--allow-unmapped" in err
    code, _out, _err = run(shop, "ci", "analyze", "--base", "main", "--json", "--allow-unmapped")
    assert code == ExitStatus.OK


def test_working_tree_with_head_is_a_usage_error(shop: Path) -> None:
    code, out, err = run(shop, "ci", "analyze", "--working-tree", "--head", "main")
    assert code == ExitStatus.USAGE and out == "" and "--head" in err


def test_swapped_base_and_head_warn_instead_of_a_quiet_no_change(shop: Path) -> None:
    commit(shop, "restyle", {"components/Button.tsx": SHOP["components/Button.tsx"] + "// restyled\n"})
    code, out, err = run(shop, "ci", "analyze", "--base", "feature", "--head", "main", "--json")
    assert code == ExitStatus.OK and json.loads(out)["changes"] == []
    assert "swapped" in err


def test_a_dirty_tree_without_working_tree_gets_a_one_line_hint_on_stderr_and_in_json(shop: Path) -> None:
    commit(shop, "restyle", {"components/Button.tsx": SHOP["components/Button.tsx"] + "// restyled\n"})
    doc = analyze_json(shop)
    assert doc["hints"] == []  # a clean tree: no hint

    write(shop, {"app/cart/page.tsx": SHOP["app/cart/page.tsx"] + "// not committed yet\n", "notes.txt": "x\n"})
    code, out, err = run(shop, "ci", "analyze", "--base", "main", "--json")
    assert code == ExitStatus.OK, err
    doc = json.loads(out)  # the hint is not on stdout: it still parses as the JSON document alone
    assert list(routes_of(doc)) != [] and "app/cart/page.tsx" not in {c["path"] for c in doc["changes"]}
    [hint] = doc["hints"]
    assert "2 uncommitted change(s)" in hint and "perceo ci analyze --working-tree --base main" in hint
    hint_lines = [line for line in err.splitlines() if "uncommitted" in line]
    assert len(hint_lines) == 1 and "--working-tree" in hint_lines[0]

    # the command the hint gives does include them
    code, out, err = run(shop, "ci", "analyze", "--working-tree", "--base", "main", "--json")
    assert code == ExitStatus.OK, err
    assert "app/cart/page.tsx" in {c["path"] for c in json.loads(out)["changes"]}
    assert "uncommitted" not in err

    # analysing another head than HEAD is unaffected by the working tree: no hint
    code, out, err = run(shop, "ci", "analyze", "--base", "main", "--head", "feature", "--json")
    assert json.loads(out)["hints"] == [] and "uncommitted" not in err


def test_the_shallow_clone_hint_for_a_relative_ref_is_a_command_git_accepts(shop: Path, tmp_path: Path) -> None:
    for i in range(3):
        commit(shop, f"cart {i}", {"app/cart/page.tsx": SHOP["app/cart/page.tsx"] + f"// edit {i}\n"})
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{shop}", str(clone)],
        check=True,
        capture_output=True,
    )
    code, out, err = run(clone, "ci", "analyze", "--base", "HEAD~1", "--json")
    assert code == ExitStatus.USAGE and out == ""
    commands = re.findall(r"`(git [^`]+)`", err)
    assert commands, err
    done = subprocess.run(shlex.split(commands[0]), cwd=clone, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr  # (`git fetch origin HEAD~1`, the old hint, is rejected by git)
    code, out, err = run(clone, "ci", "analyze", "--base", "HEAD~1", "--json")
    assert code == ExitStatus.OK, err
    assert list(routes_of(json.loads(out))) == ["/cart"]
