"""Issue 13, class 8: missing objects never crash `ci analyze`.

Real git repositories throughout: a partial clone (`--filter=blob:none`, served over file:// with
`uploadpack.allowFilter`) whose promisor remote is gone, a Git LFS pointer, a binary file under a source name, a
changed submodule and a file nobody may read. Each gets a warning of its own (stderr and `warnings` in --json) and
the analysis goes on with the other files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from perceo_cli.exit import ExitStatus

PERCEO = str(Path(sys.executable).with_name("perceo"))

APP = {
    "package.json": '{"name": "shop", "dependencies": {"next": "14.0.0", "react": "18.2.0"}}\n',
    "app/layout.tsx": "export default function Layout({ children }) { return children }\n",
    "app/page.tsx": 'import Button from "../components/Button"\nexport default function Home() { return <Button /> }\n',
    "app/cart/page.tsx": (
        'import Price from "../../components/Price"\nexport default function Cart() { return <Price /> }\n'
    ),
    "components/Button.tsx": "export default function Button() { return <button /> }\n",
    "components/Price.tsx": "export default function Price() { return <span /> }\n",
}
LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n"
)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def commit(repo: Path, message: str, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PERCEO_")}
    environment["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")
    return environment


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    repo = tmp_path / "shop"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dev@example.com")
    git(repo, "config", "user.name", "Dev")
    commit(repo, "shop", dict(APP))
    git(repo, "checkout", "-q", "-b", "feature")
    return repo


def analyze(repo: Path, env: dict[str, str], *args: str, prefix: tuple[str, ...] = ()) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    done = subprocess.run(
        [*prefix, PERCEO, "-C", str(repo), "ci", "analyze", "--json", "--allow-unmapped", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr  # stdout is the JSON document alone


def warned(doc: dict, path: str) -> str:  # type: ignore[type-arg]
    found = [w for w in doc["warnings"] if w.startswith(f"{path}: ")]
    assert len(found) == 1, doc["warnings"]  # one line per file, whatever the number of reasons
    return found[0]


def test_a_partial_clone_whose_remote_is_gone_warns_per_file_and_goes_on(
    shop: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    commit(
        shop,
        "feature",
        {
            "components/Button.tsx": APP["components/Button.tsx"] + "// restyled\n",
            "components/Price.tsx": APP["components/Price.tsx"] + "// restyled\n",
        },
    )
    git(shop, "config", "uploadpack.allowFilter", "true")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--filter=blob:none", "--no-checkout", f"file://{shop}", str(clone)],
        check=True,
        capture_output=True,
    )
    git(clone, "checkout", "-q", "main")  # fetches main's blobs only: the feature's new blobs stay on the remote
    served = tmp_path / "served"
    shop.rename(served)  # the promisor remote cannot be reached any more

    code, doc, err = analyze(clone, env, "--base", "origin/main", "--head", "origin/feature")
    assert code == ExitStatus.OK, err
    assert {c["path"] for c in doc["changes"]} == {"components/Button.tsx", "components/Price.tsx"}
    for path in ("components/Button.tsx", "components/Price.tsx"):
        message = warned(doc, path)
        assert "line count" in message and "could not be read" in message
        assert f"warning: {message}" in err
    # the import graph of the base still maps the changed files to their routes
    assert {r["route"] for r in doc["affectedRoutes"]} == {"/", "/cart"}
    assert all(c["additions"] is None for c in doc["changes"])

    # a second run warns again (nothing made without the blobs was kept in a cache)
    code, again, _err = analyze(clone, env, "--base", "origin/main", "--head", "origin/feature")
    assert code == ExitStatus.OK and again["warnings"] == doc["warnings"]

    # once the blobs can be fetched, the same analysis is complete and quiet
    served.rename(shop)
    code, fetched, err = analyze(clone, env, "--base", "origin/main", "--head", "origin/feature")
    assert code == ExitStatus.OK, err
    assert fetched["warnings"] == [] and all(c["additions"] == 1 for c in fetched["changes"])


def test_lfs_pointers_binary_files_and_submodules_warn_and_the_rest_is_analysed(
    shop: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    library = tmp_path / "library"
    library.mkdir()
    git(library, "init", "-q", "-b", "main")
    commit(library, "lib", {"index.ts": "export const x = 1\n"})
    git(shop, "-c", "protocol.file.allow=always", "submodule", "-q", "add", str(library), "vendor/library")
    commit(
        shop,
        "feature",
        {
            "components/Price.tsx": APP["components/Price.tsx"] + "// restyled\n",
            "components/Logo.tsx": LFS_POINTER,
            "components/icon.tsx": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        },
    )
    code, doc, err = analyze(shop, env, "--base", "main")
    assert code == ExitStatus.OK, err
    assert "Git LFS pointer" in warned(doc, "components/Logo.tsx")
    assert "binary" in warned(doc, "components/icon.tsx")
    assert "submodule" in warned(doc, "vendor/library")
    assert not any(w.startswith("components/Price.tsx") for w in doc["warnings"])
    assert {r["route"] for r in doc["affectedRoutes"]} == {"/cart"}
    assert "components/Logo.tsx" in doc["unmappedFiles"]  # its imports are unknown: never a silent all-clear


def test_an_unreadable_file_in_the_working_tree_warns_and_the_rest_is_analysed(shop: Path, env: dict[str, str]) -> None:
    (shop / "components/Price.tsx").write_text(APP["components/Price.tsx"] + "// edited\n", encoding="utf-8")
    secret = shop / "components/Secret.tsx"
    secret.write_text("export const secret = 1\n", encoding="utf-8")
    secret.chmod(0)
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:  # root reads anything: run without the capabilities that bypass file permissions
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: a chmod 000 file stays readable")
        prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search")
    try:
        code, doc, err = analyze(shop, env, "--working-tree", prefix=prefix)
    finally:
        secret.chmod(0o644)
    assert code == ExitStatus.OK, err
    assert "permission denied" in warned(doc, "components/Secret.tsx")
    assert {r["route"] for r in doc["affectedRoutes"]} == {"/cart"}
