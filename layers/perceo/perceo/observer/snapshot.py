"""The files of a repository at one point in time: a commit, the working tree, or a plain folder.

A snapshot lists repo-relative POSIX paths with their git blob SHA (the content hash everything else
is keyed by) and reads contents lazily, so a warm discovery run never opens a file whose facts are cached.
Git is called with argument lists only; paths are read with `-z` so spaces and unicode survive.
"""

from __future__ import annotations

import hashlib
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Protocol

from perceo.errors import GitTimeoutError, InvalidRefError, NotAGitRepositoryError, PerceoError
from perceo.observer.filewarnings import warn_file
from perceo.observer.gitproc import DEFAULT_LOCAL_TIMEOUT_S, kill_group, run_git

#: Folders never listed when walking a non-git directory (build output, dependencies, VCS data).
DIRECTORY_IGNORES = frozenset(
    {
        ".git",
        "node_modules",
        ".next",
        ".nuxt",
        ".output",
        ".svelte-kit",
        "dist",
        "build",
        ".turbo",
        ".cache",
        ".perceo",
        "coverage",
        ".angular",
        ".vercel",
        "__pycache__",
        ".venv",
    }
)

_GITLINK_MODE = "160000"
_SYMLINK_MODE = "120000"


def git_blob_sha(data: bytes) -> str:
    """The SHA-1 git gives `data` as a blob (`git hash-object`)."""
    digest = hashlib.sha1(b"blob %d\0" % len(data), usedforsecurity=False)
    digest.update(data)
    return digest.hexdigest()


def _run_git(repo_dir: Path, args: list[str], *, timeout_s: float = DEFAULT_LOCAL_TIMEOUT_S) -> bytes:
    proc = run_git(args, repo_dir, timeout_s=timeout_s)
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip()
        raise PerceoError(f"git {args[0]} failed in {repo_dir}: {message}")
    return proc.stdout


def _ensure_repository(repo_dir: Path, *, bare_ok: bool = False) -> Path:
    """The top folder of the repository `repo_dir` is in (itself, for a bare repository when allowed)."""
    if not repo_dir.is_dir():
        raise NotAGitRepositoryError(f"{repo_dir} is not a directory")
    proc = run_git(["rev-parse", "--show-toplevel"], repo_dir, timeout_s=DEFAULT_LOCAL_TIMEOUT_S)
    if proc.returncode == 0:
        return Path(os.fsdecode(proc.stdout.rstrip(b"\n")))
    if _is_bare(repo_dir):
        if bare_ok:
            return repo_dir
        raise NotAGitRepositoryError(f"{repo_dir} is a bare git repository: it has no working tree")
    raise NotAGitRepositoryError(f"{repo_dir} is not inside a git repository")


def _is_bare(repo_dir: Path) -> bool:
    proc = run_git(["rev-parse", "--is-bare-repository"], repo_dir, timeout_s=DEFAULT_LOCAL_TIMEOUT_S)
    return proc.returncode == 0 and proc.stdout.strip() == b"true"


def resolve_commit(repo_dir: Path, ref: str) -> str:
    """The full commit SHA `ref` names in the repository at `repo_dir`."""
    if not ref or ref.startswith("-"):
        raise InvalidRefError(f"invalid git ref {ref!r}", details={"ref": ref})
    _ensure_repository(repo_dir, bare_ok=True)
    proc = run_git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
        repo_dir,
        timeout_s=DEFAULT_LOCAL_TIMEOUT_S,
    )
    if proc.returncode != 0:
        raise InvalidRefError(
            f"git ref {ref!r} does not name a commit in {repo_dir}", details={"ref": ref, "repo": str(repo_dir)}
        )
    return proc.stdout.decode().strip()


class UnreadableFileError(OSError):
    """A file of a snapshot whose content cannot be read; a file warning already says so."""


def unreadable_reason(exc: BaseException) -> str:
    """A short reason for a failed read, for a warning line."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, OSError) and not isinstance(exc, UnreadableFileError):
        return exc.strerror or type(exc).__name__
    text = str(exc)
    return text if len(text) <= 160 else text[:157] + "..."


class BlobSource(Protocol):
    """Reads blobs by SHA: `BlobReader` (a git process) or another object store (the cloud clone's dulwich)."""

    def read(self, sha: str) -> bytes: ...

    def close(self) -> None: ...


class BlobReader:
    """One long-lived `git cat-file --batch` process, shared by every read of a snapshot (or of an analysis: see
    `RepoSnapshot.from_listing`). Close it, or use it as a context manager.

    Each read waits at most `timeout_s` for git's answer (a stuck file system, or a partial clone fetching a
    missing blob from a remote that does not answer): then git is killed and `GitTimeoutError` raised."""

    def __init__(self, repo_dir: Path, *, timeout_s: float = DEFAULT_LOCAL_TIMEOUT_S) -> None:
        self._repo_dir = repo_dir
        self._timeout_s = timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._buffer = bytearray()
        self._deadline = 0.0  # of the request being answered (time.monotonic)

    def read(self, sha: str) -> bytes:
        with self._lock:
            header = self._request(sha.encode())
            if len(header) != 3:
                raise PerceoError(f"git cat-file could not read blob {sha}")
            return self._content(int(header[2]))

    def read_object(self, name: str) -> bytes | None:
        """The content of a blob named any way git accepts (`<commit>:<path>`); None when there is no such blob."""
        if "\n" in name:
            return None  # the batch protocol is line-based
        with self._lock:
            header = self._request(name.encode("utf-8", "surrogateescape"))
            if len(header) != 3:
                return None  # "<name> missing" or "ambiguous"
            data = self._content(int(header[2]))
            return data if header[1] == b"blob" else None

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _request(self, name: bytes) -> list[bytes]:
        """Ask for one object; its header line, split."""
        proc = self._start()
        assert proc.stdin is not None
        self._deadline = time.monotonic() + self._timeout_s
        proc.stdin.write(name + b"\n")
        proc.stdin.flush()
        while (end := self._buffer.find(b"\n")) < 0:
            self._fill()
        header = bytes(self._buffer[:end]).split()
        del self._buffer[: end + 1]
        return header

    def _content(self, size: int) -> bytes:
        """The `size` bytes of content after a header, and the newline after them."""
        while len(self._buffer) < size + 1:
            self._fill()
        data = bytes(self._buffer[:size])
        del self._buffer[: size + 1]
        return data

    def _fill(self) -> None:
        """Read what git has written so far, waiting until the request's deadline at most."""
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        fd = proc.stdout.fileno()
        remaining = self._deadline - time.monotonic()
        ready = select.select([fd], [], [], max(remaining, 0))[0] if remaining > 0 else []
        if not ready:
            self._stop()
            raise GitTimeoutError(
                f"`git cat-file` gave no answer within {self._timeout_s:g} s in {self._repo_dir}. Is the file system "
                "stuck, or is this a partial clone fetching missing files from a remote that does not answer? "
                "Raise observer.git.localTimeoutSeconds if the repository is only slow.",
                details={"command": "cat-file --batch", "timeoutSeconds": self._timeout_s},
            )
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            self._stop()
            raise PerceoError(f"git cat-file stopped while reading objects in {self._repo_dir}")
        self._buffer += chunk

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._buffer.clear()
            self._proc = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=self._repo_dir,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: a timeout kills a lazy fetch's helpers too
            )
        return self._proc

    def _stop(self) -> None:
        if self._proc is not None:
            kill_group(self._proc)
            self._proc.wait()
            for pipe in (self._proc.stdin, self._proc.stdout):
                if pipe is not None:
                    pipe.close()
            self._proc = None
            self._buffer.clear()

    def close(self) -> None:
        with self._lock:
            if self._proc is not None:
                if self._proc.stdin is not None:
                    self._proc.stdin.close()
                try:
                    self._proc.wait(timeout=self._timeout_s)
                except subprocess.TimeoutExpired:
                    kill_group(self._proc)
                    self._proc.wait()
                if self._proc.stdout is not None:
                    self._proc.stdout.close()
                self._proc = None
                self._buffer.clear()


class RepoSnapshot:
    """The files of a repository at one point, with their content hashes and lazily read contents.

    Build one with `at_ref`, `working_tree` or `directory`. Use it as a context manager (or call `close`)
    to stop the `git cat-file` process a commit snapshot starts on first read.
    """

    def __init__(
        self,
        root: Path,
        shas: dict[str, str | None],
        *,
        ref: str | None = None,
        commit: str | None = None,
        blob_reader: BlobSource | None = None,
    ) -> None:
        #: Repository (or folder) the paths are relative to.
        self.root = root
        #: The ref asked for (`at_ref`), else None.
        self.ref = ref
        #: The commit SHA read (`at_ref`), else None.
        self.commit = commit
        # path -> blob SHA, or None when the SHA is computed from the file on first use.
        self._shas = shas
        self._blobs = blob_reader
        self._files = sorted(shas)
        #: paths read from the working tree even though blobs are read with git (`from_listing`).
        self._on_disk: frozenset[str] = frozenset()
        self._owns_reader = True
        #: when a set, every path whose content is read is added to it (what a computation depended on)
        self.reads: set[str] | None = None

    # -- constructors ----------------------------------------------------------------------------------

    @classmethod
    def at_ref(cls, repo_dir: Path | str, ref: str) -> RepoSnapshot:
        """The tracked files of commit `ref` (files and blob SHAs from `git ls-tree -r -z`); bare repositories
        are fine."""
        root = _ensure_repository(Path(repo_dir), bare_ok=True)
        commit = resolve_commit(root, ref)
        listing = _run_git(root, ["ls-tree", "-r", "-z", "--full-tree", commit])
        shas: dict[str, str | None] = {}
        # records are "<mode> <type> <sha>\t<path>"; decoded once, as os.fsdecode would, for speed
        for record in listing.decode(sys.getfilesystemencoding(), "surrogateescape").split("\0"):
            if not record:
                continue
            meta, _, path = record.partition("\t")
            mode, kind, sha = meta.split(" ")
            if kind != "blob" or mode == _SYMLINK_MODE:
                continue
            shas[path] = sha
        return cls(root, shas, ref=ref, commit=commit, blob_reader=BlobReader(root))

    @classmethod
    def from_listing(
        cls,
        repo_dir: Path | str,
        shas: dict[str, str | None],
        *,
        commit: str | None = None,
        on_disk: frozenset[str] = frozenset(),
        blob_reader: BlobReader | None = None,
    ) -> RepoSnapshot:
        """A snapshot whose listing (path -> blob SHA) is already known, for example derived from another commit's
        listing and a diff (the snapshot keeps `shas`: do not change it afterwards). Blobs are read with git (with
        `blob_reader` when given: closing the snapshot leaves it open), except `on_disk` paths, read from the working
        tree."""
        reader = blob_reader if blob_reader is not None else BlobReader(Path(repo_dir))
        snapshot = cls(Path(repo_dir), shas, commit=commit, blob_reader=reader)
        snapshot._on_disk = on_disk
        snapshot._owns_reader = blob_reader is None
        return snapshot

    @classmethod
    def working_tree(cls, repo_dir: Path | str) -> RepoSnapshot:
        """Tracked plus untracked-not-ignored files as they are on disk now.

        Index SHAs are reused for files git reports unmodified; modified and untracked files are hashed
        from disk (lazily, on first `blob_sha`). Files deleted from disk are left out.
        """
        root = _ensure_repository(Path(repo_dir))
        staged = _run_git(root, ["ls-files", "-s", "-z"])
        index: dict[str, str] = {}
        for record in staged.split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            mode, sha, _stage = meta.decode().split(" ")
            if mode in (_GITLINK_MODE, _SYMLINK_MODE):
                continue
            index[os.fsdecode(raw_path)] = sha
        dirty = set(_split_z(_run_git(root, ["diff-files", "--name-only", "-z"])))
        deleted = set(_split_z(_run_git(root, ["ls-files", "--deleted", "-z"])))
        others = _split_z(_run_git(root, ["ls-files", "--others", "--exclude-standard", "-z"]))
        shas: dict[str, str | None] = {}
        for path, sha in index.items():
            if path in deleted:
                continue
            shas[path] = None if path in dirty else sha
        for path in others:
            if (root / path).is_file() and not (root / path).is_symlink():
                shas[path] = None
        return cls(root, shas)

    @classmethod
    def directory(cls, path: Path | str) -> RepoSnapshot:
        """Every file under a plain folder (no git), skipping dependency and build folders."""
        root = Path(path)
        if not root.is_dir():
            raise PerceoError(f"{root} is not a directory")
        shas: dict[str, str | None] = {}
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in DIRECTORY_IGNORES]
            base = Path(dirpath)
            for name in filenames:
                full = base / name
                if full.is_symlink():
                    continue
                shas[full.relative_to(root).as_posix()] = None
        return cls(root, shas)

    @classmethod
    def from_files(cls, files: dict[str, bytes | str], root: Path | str = ".") -> RepoSnapshot:
        """An in-memory snapshot (tests, callers that already hold the contents)."""
        return _MemorySnapshot(Path(root), files)

    # -- queries ---------------------------------------------------------------------------------------

    def files(self) -> list[str]:
        """Repo-relative POSIX paths, sorted."""
        return list(self._files)

    def __contains__(self, path: object) -> bool:
        return path in self._shas

    def listing(self) -> dict[str, str | None]:
        """path -> blob SHA for every file (working-tree files are hashed as needed)."""
        if None not in self._shas.values():
            return dict(self._shas)
        return {path: self.blob_sha(path) for path in self._files}

    def blob_sha(self, path: str) -> str:
        """Git's blob SHA of the file's content (computed from disk for modified/untracked files)."""
        sha = self._shas[path]
        if sha is None:
            sha = git_blob_sha(self.read_bytes(path))
            self._shas[path] = sha
        return sha

    def read_bytes(self, path: str) -> bytes:
        """The file's content. Raises KeyError for a path not in the snapshot, and `UnreadableFileError` (an OSError,
        after a file warning: see `perceo.observer.filewarnings`) when git cannot give the blob (a partial clone
        without its remote, a damaged store) or the file cannot be read from disk."""
        if path not in self._shas:
            raise KeyError(path)
        if self.reads is not None:
            self.reads.add(path)
        try:
            if self._blobs is not None and path not in self._on_disk:
                sha = self._shas[path]
                assert sha is not None
                return self._blobs.read(sha)
            return (self.root / path).read_bytes()
        except (PerceoError, OSError) as exc:
            if isinstance(exc, IsADirectoryError | FileNotFoundError):
                raise
            reason = unreadable_reason(exc)
            warn_file(path, f"could not be read ({reason}): its imports are unknown")
            raise UnreadableFileError(f"{path}: {reason}") from exc

    def read_text(self, path: str) -> str:
        """The file's content decoded as UTF-8 (undecodable bytes replaced)."""
        return self.read_bytes(path).decode("utf-8", "replace")

    def close(self) -> None:
        if self._blobs is not None and self._owns_reader:
            self._blobs.close()

    def __enter__(self) -> RepoSnapshot:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _MemorySnapshot(RepoSnapshot):
    def __init__(self, root: Path, files: dict[str, bytes | str]) -> None:
        self._contents = {p: (c.encode() if isinstance(c, str) else c) for p, c in files.items()}
        super().__init__(root, {p: git_blob_sha(c) for p, c in self._contents.items()})

    def read_bytes(self, path: str) -> bytes:
        if self.reads is not None and path in self._contents:
            self.reads.add(path)
        return self._contents[path]


def _split_z(output: bytes) -> Iterable[str]:
    return [os.fsdecode(item) for item in output.split(b"\0") if item]
