"""The change set: which files a change touches, read from git.

`compute_change_set(repo_dir, base, head)` is `git diff --name-status -M -C <base>...<head>`: the diff is taken
from the merge base of the two refs (three dots), so commits made on the base branch after the fork do not show
up as changes. Renames and copies keep both paths; `-z` keeps paths with spaces, quotes and unicode intact.
Per-file line counts come from `--numstat` in the same git call.

`working_tree=True` compares the working tree (staged, unstaged and untracked files) with HEAD, or with the merge
base of `base` and HEAD when a base is given: what `perceo watch` sees while someone edits.

Git is always called with an argument list, never through a shell, and refs are checked before use. Errors a user
can hit are typed: `NotAGitRepositoryError`, `InvalidRefError` and, when the merge base is missing because the
clone is shallow, `ShallowCloneError` with the command that fixes it (or an automatic deepen with `deepen=True`).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from perceo.errors import InvalidRefError, NotAGitRepositoryError, PerceoError, ShallowCloneError
from perceo.models import ChangedFile, ChangeSet
from perceo.models.vocab import ChangeStatus

log = logging.getLogger(__name__)

#: The id of git's empty tree: the base of a repository without commits.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
#: How far `deepen=True` fetches, step by step, before it asks for the whole history.
DEEPEN_STEPS = (50, 200, 1000)
LOCAL_GIT_TIMEOUT_S = 300.0
FETCH_TIMEOUT_S = 600.0

_STATUS: dict[str, ChangeStatus] = {
    "A": "added",
    "M": "modified",
    "T": "modified",  # type change (file <-> symlink): the content at this path changed
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
}
_RAW_HEADER = re.compile(r"^:\d{6} \d{6} [0-9a-f]+ [0-9a-f]+ ([A-Z])(\d*)$")
_NUMSTAT = re.compile(r"^(\d+|-)\t(\d+|-)\t(.*)$", re.DOTALL)


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: bytes
    stderr: str


class Git:
    """A git repository driven through the git CLI, one argument list per call."""

    def __init__(self, repo_dir: Path) -> None:
        self.repo_dir = repo_dir

    @classmethod
    def open(cls, repo_dir: Path) -> Git:
        repo = cls(Path(repo_dir))
        if not repo.repo_dir.is_dir():
            raise NotAGitRepositoryError(f"{repo.repo_dir} is not a directory")
        result = repo.run("rev-parse", "--show-toplevel")
        if result.returncode != 0:
            raise NotAGitRepositoryError(
                f"{repo.repo_dir} is not inside a git repository (run `git init`, or pass --project-dir)"
            )
        # Paths are reported relative to the top of the repository, as discovery's snapshots list them.
        return cls(Path(os.fsdecode(result.stdout.rstrip(b"\n"))))

    def run(self, *args: str, timeout: float = LOCAL_GIT_TIMEOUT_S) -> GitResult:
        # -c options keep output stable whatever the user's config says; paths come NUL-separated (-z) anyway.
        command = ["git", "-c", "core.quotepath=off", "-c", "color.ui=never", "--no-optional-locks", *args]
        try:
            done = subprocess.run(
                command, cwd=self.repo_dir, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False
            )
        except FileNotFoundError as error:
            raise PerceoError("git is not installed (or not on PATH)") from error
        except subprocess.TimeoutExpired as error:
            raise PerceoError(f"git {args[0]} did not finish within {timeout:.0f} s in {self.repo_dir}") from error
        return GitResult(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace").strip())

    def output(self, *args: str) -> str:
        result = self.run(*args)
        if result.returncode != 0:
            raise PerceoError(f"git {' '.join(args[:2])} failed in {self.repo_dir}: {result.stderr or 'no message'}")
        return result.stdout.decode("utf-8", "replace").strip()

    # Refs
    def resolve(self, ref: str, *, what: str = "ref") -> str:
        """The commit sha a ref names. Raises InvalidRefError (with a hint in a shallow clone)."""
        if not ref or ref.startswith("-") or "\0" in ref:
            raise InvalidRefError(f"invalid {what} {ref!r}: not a git ref", details={"ref": ref})
        result = self.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
        if result.returncode != 0:
            hint = ""
            if self.is_shallow():
                hint = f" This is a shallow clone: fetch the ref first (`git fetch origin {ref}`)."
            raise InvalidRefError(
                f"{what} {ref!r} is not a commit in {self.repo_dir}.{hint}", details={"ref": ref, "what": what}
            )
        return result.stdout.decode().strip()

    def head_sha(self) -> str | None:
        """HEAD's commit, or None in a repository without commits."""
        result = self.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def is_shallow(self) -> bool:
        return self.run("rev-parse", "--is-shallow-repository").stdout.decode().strip() == "true"

    def merge_base(self, base_sha: str, head_sha: str, *, base_ref: str, head_ref: str, deepen: bool) -> str:
        """The merge base of two commits, deepening a shallow clone when allowed."""
        found = self._merge_base(base_sha, head_sha)
        if found is not None:
            return found
        if not self.is_shallow():
            raise InvalidRefError(
                f"{base_ref!r} and {head_ref!r} have no common ancestor in {self.repo_dir}",
                details={"base": base_ref, "head": head_ref},
            )
        if not deepen:
            raise ShallowCloneError(
                f"the merge base of {base_ref!r} and {head_ref!r} is missing because {self.repo_dir} is a shallow "
                "clone. Fetch more history (`git fetch --deepen=200`, or `fetch-depth: 0` in actions/checkout), "
                "or pass --deepen to let Perceo fetch it.",
                details={"base": base_ref, "head": head_ref},
            )
        remote = self._remote()
        for step in (*DEEPEN_STEPS, 0):
            args = ("fetch", "--quiet", "--unshallow" if step == 0 else f"--deepen={step}", remote)
            log.info("shallow clone: git %s", " ".join(args))
            fetched = self.run("-c", "core.askPass=false", *args, timeout=FETCH_TIMEOUT_S)
            if fetched.returncode != 0:
                raise ShallowCloneError(
                    f"could not deepen the shallow clone from {remote!r}: {fetched.stderr or 'git fetch failed'}",
                    details={"remote": remote},
                )
            found = self._merge_base(base_sha, head_sha)
            if found is not None or not self.is_shallow():
                break
        if found is None:
            raise InvalidRefError(
                f"{base_ref!r} and {head_ref!r} have no common ancestor, even with the full history of {remote!r}",
                details={"base": base_ref, "head": head_ref},
            )
        return found

    def _merge_base(self, a: str, b: str) -> str | None:
        result = self.run("merge-base", a, b)
        return result.stdout.decode().strip() or None if result.returncode == 0 else None

    def _remote(self) -> str:
        remotes = self.output("remote").split()
        if not remotes:
            raise ShallowCloneError(f"{self.repo_dir} is a shallow clone without a remote to deepen from")
        return "origin" if "origin" in remotes else remotes[0]

    # Diffs
    def diff(self, base: str, head: str | None) -> list[ChangedFile]:
        """Changed files from `base` to `head` (a commit), or to the working tree when `head` is None."""
        args = ["diff", "-z", "--raw", "--numstat", "-M", "-C", "--no-ext-diff", "--no-textconv"]
        args += [base] if head is None else [base, head]
        result = self.run(*args, "--")
        if result.returncode != 0:
            raise PerceoError(f"git diff failed in {self.repo_dir}: {result.stderr or 'no message'}")
        return parse_raw_numstat(result.stdout)

    def untracked(self) -> list[str]:
        """Untracked files that are not ignored."""
        result = self.run("ls-files", "-z", "--others", "--exclude-standard")
        if result.returncode != 0:
            raise PerceoError(f"git ls-files failed in {self.repo_dir}: {result.stderr or 'no message'}")
        return [_decode(p) for p in result.stdout.split(b"\0") if p]


def _decode(raw: bytes) -> str:
    return os.fsdecode(raw)  # as discovery's snapshots decode paths, so the two always agree


def parse_raw_numstat(output: bytes) -> list[ChangedFile]:
    """Parse `git diff -z --raw --numstat` output: raw records first, then one numstat record per file."""
    files: list[ChangedFile] = []
    counts: dict[str, tuple[int | None, int | None]] = {}
    for record in _records([_decode(t) for t in output.split(b"\0")]):
        if isinstance(record, ChangedFile):
            files.append(record)
        else:
            added, deleted, path = record
            counts[path] = (added, deleted)
    return [
        f.model_copy(update={"additions": counts[f.path][0], "deletions": counts[f.path][1]}) if f.path in counts else f
        for f in files
    ]


def _records(tokens: Sequence[str]) -> Iterator[ChangedFile | tuple[int | None, int | None, str]]:
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if not token:
            index += 1
            continue
        header = _RAW_HEADER.match(token)
        if header:
            letter = header.group(1)
            if letter in ("R", "C"):
                old_path, path = tokens[index + 1], tokens[index + 2]
                index += 3
                yield ChangedFile(path=path, status=_STATUS[letter], old_path=old_path)
            else:
                index += 2
                yield ChangedFile(path=tokens[index - 1], status=_STATUS.get(letter, "modified"))
            continue
        numstat = _NUMSTAT.match(token)
        if numstat is None:
            raise PerceoError(f"unexpected git diff output near {token[:80]!r}")
        path = numstat.group(3)
        if path:
            index += 1
        else:  # a rename or copy: the old and the new path follow as two tokens
            path = tokens[index + 2] if index + 2 < len(tokens) else ""
            index += 3
        yield _count(numstat.group(1)), _count(numstat.group(2)), path


def _count(value: str) -> int | None:
    return None if value == "-" else int(value)  # "-" is a binary file


def compute_change_set(
    repo_dir: Path,
    base: str | None,
    head: str = "HEAD",
    *,
    working_tree: bool = False,
    deepen: bool = False,
) -> ChangeSet:
    """The files changed between the merge base of `base` and `head`, and `head`.

    With `working_tree=True` the change is the working tree (staged, unstaged and untracked files) against HEAD,
    or against the merge base of `base` and HEAD when `base` is given; `head` is then ignored.
    `base_sha` in the result is the commit the diff starts from (the merge base), `head_sha` the commit it ends at.
    """
    if working_tree:
        return _working_tree_change_set(Git.open(repo_dir), base, deepen=deepen)
    commits = resolve_commits(repo_dir, base, head, deepen=deepen)
    return ChangeSet(
        base_sha=commits.merge_base,
        head_sha=commits.head_sha,
        files=commits.git.diff(commits.merge_base, commits.head_sha),
    )


@dataclass(frozen=True)
class CommitRange:
    git: Git
    merge_base: str
    head_sha: str


def resolve_commits(repo_dir: Path, base: str | None, head: str = "HEAD", *, deepen: bool = False) -> CommitRange:
    """The repository, the merge base of `base` and `head`, and head's commit — in two git calls when all is well."""
    if not base:
        raise InvalidRefError("a base ref is required (for example --base main), unless the working tree is compared")
    for ref, what in ((base, "base ref"), (head, "head ref")):
        if not ref or ref.startswith("-") or "\0" in ref:
            raise InvalidRefError(f"invalid {what} {ref!r}: not a git ref", details={"ref": ref})
    probe = Git(Path(repo_dir))
    # One call for the top folder and both commits; on any problem, the slow path says exactly what is wrong.
    lines: list[str] = []
    if probe.repo_dir.is_dir():
        quick = probe.run(
            "rev-parse", "--show-toplevel", "--end-of-options", f"{head}^{{commit}}", f"{base}^{{commit}}"
        )
        lines = quick.stdout.decode("utf-8", "surrogateescape").splitlines() if quick.returncode == 0 else []
    if len(lines) == 3:
        git, head_sha, base_sha = (
            Git(Path(os.fsdecode(lines[0].encode("utf-8", "surrogateescape")))),
            lines[1],
            lines[2],
        )
    else:
        git = Git.open(repo_dir)
        head_sha = git.resolve(head, what="head ref")
        base_sha = git.resolve(base, what="base ref")
    merge_base = git.merge_base(base_sha, head_sha, base_ref=base, head_ref=head, deepen=deepen)
    return CommitRange(git, merge_base, head_sha)


def _working_tree_change_set(git: Git, base: str | None, *, deepen: bool) -> ChangeSet:
    head_sha = git.head_sha()
    if base and head_sha is not None:
        base_sha = git.merge_base(
            git.resolve(base, what="base ref"), head_sha, base_ref=base, head_ref="HEAD", deepen=deepen
        )
    elif base:
        raise InvalidRefError(f"base ref {base!r} cannot be compared: the repository has no commits yet")
    else:
        base_sha = head_sha or EMPTY_TREE
    files = git.diff(base_sha, None)
    seen = {f.path for f in files}
    files += [ChangedFile(path=path, status="added") for path in git.untracked() if path not in seen]
    return ChangeSet(base_sha=base_sha, head_sha=head_sha or EMPTY_TREE, files=files, working_tree=True)


def read_blobs(repo_dir: Path, sha: str, paths: Sequence[str]) -> dict[str, bytes | None]:
    """The content of files at a commit (None where the file does not exist there), in one git call."""
    if not paths:
        return {}
    git = Git.open(repo_dir)
    request = "".join(f"{sha}:{path}\n" for path in paths).encode()
    done = subprocess.run(
        ["git", "--no-optional-locks", "cat-file", "--batch"],
        cwd=git.repo_dir,
        input=request,
        capture_output=True,
        timeout=LOCAL_GIT_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise PerceoError(f"git cat-file failed in {git.repo_dir}: {done.stderr.decode('utf-8', 'replace').strip()}")
    return dict(zip(paths, _batch_contents(done.stdout, len(paths)), strict=True))


def _batch_contents(output: bytes, count: int) -> Iterator[bytes | None]:
    offset = 0
    for _ in range(count):
        end = output.index(b"\n", offset)
        header = output[offset:end].split()
        offset = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            yield output[offset : offset + size]
            offset += size + 1  # the content is followed by a newline
        else:  # "<object> missing", or not a blob (a directory)
            if len(header) == 3:
                offset += int(header[2]) + 1
            yield None
