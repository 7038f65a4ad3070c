"""The change set read from real git repositories made in temporary directories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from perceo.errors import InvalidRefError, NotAGitRepositoryError, ShallowCloneError
from perceo.models import ChangedFile
from perceo.observer.changes import compute_change_set, read_blobs


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "Dev")
    git(path, "config", "commit.gpgsign", "false")
    return path


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


def by_path(files: list[ChangedFile]) -> dict[str, ChangedFile]:
    return {f.path: f for f in files}


LONG = "".join(f"export const line{i} = {i};\n" for i in range(40))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "app")
    commit(
        repo,
        "base",
        {
            "src/components/Old Name.tsx": LONG.replace("line", "button"),
            "src/lib/util.ts": LONG,
            "src/pages/ünïcødé page.tsx": "export default 1\n",
            "src/gone.ts": "export const gone = 1\n",
        },
    )
    return repo


def test_renames_copies_deletions_spaces_and_unicode_keep_their_paths(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    git(repo, "mv", "src/components/Old Name.tsx", "src/components/New Name.tsx")
    write(repo, {"src/lib/util.ts": LONG + "export const more = 1;\n", "src/lib/util copy.ts": LONG})
    write(repo, {"src/pages/ünïcødé page.tsx": "export default 2\n"})
    git(repo, "rm", "-q", "src/gone.ts")
    commit(repo, "change")

    change = compute_change_set(repo, "main", "feature")

    files = by_path(change.files)
    assert files["src/components/New Name.tsx"].status == "renamed"
    assert files["src/components/New Name.tsx"].old_path == "src/components/Old Name.tsx"
    assert files["src/lib/util copy.ts"].status == "copied"
    assert files["src/lib/util copy.ts"].old_path == "src/lib/util.ts"
    assert files["src/lib/util.ts"].status == "modified"
    assert (files["src/lib/util.ts"].additions, files["src/lib/util.ts"].deletions) == (1, 0)
    assert files["src/pages/ünïcødé page.tsx"].status == "modified"
    assert files["src/gone.ts"].status == "deleted"
    assert files["src/gone.ts"].deletions == 1
    assert change.head_sha == git(repo, "rev-parse", "feature")
    assert change.base_sha == git(repo, "rev-parse", "main")


def test_rename_with_edits_is_detected_by_similarity(repo: Path) -> None:
    git(repo, "mv", "src/lib/util.ts", "src/lib/helpers.ts")
    write(repo, {"src/lib/helpers.ts": LONG.replace("line3 ", "lineThree ")})
    commit(repo, "rename and edit")
    files = by_path(compute_change_set(repo, "HEAD~1", "HEAD").files)
    assert files["src/lib/helpers.ts"].status == "renamed"
    assert files["src/lib/helpers.ts"].old_path == "src/lib/util.ts"
    assert (files["src/lib/helpers.ts"].additions, files["src/lib/helpers.ts"].deletions) == (1, 1)


def test_diff_starts_at_the_merge_base_so_later_base_commits_are_not_changes(repo: Path) -> None:
    fork = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "feature work", {"src/feature.ts": "export {}\n"})
    git(repo, "checkout", "-q", "main")
    commit(repo, "main moves on", {"src/main-only.ts": "export {}\n"})

    change = compute_change_set(repo, "main", "feature")

    assert [f.path for f in change.files] == ["src/feature.ts"]
    assert change.base_sha == fork


def test_working_tree_mode_sees_staged_unstaged_and_untracked_changes(repo: Path) -> None:
    write(repo, {"src/lib/util.ts": LONG + "// edited\n", "src/new file.ts": "export {}\n", ".gitignore": "*.log\n"})
    git(repo, "add", ".gitignore")
    write(repo, {"debug.log": "ignored\n"})
    (repo / "src/gone.ts").unlink()

    change = compute_change_set(repo, None, working_tree=True)

    files = by_path(change.files)
    assert change.working_tree
    assert change.base_sha == change.head_sha == git(repo, "rev-parse", "HEAD")
    assert files["src/lib/util.ts"].status == "modified"
    assert files["src/new file.ts"].status == "added"
    assert files[".gitignore"].status == "added"
    assert files["src/gone.ts"].status == "deleted"
    assert "debug.log" not in files


def test_working_tree_mode_in_a_repository_without_commits_lists_every_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "fresh")
    write(repo, {"app/page.tsx": "export default 1\n"})
    change = compute_change_set(repo, None, working_tree=True)
    assert [(f.path, f.status) for f in change.files] == [("app/page.tsx", "added")]


def test_paths_are_relative_to_the_top_of_the_repository_from_a_subfolder(repo: Path) -> None:
    commit(repo, "edit", {"src/lib/util.ts": "changed\n"})
    change = compute_change_set(repo / "src", "HEAD~1", "HEAD")
    assert [f.path for f in change.files] == ["src/lib/util.ts"]


@pytest.mark.parametrize("ref", ["does-not-exist", "--output=/tmp/x", "HEAD~99", ""])
def test_invalid_refs_are_typed_errors_that_name_the_ref(repo: Path, ref: str) -> None:
    with pytest.raises(InvalidRefError) as raised:
        compute_change_set(repo, ref, "HEAD")
    assert repr(ref) in raised.value.message or "required" in raised.value.message


def test_missing_base_without_working_tree_is_an_invalid_ref(repo: Path) -> None:
    with pytest.raises(InvalidRefError, match="base ref is required"):
        compute_change_set(repo, None, "HEAD")


def test_unrelated_histories_have_no_merge_base(repo: Path) -> None:
    git(repo, "checkout", "-q", "--orphan", "other")
    git(repo, "rm", "-rq", "--cached", ".")
    commit(repo, "unrelated", {"x.ts": "1\n"})
    with pytest.raises(InvalidRefError, match="no common ancestor"):
        compute_change_set(repo, "main", "other")


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(NotAGitRepositoryError):
        compute_change_set(tmp_path, "main", "HEAD")


def _shallow_setup(tmp_path: Path) -> Path:
    """origin: main with 5 commits; `feature` forks at main~2 with 2 commits. Clone both branches at depth 1."""
    origin = make_repo(tmp_path / "origin")
    for i in range(3):
        commit(origin, f"main {i}", {f"src/m{i}.ts": f"{i}\n"})
    git(origin, "branch", "feature")
    for i in range(3, 5):
        commit(origin, f"main {i}", {f"src/m{i}.ts": f"{i}\n"})
    git(origin, "checkout", "-q", "feature")
    commit(origin, "feature a", {"src/feature.ts": "a\n"})
    commit(origin, "feature b", {"src/feature.ts": "b\n", "src/other.ts": "x\n"})
    git(origin, "checkout", "-q", "main")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--no-single-branch", f"file://{origin}", str(clone)],
        check=True,
        capture_output=True,
    )
    return clone


def test_shallow_clone_without_the_merge_base_says_how_to_fix_it(tmp_path: Path) -> None:
    clone = _shallow_setup(tmp_path)
    with pytest.raises(ShallowCloneError) as raised:
        compute_change_set(clone, "origin/main", "origin/feature")
    assert "shallow" in raised.value.message
    assert "fetch-depth: 0" in raised.value.message and "--deepen" in raised.value.message


def test_deepen_fetches_history_until_the_merge_base_is_found(tmp_path: Path) -> None:
    clone = _shallow_setup(tmp_path)
    change = compute_change_set(clone, "origin/main", "origin/feature", deepen=True)
    assert sorted(f.path for f in change.files) == ["src/feature.ts", "src/other.ts"]


def test_read_blobs_returns_contents_at_a_commit_and_none_for_missing_files(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    blobs = read_blobs(repo, base, ["src/gone.ts", "nope.ts", "src/pages/ünïcødé page.tsx", "src"])
    assert blobs == {
        "src/gone.ts": b"export const gone = 1\n",
        "nope.ts": None,
        "src/pages/ünïcødé page.tsx": b"export default 1\n",
        "src": None,
    }


def _listing(repo: Path, ref: str) -> dict[str, str]:
    from perceo.observer.snapshot import RepoSnapshot

    with RepoSnapshot.at_ref(repo, ref) as snapshot:
        return {path: sha for path, sha in snapshot.listing().items() if sha is not None}


def test_the_tree_delta_turns_the_base_listing_into_the_head_listing(repo: Path) -> None:
    from perceo.observer.changes import Git, compute_change_delta

    git(repo, "checkout", "-q", "-b", "feature")
    git(repo, "mv", "src/components/Old Name.tsx", "src/components/New Name.tsx")
    write(repo, {"src/lib/util.ts": LONG + "export const more = 1;\n", "src/lib/util copy.ts": LONG})
    git(repo, "rm", "-q", "src/gone.ts")
    (repo / "src/link.ts").symlink_to("lib/util.ts")  # a symbolic link is no file of a snapshot
    (repo / "src/pages/ünïcødé page.tsx").chmod(0o755)  # a mode change alone
    commit(repo, "change")

    change, delta = compute_change_delta(repo, "main", "feature")
    applied = {path: sha for path, sha in _listing(repo, "main").items() if path not in delta}
    applied |= {path: sha for path, sha in delta.items() if sha is not None}
    assert applied == _listing(repo, "feature")
    assert delta["src/components/Old Name.tsx"] is None and delta["src/gone.ts"] is None
    assert "src/link.ts" not in applied
    assert Git(repo).tree_delta(change.base_sha, change.head_sha) == delta  # the same without rename detection


def test_the_working_tree_delta_names_what_is_read_from_disk(repo: Path) -> None:
    from perceo.observer.changes import FROM_DISK, compute_change_delta

    write(repo, {"src/lib/util.ts": "changed on disk\n", "src/untracked.ts": "new\n"})
    (repo / "src/gone.ts").unlink()
    _, delta = compute_change_delta(repo, None, working_tree=True)
    assert delta == {"src/lib/util.ts": FROM_DISK, "src/untracked.ts": FROM_DISK, "src/gone.ts": None}
