"""A hardened, shallow, bounded `git clone` of a remote that passed `perceo.workflows.gitremote`.

What the clone does, and why:

- `--depth 1 --single-branch --no-tags`: one commit is all discovery reads; history only costs time and disk.
- `--no-checkout`: nothing is written to a working tree. Discovery reads blobs from the object store
  (`RepoSnapshot.at_ref`, which also skips symlinks and submodules), so a hostile tree (symlinks to
  `/proc/self/environ`, `.git` look-alikes, case-folding tricks) never touches the file system. `core.symlinks=false`
  stays set in case a later step checks files out.
- `--no-recurse-submodules`: a submodule URL is chosen by the repository author and could point anywhere.
- `--template=` and `core.hooksPath=/dev/null`: no hook from a system template directory runs (clone itself never
  runs hooks from the remote; this closes the local side too).
- `GIT_ALLOW_PROTOCOL=https:ssh`: git itself refuses every other transport (`file`, `ext`, `fd`, `git`, `http`,
  remote helpers), including for anything git would fetch on its own later. The URL policy checks first; this is the
  belt to its braces.
- `http.followRedirects=false`: an allowed host cannot bounce the clone to an internal address (SSRF).
- `transfer.fsckObjects=true`: malformed objects are rejected on receipt.
- `GIT_CONFIG_NOSYSTEM=1`, `GIT_CONFIG_GLOBAL=/dev/null`, a throw-away `HOME`, a minimal environment and
  `GIT_TERMINAL_PROMPT=0`: no configuration or credential helper of the host machine is used, and git never waits
  for a password prompt.
- Credentials (from the project's secret, never from a request): an HTTPS token goes in an `Authorization` header
  scoped to the remote's origin (`http.<origin>.extraHeader`) passed through `GIT_CONFIG_*` environment variables,
  so it is on no command line and in no URL; an SSH key and its `known_hosts` go to 0600 files in a temporary
  directory, used with `StrictHostKeyChecking=yes`.
- Limits: the process group is killed when the clone exceeds its time limit or its directory its size limit.
- git runs from an argument list (no shell). The one string git hands to a shell is `GIT_SSH_COMMAND`, built only
  from paths this module created, each quoted.
"""

from __future__ import annotations

import base64
import logging
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from perceo.workflows.errors import CloneFailedError, CloneLimitError
from perceo.workflows.gitremote import GitRemote, check_branch

logger = logging.getLogger(__name__)

#: Settings passed with `-c`: fixed strings, never built from input.
HARDENING_CONFIG: tuple[str, ...] = (
    "core.symlinks=false",
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "http.followRedirects=false",
    "transfer.fsckObjects=true",
    "fetch.fsckObjects=true",
    "submodule.recurse=false",
    "protocol.version=2",
)
ALLOWED_PROTOCOLS = "https:ssh"
_POLL_S = 0.25
_MAX_ERROR_CHARS = 600


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


@dataclass
class _Run:
    argv: list[str]
    env: dict[str, str]
    secrets: list[str] = field(default_factory=list)


def _directory_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).lstat().st_size
            except OSError:
                continue  # a temporary pack file renamed under us
    return total


def _tool_path(name: str) -> str | None:
    found = shutil.which(name)
    return str(Path(found).parent) if found else None


def _base_env(home: Path, ca_file: str | None) -> dict[str, str]:
    dirs = [d for d in (_tool_path("git"), _tool_path("ssh")) if d]
    path = os.pathsep.join(dict.fromkeys([*dirs, *os.defpath.split(os.pathsep)]))
    env = {
        "PATH": path,
        "HOME": str(home),
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ALLOW_PROTOCOL": ALLOWED_PROTOCOLS,
        "GIT_LFS_SKIP_SMUDGE": "1",
    }
    if ca_file:
        env["GIT_SSL_CAINFO"] = ca_file
    return env


@contextmanager
def _credentials_env(remote: GitRemote, credentials: GitCredentials | None, scratch: Path) -> Iterator[_Run]:
    run = _Run(argv=[], env={})
    if remote.scheme == "https":
        if credentials is not None and credentials.token is not None:
            token = credentials.token.get_secret_value()
            basic = base64.b64encode(f"{credentials.username}:{token}".encode()).decode()
            run.env.update(
                GIT_CONFIG_COUNT="1",
                GIT_CONFIG_KEY_0=f"http.{remote.origin}.extraHeader",
                GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
            )
            run.secrets += [token, basic]
        yield run
        return
    if credentials is None or credentials.ssh_private_key is None or not credentials.known_hosts:
        raise CloneFailedError(
            "an ssh:// repository needs the project's git secret with `sshPrivateKey` and `knownHosts`",
            details={"field": "repoUrl"},
        )
    key_file = scratch / "id_key"
    hosts_file = scratch / "known_hosts"
    key_text = credentials.ssh_private_key.get_secret_value()
    key_file.write_text(key_text if key_text.endswith("\n") else key_text + "\n", encoding="utf-8")
    hosts_file.write_text(credentials.known_hosts, encoding="utf-8")
    key_file.chmod(0o600)
    hosts_file.chmod(0o600)
    run.env["GIT_SSH_COMMAND"] = shlex.join(
        [
            "ssh",
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
        ]
    )
    run.secrets.append(key_text)
    yield run


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _git_error(stderr: str, secrets: list[str]) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith("Cloning into")]
    message = "; ".join(lines[-3:]) or "git exited without a message"
    return _scrub(message, secrets)[:_MAX_ERROR_CHARS]


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def clone_repository(
    remote: GitRemote,
    dest: Path,
    *,
    branch: str | None = None,
    credentials: GitCredentials | None = None,
    limits: CloneLimits | None = None,
    ca_file: str | None = None,
) -> ClonedRepository:
    """Clone `remote` into `dest` (which must not exist or be empty) within `limits`.

    CloneFailedError when git fails (its last message, credentials scrubbed); CloneLimitError when a limit is hit.
    `ca_file` adds a CA bundle for HTTPS (a private Git server, or the local cloud's self-signed stand-in).
    """
    limits = limits or CloneLimits()
    if branch is not None:
        check_branch(branch)
    from git.cmd import Git

    # GitPython's own guard, as a second opinion on what the URL policy accepted.
    Git.check_unsafe_protocols(remote.url)
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise CloneFailedError(f"clone destination {dest} is not empty")
    with tempfile.TemporaryDirectory(prefix="perceo-git-home-") as scratch_dir:
        scratch = Path(scratch_dir)
        with _credentials_env(remote, credentials, scratch) as creds:
            argv = ["git"]
            for setting in HARDENING_CONFIG:
                argv += ["-c", setting]
            argv += [
                "clone",
                "--depth",
                "1",
                "--single-branch",
                "--no-tags",
                "--no-checkout",
                "--no-recurse-submodules",
                "--template=",
                "--quiet",
            ]
            if branch is not None:
                argv += ["--branch", branch]
            argv += ["--", remote.url, str(dest)]
            env = {**_base_env(scratch, ca_file), **creds.env}
            _run_clone(argv, env, dest, limits, creds.secrets, stderr_path=scratch / "stderr")
    import git

    repo = git.Repo(dest)
    try:
        commit = repo.head.commit.hexsha
    finally:
        repo.close()
    return ClonedRepository(path=dest, commit=commit, size_bytes=_directory_size(dest))


def _run_clone(
    argv: list[str], env: dict[str, str], dest: Path, limits: CloneLimits, secrets: list[str], *, stderr_path: Path
) -> None:
    started = time.monotonic()
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(  # noqa: S603 - argument list, fixed program, no shell
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
        while True:
            try:
                proc.wait(timeout=_POLL_S)
                break
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() - started > limits.timeout_s:
                _kill(proc)
                raise CloneLimitError(
                    f"the clone took longer than {limits.timeout_s:g}s and was stopped",
                    details={"limit": "timeoutS", "value": limits.timeout_s},
                )
            size = _directory_size(dest)
            if size > limits.max_bytes:
                _kill(proc)
                raise CloneLimitError(
                    f"the repository is larger than {limits.max_bytes // (1024 * 1024)} MB (shallow); clone stopped",
                    details={"limit": "maxBytes", "value": limits.max_bytes},
                )
    if proc.returncode != 0:
        message = _git_error(stderr_path.read_text("utf-8", "replace"), secrets)
        raise CloneFailedError(f"git clone failed: {message}")
    if _directory_size(dest) > limits.max_bytes:
        raise CloneLimitError(
            f"the repository is larger than {limits.max_bytes // (1024 * 1024)} MB (shallow)",
            details={"limit": "maxBytes", "value": limits.max_bytes},
        )
    logger.info("cloned in %.1fs", time.monotonic() - started)
