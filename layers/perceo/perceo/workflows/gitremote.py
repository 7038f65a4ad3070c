"""Which repository URLs the cloud may clone, and in what normalised form.

Accepted, and only for a host on the allow-list (`ALLOWED_GIT_HOSTS`, exact names, case-insensitive; an entry
`host:port` also pins the port):

- `https://host[:port]/owner/repo[.git]`
- `ssh://[user@]host[:port]/owner/repo[.git]`
- scp-style `user@host:owner/repo[.git]`

Refused: every other scheme (`file://`, `git://`, `http://`, `ftp://`, …), git's remote-helper forms
(`ext::…`, `fd::…`, any `transport::address`), local paths (`/srv/repo`, `./repo`, `~/repo`, `C:\\repo`),
credentials or query strings in the URL (private repositories get their credentials from a per-project
secret, never from a request), control characters and anything starting with `-` (it would be read as a git
option). The branch is checked too: a plain ref name, never an option.

Why not `git://` or `http://`: neither authenticates the server, so a network attacker could feed the clone
arbitrary content; `ssh://` does (host keys) and `https://` does (TLS).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from perceo.workflows.errors import GitUrlRejectedError

MAX_URL_LENGTH = 2048
_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")
_USER = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: owner/repo paths as hosting services spell them (no `..`, no empty segments, no `~user`).
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")
_SCP = re.compile(r"^(?P<user>[^@/:\s]+)@(?P<host>[^@/:\s]+):(?P<path>[^\s]+)$")
_REMOTE_HELPER = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
_BRANCH = re.compile(r"^[A-Za-z0-9._/+-]{1,200}$")

Scheme = Literal["https", "ssh"]


@dataclass(frozen=True)
class GitRemote:
    """A repository URL that passed the policy, split into its parts."""

    scheme: Scheme
    host: str
    port: int | None
    user: str | None
    #: `owner/repo.git`-style path, without a leading slash.
    path: str

    @property
    def url(self) -> str:
        """The URL handed to git (normalised: lower-case host, scp-style rewritten as `ssh://`)."""
        port = f":{self.port}" if self.port is not None else ""
        if self.scheme == "https":
            return f"https://{self.host}{port}/{self.path}"
        user = f"{self.user}@" if self.user else ""
        return f"ssh://{user}{self.host}{port}/{self.path}"

    @property
    def origin(self) -> str:
        """`scheme://host[:port]/`: the prefix git's `http.<url>.*` settings are scoped to."""
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{self.host}{port}/"


def _reject(reason: str) -> GitUrlRejectedError:
    # The URL itself is not echoed: a pasted URL may hold a token.
    return GitUrlRejectedError(f"repository URL refused: {reason}", details={"field": "repoUrl"})


def _host_allowed(host: str, port: int | None, allowed_hosts: Iterable[str]) -> bool:
    for entry in allowed_hosts:
        name, _, pinned = entry.strip().lower().partition(":")
        if name != host:
            continue
        if not pinned or (port is not None and pinned == str(port)):
            return True
    return False


def _clean_path(raw: str) -> str:
    path = raw.strip("/")
    segments = path.split("/")
    if len(segments) < 2 or any(not _PATH_SEGMENT.match(s) or s in {".", ".."} for s in segments):
        raise _reject("the path must look like owner/repository (letters, digits, '.', '_', '-')")
    return path


def parse_git_remote(url: str, allowed_hosts: Iterable[str], *, field: str = "repoUrl") -> GitRemote:
    """The remote `url` names, if the policy accepts it; else GitUrlRejectedError saying why (naming `field`)."""
    try:
        return _parse_git_remote(url, allowed_hosts)
    except GitUrlRejectedError as error:
        if field != "repoUrl":
            error.details["field"] = field
        raise


def _parse_git_remote(url: str, allowed_hosts: Iterable[str]) -> GitRemote:
    hosts = [h for h in allowed_hosts if h.strip()]
    if not url or len(url) > MAX_URL_LENGTH:
        raise _reject(f"it must be 1-{MAX_URL_LENGTH} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise _reject("it contains spaces or control characters")
    if url.startswith("-"):
        raise _reject("it starts with '-'")
    if _REMOTE_HELPER.match(url):
        raise _reject("git remote helpers (transport::address, e.g. ext::) are not allowed")
    if "://" not in url:
        return _parse_scp(url, hosts)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "ssh"):
        raise _reject(f"scheme {scheme}:// is not allowed; use https:// or ssh://")
    if parts.query or parts.fragment:
        raise _reject("query strings and fragments are not allowed")
    if parts.password is not None or (scheme == "https" and parts.username is not None):
        raise _reject("credentials in the URL are not accepted; store them as the project's git secret")
    host = (parts.hostname or "").lower()
    if not _HOST.match(host):
        raise _reject("the host is not a plain DNS name")
    try:
        port = parts.port
    except ValueError:
        raise _reject("the port is not a number between 1 and 65535") from None
    if not _host_allowed(host, port, hosts):
        raise _reject(f"host {host} is not allowed (allowed: {', '.join(hosts) or 'none'})")
    user = parts.username
    if user is not None and not _USER.match(user):
        raise _reject("the ssh user name is not plain")
    return GitRemote(
        scheme="ssh" if scheme == "ssh" else "https", host=host, port=port, user=user, path=_clean_path(parts.path)
    )


def _parse_scp(url: str, hosts: list[str]) -> GitRemote:
    match = _SCP.match(url)
    if match is None:
        raise _reject("local paths are not allowed; use https://host/owner/repo or git@host:owner/repo")
    host = match["host"].lower()
    if not _USER.match(match["user"]) or not _HOST.match(host):
        raise _reject("the user or host of the scp-style address is not plain")
    if not _host_allowed(host, None, hosts):
        raise _reject(f"host {host} is not allowed (allowed: {', '.join(hosts) or 'none'})")
    return GitRemote(scheme="ssh", host=host, port=None, user=match["user"], path=_clean_path(match["path"]))


def check_branch(branch: str) -> str:
    """A branch or tag name safe to hand to `git clone --branch` (never an option, never a revision range)."""
    if (
        not _BRANCH.match(branch)
        or branch.startswith(("-", "/", "."))
        or branch.endswith(("/", ".", ".lock"))
        or ".." in branch
        or "//" in branch
    ):
        raise GitUrlRejectedError(
            "branch refused: use a plain branch or tag name (letters, digits, '.', '_', '-', '/', '+')",
            details={"field": "branch"},
        )
    return branch
