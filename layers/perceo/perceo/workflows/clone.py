"""A hardened, shallow, bounded clone of a remote that passed `perceo.workflows.gitremote`, in pure Python (dulwich).

The cloud runs this in a Lambda, whose runtime has no git binary: dulwich speaks git's smart protocol itself.
What the clone does, and why:

- One commit (`depth=1`) of one ref (the branch asked for, else the remote's HEAD), no tags: discovery reads one
  tree; history only costs time and disk.
- No checkout: the objects land in `.git` and nothing is written to a working tree. Discovery reads blobs from the
  object store (`ClonedRepository.snapshot`, which skips symlinks and submodules), so a hostile tree (symlinks to
  `/proc/self/environ`, `.git` look-alikes, case-folding tricks) never touches the file system.
- No submodules (dulwich never follows them: a submodule URL is chosen by the repository author and could point
  anywhere) and no hooks (a fetch runs none, and the new repository has no hooks directory from a template).
- Transports: only https and ssh reach here (the URL policy refuses the rest); the client is built for the
  policy's scheme, never from the URL's own say.
- HTTPS: TLS verified (the system's CAs, or `ca_file`), no redirects followed (an allowed host cannot bounce the
  clone to an internal address), no proxy or credential configuration from the host machine. A token from the
  project's secret (never from a request) goes in an `Authorization: Basic` header for the remote's origin only:
  it is in no URL, no argument list and no log, and is scrubbed from error messages.
- SSH: the project's key and `known_hosts` go to 0600 files in a temporary directory, used by the `ssh` client with
  `StrictHostKeyChecking=yes` and no configuration file; the command is built only from those paths, each quoted.
  The Lambda runtime has no `ssh` client either: there, private repositories use an HTTPS token.
- Limits: every byte received counts against `max_bytes`, and the clone stops at `timeout_s` (network reads time
  out too, so a server that stops answering cannot hold the Lambda).
- Objects are checked on receipt: dulwich verifies the pack's checksum and every object's SHA-1 as it indexes it.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from perceo.workflows.errors import CloneFailedError, CloneLimitError
from perceo.workflows.gitremote import GitRemote, check_branch

if TYPE_CHECKING:
    from dulwich.client import GitClient
    from dulwich.objects import ObjectID
    from dulwich.refs import Ref
    from dulwich.repo import Repo

    from perceo.observer.snapshot import RepoSnapshot

logger = logging.getLogger(__name__)

_MAX_ERROR_CHARS = 600
_CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class CloneLimits:
    max_bytes: int = 300 * 1024 * 1024
    timeout_s: float = 120.0


@dataclass(frozen=True)
class GitCredentials:
    """What the project's git secret holds: an HTTPS token (with its user name) or an SSH key with known hosts."""

    token: SecretStr | None = None
    #: The user name sent with the token: `x-access-token` (GitHub), `oauth2` (GitLab), `x-token-auth` (Bitbucket).
    username: str = "x-access-token"
    ssh_private_key: SecretStr | None = None
    known_hosts: str | None = None


@dataclass(frozen=True)
class ClonedRepository:
    path: Path
    commit: str
    size_bytes: int

    def snapshot(self) -> RepoSnapshot:
        """The commit's tracked files (no symlinks, no submodules), read from the object store in pure Python."""
        from dulwich.repo import Repo

        from perceo.observer.snapshot import RepoSnapshot

        repo = Repo(str(self.path))
        try:
            tree = repo[repo[self.commit.encode("ascii")].tree]  # type: ignore[attr-defined]
            shas: dict[str, str | None] = {}
            for entry in repo.object_store.iter_tree_contents(tree.id):
                if entry.mode is not None and stat.S_ISREG(entry.mode) and entry.path is not None:
                    shas[os.fsdecode(entry.path)] = entry.sha.decode("ascii") if entry.sha else None
        except BaseException:
            repo.close()
            raise
        return RepoSnapshot(self.path, shas, ref="HEAD", commit=self.commit, blob_reader=DulwichBlobReader(repo))


class DulwichBlobReader:
    """Blobs of a repository by SHA, read with dulwich (no git process). Closing it closes the repository."""

    def __init__(self, repo: Repo) -> None:
        self._repo = repo

    def read(self, sha: str) -> bytes:
        from dulwich.objects import ObjectID

        data: bytes = self._repo.object_store[ObjectID(sha.encode("ascii"))].as_raw_string()
        return data

    def close(self) -> None:
        self._repo.close()


class _Budget:
    """The clone's size and time limits, checked on every chunk received."""

    def __init__(self, limits: CloneLimits, remote: str = "the remote") -> None:
        self.limits = limits
        #: `host/path`, to name the remote that is too slow (never the URL: it could carry a user name).
        self.remote = remote
        self.deadline = time.monotonic() + limits.timeout_s
        self.received = 0

    def take(self, size: int) -> None:
        self.received += size
        if self.received > self.limits.max_bytes:
            raise CloneLimitError(
                f"the repository is larger than {self.limits.max_bytes // (1024 * 1024)} MB (shallow); clone stopped",
                details={"limit": "maxBytes", "value": self.limits.max_bytes},
            )
        self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise self.too_slow()

    def too_slow(self) -> CloneLimitError:
        return CloneLimitError(
            f"the clone from {self.remote} took longer than {self.limits.timeout_s:g}s and was stopped (the git remote "
            "answers too slowly or not at all; CLONE_TIMEOUT_S sets the limit)",
            details={"limit": "timeoutS", "value": self.limits.timeout_s},
        )


def _https_client(
    remote: GitRemote, credentials: GitCredentials | None, ca_file: str | None, budget: _Budget
) -> GitClient:
    import urllib3
    from dulwich.client import Urllib3HttpGitClient

    read_timeout = budget.limits.timeout_s
    pool = urllib3.PoolManager(
        cert_reqs="CERT_REQUIRED",
        ca_certs=ca_file,
        retries=False,  # no retries, and redirects are answered, never followed
        timeout=urllib3.Timeout(connect=min(_CONNECT_TIMEOUT_S, read_timeout), read=read_timeout),
        headers={"User-Agent": "perceo-clone (dulwich)"},
    )
    token = credentials.token if credentials is not None else None
    return Urllib3HttpGitClient(
        remote.origin + remote.path,
        pool_manager=pool,
        username=credentials.username if token is not None and credentials is not None else None,
        password=token.get_secret_value() if token is not None else None,
        include_tags=False,
        quiet=True,
    )


@contextmanager
def _ssh_client(remote: GitRemote, credentials: GitCredentials | None, scratch: Path) -> Iterator[GitClient]:
    from dulwich.client import SSHGitClient, SubprocessSSHVendor

    if credentials is None or credentials.ssh_private_key is None or not credentials.known_hosts:
        raise CloneFailedError(
            "an ssh:// repository needs the project's git secret with `sshPrivateKey` and `knownHosts`",
            details={"field": "repoUrl"},
        )
    ssh = shutil.which("ssh")
    if ssh is None:
        raise CloneFailedError(
            "an ssh:// repository needs an ssh client, which this runtime does not have: "
            "use the https:// URL with a token in the project's git secret",
            details={"field": "repoUrl"},
        )
    key_file = scratch / "id_key"
    hosts_file = scratch / "known_hosts"
    key_text = credentials.ssh_private_key.get_secret_value()
    key_file.write_text(key_text if key_text.endswith("\n") else key_text + "\n", encoding="utf-8")
    hosts_file.write_text(credentials.known_hosts, encoding="utf-8")
    key_file.chmod(0o600)
    hosts_file.chmod(0o600)
    command = shlex.join(
        [
            ssh,
            "-F",
            os.devnull,
            "-i",
            str(key_file),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"UserKnownHostsFile={hosts_file}",
            "-o",
            f"ConnectTimeout={int(_CONNECT_TIMEOUT_S)}",
        ]
    )
    yield SSHGitClient(
        remote.host,
        port=remote.port,
        username=remote.user,
        vendor=SubprocessSSHVendor(),
        ssh_command=command,
        include_tags=False,
        quiet=True,
    )


def _wanted_ref(branch: str | None) -> Ref:
    from dulwich.refs import Ref

    return Ref(b"HEAD" if branch is None else f"refs/heads/{branch}".encode())


def _fetch(client: GitClient, remote: GitRemote, repo: Repo, branch: str | None, budget: _Budget) -> ObjectID:
    """Fetch one commit of the wanted ref into `repo`; its SHA."""
    wanted = _wanted_ref(branch)
    chosen: list[ObjectID] = []

    def determine_wants(refs: Mapping[Ref, ObjectID], depth: int | None = None) -> list[ObjectID]:
        sha = refs.get(wanted)
        if sha is None:
            raise CloneFailedError(
                f"Remote branch {branch} not found in upstream origin"
                if branch is not None
                else "the remote repository has no HEAD (is it empty?)",
                details={"branch": branch},
            )
        chosen.append(sha)
        return [sha]

    spool_dir = repo.controldir()
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024, dir=spool_dir) as pack:

        def pack_data(chunk: bytes) -> int:
            budget.take(len(chunk))
            return pack.write(chunk)

        result = client.fetch_pack(
            "/" + remote.path,
            determine_wants,
            repo.get_graph_walker(),
            pack_data,
            depth=1,
            ref_prefix=[wanted],
        )
        budget.check_time()
        if pack.tell():
            pack.seek(0)
            repo.object_store.add_thin_pack(pack.read, None)
    repo.update_shallow(result.new_shallow, result.new_unshallow)
    return chosen[0]


def _clone_errors() -> tuple[type[BaseException], ...]:
    """What a failed fetch raises: dulwich's protocol, auth and object errors, urllib3's, the OS's."""
    import urllib3.exceptions
    from dulwich.client import HTTPProxyUnauthorized, HTTPUnauthorized
    from dulwich.errors import (
        ApplyDeltaError,
        ChecksumMismatch,
        FileFormatException,
        GitProtocolError,
        NotGitRepository,
        ObjectMissing,
        WrongObjectException,
    )

    return (
        GitProtocolError,
        NotGitRepository,
        HTTPUnauthorized,
        HTTPProxyUnauthorized,
        ChecksumMismatch,
        ApplyDeltaError,
        FileFormatException,
        ObjectMissing,
        WrongObjectException,
        urllib3.exceptions.HTTPError,
        OSError,
    )


def _failure(error: BaseException, secrets: list[str], budget: _Budget) -> Exception:
    """The error to raise for what dulwich or the network raised, told apart by type."""
    import urllib3.exceptions
    from dulwich.client import HTTPUnauthorized
    from dulwich.errors import GitProtocolError, HangupException, NotGitRepository

    cause = error.__cause__ if isinstance(error, GitProtocolError) and error.__cause__ is not None else error
    if isinstance(cause, urllib3.exceptions.TimeoutError | TimeoutError):
        return budget.too_slow()
    if isinstance(error, HTTPUnauthorized):
        message = "the server refused the credentials" if secrets else "the repository needs credentials"
        return CloneFailedError(
            f"git clone failed: {message} (authentication required): give the project's git secret a token"
        )
    if isinstance(error, NotGitRepository):
        return CloneFailedError("git clone failed: repository not found (or no access to it)")
    if isinstance(error, HangupException):
        return CloneFailedError(f"git clone failed: the remote hung up: {_scrub(str(error), secrets)}")
    if not isinstance(error, GitProtocolError | OSError | urllib3.exceptions.HTTPError):
        return CloneFailedError(f"git clone failed: the repository's data is invalid ({type(error).__name__})")
    return CloneFailedError(f"git clone failed: {_scrub(str(error), secrets)[:_MAX_ERROR_CHARS]}")


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _directory_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).lstat().st_size
            except OSError:
                continue
    return total


def clone_repository(
    remote: GitRemote,
    dest: Path,
    *,
    branch: str | None = None,
    credentials: GitCredentials | None = None,
    limits: CloneLimits | None = None,
    ca_file: str | None = None,
) -> ClonedRepository:
    """Clone one commit of `remote` into `dest` (which must not exist or be empty) within `limits`, with no git binary.

    CloneFailedError when the clone fails (the reason, credentials scrubbed); CloneLimitError when a limit is hit.
    `ca_file` adds a CA bundle for HTTPS (a private Git server, or the local cloud's self-signed stand-in).
    """
    from dulwich.refs import Ref
    from dulwich.repo import Repo

    limits = limits or CloneLimits()
    if branch is not None:
        check_branch(branch)
    if remote.scheme not in ("https", "ssh"):  # the URL policy allows no other; this is the belt to its braces
        raise CloneFailedError(f"the {remote.scheme} transport is not allowed", details={"field": "repoUrl"})
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise CloneFailedError(f"clone destination {dest} is not empty")
    budget = _Budget(limits, f"{remote.host}/{remote.path}")
    secrets: list[str] = []
    if credentials is not None and credentials.token is not None:
        secrets.append(credentials.token.get_secret_value())
    if credentials is not None and credentials.ssh_private_key is not None:
        secrets.append(credentials.ssh_private_key.get_secret_value())
    started = time.monotonic()
    repo = Repo.init(str(dest), mkdir=False)
    try:
        with tempfile.TemporaryDirectory(prefix="perceo-clone-") as scratch:
            with _client(remote, credentials, ca_file, budget, Path(scratch)) as client:
                try:
                    commit = _fetch(client, remote, repo, branch, budget)
                except (CloneFailedError, CloneLimitError):
                    raise
                except _clone_errors() as error:
                    raise _failure(error, secrets, budget) from None
        head = Ref(b"HEAD")
        repo.refs.set_symbolic_ref(head, Ref(b"refs/heads/" + (branch or "main").encode()))
        repo.refs[head] = commit
    finally:
        repo.close()
    size = _directory_size(dest)
    logger.info("cloned in %.1fs (%d bytes received)", time.monotonic() - started, budget.received)
    return ClonedRepository(path=dest, commit=commit.decode("ascii"), size_bytes=size)


@contextmanager
def _client(
    remote: GitRemote, credentials: GitCredentials | None, ca_file: str | None, budget: _Budget, scratch: Path
) -> Iterator[GitClient]:
    if remote.scheme == "https":
        yield _https_client(remote, credentials, ca_file, budget)
        return
    with _ssh_client(remote, credentials, scratch) as client:
        yield client
