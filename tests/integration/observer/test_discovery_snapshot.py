"""RepoSnapshot over real git repositories: commits, the working tree, plain folders, odd paths."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from apps import git, git_commit_all, write_files

from perceo.errors import InvalidRefError, NotAGitRepositoryError
from perceo.observer.snapshot import RepoSnapshot, git_blob_sha


def _hash_object(root: Path, path: str) -> str:
    return subprocess.run(
        ["git", "hash-object", "--", path], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write_files(
        tmp_path,
        {
            "src/app/page.tsx": "export default function Page() { return null; }\n",
            "src/app/my page/with space.tsx": "export const a = 1;\n",
            "src/app/café/ünïcode.tsx": "export const b = 2;\n",
            "README.md": "# demo\n",
            ".gitignore": "dist/\n",
        },
    )
    git_commit_all(tmp_path, "first")
    return tmp_path


def test_at_ref_lists_committed_files_with_their_blob_shas(repo: Path) -> None:
    with RepoSnapshot.at_ref(repo, "HEAD") as snapshot:
        files = snapshot.files()
        assert "src/app/my page/with space.tsx" in files
        assert "src/app/café/ünïcode.tsx" in files
        for path in files:
            assert snapshot.blob_sha(path) == _hash_object(repo, path)
        assert snapshot.read_text("src/app/café/ünïcode.tsx") == "export const b = 2;\n"
        assert snapshot.commit == git(repo, "rev-parse", "HEAD")


def test_at_ref_reads_the_commit_not_the_working_tree(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    (repo / "src/app/page.tsx").write_text("export const changed = true;\n")
    (repo / "src/app/new.tsx").write_text("export const fresh = 1;\n")
    git_commit_all(repo, "second")

    with RepoSnapshot.at_ref(repo, first) as snapshot:
        assert "src/app/new.tsx" not in snapshot.files()
        assert snapshot.read_text("src/app/page.tsx").startswith("export default function Page")


def test_invalid_ref_raises_a_clear_error(repo: Path) -> None:
    with pytest.raises(InvalidRefError) as caught:
        RepoSnapshot.at_ref(repo, "no-such-branch")
    assert "no-such-branch" in caught.value.message
    with pytest.raises(InvalidRefError):
        RepoSnapshot.at_ref(repo, "--output=/tmp/x")


def test_a_folder_outside_git_is_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    # A folder under tmp is not inside any repository unless tmp itself is one.
    inside_repo = subprocess.run(["git", "rev-parse"], cwd=plain, capture_output=True).returncode == 0
    if inside_repo:
        pytest.fail("the temporary directory is inside a git repository; the test cannot run meaningfully")
    with pytest.raises(NotAGitRepositoryError):
        RepoSnapshot.at_ref(plain, "HEAD")
    with pytest.raises(NotAGitRepositoryError):
        RepoSnapshot.working_tree(plain)


def test_working_tree_sees_modified_untracked_and_deleted_files(repo: Path) -> None:
    (repo / "src/app/page.tsx").write_text("export const edited = 1;\n")
    (repo / "src/app/untracked file.tsx").write_text("export const u = 1;\n")
    (repo / "dist").mkdir()
    (repo / "dist/bundle.js").write_text("ignored\n")
    (repo / "README.md").unlink()

    snapshot = RepoSnapshot.working_tree(repo)
    files = snapshot.files()
    assert "src/app/untracked file.tsx" in files
    assert "dist/bundle.js" not in files
    assert "README.md" not in files
    assert snapshot.read_text("src/app/page.tsx") == "export const edited = 1;\n"
    assert snapshot.blob_sha("src/app/page.tsx") == _hash_object(repo, "src/app/page.tsx")
    assert snapshot.blob_sha("src/app/untracked file.tsx") == _hash_object(repo, "src/app/untracked file.tsx")
    assert snapshot.blob_sha("src/app/café/ünïcode.tsx") == _hash_object(repo, "src/app/café/ünïcode.tsx")


def test_directory_snapshot_hashes_content_and_skips_dependencies(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "src/index.ts": "export {};\n",
            "node_modules/react/index.js": "module.exports = {};\n",
            ".git/config": "[core]\n",
        },
    )
    snapshot = RepoSnapshot.directory(tmp_path)
    assert snapshot.files() == ["src/index.ts"]
    assert snapshot.blob_sha("src/index.ts") == git_blob_sha(b"export {};\n")


def test_blob_sha_matches_git_for_empty_and_binary_content() -> None:
    assert git_blob_sha(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert git_blob_sha(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_a_bare_repository_can_be_read_at_a_ref_but_has_no_working_tree(repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    with RepoSnapshot.at_ref(bare, "HEAD") as snapshot:
        assert "src/app/café/ünïcode.tsx" in snapshot.files()
        assert snapshot.read_text("README.md") == "# demo\n"
    with pytest.raises(NotAGitRepositoryError) as caught:
        RepoSnapshot.working_tree(bare)
    assert "bare" in caught.value.message
