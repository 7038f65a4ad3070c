"""The change set: which files a change touches, read from git.

`compute_change_set(repo_dir, base, head)` is `git diff --name-status -M -C <base>...<head>`: the diff is taken
from the merge base of the two refs (three dots), so commits made on the base branch after the fork do not show
up as changes. Renames and copies keep both paths; `-z` keeps paths with spaces, quotes and unicode intact.
Per-file line counts come from `--numstat` in the same git call, and so does the tree delta (`TreeDelta`: every path
whose blob changed, with its new blob SHA) that lets the impact graph of the head commit be derived from the base's.

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from perceo.errors import GitTimeoutError, InvalidRefError, NotAGitRepositoryError, PerceoError, ShallowCloneError
from perceo.models import ChangedFile, ChangeSet
from perceo.models.vocab import ChangeStatus
from perceo.observer.filewarnings import warn_file
from perceo.observer.gitproc import GitTimeouts, run_git

log = logging.getLogger(__name__)

#: The id of git's empty tree: the base of a repository without commits.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
#: How far `deepen=True` fetches, step by step, before it asks for the whole history.
DEEPEN_STEPS = (50, 200, 1000)
#: What a local git call that runs out of time suggests.
LOCAL_TIMEOUT_ADVICE = (
    "Is the repository on a slow or stuck file system, or locked by another git process? If it is only large, raise "
    "observer.git.localTimeoutSeconds in .perceo/config.json."
)

_STATUS: dict[str, ChangeStatus] = {
    "A": "added",
    "M": "modified",
    "T": "modified",  # type change (file <-> symlink): the content at this path changed
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
}
_RAW_HEADER = re.compile(r"^:(\d{6}) (\d{6}) ([0-9a-f]+) ([0-9a-f]+) ([A-Z])(\d*)$")
#: Modes of tree entries that are no file of a snapshot: symbolic links and submodules (gitlinks).
_NOT_A_FILE_MODES = frozenset({"120000", "160000", "000000"})
_GITLINK = "160000"
#: The blob SHA git prints for a working-tree file whose content it has not hashed.
_UNHASHED = "0" * 40
#: In a `TreeDelta`: the path's new content is in the working tree (hash it from disk).
FROM_DISK = ""

#: path -> its new blob SHA at head, None when the path is no longer a file there, or FROM_DISK.
TreeDelta = dict[str, str | None]
_NUMSTAT = re.compile(r"^(\d+|-)\t(\d+|-)\t(.*)$", re.DOTALL)


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: bytes
    stderr: str


def _log_notice(message: str) -> None:
    log.info("%s", message)


class Git:
    """A git repository driven through the git CLI, one argument list per call, each bounded by `timeouts`.

    `notice` receives what a long wait waits for (a fetch from a remote), before it starts."""

    def __init__(
        self, repo_dir: Path, *, timeouts: GitTimeouts | None = None, notice: Callable[[str], None] | None = None
    ) -> None:
        self.repo_dir = repo_dir
        self.timeouts = timeouts or GitTimeouts()
        self.notice = notice or _log_notice

    @classmethod
    def open(
        cls, repo_dir: Path, *, timeouts: GitTimeouts | None = None, notice: Callable[[str], None] | None = None
    ) -> Git:
        repo = cls(Path(repo_dir), timeouts=timeouts, notice=notice)
        if not repo.repo_dir.is_dir():
            raise NotAGitRepositoryError(f"{repo.repo_dir} is not a directory")
        result = repo.run("rev-parse", "--show-toplevel")
        if result.returncode != 0:
            raise NotAGitRepositoryError(
                f"{repo.repo_dir} is not inside a git repository (run `git init`, or pass --project-dir)"
            )
        # Paths are reported relative to the top of the repository, as discovery's snapshots list them.
        return repo.at(Path(os.fsdecode(result.stdout.rstrip(b"\n"))))

    def at(self, repo_dir: Path) -> Git:
        """The same git settings in another folder (the repository's top folder)."""
        return Git(repo_dir, timeouts=self.timeouts, notice=self.notice)

    def run(self, *args: str, timeout: float | None = None, on_timeout: str = LOCAL_TIMEOUT_ADVICE) -> GitResult:
        # -c options keep output stable whatever the user's config says; paths come NUL-separated (-z) anyway.
        command = ["-c", "core.quotepath=off", "-c", "color.ui=never", "--no-optional-locks", *args]
        done = run_git(
            command,
            self.repo_dir,
            timeout_s=self.timeouts.local_s if timeout is None else timeout,
            on_timeout=on_timeout,
        )
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
                relative = re.search(r"[~^]", ref) is not None
                if relative:  # `git fetch origin HEAD~1` is rejected: relative refs need more history instead
                    hint = " This is a shallow clone: fetch more history first (`git fetch --deepen=50`)."
                else:
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
            fetched = self._deepen(remote, step)
            if fetched.returncode != 0:
                raise ShallowCloneError(
                    f"could not deepen the shallow clone from {remote!r}: {fetched.stderr or 'git fetch failed'}. "
                    f"{_fetch_advice(remote)}",
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

    def _deepen(self, remote: str, step: int) -> GitResult:
        """One `git fetch --deepen=<step>` (`--unshallow` for 0) from `remote`, said beforehand and bounded by
        `timeouts.fetch_s`."""
        what = "the rest of the history" if step == 0 else f"{step} more commits"
        timeout = self.timeouts.fetch_s
        self.notice(f"shallow clone: fetching {what} from {remote} (timeout {timeout:g} s)…")
        args = ("fetch", "--quiet", "--no-tags", "--unshallow" if step == 0 else f"--deepen={step}", remote)
        try:
            return self.run("-c", "core.askPass=false", *args, timeout=timeout, on_timeout=_fetch_advice(remote))
        except GitTimeoutError as error:
            raise GitTimeoutError(
                f"fetching {what} from {remote!r} did not finish within {timeout:g} s (the remote is slow or does not "
                f"answer). {_fetch_advice(remote)}",
                details={**error.details, "remote": remote},
            ) from error

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
        return self.diff_with_delta(base, head)[0]

    def diff_with_delta(self, base: str, head: str | None) -> tuple[list[ChangedFile], TreeDelta]:
        """`diff`, plus the tree delta from `base` to `head` read from the same git call."""
        args = ["diff", "-z", "--raw", "--numstat", "--no-abbrev", "-M", "-C", "--no-ext-diff", "--no-textconv"]
        refs = [base] if head is None else [base, head]
        result = self.run(*args, *refs, "--")
        delta: TreeDelta = {}
        if result.returncode != 0 and _missing_objects(result.stderr):
            # A partial clone whose promisor remote cannot be reached (or a damaged object store): line counts and
            # rename detection need the blobs, the tree comparison does not. The analysis goes on without them.
            reason = _first_line(result.stderr)
            plain = ["diff", "-z", "--raw", "--no-abbrev", "--no-renames", "--no-ext-diff", "--no-textconv"]
            result = self.run(*plain, *refs, "--")
            if result.returncode == 0:
                files = parse_raw_numstat(result.stdout, delta, warn=True)
                for changed in files:
                    warn_file(
                        changed.path,
                        f"line count and renames unknown, git could not read the blobs (a partial clone whose remote "
                        f"cannot be reached? {reason})",
                    )
                return files, delta
        if result.returncode != 0:
            raise PerceoError(f"git diff failed in {self.repo_dir}: {result.stderr or 'no message'}")
        return parse_raw_numstat(result.stdout, delta, warn=True), delta

    def tree_delta(self, base: str, head: str) -> TreeDelta:
        """The blobs that differ between two commits, without rename detection (`git diff-tree -r`)."""
        result = self.run("diff-tree", "-r", "-z", "--no-abbrev", "--no-renames", base, head, "--")
        if result.returncode != 0:
            raise PerceoError(f"git diff-tree failed in {self.repo_dir}: {result.stderr or 'no message'}")
        delta: TreeDelta = {}
        parse_raw_numstat(result.stdout, delta)
        return delta

    def uncommitted(self) -> list[str]:
        """Paths with uncommitted changes: staged, unstaged and untracked (not ignored) files (`git status`).
        Empty when git cannot tell (this is only ever a hint)."""
        result = self.run("status", "--porcelain=v1", "-z", "--untracked-files=normal", "--ignore-submodules=dirty")
        if result.returncode != 0:
            return []
        paths: list[str] = []
        tokens = result.stdout.split(b"\0")
        index = 0
        while index < len(tokens):
            token = tokens[index]
            index += 1
            if len(token) < 4:
                continue
            paths.append(_decode(token[3:]))
            if token[:1] in (b"R", b"C"):  # a rename or copy: the old path follows
                index += 1
        return paths

    def untracked(self) -> list[str]:
        """Untracked files that are not ignored."""
        result = self.run("ls-files", "-z", "--others", "--exclude-standard")
        if result.returncode != 0:
            raise PerceoError(f"git ls-files failed in {self.repo_dir}: {result.stderr or 'no message'}")
        return [_decode(p) for p in result.stdout.split(b"\0") if p]


def _fetch_advice(remote: str) -> str:
    return (
        "Check out the history in CI instead (`fetch-depth: 0` in actions/checkout), or fetch it yourself "
        f"(`git fetch --deepen=200 {remote}`) and run again without --deepen; if the remote is only slow, raise "
        "observer.git.fetchTimeoutSeconds in .perceo/config.json."
    )


#: What git says when an object it needs is not in the repository (partial clones, damaged stores).
_MISSING_OBJECT = re.compile(
    r"promisor remote|could not fetch|unable to read|missing blob|bad object|does not appear to be a git repository"
    r"|Could not read from remote|invalid object|is corrupt",
    re.IGNORECASE,
)


def _missing_objects(stderr: str) -> bool:
    return _MISSING_OBJECT.search(stderr) is not None


def _first_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    line = next((line for line in lines if "fetch" in line or "read" in line), lines[-1] if lines else "")
    return line[:160]


def _decode(raw: bytes) -> str:
    return os.fsdecode(raw)  # as discovery's snapshots decode paths, so the two always agree


def parse_raw_numstat(output: bytes, delta: TreeDelta | None = None, *, warn: bool = False) -> list[ChangedFile]:
    """Parse `git diff -z --raw --numstat` output: raw records first, then one numstat record per file.

    With `delta`, it is filled with the new blob of every changed path (see `TreeDelta`): the old path of a
    rename is gone, a symbolic link or submodule is no file, and an unhashed working-tree file is FROM_DISK. With
    `warn`, a changed submodule gets a file warning (its code is not analysed).
    """
    files: list[ChangedFile] = []
    counts: dict[str, tuple[int | None, int | None]] = {}
    gone: list[str] = []
    for record in _records([_decode(t) for t in output.split(b"\0")]):
        if isinstance(record, _RawRecord):
            files.append(record.file)
            if warn and record.submodule:
                warn_file(
                    record.file.path, "a submodule (gitlink): the code of the commits it points to is not analysed"
                )
            if delta is not None:
                if record.file.status == "renamed" and record.file.old_path:
                    gone.append(record.file.old_path)
                if record.unmerged:  # a conflicted path during a merge: what is on disk
                    delta[record.file.path] = FROM_DISK
                elif record.file.status == "deleted" or record.new_mode in _NOT_A_FILE_MODES:
                    gone.append(record.file.path)
                else:
                    delta[record.file.path] = FROM_DISK if record.new_sha == _UNHASHED else record.new_sha
        else:
            added, deleted, path = record
            counts[path] = (added, deleted)
    if delta is not None:
        for path in gone:  # a path both left and re-created (a rename onto a deleted file) keeps its new blob
            delta.setdefault(path, None)
    return [
        f.model_copy(update={"additions": counts[f.path][0], "deletions": counts[f.path][1]}) if f.path in counts else f
        for f in files
    ]


@dataclass(frozen=True)
class _RawRecord:
    file: ChangedFile
    new_mode: str
    new_sha: str
    unmerged: bool = False
    submodule: bool = False


def _records(tokens: Sequence[str]) -> Iterator[_RawRecord | tuple[int | None, int | None, str]]:
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if not token:
            index += 1
            continue
        header = _RAW_HEADER.match(token)
        if header:
            old_mode, new_mode, new_sha, letter = header.group(1), header.group(2), header.group(4), header.group(5)
            if letter in ("R", "C"):
                old_path, path = tokens[index + 1], tokens[index + 2]
                index += 3
                changed = ChangedFile(path=path, status=_STATUS[letter], old_path=old_path)
            else:
                index += 2
                changed = ChangedFile(path=tokens[index - 1], status=_STATUS.get(letter, "modified"))
            yield _RawRecord(
                changed, new_mode, new_sha, unmerged=letter == "U", submodule=_GITLINK in (old_mode, new_mode)
            )
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
    return compute_change_delta(repo_dir, base, head, working_tree=working_tree, deepen=deepen)[0]


def compute_change_delta(
    repo_dir: Path,
    base: str | None,
    head: str = "HEAD",
    *,
    working_tree: bool = False,
    deepen: bool = False,
    timeouts: GitTimeouts | None = None,
    notice: Callable[[str], None] | None = None,
) -> tuple[ChangeSet, TreeDelta]:
    """`compute_change_set` and the tree delta from its base to its head (from the same git calls)."""
    if working_tree:
        return working_tree_change_delta(Git.open(repo_dir, timeouts=timeouts, notice=notice), base, deepen=deepen)
    commits = resolve_commits(repo_dir, base, head, deepen=deepen, timeouts=timeouts, notice=notice)
    files, delta = commits.git.diff_with_delta(commits.merge_base, commits.head_sha)
    return ChangeSet(base_sha=commits.merge_base, head_sha=commits.head_sha, files=files), delta


@dataclass(frozen=True)
class CommitRange:
    git: Git
    merge_base: str
    head_sha: str


def resolve_commits(
    repo_dir: Path,
    base: str | None,
    head: str = "HEAD",
    *,
    deepen: bool = False,
    timeouts: GitTimeouts | None = None,
    notice: Callable[[str], None] | None = None,
) -> CommitRange:
    """The repository, the merge base of `base` and `head`, and head's commit — one git call when all is well.

    Every git call is bounded by `timeouts`; `notice` hears what a fetch (`deepen`) waits for."""
    if not base:
        raise InvalidRefError("a base ref is required (for example --base main), unless the working tree is compared")
    for ref, what in ((base, "base ref"), (head, "head ref")):
        if not ref or ref.startswith("-") or "\0" in ref:
            raise InvalidRefError(f"invalid {what} {ref!r}: not a git ref", details={"ref": ref})
    probe = Git(Path(repo_dir), timeouts=timeouts, notice=notice)
    # One call for the top folder, both commits and the merge base (`base...head` lists it negated); on anything
    # unexpected the slow path says exactly what is wrong.
    lines: list[str] = []
    if probe.repo_dir.is_dir():
        quick = probe.run(
            "rev-parse",
            "--show-toplevel",
            "--end-of-options",
            f"{head}^{{commit}}",
            f"{base}^{{commit}}",
            f"{base}...{head}",
        )
        if quick.returncode == 0:
            # git before 2.41 echoes `--end-of-options` when it is not verifying
            lines = [
                line
                for line in quick.stdout.decode("utf-8", "surrogateescape").splitlines()
                if line != "--end-of-options"
            ]
    merge_bases = [line[1:] for line in lines[3:] if line.startswith("^")]
    if len(lines) >= 3 and _is_sha(lines[1]) and _is_sha(lines[2]):
        git = probe.at(Path(os.fsdecode(lines[0].encode("utf-8", "surrogateescape"))))
        head_sha, base_sha = lines[1], lines[2]
        if len(merge_bases) == 1 and _is_sha(merge_bases[0]):
            return CommitRange(git, merge_bases[0], head_sha)
    else:
        git = Git.open(repo_dir, timeouts=timeouts, notice=notice)
        head_sha = git.resolve(head, what="head ref")
        base_sha = git.resolve(base, what="base ref")
    merge_base = git.merge_base(base_sha, head_sha, base_ref=base, head_ref=head, deepen=deepen)
    return CommitRange(git, merge_base, head_sha)


def _is_sha(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def working_tree_change_delta(git: Git, base: str | None, *, deepen: bool) -> tuple[ChangeSet, TreeDelta]:
    """The working-tree change set and its delta (changed and untracked files are FROM_DISK)."""
    head_sha = git.head_sha()
    if base and head_sha is not None:
        base_sha = git.merge_base(
            git.resolve(base, what="base ref"), head_sha, base_ref=base, head_ref="HEAD", deepen=deepen
        )
    elif base:
        raise InvalidRefError(f"base ref {base!r} cannot be compared: the repository has no commits yet")
    else:
        base_sha = head_sha or EMPTY_TREE
    files, delta = git.diff_with_delta(base_sha, None)
    seen = {f.path for f in files}
    for path in git.untracked():
        if path not in seen:
            files.append(ChangedFile(path=path, status="added"))
            delta[path] = FROM_DISK
    change_set = ChangeSet(base_sha=base_sha, head_sha=head_sha or EMPTY_TREE, files=files, working_tree=True)
    return change_set, delta


def tree_delta_of(git: Git, change_set: ChangeSet) -> TreeDelta:
    """The tree delta from a change set's base to its head (the working tree for a working-tree change set)."""
    if not change_set.working_tree:
        return git.tree_delta(change_set.base_sha, change_set.head_sha)
    _, delta = git.diff_with_delta(change_set.base_sha, None)
    for path in git.untracked():
        delta.setdefault(path, FROM_DISK)
    return delta


def read_blobs(repo_dir: Path, sha: str, paths: Sequence[str]) -> dict[str, bytes | None]:
    """The content of files at a commit (None where the file does not exist there), in one git call."""
    if not paths:
        return {}
    git = Git.open(repo_dir)
    return dict(zip(paths, read_blob_specs(git.repo_dir, [f"{sha}:{path}" for path in paths]), strict=True))


def read_blob_specs(root: Path, specs: Sequence[str], *, timeouts: GitTimeouts | None = None) -> list[bytes | None]:
    """The content of each `<commit>:<path>` (None where there is no such file), in one git call at the top folder
    `root` of a repository."""
    if not specs:
        return []
    request = "".join(spec + "\n" for spec in specs).encode()
    done = run_git(
        ["--no-optional-locks", "cat-file", "--batch"],
        root,
        input_bytes=request,
        timeout_s=(timeouts or GitTimeouts()).local_s,
        on_timeout=LOCAL_TIMEOUT_ADVICE,
    )
    if done.returncode != 0:
        raise PerceoError(f"git cat-file failed in {root}: {done.stderr.decode('utf-8', 'replace').strip()}")
    return list(_batch_contents(done.stdout, len(specs)))


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
