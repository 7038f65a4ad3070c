"""The hardened clone (dulwich, no git binary) against a real git server over HTTPS (self-signed certificate,
optional token). The repositories and the server are made with the git CLI; the clone itself runs with `git`
absent from PATH where it matters (`no_git_on_path`), as in the Lambda runtime."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.git_https import GitHttpsServer, publish_repository
from pydantic import SecretStr

from perceo.observer.snapshot import RepoSnapshot
from perceo.workflows.clone import CloneLimits, GitCredentials, clone_repository
from perceo.workflows.errors import CloneFailedError, CloneLimitError
from perceo.workflows.gitremote import parse_git_remote

IDENTITY = ["-c", "user.name=T", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
TOKEN = "ghp_TOKENFORTHEPRIVATEREPO0123456789abcdef"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *IDENTITY, "-C", str(repo), *args], check=True, capture_output=True)


def _repo(root: Path, files: dict[str, str | bytes], *, symlinks: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    for link, points_to in (symlinks or {}).items():
        os.symlink(points_to, root / link)
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "first")
    return root


def _without_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """PATH without any folder holding `git`, as in the Lambda runtime (the server keeps its own binary)."""
    keep = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "git").exists()]
    monkeypatch.setenv("PATH", os.pathsep.join(keep))
    assert shutil.which("git") is None


@pytest.fixture
def no_git_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_git(monkeypatch)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[GitHttpsServer]:
    (tmp_path / "srv").mkdir()
    with GitHttpsServer(tmp_path / "srv", tmp_path) as running:
        yield running


def _publish(server: GitHttpsServer, work: Path, name: str) -> str:
    publish_repository(work, server.root, name)
    return server.url(name)


def test_a_public_repository_is_cloned_shallow_without_a_working_tree(
    server: GitHttpsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = _repo(tmp_path / "app", {"app/page.tsx": "export default function P() {}\n"})
    _git(work, "commit", "--allow-empty", "-qm", "second")
    url = _publish(server, work, "acme/app.git")
    path = os.environ["PATH"]
    _without_git(monkeypatch)

    cloned = clone_repository(parse_git_remote(url, ["127.0.0.1"]), tmp_path / "out", ca_file=str(server.ca_file))
    with cloned.snapshot() as snapshot:  # read without git, as the clone step does
        files = {name: snapshot.read_text(name) for name in snapshot.files()}
    monkeypatch.setenv("PATH", path)

    head = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert cloned.commit == head
    assert [p.name for p in cloned.path.iterdir()] == [".git"]  # nothing checked out
    depth = subprocess.run(
        ["git", "-C", str(cloned.path), "rev-list", "--count", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert depth == "1"
    assert files == {"app/page.tsx": "export default function P() {}\n"}
    with RepoSnapshot.at_ref(cloned.path, "HEAD") as snapshot:  # and git reads the same clone
        assert snapshot.read_text("app/page.tsx").startswith("export default")


def test_a_private_repository_needs_the_projects_token_which_never_shows_in_errors(
    server: GitHttpsServer, tmp_path: Path
) -> None:
    url = _publish(server, _repo(tmp_path / "app", {"a.ts": "x"}), "acme/private.git")
    server.require_token("acme/private.git", TOKEN)
    remote = parse_git_remote(url, ["127.0.0.1"])

    with pytest.raises(CloneFailedError) as anonymous:
        clone_repository(remote, tmp_path / "anon", ca_file=str(server.ca_file))
    wrong = GitCredentials(token=SecretStr(TOKEN[::-1]))
    with pytest.raises(CloneFailedError) as refused:
        clone_repository(remote, tmp_path / "wrong", ca_file=str(server.ca_file), credentials=wrong)
    cloned = clone_repository(
        remote, tmp_path / "ok", ca_file=str(server.ca_file), credentials=GitCredentials(token=SecretStr(TOKEN))
    )

    assert "needs credentials" in anonymous.value.message  # no prompt, no waiting: a clear failure
    assert "refused the credentials" in refused.value.message
    assert TOKEN[::-1] not in refused.value.message
    assert cloned.commit
    sent = [auth for _, path, auth in server.requests if "private" in path and auth]
    assert sent and all(TOKEN not in auth for auth in sent)  # sent as a Basic header, never in the URL
    assert all(TOKEN not in path for _, path, _ in server.requests)


def test_a_server_certificate_nobody_vouches_for_is_refused(
    server: GitHttpsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _publish(server, _repo(tmp_path / "app", {"a.ts": "x"}), "acme/app.git")
    _without_git(monkeypatch)

    with pytest.raises(CloneFailedError, match="certificate"):
        clone_repository(parse_git_remote(url, ["127.0.0.1"]), tmp_path / "out")


def test_symlinks_and_submodules_of_a_hostile_repository_reach_neither_disk_nor_network(
    server: GitHttpsServer, tmp_path: Path
) -> None:
    work = _repo(
        tmp_path / "app",
        {"app/page.tsx": "export default function P() {}\n"},
        symlinks={"app/secrets.tsx": "/proc/self/environ", "app/up": "../../.."},
    )
    (work / ".gitmodules").write_text('[submodule "x"]\n\tpath = vendor/x\n\turl = file:///etc\n')
    _git(work, "add", ".gitmodules")
    _git(work, "commit", "-qm", "submodule")
    url = _publish(server, work, "acme/hostile.git")

    cloned = clone_repository(parse_git_remote(url, ["127.0.0.1"]), tmp_path / "out", ca_file=str(server.ca_file))

    assert [p.name for p in cloned.path.iterdir()] == [".git"]
    assert not (cloned.path / ".git" / "modules").exists()
    assert not (cloned.path / ".git" / "hooks").exists() or not any((cloned.path / ".git" / "hooks").iterdir())
    with cloned.snapshot() as snapshot:
        assert "app/secrets.tsx" not in snapshot.files() and "app/up" not in snapshot.files()
        assert "app/page.tsx" in snapshot.files()
    config = (cloned.path / ".git" / "config").read_text()
    assert "submodule" not in config


def test_a_repository_over_the_size_limit_is_stopped(
    server: GitHttpsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _publish(server, _repo(tmp_path / "app", {"blob.bin": os.urandom(3 * 1024 * 1024)}), "acme/big.git")
    _without_git(monkeypatch)

    with pytest.raises(CloneLimitError, match="larger than 1 MB"):
        clone_repository(
            parse_git_remote(url, ["127.0.0.1"]),
            tmp_path / "out",
            ca_file=str(server.ca_file),
            limits=CloneLimits(max_bytes=1024 * 1024),
        )


def test_a_clone_over_its_time_limit_is_stopped(
    server: GitHttpsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _publish(server, _repo(tmp_path / "app", {"a.ts": "x"}), "acme/slow.git")
    _without_git(monkeypatch)
    server.hold()
    try:
        with pytest.raises(CloneLimitError, match="longer than 1s"):
            clone_repository(
                parse_git_remote(url, ["127.0.0.1"]),
                tmp_path / "out",
                ca_file=str(server.ca_file),
                limits=CloneLimits(timeout_s=1.0),
            )
    finally:
        server.release()


def test_ssh_needs_the_projects_key_and_known_hosts(tmp_path: Path) -> None:
    remote = parse_git_remote("git@github.com:acme/shop.git", ["github.com"])

    with pytest.raises(CloneFailedError, match="sshPrivateKey"):
        clone_repository(remote, tmp_path / "out")


def test_a_missing_branch_fails_with_gits_message(
    server: GitHttpsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _publish(server, _repo(tmp_path / "app", {"a.ts": "x"}), "acme/app.git")
    _without_git(monkeypatch)

    with pytest.raises(CloneFailedError, match="Remote branch nope not found"):
        clone_repository(
            parse_git_remote(url, ["127.0.0.1"]), tmp_path / "out", branch="nope", ca_file=str(server.ca_file)
        )


def test_a_branch_is_cloned_by_name_with_git_absent(
    server: GitHttpsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = _repo(tmp_path / "app", {"main.ts": "x"})
    _git(work, "checkout", "-qb", "feature")
    _git(work, "rm", "-q", "main.ts")
    (work / "feature.ts").write_text("y")
    _git(work, "add", "feature.ts")
    _git(work, "commit", "-qm", "feature")
    feature = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True)
    _git(work, "checkout", "-q", "main")
    url = _publish(server, work, "acme/branches.git")
    _without_git(monkeypatch)

    cloned = clone_repository(
        parse_git_remote(url, ["127.0.0.1"]), tmp_path / "out", branch="feature", ca_file=str(server.ca_file)
    )

    with cloned.snapshot() as snapshot:
        assert snapshot.files() == ["feature.ts"]
        assert snapshot.read_text("feature.ts") == "y"
    assert cloned.commit == feature.stdout.strip()


def test_redirects_are_not_followed(server: GitHttpsServer, tmp_path: Path, no_git_on_path: None) -> None:
    server.redirect("acme/moved.git", "https://169.254.169.254/latest/")

    with pytest.raises(CloneFailedError, match="unexpected http resp 30"):
        clone_repository(
            parse_git_remote(server.url("acme/moved.git"), ["127.0.0.1"]), tmp_path / "out", ca_file=str(server.ca_file)
        )
