"""API keys saved by `perceo login`: one per API URL, in a file only the user can read.

The file is `$XDG_CONFIG_HOME/perceo/credentials.json` (else `~/.config/perceo/credentials.json`), created with
mode 0600 from the start (`os.open(..., 0o600)`, then an atomic rename), in a 0700 folder. Which key a command
uses, first match wins:

1. `PERCEO_API_KEY` in the environment (CI);
2. `observer.apiKey` in the project's config (usually `${SOME_VAR}`);
3. the key saved for the API URL by `perceo login`.

Keys are never printed: listings show the 12-character prefix.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError

from perceo.errors import ConfigError
from perceo.models.common import EpochMs, Model

logger = logging.getLogger(__name__)

API_KEY_ENV = "PERCEO_API_KEY"
FILE_NAME = "credentials.json"
PREFIX_LENGTH = 12

KeySource = Literal["environment", "config", "credentials file"]


def credentials_path(env: Mapping[str, str] | None = None) -> Path:
    """Where `perceo login` keeps keys (XDG_CONFIG_HOME honoured)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "perceo" / FILE_NAME


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_api_url(url: str) -> str:
    """The API base URL in one spelling (scheme and host lower-case, no trailing slash, no query).

    ConfigError for a URL that is not http(s), or plain http to anything but this machine (keys would travel
    in clear text).
    """
    raw = url.strip()
    parts = urlsplit(raw)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise ConfigError(
            f"API URL {raw!r} must be an http(s) URL, e.g. https://abc123.execute-api.us-east-1.amazonaws.com/dev"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"API URL {raw!r} must not have a query string or fragment")
    if parts.scheme.lower() == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(f"API URL {raw!r} must use https (plain http is only allowed for this machine)")
    netloc = parts.hostname.lower() + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))


def key_prefix(api_key: str) -> str:
    """What may be shown of a key."""
    return api_key[:PREFIX_LENGTH] + "…"


class SavedCredential(Model):
    api_url: str
    api_key: str
    project_id: str | None = None
    project_name: str | None = None
    saved_at: EpochMs

    def __repr__(self) -> str:  # the key never shows up in a traceback or a debug print
        return f"SavedCredential(api_url={self.api_url!r}, api_key={key_prefix(self.api_key)!r})"

    __str__ = __repr__


class CredentialsDocument(Model):
    version: Literal[1] = 1
    credentials: dict[str, SavedCredential] = {}


@dataclass(frozen=True)
class ResolvedKey:
    api_key: str
    source: KeySource

    def __repr__(self) -> str:
        return f"ResolvedKey(api_key={key_prefix(self.api_key)!r}, source={self.source!r})"


class CredentialStore:
    """The credentials file: read, save one URL's key, remove one."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def default(cls, env: Mapping[str, str] | None = None) -> CredentialStore:
        return cls(credentials_path(env))

    def read(self) -> CredentialsDocument:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return CredentialsDocument()
        except OSError as error:
            raise ConfigError(f"cannot read {self.path}: {error.strerror or error}") from None
        self._tighten_mode()
        try:
            return CredentialsDocument.model_validate_json(raw)
        except ValidationError:
            raise ConfigError(
                f"{self.path} is not a valid credentials file; delete it and run `perceo login` again"
            ) from None

    def get(self, api_url: str) -> SavedCredential | None:
        return self.read().credentials.get(normalize_api_url(api_url))

    def save(self, credential: SavedCredential) -> None:
        document = self.read()
        url = normalize_api_url(credential.api_url)
        document.credentials[url] = credential.model_copy(update={"api_url": url})
        self._write(document)

    def remove(self, api_url: str) -> bool:
        """Forget the key of one API URL. False when none was saved."""
        document = self.read()
        if document.credentials.pop(normalize_api_url(api_url), None) is None:
            return False
        self._write(document)
        return True

    def _write(self, document: CredentialsDocument) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        scratch = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # O_CREAT's mode is ignored when a stale scratch file already existed
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(document.model_dump(mode="json"), indent=2) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            scratch.replace(self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                scratch.unlink()
            raise

    def _tighten_mode(self) -> None:
        with contextlib.suppress(OSError):
            mode = self.path.stat().st_mode & 0o777
            if mode & 0o077:
                logger.warning("%s was readable by others (mode %o); setting it to 0600", self.path, mode)
                self.path.chmod(0o600)


def resolve_api_key(
    api_url: str,
    *,
    config_key: str | None = None,
    env: Mapping[str, str] | None = None,
    store: CredentialStore | None = None,
) -> ResolvedKey | None:
    """The key to call `api_url` with (see the module docstring for the order), or None when there is none."""
    env = os.environ if env is None else env
    from_env = (env.get(API_KEY_ENV) or "").strip()
    if from_env:
        return ResolvedKey(from_env, "environment")
    if config_key and config_key.strip():
        return ResolvedKey(config_key.strip(), "config")
    saved = (store or CredentialStore.default(env)).get(api_url)
    if saved is not None:
        return ResolvedKey(saved.api_key, "credentials file")
    return None
