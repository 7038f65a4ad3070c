"""What a framework's route discoverer gets to look at: one app's files, facts and resolver."""

from __future__ import annotations

import bisect
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

from perceo.observer.facts.model import FileFacts
from perceo.observer.imports import ImportResolver
from perceo.observer.model import AppInfo, RouteEntry
from perceo.observer.project import ProjectLayout
from perceo.observer.snapshot import RepoSnapshot

#: Files that are never routes even inside a routes folder.
_NOT_ROUTE_SUFFIXES = (".test", ".spec", ".stories", ".story", ".d")


@dataclass
class AppScan:
    app: AppInfo
    #: repo-relative files of this app (nested apps' files excluded), sorted.
    files: list[str]
    facts: Mapping[str, FileFacts]
    resolver: ImportResolver
    layout: ProjectLayout
    snapshot: RepoSnapshot
    warnings: list[str] = field(default_factory=list)
    #: files of this app whose facts hold route-config trees (`FileFacts.routes`), in file order.
    route_config_files: list[str] = field(default_factory=list)
    #: files of this app whose facts list template component tags (`FileFacts.tags`), in file order.
    tagged_files: list[str] = field(default_factory=list)

    @property
    def root(self) -> str:
        return self.app.root

    def path(self, relative: str) -> str:
        """Repo-relative path of a path relative to the app root."""
        return posixpath.join(self.root, relative) if self.root else relative

    def relative(self, path: str) -> str:
        return path[len(self.root) + 1 :] if self.root else path

    def exists(self, relative: str) -> bool:
        return self.path(relative) in self.layout.file_set

    def first_existing(self, candidates: list[str]) -> str | None:
        """The repo path of the first candidate (app-relative) that exists."""
        for candidate in candidates:
            if self.exists(candidate):
                return self.path(candidate)
        return None

    def under(self, directory: str) -> list[str]:
        """App files under an app-relative directory, as paths relative to that directory."""
        prefix = self.path(directory).rstrip("/") + "/"
        # `files` is sorted: the paths under a folder are one slice of it
        start = bisect.bisect_left(self.files, prefix)
        end = bisect.bisect_left(self.files, prefix[:-1] + "0", start)  # "0" is the character after "/"
        return [f[len(prefix) :] for f in self.files[start:end]]

    def entry(self, route: str, kind: str, entry_files: list[str], layout_files: list[str]) -> RouteEntry:
        return RouteEntry(
            route=route,
            kind="api" if kind == "api" else "page",
            framework=self.app.framework,
            entry_files=entry_files,
            layout_files=layout_files,
            app=self.root,
        )


def split_name(filename: str) -> tuple[str, str]:
    """(stem, extension without dot) of a file name."""
    stem, dot, ext = filename.rpartition(".")
    return (stem, ext) if dot else (filename, "")


def is_test_or_story(filename: str) -> bool:
    stem = split_name(filename)[0]
    return any(stem.endswith(suffix) for suffix in _NOT_ROUTE_SUFFIXES) or "__tests__" in filename


def merge_routes(entries: list[RouteEntry]) -> list[RouteEntry]:
    """Entries for the same (app, route, kind) merged: entry files and layouts unioned, order kept."""
    merged: dict[tuple[str, str, str], RouteEntry] = {}
    for entry in entries:
        key = (entry.app, entry.route, entry.kind)
        existing = merged.get(key)
        if existing is None:
            merged[key] = entry.model_copy(
                update={"entry_files": list(entry.entry_files), "layout_files": list(entry.layout_files)}
            )
            continue
        for f in entry.entry_files:
            if f not in existing.entry_files:
                existing.entry_files.append(f)
        for f in entry.layout_files:
            if f not in existing.layout_files:
                existing.layout_files.append(f)
    return sorted(merged.values(), key=lambda e: (e.app, e.route, e.kind))
