"""Whole discovery results cached by the content of the snapshot they describe.

The key is a digest of every (path, blob SHA) of the snapshot plus the discovery options and versions, so
a result can only be reused for exactly the same tree: re-running on a commit already analysed (CI retries,
the base branch of every PR) costs a hash and one JSON load. Files live in `<cache_dir>/results/`; the
newest few are kept; an unreadable one is ignored and rewritten.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from perceo.observer.facts.cache import cache_version
from perceo.observer.model import DiscoveryResult
from perceo.observer.snapshot import RepoSnapshot

logger = logging.getLogger(__name__)

#: Bump when route, navigation or import discovery changes what a result contains.
DISCOVERY_VERSION = 1
RESULTS_KEPT = 8
GRAPHS_KEPT = 4
#: Files whose content can change how specifiers resolve (manifests, tsconfig/jsconfig, workspace lists).
_RESOLUTION_INPUTS = (".json", ".yaml", ".yml")


def snapshot_digest(snapshot: RepoSnapshot, framework: str, route_prefixes: Mapping[str, str] | None) -> str:
    digest = hashlib.sha256(f"perceo-discovery:{code_version()}:{framework}\n".encode())
    for app, prefix in sorted((route_prefixes or {}).items()):
        digest.update(f"prefix:{app}\0{prefix}\n".encode())
    blob_sha = snapshot.blob_sha
    listing = "\n".join([f"{path}\0{blob_sha(path)}" for path in snapshot.files()])
    digest.update(listing.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


@functools.cache
def code_version() -> str:
    """DISCOVERY_VERSION, the facts version and a fingerprint of the discovery sources: any change to the
    code that builds a result makes older cached results unreachable."""
    observer = Path(__file__).resolve().parent.parent
    sources = [observer / name for name in ("facts.py", "imports.py", "project.py", "snapshot.py", "model.py")]
    digest = hashlib.sha256(f"{DISCOVERY_VERSION}:{cache_version()}".encode())
    try:
        for source in sorted([*sources, *(observer / "discovery").glob("*.py")]):
            digest.update(source.name.encode() + b"\0" + source.read_bytes())
    except OSError:  # sources not on disk (zipped): the version numbers alone
        return f"{DISCOVERY_VERSION}:{cache_version()}"
    return digest.hexdigest()[:16]


class ResultCache:
    def __init__(self, cache_dir: Path | None) -> None:
        self.directory = cache_dir / "results" if cache_dir is not None else None

    def load(self, key: str) -> DiscoveryResult | None:
        if self.directory is None:
            return None
        path = self.directory / f"{key}.json"
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        try:
            return DiscoveryResult.model_validate_json(raw)
        except (ValidationError, ValueError) as exc:
            logger.warning("ignoring unreadable cached discovery result %s: %s", path, exc)
            return None

    def save(self, key: str, result: DiscoveryResult) -> None:
        if self.directory is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".result-", suffix=".tmp", dir=self.directory)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(result.model_dump_json())
            Path(tmp).replace(self.directory / f"{key}.json")
            _prune(self.directory, RESULTS_KEPT)
        except OSError as exc:  # a read-only checkout still gets its result
            logger.warning("could not write a discovery result under %s: %s", self.directory, exc)


def resolution_digest(snapshot: RepoSnapshot, aliases: Mapping[str, list[tuple[str, str]]]) -> str:
    """What import resolution depends on besides each file's own content: the set of files, manifests and
    config files (by content), Vite configs and the framework aliases of each app."""
    digest = hashlib.sha256(f"perceo-resolution:{code_version()}\n".encode())
    for root, pairs in sorted(aliases.items()):
        digest.update(f"alias:{root}\0{pairs!r}\n".encode())
    blob_sha = snapshot.blob_sha
    lines = [
        f"{path}\0{blob_sha(path)}" if path.endswith(_RESOLUTION_INPUTS) or "vite.config." in path else path
        for path in snapshot.files()
    ]
    digest.update("\n".join(lines).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


class GraphCache:
    """Resolved imports per file, for one resolution context per file under `<cache_dir>/graphs/`."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.directory = cache_dir / "graphs" if cache_dir is not None else None

    def load(self, key: str) -> dict[str, list[Any]]:
        if self.directory is None:
            return {}
        path = self.directory / f"{key}.json"
        try:
            document = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return {}
        entries = document.get("entries") if isinstance(document, dict) else None
        if not isinstance(entries, dict):
            return {}
        return {
            p: e
            for p, e in entries.items()
            if isinstance(e, list) and len(e) == 3 and isinstance(e[1], list) and isinstance(e[2], list)
        }

    def save(self, key: str, entries: Mapping[str, list[Any]]) -> None:
        if self.directory is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".graph-", suffix=".tmp", dir=self.directory)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"entries": entries}, handle, separators=(",", ":"), ensure_ascii=False)
            Path(tmp).replace(self.directory / f"{key}.json")
            _prune(self.directory, GRAPHS_KEPT)
        except OSError as exc:
            logger.warning("could not write the import graph cache under %s: %s", self.directory, exc)


def _prune(directory: Path, keep: int) -> None:
    entries = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in entries[keep:]:
        stale.unlink(missing_ok=True)
